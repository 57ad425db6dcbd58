import http from 'node:http';

/** A response read whole. */
interface Exchange {
  status: number;
  text: string;
}

/** How long an agent keeps a connection it is not using, unless the server says sooner: see keepAliveAgent. */
const IDLE_CONNECTION_MS = 60_000;

/**
 * A keep-alive agent that lets an idle connection go before the server
 * would. Given a timeout of its own, node's agent heeds the server's
 * `Keep-Alive: timeout=N` and closes an idle connection a second before it;
 * without one it keeps it for ever. A server that closes a connection just
 * as the client sends on it resets it (ECONNRESET), and the alternating
 * rounds leave each side's connections idle for about a round: 5 s, node's
 * keep-alive timeout.
 */
export function keepAliveAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, timeout: IDLE_CONNECTION_MS });
}

/** Methods a browser sends again when the kept-alive connection it chose turns out closed: repeating them changes nothing. */
const IDEMPOTENT = new Set(['GET', 'PUT']);

/**
 * Sends one request over `agent` and resolves with the whole response,
 * whatever its status. An idempotent request sent on a kept-alive
 * connection that the server closed as it went out (idle past the server's
 * keep-alive timeout) is sent again, as node's documentation advises and as
 * browsers do.
 */
function exchange(
  url: string,
  method: string,
  agent: http.Agent,
  headers: http.OutgoingHttpHeaders,
  body: string | Buffer,
  signal?: AbortSignal,
): Promise<Exchange> {
  return new Promise<Exchange>((resolve, reject) => {
    let answered = false;
    const request = http.request(
      url,
      { method, agent, signal, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (!answered && request.reusedSocket && error.code === 'ECONNRESET' && IDEMPOTENT.has(method)) {
        resolve(exchange(url, method, agent, headers, body, signal));
      } else {
        reject(error);
      }
    });
    request.end(body);
  });
}

const isSuccess = (status: number): boolean => status >= 200 && status <= 299;

/**
 * A minimal JSON client over keep-alive sockets, for the request sequences
 * autocannon cannot express (fetch, then ack what was fetched). Plain
 * node:http keeps the client's share of the bench process's core small.
 */
export class JsonClient {
  private readonly agent: http.Agent;

  /** `headers` go with every request, e.g. an API key's Authorization. */
  constructor(
    private readonly baseUrl: string,
    connections: number,
    private readonly headers: http.OutgoingHttpHeaders = {},
  ) {
    this.agent = keepAliveAgent(connections);
  }

  /**
   * Sends `body` (JSON text; none for GET) and resolves with the parsed 2xx
   * response; anything else rejects, as does `signal` aborting the request
   * (a reader that stops following gives up its long-poll).
   */
  async send<T>(method: 'GET' | 'PUT' | 'POST', path: string, body = '', signal?: AbortSignal): Promise<T> {
    const headers = { 'content-type': 'application/json', ...this.headers };
    const { status, text } = await exchange(`${this.baseUrl}${path}`, method, this.agent, headers, body, signal);
    if (!isSuccess(status)) throw new Error(`${method} ${path}: HTTP ${status} ${text}`);
    // The shape is openapi.yaml's; callers check what they rely on.
    return JSON.parse(text) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * POSTs of ready-made bodies with ready-made headers to one URL (or paths
 * under it), over keep-alive sockets: a plain HTTP client calling a webhook,
 * as the baseline of push delivery, or a service, as request–reply's.
 */
export class Poster {
  private readonly agent: http.Agent;

  constructor(
    private readonly url: string,
    connections: number,
  ) {
    this.agent = keepAliveAgent(connections);
  }

  /** Resolves with the body of a 2xx answer once it has arrived whole; anything else rejects. */
  async post(headers: http.OutgoingHttpHeaders, body: Buffer, path = ''): Promise<string> {
    const { status, text } = await exchange(`${this.url}${path}`, 'POST', this.agent, headers, body);
    if (!isSuccess(status)) throw new Error(`POST ${this.url}${path}: HTTP ${status} ${text}`);
    return text;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `use` with a JsonClient of `connections` fresh connections to `baseUrl` (sending `headers`), closed afterwards. */
export async function withClient<T>(
  baseUrl: string,
  connections: number,
  use: (client: JsonClient) => Promise<T>,
  headers: http.OutgoingHttpHeaders = {},
): Promise<T> {
  const client = new JsonClient(baseUrl, connections, headers);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

/**
 * One request (with `headers` besides its content type) on a connection of
 * its own, closed afterwards: for calls far apart, where a kept-alive socket
 * could meet the server's keep-alive timeout.
 */
export function requestOnce<T>(
  baseUrl: string,
  method: 'GET' | 'PUT' | 'POST',
  path: string,
  body = '',
  headers: http.OutgoingHttpHeaders = {},
): Promise<T> {
  return withClient(baseUrl, 1, (client) => client.send<T>(method, path, body), headers);
}
