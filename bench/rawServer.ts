import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestOnce } from './httpClient';
import type { Side } from './rounds';

/** What one run of a raw baseline did: rows handled, and the milliseconds it took. */
export interface Measured {
  rows: number;
  ms: number;
}

/** Runs a raw baseline's work for about `ms` milliseconds, synchronously. */
export type RunFor = (ms: number) => Measured;

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** The `seconds` of a JSON body, or undefined when the body is no such object. */
function secondsOf(text: string): unknown {
  try {
    return (JSON.parse(text) as { seconds?: unknown }).seconds;
  } catch {
    return undefined;
  }
}

async function handle(request: http.IncomingMessage, runFor: RunFor): Promise<{ status: number; body: unknown }> {
  const seconds = secondsOf(await readBody(request));
  if (request.method !== 'POST' || request.url !== '/run' || typeof seconds !== 'number' || !(seconds > 0)) {
    return { status: 400, body: { error: 'expected POST /run with {"seconds": n}, n > 0' } };
  }
  // Synchronous on purpose: nothing else runs in this process while it works.
  const measured = runFor(seconds * 1000);
  return { status: 200, body: { rowsPerSecond: (measured.rows * 1000) / measured.ms } };
}

/**
 * Serves a raw SQLite baseline (rawSqlite.ts, rawSqliteRead.ts) like the
 * other child servers (127.0.0.1, port 0, `<name> listening on URL` printed),
 * so that it stays up, its database and caches warm, while the bench takes
 * turns between it and the gateway: POST /run with {"seconds": n} runs
 * `runFor` for n seconds and answers {"rowsPerSecond": r}. SIGTERM calls
 * `close` (the database) and exits 0.
 */
export function serveRuns(name: string, runFor: RunFor, close: () => void): void {
  const server = http.createServer((request, response) => {
    const answer = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    handle(request, runFor).then(
      ({ status, body }) => answer(status, body),
      (error: unknown) => answer(500, { error: String(error) }),
    );
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`${name} listening on http://127.0.0.1:${port}\n`);
  });
  process.on('SIGTERM', () => {
    server.close(() => {
      close();
      process.exit(0);
    });
    server.closeAllConnections();
  });
}

/**
 * The bench's side of a raw baseline served by `serveRuns`: each call is one
 * run, while the bench process waits, so nothing shares the baseline's core.
 */
export function rawRunSide(url: string): Side {
  return async (seconds) => {
    // Runs are a gateway round apart, longer than a keep-alive timeout: a connection per run.
    const body = JSON.stringify({ seconds });
    const { rowsPerSecond } = await requestOnce<{ rowsPerSecond: number }>(url, 'POST', '/run', body);
    return rowsPerSecond;
  };
}
