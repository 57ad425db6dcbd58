import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { withTempDir } from './tempDir';

const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;
/** Output shown to explain a child that failed (bytes, from the end). */
const TAIL_BYTES = 4000;
/** How much of a child's output is searched for the line it announces itself with, and how often. */
const HEAD_BYTES = 64 * 1024;
const ANNOUNCE_POLL_MS = 20;

const running = new Set<ChildProcess>();
// A bench that dies half-way must not leave servers behind.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Follows a child server until it exits (a bench that dies half-way kills it):
 * resolves with `code N` or `signal S`.
 */
export function exitOf(child: ChildProcess): Promise<string> {
  running.add(child);
  return new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(code === null ? `signal ${signal}` : `code ${code}`);
    });
  });
}

/**
 * The URL a child server announces (`announce`), or a failure if it cannot
 * start, does not listen within START_TIMEOUT_MS or exits first. Once
 * resolved, a later exit (the SIGTERM that stops it) makes the reject a no-op.
 */
export function untilListening(
  child: ChildProcess,
  exited: Promise<string>,
  failure: (why: string) => Error,
): { listening: Promise<string>; announce: (url: string) => void } {
  let announce: (url: string) => void = () => undefined;
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(failure(`did not listen within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    announce = (url) => {
      clearTimeout(timer);
      resolve(url);
    };
    child.once('error', (error) => reject(failure(`could not start: ${error.message}`)));
    void exited.then((how) => {
      clearTimeout(timer);
      reject(failure(`exited with ${how} before listening`));
    });
  });
  return { listening, announce };
}

/** `length` bytes of `file` from `position` (fewer if it is shorter), as text. */
function readAt(file: string, position: number, length: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    return buffer.toString('utf8', 0, fs.readSync(fd, buffer, 0, length, position));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Runs the Node script `script` as a server in its own process, so that it has
 * a core to itself while the load generator uses the bench process's. The
 * script must listen on 127.0.0.1 and print a line containing
 * `listening on http://127.0.0.1:PORT` (stdout or stderr). `work` gets that
 * URL and the server's pid; the server is then stopped with SIGTERM and must
 * exit with code 0.
 *
 * Its output goes to a file, not to a pipe this process reads: a gateway logs
 * a line per request, and reading them (about 500 reads of 8 KB a second
 * under the single-produce load) cost the load generator's core, which the
 * measurement shares, in the gateway's rounds alone (README, "Fifth look").
 */
export function withChildServer<T>(script: string, args: string[], work: (url: string, pid: number) => Promise<T>): Promise<T> {
  return withTempDir('output', async (dir) => {
    const file = path.join(dir, 'output.log');
    const fd = fs.openSync(file, 'a');
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    const failure = (why: string): Error => {
      const size = fs.statSync(file).size;
      return new Error(`${script} ${why}; its last output:\n${readAt(file, Math.max(0, size - TAIL_BYTES), TAIL_BYTES)}`);
    };
    const exited = exitOf(child);
    const { listening, announce } = untilListening(child, exited, failure);
    const poll = setInterval(() => {
      const match = LISTENING.exec(readAt(file, 0, HEAD_BYTES));
      if (match !== null) announce(match[1]);
    }, ANNOUNCE_POLL_MS);
    const stopPolling = (): void => clearInterval(poll);
    void listening.then(stopPolling, stopPolling);
    return runChild(child, exited, listening, failure, work);
  });
}

/** Gives `work` the listening child's URL and pid, then stops the child; a child that does not exit with code 0 fails the run. */
async function runChild<T>(
  child: ChildProcess,
  exited: Promise<string>,
  listening: Promise<string>,
  failure: (why: string) => Error,
  work: (url: string, pid: number) => Promise<T>,
): Promise<T> {
  const stop = async (): Promise<string> => {
    child.kill('SIGTERM');
    const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const how = await exited;
    clearTimeout(killTimer);
    return how;
  };

  let result: T;
  try {
    const url = await listening;
    if (child.pid === undefined) throw failure('has no pid');
    result = await work(url, child.pid);
  } catch (error) {
    // The first failure is the one worth reporting; the server only has to go.
    await stop();
    throw error;
  }
  const how = await stop();
  if (how !== 'code 0') throw failure(`exited with ${how} on SIGTERM`);
  return result;
}
