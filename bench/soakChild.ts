import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { exitOf, untilListening } from './child';
import { isChildMessage, type SampleReply, type SampleRequest } from './soakProtocol';
import { withTempDir } from './tempDir';

/** The compiled child entry point, next to this file in dist/bench/. */
const GATEWAY_SCRIPT = path.join(__dirname, 'soakGateway.js');
/** A gateway whose event loop is stuck this long does not answer; the soak fails then rather than hang. */
const SAMPLE_TIMEOUT_MS = 30_000;
/** The gateway's own shutdown bound is 10 s (--shutdown-timeout-ms); past this it is killed. */
const STOP_TIMEOUT_MS = 20_000;
const TAIL_LINES = 20;

/** The gateway process as seen from outside (/proc) and from inside (its own report). */
export interface GatewayReading {
  /** VmRSS of /proc/<pid>/status. */
  rssBytes: number;
  /** VmHWM: the highest RSS so far. */
  peakRssBytes: number;
  /** Entries of /proc/<pid>/fd. */
  fds: number;
  /** Bytes of the files in the data dir (the database and its WAL). */
  dataBytes: number;
  /** What the gateway measured of itself (event-loop delay, heap, CPU time). */
  self: SampleReply;
}

export interface SoakGateway {
  url: string;
  pid: number;
  /** Reads /proc and asks the gateway for its own figures; `resetTotal` starts its whole-run delay histogram afresh. */
  read(resetTotal: boolean): Promise<GatewayReading>;
  /** SIGTERM, then waits for the exit: 'code 0' is a clean shutdown. Later calls get the same answer. */
  stop(): Promise<Stopped>;
}

export interface Stopped {
  /** 'code N' or 'signal S'. */
  exit: string;
  /** From SIGTERM to exit. */
  shutdownMs: number;
}

function kilobytesField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s*(\\d+)\\s*kB$`, 'm').exec(status);
  if (match === null) throw new Error(`no ${name} in /proc/<pid>/status`);
  return Number(match[1]) * 1024;
}

function dirBytes(dir: string): number {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((sum, entry) => {
      try {
        return sum + fs.statSync(path.join(dir, entry.name)).size;
      } catch {
        return sum; // e.g. a -journal file gone between the listing and the stat
      }
    }, 0);
}

/**
 * Runs `work` against the real gateway in a child process of its own
 * (bench/soakGateway.ts, synchronous=FULL, the default durability) storing in
 * a fresh temp dir, which is removed afterwards whatever happens. `work` may
 * stop the gateway itself (to shut it down with requests still waiting);
 * otherwise it is stopped with SIGTERM once `work` is done. Linux only: the
 * process is measured through /proc.
 */
export function withSoakGateway<T>(work: (gateway: SoakGateway) => Promise<T>): Promise<{ result: T; stopped: Stopped }> {
  if (!fs.existsSync('/proc/self/status')) throw new Error('bench:soak reads /proc/<pid>/status and /proc/<pid>/fd: Linux only');
  return withTempDir('soak', async (dataDir) => {
    const args = ['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--synchronous', 'FULL'];
    // Its own process group: a Ctrl-C at the terminal reaches only the soak, which then stops the gateway in order.
    const child = spawn(process.execPath, [GATEWAY_SCRIPT, ...args], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    const tail: string[] = [];
    const failure = (why: string): Error => new Error(`the soak gateway ${why}; its last output:\n${tail.join('\n')}`);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      readline.createInterface({ input: stream }).on('line', (line) => {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        process.stderr.write(`[gateway] ${line}\n`);
      });
    }

    const exited = exitOf(child);
    const pending = new Map<number, { resolve: (reply: SampleReply) => void; reject: (error: Error) => void }>();
    void exited.then((how) => {
      for (const waiter of pending.values()) waiter.reject(failure(`exited with ${how} before answering a sample`));
      pending.clear();
    });

    const { listening, announce } = untilListening(child, exited, failure);
    child.on('message', (message: unknown) => {
      if (!isChildMessage(message)) return;
      if (message.type === 'listening') {
        announce(message.url);
        return;
      }
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      waiter?.resolve(message);
    });

    const pid = child.pid;
    let nextId = 1;
    const ask = (resetTotal: boolean): Promise<SampleReply> =>
      new Promise<SampleReply>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(failure(`did not answer a sample within ${SAMPLE_TIMEOUT_MS} ms`));
        }, SAMPLE_TIMEOUT_MS);
        pending.set(id, {
          resolve: (reply) => {
            clearTimeout(timer);
            resolve(reply);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        const request: SampleRequest = { type: 'sample', id, resetTotal };
        child.send(request, (error: Error | null) => {
          if (error === null) return;
          pending.delete(id);
          clearTimeout(timer);
          reject(failure(`could not be asked for a sample: ${error.message}`));
        });
      });

    let stopping: Promise<Stopped> | null = null;
    const stop = (): Promise<Stopped> => {
      stopping ??= (async () => {
        const start = performance.now();
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const exit = await exited;
        clearTimeout(killTimer);
        return { exit, shutdownMs: performance.now() - start };
      })();
      return stopping;
    };

    try {
      const url = await listening;
      if (pid === undefined) throw failure('has no pid');
      const gateway: SoakGateway = {
        url,
        pid,
        stop,
        async read(resetTotal) {
          // /proc first, then the IPC round trip: the outside figures are not disturbed by the answer's work.
          const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
          const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
          const dataBytes = dirBytes(dataDir);
          const self = await ask(resetTotal);
          return {
            rssBytes: kilobytesField(status, 'VmRSS'),
            peakRssBytes: kilobytesField(status, 'VmHWM'),
            fds,
            dataBytes,
            self,
          };
        },
      };
      const result = await work(gateway);
      return { result, stopped: await stop() };
    } finally {
      // Whatever failed, the gateway goes before its data dir does.
      await stop();
    }
  });
}
