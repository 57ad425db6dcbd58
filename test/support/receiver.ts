import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got, as it arrived. */
export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** What the test's clock read when the request arrived. */
  at: number;
}

/** How a receiver answers: a status and headers (after `delayMs` of real time), or `hang` to never answer. */
export type Answer = { status: number; headers?: Record<string, string>; delayMs?: number } | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  /** Most requests open at the same moment so far. */
  maxOpen: number;
  /** The answer to each request; replace it to change how the receiver behaves. */
  answer: (request: Received, index: number) => Answer;
  close(): Promise<void>;
}

/** A real HTTP endpoint on 127.0.0.1 that records every request and answers as the test says. */
export async function startReceiver(now: () => number, answer: Receiver['answer'] = () => ({ status: 204 })): Promise<Receiver> {
  let open = 0;
  const hanging = new Set<http.ServerResponse>();
  const receiver: Receiver = {
    url: '',
    received: [],
    maxOpen: 0,
    answer,
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    open += 1;
    receiver.maxOpen = Math.max(receiver.maxOpen, open);
    res.on('close', () => {
      open -= 1;
      hanging.delete(res);
    });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: now() };
      receiver.received.push(request);
      const reply = receiver.answer(request, receiver.received.length - 1);
      if (reply === 'hang') {
        hanging.add(res);
        return;
      }
      const send = (): void => void res.writeHead(reply.status, reply.headers).end();
      if (reply.delayMs === undefined) send();
      else setTimeout(send, reply.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/**
 * How long real-time waits may take before they give up. Only a failing test
 * waits this long; with two suites at a time on two cores, PostgreSQL's
 * side of a push retry has taken more than 5 s.
 */
const WAIT_MS = 15_000;

/** Polls an asynchronous check (a GET to the gateway, say) until it holds or `ms` pass; the caller asserts after. */
export async function polled(check: () => Promise<boolean>, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Waits (in real time: the work is real I/O) until `condition` holds, or fails after `ms`. */
export async function eventually(condition: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}
