import http from 'node:http';
import { keepAliveAgent } from './httpClient';

/** A response read whole: its status and, for a JSON body, the parsed value (null otherwise). */
export interface SoakResponse {
  status: number;
  body: unknown;
}

/** The `code` of a problem+json answer (api/problem.ts), or null. */
export function problemCode(response: SoakResponse): string | null {
  const { body } = response;
  if (body === null || typeof body !== 'object' || !('code' in body)) return null;
  return typeof body.code === 'string' ? body.code : null;
}

/** A request that answered with a status its caller did not expect. */
export class UnexpectedStatus extends Error {
  override name = 'UnexpectedStatus';

  constructor(
    readonly method: string,
    readonly path: string,
    readonly response: SoakResponse,
  ) {
    super(`${method} ${path}: HTTP ${response.status} ${problemCode(response) ?? JSON.stringify(response.body)}`);
  }
}

/**
 * The soak's HTTP client: keep-alive sockets of its own (one per concurrent
 * loop, so a long-poll never holds up a produce), every status handed back to
 * the caller, because some 4xx are part of the mix (a stale consumer-group
 * generation after a rebalance), and nothing else is done per request so
 * the load generator stays cheap. (bench/httpClient.ts's JsonClient rejects
 * every non-2xx and keeps no status.)
 */
export class SoakClient {
  private readonly agent: http.Agent;
  /** Requests answered (any status) so far. */
  answered = 0;

  constructor(
    private readonly baseUrl: string,
    connections: number,
  ) {
    this.agent = keepAliveAgent(connections);
  }

  request(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: string): Promise<SoakResponse> {
    return new Promise<SoakResponse>((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders =
        body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      const request = http.request(`${this.baseUrl}${path}`, { method, agent: this.agent, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const type = response.headers['content-type'] ?? '';
          let parsed: unknown = null;
          if (text !== '' && type.includes('json')) {
            try {
              parsed = JSON.parse(text) as unknown;
            } catch {
              parsed = null;
            }
          }
          this.answered += 1;
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      });
      request.on('error', reject);
      request.end(body);
    });
  }

  /** `request`, but any status outside `expected` rejects with UnexpectedStatus. */
  async expect(
    expected: readonly number[],
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    body?: string,
  ): Promise<SoakResponse> {
    const response = await this.request(method, path, body);
    if (!expected.includes(response.status)) throw new UnexpectedStatus(method, path, response);
    return response;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Field `name` of a JSON object, or undefined. */
function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' && name in value ? (value as Record<string, unknown>)[name] : undefined;
}

/** `body.messages` as an array (fetch and read answers), or a thrown error naming what came instead. */
export function messagesOf(response: SoakResponse): unknown[] {
  const messages = field(response.body, 'messages');
  if (!Array.isArray(messages)) throw new Error(`expected a messages array, got ${JSON.stringify(response.body)}`);
  return messages;
}

/** The receipts of a queue fetch's messages. */
export function receiptsOf(response: SoakResponse): string[] {
  return messagesOf(response).map((message) => {
    const receipt = field(message, 'receipt');
    if (typeof receipt !== 'string') throw new Error(`a fetched message without a receipt: ${JSON.stringify(message)}`);
    return receipt;
  });
}

/** The statuses of an ack / nack answer's results, counted: e.g. { acked: 9, expired: 1 }. */
export function resultCounts(response: SoakResponse): Map<string, number> {
  const results = field(response.body, 'results');
  if (!Array.isArray(results)) throw new Error(`expected a results array, got ${JSON.stringify(response.body)}`);
  const counts = new Map<string, number>();
  for (const result of results) {
    const status = field(result, 'status');
    const key = typeof status === 'string' ? status : 'missing';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** A whole-number field of a JSON answer (a group fetch's `generation`, a join's too). */
export function integerField(response: SoakResponse, name: string): number {
  const value = field(response.body, name);
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new Error(`expected a whole number ${name}, got ${JSON.stringify(response.body)}`);
  }
  return value;
}

/** A string field of a JSON answer (a join's `memberId`). */
export function stringField(response: SoakResponse, name: string): string {
  const value = field(response.body, name);
  if (typeof value !== 'string') throw new Error(`expected a string ${name}, got ${JSON.stringify(response.body)}`);
  return value;
}

/** Field `path[0].path[1]…` of a JSON value, for the figures a sample reads (queue stats, group lag). */
export function pathOf(value: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((current, name) => field(current, name), value);
}
