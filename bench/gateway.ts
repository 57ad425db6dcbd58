import path from 'node:path';
import { withChildServer } from './child';
import { JsonClient } from './httpClient';

/** The compiled gateway, next to dist/bench/ in dist/api/. */
const GATEWAY_MAIN = path.join(__dirname, '..', 'api', 'main.js');

/** Runs `work` against the real gateway (`node dist/api/main.js`) in its own process, storing in `dataDir`. */
export function withGateway<T>(
  dataDir: string,
  synchronous: 'FULL' | 'NORMAL',
  work: (url: string) => Promise<T>,
): Promise<T> {
  const args = ['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--synchronous', synchronous];
  return withChildServer(GATEWAY_MAIN, args, work);
}

/** PUT /v1/queues/{name} with default settings. */
export async function createQueue(url: string, name: string): Promise<void> {
  const client = new JsonClient(url, 1);
  try {
    await client.send('PUT', `/v1/queues/${name}`, '{}');
  } finally {
    client.close();
  }
}
