import path from 'node:path';
import { withChildServer } from './child';
import { JsonClient } from './httpClient';
import { type LoadSpec, type LoadTiming, requestsPerSecond } from './load';
import { withTempDir } from './tempDir';

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

/**
 * Requests per second of the autocannon load `load(url)` against a fresh
 * gateway (synchronous=FULL, the default durability) in a fresh data dir,
 * with the empty queue `queue` created first.
 */
export function gatewayRequestsPerSecond(
  queue: string,
  load: (url: string) => LoadSpec,
  timing: LoadTiming,
): Promise<number> {
  return withTempDir('gateway', (dir) =>
    withGateway(dir, 'FULL', async (url) => {
      await createQueue(url, queue);
      return requestsPerSecond(load(url), timing);
    }),
  );
}
