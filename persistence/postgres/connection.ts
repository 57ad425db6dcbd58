import { Client, type ClientBase, type ClientConfig, type CustomTypesConfig, escapeIdentifier, Pool, type PoolClient, types } from 'pg';
import { StoreError } from '../errors';
import { choosesServer, parseHosts, type StoreHosts } from './hosts';
import { interpretError, isRetryable } from './interpretError';
import { findServer, ServerChoice } from './serverChoice';

/**
 * Connections to PostgreSQL: the pool every operation runs on, the
 * transaction runner, and a listener of notifications that keeps itself
 * connected. Every module of the backend takes `(tx, params)`, as the SQLite
 * modules take `(db, params)`: `tx` is a `Queryable`, the connection of a
 * `transaction`, or the pool itself for a single statement that is a
 * transaction by itself (one round trip instead of BEGIN, it, COMMIT).
 *
 * A URL may name several servers, libpq's way (hosts.ts): connections then
 * go to the first that fits its target_session_attrs, and follow a failover
 * to another (serverChoice.ts).
 */

/** What a module runs its statements on. */
export type Queryable = Pick<ClientBase, 'query'>;

export interface PostgresOptions {
  /**
   * postgres://user:password@host:port/database, or several servers:
   * postgres://user:password@h1:5432,h2:5433/database?target_session_attrs=read-write
   */
  url: string;
  /** Most connections open at once. Default 10. */
  poolSize?: number;
  /**
   * How long a call waits for a connection (a free one, or a new one to be
   * made, on another server if a failover moved them) before it fails
   * storage_unavailable. Default 5000.
   */
  connectTimeoutMs?: number;
  /** What the server's pg_stat_activity shows for these connections. Default 'mqgate'. */
  applicationName?: string;
  /**
   * The schema mqgate's tables live in (created by the first migration run if
   * missing); several gateways' data can share one database this way. Default:
   * the server's search_path (`public`).
   */
  schema?: string;
}

const DEFAULT_POOL_SIZE = 10;
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/**
 * TCP keepalive on every connection: a server that vanished without closing
 * the connection (a failed host) is noticed by the kernel's probes instead of
 * never.
 */
const KEEPALIVE_DELAY_MS = 10_000;
/**
 * The longest a probe of one server may take when looking for the one to use
 * (at most the connect timeout): a server that answers nothing within it,
 * likely dead, holds up a search no longer.
 */
const PROBE_TIMEOUT_MS = 2000;

/**
 * bigint (int8) columns as numbers. Ids, times in ms, counts and sizes are
 * all far below 2^53, and the gateway computes with numbers; the driver
 * would give strings. A value that a number cannot hold exactly fails the
 * query instead of coming back rounded.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} is beyond what a number holds exactly`);
  return value;
}

const TYPES: CustomTypesConfig = {
  getTypeParser: (id, format) => (id === types.builtins.INT8 && format !== 'binary' ? parseInt8 : types.getTypeParser(id, format)),
};

function connectionConfig(options: PostgresOptions): ClientConfig {
  return {
    connectionString: options.url,
    application_name: options.applicationName ?? 'mqgate',
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    types: TYPES,
    // Set when the session starts, so every statement of every connection names the same tables.
    ...(options.schema === undefined ? {} : { options: `-c search_path=${escapeIdentifier(options.schema)}` }),
  };
}

/** The servers of a URL naming several (or one whose session is checked), for `pg`; null when there is nothing to choose. */
function serversToChoose(url: string): StoreHosts | null {
  const hosts = parseHosts(url);
  return choosesServer(hosts) ? hosts : null;
}

/** The choice of server of each pool that has one (createPool); `transaction` and `withConnection` connect through it. */
const choices = new WeakMap<Pool, ServerChoice>();

/**
 * The pool every operation runs on; `pool.end()` closes it. Over several
 * servers it is one pool whose new connections go to the chosen server
 * (serverChoice.ts); `transaction` and `withConnection` take connections
 * through the choice, which checks each new one and, after a failover,
 * closes those made to the old server as they are checked out again (idle
 * ones left over close after the pool's idle timeout, 10 s). `pool.query`
 * goes around it: it is for URLs naming one server.
 */
export function createPool(options: PostgresOptions): Pool {
  const hosts = serversToChoose(options.url);
  const connection = connectionConfig(options);
  const config = { ...connection, max: options.poolSize ?? DEFAULT_POOL_SIZE };
  if (hosts === null) {
    const pool = new Pool(config);
    // An idle connection that breaks (a server restart) leaves the pool by
    // itself and the next call opens a new one. The pool reports it as an
    // 'error' event, which would end the process if nobody listened.
    pool.on('error', () => undefined);
    return pool;
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const choice = new ServerChoice(hosts, connection, { connectTimeoutMs, probeTimeoutMs: Math.min(connectTimeoutMs, PROBE_TIMEOUT_MS) });
  const pool = new Pool({ ...config, connectionString: hosts.servers[0].url, Client: choice.clientClass() });
  // The same event, and a server that broke an idle connection may be gone: look for the one to use.
  pool.on('error', (_error, client) => choice.failed(client));
  choices.set(pool, choice);
  return pool;
}

/** A connection of the pool (to its chosen server, when it has a choice); failing to get one is storage_unavailable. */
async function checkout(pool: Pool): Promise<PoolClient> {
  const choice = choices.get(pool);
  try {
    return await (choice === undefined ? pool.connect() : choice.connect(pool));
  } catch (error) {
    throw interpretError(error, { commitSent: false, connectionLost: true });
  }
}

/** A failure that says the server cannot take calls sends a pool with a choice of servers looking for the one to use. */
function failedOn(pool: Pool, client: PoolClient, failure: unknown): unknown {
  if (failure instanceof StoreError && failure.code === 'storage_unavailable') choices.get(pool)?.failed(client);
  return failure;
}

/** Runs of a transaction that hit a serialization failure or deadlock, before the error is given up. */
const MAX_ATTEMPTS = 5;
/** The wait before a retry is random, up to this doubled per attempt: two colliding transactions do not collide again in step. */
const RETRY_JITTER_MS = 5;

function retryDelay(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * RETRY_JITTER_MS * 2 ** (attempt - 1)));
}

/**
 * A connection checked out of the pool has no 'error' listener of the
 * pool's: a session the server ends reports the closed socket as an 'error'
 * event after the failed query, which would end the process. The transaction
 * listens while it holds the connection; one it destroys keeps the listener,
 * for the event may come later still.
 */
const ignoreError = (): void => undefined;

function release(client: PoolClient): void {
  client.off('error', ignoreError);
  client.release();
}

/**
 * Ends a failed transaction: ROLLBACK and the connection goes back to the
 * pool. A connection that cannot even roll back is broken: it is destroyed,
 * and the answer is false.
 */
async function rollBack(client: PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    release(client);
    return true;
  } catch {
    client.release(true);
    return false;
  }
}

/**
 * Runs `work` in a transaction (BEGIN … COMMIT, READ COMMITTED) on a
 * connection of the pool, and resolves with what it resolved with once
 * COMMIT succeeded. A serialization failure or deadlock rolls back and runs
 * `work` again, up to MAX_ATTEMPTS times: `work` must change nothing but
 * through `tx`. Failures come out as interpretError makes them: the server
 * cannot be reached or cannot write → storage_unavailable (`unconfirmed`
 * when the connection broke after COMMIT was sent), no space → storage_full;
 * what `work` threw (a StoreError refusing the call, a bug) unchanged.
 */
export async function transaction<T>(pool: Pool, work: (tx: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const client = await checkout(pool);
    client.on('error', ignoreError);
    let commitSent = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      commitSent = true;
      await client.query('COMMIT');
      release(client);
      return result;
    } catch (error) {
      // After a failed COMMIT the transaction is over already: ROLLBACK then only warns, and tells whether the connection lives.
      const connectionLost = !(await rollBack(client));
      if (!connectionLost && isRetryable(error) && attempt < MAX_ATTEMPTS) {
        await retryDelay(attempt);
        continue;
      }
      throw failedOn(pool, client, interpretError(error, { commitSent, connectionLost }));
    }
  }
}

/**
 * Runs `work` (reads, no transaction) on one connection of the pool. On a
 * failure the connection is asked a `SELECT 1`: one that cannot answer is
 * broken, and the failure is then a lost connection whatever it says (the
 * driver's error for a socket the server closed carries no code), mapped to
 * storage_unavailable; one that answers goes back to the pool.
 */
export async function withConnection<T>(pool: Pool, work: (db: PoolClient) => Promise<T>): Promise<T> {
  const client = await checkout(pool);
  client.on('error', ignoreError);
  try {
    const result = await work(client);
    release(client);
    return result;
  } catch (error) {
    const alive = await client.query('SELECT 1').then(
      () => true,
      () => false,
    );
    if (alive) release(client);
    else client.release(true);
    throw failedOn(pool, client, interpretError(error, { commitSent: false, connectionLost: !alive }));
  }
}

export interface ListenOptions {
  url: string;
  /** Channels to LISTEN on. */
  channels: string[];
  onNotification: (channel: string, payload: string) => void;
  /**
   * Called each time the listener is connected and listening: at first, and
   * again after every reconnection. Notifications sent while it was
   * disconnected are lost, so this is where a caller catches up (looks at
   * the state it would have been notified of).
   */
  onListening?: () => void;
  /** Called with what broke the connection, before each reconnection. */
  onError?: (error: Error) => void;
  applicationName?: string;
  /** Between two reconnection attempts the wait doubles from this up to `maxRetryDelayMs`. Defaults 100 and 5000. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /**
   * A `SELECT 1` this often on the idle connection, with the same limit on its
   * answer (and on connecting): a listener whose server went silent (a failed
   * host, a partition) reconnects within about twice this, not when TCP
   * gives up. Default 10000.
   */
  heartbeatMs?: number;
}

export interface Listener {
  /** Stops listening and reconnecting; resolves once the connection is closed. */
  close(): Promise<void>;
}

/**
 * A dedicated connection that LISTENs on `channels` and stays connected by
 * itself: when the connection breaks (the server restarted, an administrator
 * ended the session, the heartbeat got no answer) it connects again with
 * backoff, LISTENs again and calls `onListening`. Notifications are given as
 * they come; none is given twice, and those sent while it was down are lost.
 */
export function listen(options: ListenOptions): Listener {
  const baseDelay = options.retryDelayMs ?? 100;
  const maxDelay = options.maxRetryDelayMs ?? 5000;
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const hosts = serversToChoose(options.url);
  const config: ClientConfig = {
    ...connectionConfig({ url: options.url, applicationName: options.applicationName, connectTimeoutMs: heartbeatMs }),
    query_timeout: heartbeatMs,
  };
  let closed = false;
  let current: Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let delay = baseDelay;

  const stopHeartbeat = (): void => {
    if (heartbeat !== null) clearInterval(heartbeat);
    heartbeat = null;
  };

  /** Tells of what failed and plans the next connection, after a wait that doubles each time. */
  const again = (error: Error): void => {
    options.onError?.(error);
    retry = setTimeout(connect, delay * (0.5 + Math.random() / 2));
    delay = Math.min(delay * 2, maxDelay);
  };

  /** Drops a connection that failed and plans the next one; once per connection, whichever of its failures comes first. */
  const lost = (client: Client, error: Error): void => {
    if (client !== current) return;
    current = null;
    stopHeartbeat();
    client.end().catch(() => undefined);
    if (!closed) again(error);
  };

  const open = (url: string): void => {
    const client = new Client({ ...config, connectionString: url });
    current = client;
    client.on('error', (error) => lost(client, error));
    client.on('end', () => lost(client, new Error('the listening connection ended')));
    client.on('notification', (message) => {
      if (client === current) options.onNotification(message.channel, message.payload ?? '');
    });
    const start = async (): Promise<void> => {
      await client.connect();
      for (const channel of options.channels) await client.query(`LISTEN ${escapeIdentifier(channel)}`);
    };
    start().then(
      () => {
        if (client !== current) return;
        delay = baseDelay;
        heartbeat = setInterval(() => {
          client.query('SELECT 1').catch((error: Error) => lost(client, error));
        }, heartbeatMs);
        options.onListening?.();
      },
      (error: Error) => lost(client, error),
    );
  };

  /**
   * Over several servers, each connection goes to the one that fits the URL's
   * target_session_attrs, probed afresh: after a failover the old primary is
   * gone, and a standby takes no LISTEN (nor would it hear a NOTIFY).
   */
  const connect = (): void => {
    retry = null;
    if (hosts === null) {
      open(options.url);
      return;
    }
    void findServer(hosts, config, Math.min(heartbeatMs, PROBE_TIMEOUT_MS)).then((found) => {
      if (closed) return;
      if (found === null) again(new Error(`no server of ${hosts.name} fits target_session_attrs=${hosts.target}`));
      else open(hosts.servers[found].url);
    });
  };

  connect();
  return {
    close: async () => {
      closed = true;
      if (retry !== null) clearTimeout(retry);
      stopHeartbeat();
      const client = current;
      current = null;
      await client?.end().catch(() => undefined);
    },
  };
}
