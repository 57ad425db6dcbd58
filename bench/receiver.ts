import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestOnce } from './httpClient';

/** Told of each delivery: its body, read whole, and the `performance.now()` of the moment it was. */
export type OnReceipt = (body: Buffer, at: number) => void;

export interface Receiver {
  /** Where to deliver: any path but /count takes a POST. */
  url: string;
  close(): Promise<void>;
}

/**
 * A push target that does no work of its own, so what is measured is the
 * sender: on 127.0.0.1, port 0, it reads each POST's body whole, tells
 * `onReceipt` and answers 204 at once. GET /count answers
 * {"received": n}, the POSTs so far, for a bench that runs it in another
 * process (receiverServer.ts).
 */
export function startReceiver(onReceipt: OnReceipt): Promise<Receiver> {
  let received = 0;
  const server = http.createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/count') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received }));
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received += 1;
      onReceipt(Buffer.concat(chunks), performance.now());
      response.writeHead(204).end();
    });
  });
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      // The sender's kept-alive sockets would hold the close up until they time out.
      server.closeAllConnections();
    });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close });
    });
  });
}

/** Runs `work` with a receiver in this process, closed afterwards whatever happens. */
export async function withReceiver<T>(onReceipt: OnReceipt, work: (url: string) => Promise<T>): Promise<T> {
  const receiver = await startReceiver(onReceipt);
  try {
    return await work(receiver.url);
  } finally {
    await receiver.close();
  }
}

/** The receipts so far of a receiver at `url`, asked over a connection of its own. */
export async function receiptCount(url: string): Promise<number> {
  const { received } = await requestOnce<{ received: number }>(url, 'GET', '/count');
  return received;
}
