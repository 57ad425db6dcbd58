import { type ChildProcess, spawn } from 'node:child_process';

const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;
/** Output kept to explain a child that failed (characters, from the end). */
const TAIL_CHARS = 4000;

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

/**
 * Runs the Node script `script` as a server in its own process, so that it has
 * a core to itself while the load generator uses the bench process's. The
 * script must listen on 127.0.0.1 and print a line containing
 * `listening on http://127.0.0.1:PORT` (stdout or stderr). `work` gets that
 * URL and the server's pid; the server is then stopped with SIGTERM and must
 * exit with code 0.
 */
export async function withChildServer<T>(script: string, args: string[], work: (url: string, pid: number) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const failure = (why: string): Error => new Error(`${script} ${why}; its last output:\n${tail}`);
  const exited = exitOf(child);
  const { listening, announce } = untilListening(child, exited, failure);
  // Chunks, not lines: a gateway logs a line per request, and splitting thousands of lines a second
  // would cost the load generator's core, which the measurement shares.
  let announced = false;
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-TAIL_CHARS);
      const match = announced ? null : LISTENING.exec(tail);
      if (match !== null) {
        announced = true;
        announce(match[1]);
      }
    });
  }

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
