import http, { type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiKey, generateKey } from '../../api/keys';
import { checkKeys } from '../../api/keysFile';
import { disposeTestGateway, type TestGateway } from './testGateway';

/** One item of a stream as a client reads it: an SSE event or comment, or an NDJSON line. */
export interface Item {
  comment?: string;
  id?: string;
  event?: string;
  data?: string;
}

/**
 * The raw stream, read as `curl -N` shows it: SSE blocks split on blank
 * lines, NDJSON on line ends (a group stream's `{"assignment"}` line read as
 * SSE's `event: assignment`).
 */
export class StreamClient {
  readonly items: Item[] = [];
  readonly ended: Promise<void>;
  private text = '';
  private wake: () => void = () => undefined;

  constructor(
    readonly res: IncomingMessage,
    private readonly format: 'sse' | 'ndjson',
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.text += chunk;
      this.parse();
      this.wake();
    });
    this.ended = new Promise((resolve) => res.on('end', resolve));
  }

  /** Waits for `n` more items than have been taken, and takes them. */
  async take(n: number): Promise<Item[]> {
    while (this.items.length < n) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.items.splice(0, n);
  }

  /** The next event, past any heartbeat. */
  async nextEvent(): Promise<Item> {
    for (;;) {
      const [item] = await this.take(1);
      if (item.comment === undefined) return item;
    }
  }

  close(): void {
    this.res.destroy();
  }

  private parse(): void {
    const separator = this.format === 'sse' ? '\n\n' : '\n';
    for (let end = this.text.indexOf(separator); end >= 0; end = this.text.indexOf(separator)) {
      const block = this.text.slice(0, end);
      this.text = this.text.slice(end + separator.length);
      if (this.format === 'ndjson') {
        const line = JSON.parse(block) as { id?: string; message?: unknown; assignment?: unknown };
        if (line.assignment !== undefined) this.items.push({ event: 'assignment', data: JSON.stringify(line.assignment) });
        else this.items.push(line.id === undefined ? { comment: block } : { id: line.id, data: JSON.stringify(line.message) });
        continue;
      }
      const item: Item = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) item.comment = line.slice(1).trim();
        else {
          const [field, ...rest] = line.split(': ');
          if (field === 'id' || field === 'event' || field === 'data') item[field] = rest.join(': ');
        }
      }
      this.items.push(item);
    }
  }
}

export interface Envelope {
  id: string;
  offset: number;
  value: unknown;
  receipt?: string;
  deliveryCount?: number;
}

/** Opens a stream; resolves with its head, or (not 200) with the problem it answered. */
export function openStream(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; client: StreamClient; problem: { code?: string } }> {
  const format = headers.Accept === 'application/x-ndjson' ? 'ndjson' : 'sse';
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const client = new StreamClient(res, format);
      if (res.statusCode === 200) {
        resolve({ status: 200, client, problem: {} });
        return;
      }
      const chunks: Buffer[] = [];
      res.removeAllListeners('data');
      res.on('data', (chunk: Buffer | string) => chunks.push(Buffer.from(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, client, problem: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: string } }));
    });
    req.on('error', reject);
  });
}

export async function followStream(port: number, path: string, headers: Record<string, string> = {}): Promise<StreamClient> {
  const { status, client, problem } = await openStream(port, path, headers);
  if (status !== 200) throw new Error(`${path} answered ${status} ${JSON.stringify(problem)}`);
  expect(client.res.headers['content-type']).toBe(headers.Accept === 'application/x-ndjson' ? 'application/x-ndjson' : 'text/event-stream; charset=utf-8');
  return client;
}

/** A key for a stream test: its bearer token and the record the gateway is given. */
export function streamKey(name: string, scopes: string[], limits: ApiKey['limits'] = {}): { token: string; record: ApiKey } {
  const { key: token, id, hash } = generateKey();
  const [record] = checkKeys({ keys: [{ id, name, hash, scopes, limits }] }, name);
  return { token, record };
}

export const bearer = (k: { token: string }): { Authorization: string } => ({ Authorization: `Bearer ${k.token}` });

/** A test gateway listening on a port of its own, for streams that supertest would wait on forever. */
export interface Served {
  t: TestGateway;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `t` on 127.0.0.1 at a free port. `dispose`: what closing does to the
 * gateway (default: closes it and removes its data); `listener`: what takes
 * each request (default: the gateway's app).
 */
export async function serve(t: TestGateway, dispose = disposeTestGateway, listener: RequestListener = t.app): Promise<Served> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    t,
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dispose(t);
    },
  };
}
