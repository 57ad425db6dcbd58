import http from 'node:http';

/**
 * A minimal JSON client over keep-alive sockets, for the request sequences
 * autocannon cannot express (fetch, then ack what was fetched). Plain
 * node:http keeps the client's share of the bench process's core small.
 */
export class JsonClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly baseUrl: string,
    connections: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  }

  /** Sends `body` (JSON text; none for GET) and resolves with the parsed 2xx response; anything else rejects. */
  send<T>(method: 'GET' | 'PUT' | 'POST', path: string, body = ''): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const request = http.request(
        `${this.baseUrl}${path}`,
        {
          method,
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = response.statusCode ?? 0;
            if (status < 200 || status > 299) {
              reject(new Error(`${method} ${path}: HTTP ${status} ${text}`));
              return;
            }
            try {
              // The shape is openapi.yaml's; callers check what they rely on.
              resolve(JSON.parse(text) as T);
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * One request on a connection of its own, closed afterwards: for calls far
 * apart, where a kept-alive socket could meet the server's keep-alive timeout.
 */
export async function requestOnce<T>(
  baseUrl: string,
  method: 'GET' | 'PUT' | 'POST',
  path: string,
  body = '',
): Promise<T> {
  const client = new JsonClient(baseUrl, 1);
  try {
    return await client.send<T>(method, path, body);
  } finally {
    client.close();
  }
}
