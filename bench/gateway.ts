import { execFile } from 'node:child_process';
import type { OutgoingHttpHeaders } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { DATABASE_FILE } from '../persistence/sqlite/sqliteStore';
import type { PushView } from '../queue/push/pushService';
import { type Backend, type FreshStore, SQLITE, sqliteArgs } from './backend';
import { withChildServer } from './child';
import { requestOnce } from './httpClient';
import { withTempDir } from './tempDir';

/** The compiled gateway, next to dist/bench/ in dist/api/. */
const GATEWAY_MAIN = path.join(__dirname, '..', 'api', 'main.js');

/** A key printed by `keys create`: mqg_, the key id (12 hex digits), _, the secret. */
const PRINTED_KEY = /^mqg_[0-9a-f]{12}_\S+$/;

/** An API key of the bench's own, and the keys file that holds it (its hash): a gateway started with that file requires a key of every request. */
export interface BenchKey {
  keysFile: string;
  /** The header that carries the key, for every request to that gateway. */
  headers: { authorization: string };
}

/**
 * Runs `work` with a new API key of scope `*:*` in a fresh keys file, both
 * made by the gateway's own `keys create`; the file is removed afterwards.
 */
export function withBenchKey<T>(work: (key: BenchKey) => Promise<T>): Promise<T> {
  return withTempDir('keys', async (dir) => {
    const keysFile = path.join(dir, 'keys.yaml');
    const created = ['keys', 'create', '--name', 'bench', '--scope', '*:*', '--keys-file', keysFile];
    // The key alone goes to stdout; what was done, to stderr.
    const { stdout } = await promisify(execFile)(process.execPath, [GATEWAY_MAIN, ...created]);
    const key = stdout.trim();
    if (!PRINTED_KEY.test(key)) throw new Error(`keys create printed no key on stdout, but '${key.slice(0, 80)}'`);
    return work({ keysFile, headers: { authorization: `Bearer ${key}` } });
  });
}

/** Runs `work` against the real gateway (`node dist/api/main.js`) in its own process (`pid`), with the store options `storeArgs`. */
function withGatewayStoring<T>(storeArgs: string[], work: (url: string, pid: number) => Promise<T>): Promise<T> {
  return withChildServer(GATEWAY_MAIN, ['--host', '127.0.0.1', '--port', '0', ...storeArgs], work);
}

/** Runs `work` against the real gateway in its own process (`pid`), storing in SQLite in `dataDir`. */
export function withGateway<T>(
  dataDir: string,
  synchronous: 'FULL' | 'NORMAL',
  work: (url: string, pid: number) => Promise<T>,
): Promise<T> {
  return withGatewayStoring(sqliteArgs(dataDir, synchronous), work);
}

/** PUT /v1/queues/{name} with default settings, sending `headers` (a key's). */
async function createQueue(url: string, name: string, headers: OutgoingHttpHeaders = {}): Promise<void> {
  await requestOnce(url, 'PUT', `/v1/queues/${name}`, '{}', headers);
}

/** PUT /v1/topics/{name} with `partitions` partitions, the rest default (7 days' retention, no size limit). */
export async function createTopic(url: string, name: string, partitions: number): Promise<void> {
  await requestOnce(url, 'PUT', `/v1/topics/${name}`, JSON.stringify({ partitions }));
}

/** GET /v1/topics/{name}: the end offset of each partition, in partition order. */
export async function partitionEnds(url: string, name: string): Promise<number[]> {
  const topic = await requestOnce<{ stats: { partitions: Array<{ partition: number; endOffset: number }> } }>(
    url,
    'GET',
    `/v1/topics/${name}`,
  );
  return [...topic.stats.partitions].sort((a, b) => a.partition - b.partition).map((info) => info.endOffset);
}

/**
 * PUT /v1/push-subscriptions/{name}: delivers the messages of queue `queue`
 * to `target`, `concurrency` at a time, the other settings default (POST,
 * unordered, no dead-letter queue: every message is retried until delivered).
 */
export async function createPush(url: string, name: string, queue: string, target: string, concurrency: number): Promise<void> {
  const settings = { source: { queue }, url: target, concurrency };
  await requestOnce(url, 'PUT', `/v1/push-subscriptions/${name}`, JSON.stringify(settings));
}

/**
 * POST /v1/push-subscriptions/{name}/pause or /resume: once it answers, a
 * paused push has finished its attempts in progress and sends no more, a
 * resumed one is delivering. Resolves with the push's status then.
 */
export async function setPushRunning(url: string, name: string, running: boolean): Promise<PushView['status']> {
  const view = await requestOnce<PushView>(url, 'POST', `/v1/push-subscriptions/${name}/${running ? 'resume' : 'pause'}`);
  return view.status;
}

/** A gateway under bench: where it listens, its process, and where its store is (backend.ts's FreshStore). */
export interface RunningGateway {
  url: string;
  pid: number;
  location: string;
}

/**
 * Runs `work` against a fresh gateway on a fresh, empty store of `backend`,
 * with the empty queues `queues` created first. The gateway keeps running
 * until `work` is done, so alternating rounds measure one warmed-up process.
 */
export function withFreshGatewayOn<T>(backend: Backend, queues: string[], work: (gateway: RunningGateway) => Promise<T>): Promise<T> {
  return startFresh(backend, null, queues, work);
}

/** `withFreshGatewayOn`, the gateway reading the keys file of `key` when there is one (and then the queues created with the key). */
function startFresh<T>(backend: Backend, key: BenchKey | null, queues: string[], work: (gateway: RunningGateway) => Promise<T>): Promise<T> {
  const keyArgs = key === null ? [] : ['--keys-file', key.keysFile];
  return backend.withFreshStore(({ args, location }) =>
    withGatewayStoring([...args, ...keyArgs], async (url, pid) => {
      for (const queue of queues) await createQueue(url, queue, key?.headers);
      return work({ url, pid, location });
    }),
  );
}

/**
 * `withFreshGatewayOn` SQLite, with the keys file of `key`: the gateway
 * answers only requests that carry the key (`key.headers`), checks its
 * scopes, and logs a line per request (info, its default level).
 */
export function withFreshKeyedGateway<T>(key: BenchKey, queues: string[], work: (gateway: RunningGateway) => Promise<T>): Promise<T> {
  return startFresh(SQLITE, key, queues, work);
}

/** Runs `work` against `count` gateway processes over `store`, each with a data directory of its own (a fresh temp dir). */
function withGatewaysOver<T>(store: FreshStore, count: number, work: (gateways: RunningGateway[]) => Promise<T>): Promise<T> {
  if (count === 0) return work([]);
  return withTempDir('gateway', (dataDir) =>
    withGatewayStoring([...store.args, '--data-dir', dataDir], (url, pid) =>
      withGatewaysOver(store, count - 1, (others) => work([{ url, pid, location: store.location }, ...others])),
    ),
  );
}

/**
 * Runs `work` against `count` gateway processes side by side over one fresh,
 * empty PostgreSQL database of `postgres`, with the empty queues `queues`
 * created first through the first of them. Each has a data directory of its
 * own, where a gateway keeps its id among those over one store. They keep
 * running until `work` is done.
 */
export function withFreshGatewaysOn<T>(
  postgres: Backend,
  count: number,
  queues: string[],
  work: (gateways: RunningGateway[]) => Promise<T>,
): Promise<T> {
  // A SQLite store is its gateway's data directory: no two gateways share one.
  if (postgres.name !== 'PostgreSQL') throw new Error(`gateways side by side need a store on a server, not ${postgres.name}`);
  return postgres.withFreshStore((store) =>
    withGatewaysOver(store, count, async (gateways) => {
      for (const queue of queues) await createQueue(gateways[0].url, queue);
      return work(gateways);
    }),
  );
}

/**
 * `withFreshGatewayOn` SQLite (synchronous=FULL, the default durability).
 * `work` also gets the path of the gateway's database file, for a baseline
 * that reads a copy of it.
 */
export function withFreshGateway<T>(
  queues: string[],
  work: (url: string, databaseFile: string) => Promise<T>,
): Promise<T> {
  return withFreshGatewayOn(SQLITE, queues, ({ url, location }) => work(url, path.join(location, DATABASE_FILE)));
}
