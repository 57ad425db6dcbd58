import { Client, type ClientBase, type ClientConfig, type Pool, type PoolClient } from 'pg';
import type { SessionTarget, StoreHosts } from './hosts';

/**
 * Which of a store URL's servers the connections go to, and finding it again
 * when it fails: a failover. Given `h1,h2?target_session_attrs=read-write`
 * over a primary and its standby, connections go to the first server that
 * takes writes; when the primary dies, connections to it fail (refused,
 * timed out, or, on a server that came back as a standby, read-only), which
 * starts a search: every server is probed at once on a short-lived
 * connection, and the first in the URL's order whose session fits becomes
 * the one new connections go to. Until the standby is promoted none fits,
 * and calls fail storage_unavailable as with one server down.
 */

/** What a probe, and every new connection of a pool, asks a server. */
const ROLE = `SELECT pg_is_in_recovery() AS in_recovery, current_setting('transaction_read_only') AS read_only`;

interface Role {
  in_recovery: boolean;
  read_only: string;
}

/** Why a session does not fit `target`, as libpq decides it; null when it does. */
function misfit(target: SessionTarget, role: Role): string | null {
  if (target === 'read-write' && role.read_only !== 'off') return 'read-only';
  if (target === 'primary' && role.in_recovery) return 'a standby (in recovery)';
  return null;
}

/** Connects to one server on a client of its own, asks its role and closes: whether its session fits (false for any failure). */
async function probe(config: ClientConfig, url: string, target: SessionTarget, timeoutMs: number): Promise<boolean> {
  const client = new Client({ ...config, connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  // A server that dies under the probe reports it as an 'error' event too, which would end the process if nobody listened.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<Role>(ROLE);
    return misfit(target, rows[0]) === null;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The index of the first server, in the URL's order, whose session fits the
 * URL's target_session_attrs; null when none does. All are probed at once,
 * each for at most `timeoutMs`, so a search takes one probe's time; the order
 * decides between two that fit (two gateways choose the same one).
 */
export async function findServer(hosts: StoreHosts, config: ClientConfig, timeoutMs: number): Promise<number | null> {
  const probes = hosts.servers.map((server) => probe(config, server.url, hosts.target, timeoutMs));
  for (const [index, fits] of probes.entries()) if (await fits) return index;
  return null;
}

/** A search that found none is not repeated sooner than this: calls during an outage fail at once instead of each probing. */
const SEARCH_INTERVAL_MS = 250;

/** Resolves with what `promise` resolves with, or with `otherwise` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, otherwise: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(otherwise), Math.max(0, ms));
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/**
 * The server a pool's new connections go to (the URL's first at the start),
 * the Client class that connects them there, and the search that moves them.
 * A connection made before a move is closed when it is next checked out, so
 * the pool drains off the old server as its connections come back.
 */
export class ServerChoice {
  private current = 0;
  private search: Promise<number | null> | null = null;
  /** When the last search ended, and what it found. */
  private searchedAt = Number.NEGATIVE_INFINITY;
  private lastFound: number | null = null;
  /** The server each connection was made to. */
  private readonly serverOf = new WeakMap<ClientBase, number>();
  /** Connections whose session was found to fit. */
  private readonly fitting = new WeakSet<ClientBase>();

  /**
   * @param config what every connection is made with, the URL aside
   * @param timeouts the longest `connect` takes to give a connection when it
   * has to look for a server (from the call), and each probe of a search
   */
  constructor(
    private readonly hosts: StoreHosts,
    private readonly config: ClientConfig,
    private readonly timeouts: { connectTimeoutMs: number; probeTimeoutMs: number },
  ) {}

  /** The Client class a pool makes its connections with: each to the server chosen at the moment it is made. */
  clientClass(): new (config?: ClientConfig) => Client {
    const choose = (): { server: number; url: string } => ({ server: this.current, url: this.hosts.servers[this.current].url });
    const made = (client: Client, server: number): void => {
      this.serverOf.set(client, server);
    };
    return class ChosenServerClient extends Client {
      constructor(config?: ClientConfig) {
        const { server, url } = choose();
        super({ ...config, connectionString: url });
        made(this, server);
      }
    };
  }

  /**
   * A connection of `pool` to the chosen server, its session checked when it
   * is new. When that fails (no connection, or a session that does not fit),
   * the servers are searched, and if another one fits the connection is made
   * to it instead; otherwise the failure is thrown. Gives up once
   * `connectTimeoutMs` have passed since the call.
   */
  async connect(pool: Pool): Promise<PoolClient> {
    const deadline = Date.now() + this.timeouts.connectTimeoutMs;
    for (;;) {
      let server = this.current;
      let client: PoolClient | null = null;
      try {
        client = await pool.connect();
        const madeTo = this.serverOf.get(client);
        if (madeTo === this.current) {
          server = madeTo;
          await this.checkFits(client, server);
          return client;
        }
        // Made to a server the pool has moved off since: closed, and another taken.
        client.release(true);
      } catch (error) {
        client?.release(true);
        if (!(await this.movedOff(server, deadline))) throw error;
      }
    }
  }

  /** A connection of this pool failed in use: if it was to the chosen server, a search starts (unless one just ended). */
  failed(client: ClientBase): void {
    if (this.serverOf.get(client) === this.current) void this.find();
  }

  private async checkFits(client: PoolClient, server: number): Promise<void> {
    if (this.hosts.target === 'any' || this.fitting.has(client)) return;
    const { rows } = await client.query<Role>(ROLE);
    const why = misfit(this.hosts.target, rows[0]);
    if (why !== null) throw new Error(`${this.hosts.servers[server].name} is ${why}, not what target_session_attrs=${this.hosts.target} asks for`);
    this.fitting.add(client);
  }

  /**
   * After a failure on `server`: whether connections now go to another
   * server, found by a search waited for until `deadline` at most. A search
   * that finds `server` itself fit says the failure was passing: the caller
   * fails rather than trying the same server again at once.
   */
  private async movedOff(server: number, deadline: number): Promise<boolean> {
    if (this.current !== server) return Date.now() < deadline;
    const found = await within(this.find(), deadline - Date.now(), null);
    return found !== null && found !== server && Date.now() < deadline;
  }

  /** The search in progress, else a new one, unless the last ended less than SEARCH_INTERVAL_MS ago: then what it found. */
  private find(): Promise<number | null> {
    if (this.search !== null) return this.search;
    if (Date.now() - this.searchedAt < SEARCH_INTERVAL_MS) return Promise.resolve(this.lastFound);
    this.search = findServer(this.hosts, this.config, this.timeouts.probeTimeoutMs).then((found) => {
      this.search = null;
      this.searchedAt = Date.now();
      this.lastFound = found;
      if (found !== null) this.current = found;
      return found;
    });
    return this.search;
  }
}
