import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, type Pool } from 'pg';
import { freePort, type PostgresServer, startPostgres } from '../bench/postgresServer';
import { StoreError } from '../persistence/errors';
import { createPool, listen, transaction, withConnection } from '../persistence/postgres/connection';
import { choosesServer, parseHosts, redactPassword } from '../persistence/postgres/hosts';
import { failure, URL_VARIABLE } from './support/testPostgres';

/**
 * Store URLs naming several servers, libpq's way (persistence/postgres/hosts.ts),
 * and how a pool and a listener choose among them (serverChoice.ts): against
 * the run's server (test/globalSetup.ts), a server of this file's own whose
 * sessions are read-only (as a standby's are), and a proxy in front of the
 * run's server that stands for a server going away. test/postgres-failover.test.ts
 * fails over a real primary to its standby under gateways.
 */

describe('a store URL naming several servers', () => {
  const several = 'postgres://mq:s3cret@db1.internal:5432,[::1]:5433,db3/mqgate?options=-c%20search_path%3Dq&target_session_attrs=read-write';

  test('pg cannot parse it; it is split into one URL per server that pg can, in order, without target_session_attrs', () => {
    expect(() => new Client({ connectionString: several })).toThrow(/Invalid URL/);
    const hosts = parseHosts(several);
    expect(hosts).toEqual({
      servers: [
        { name: 'db1.internal:5432', url: 'postgres://mq:s3cret@db1.internal:5432/mqgate?options=-c%20search_path%3Dq' },
        { name: '[::1]:5433', url: 'postgres://mq:s3cret@[::1]:5433/mqgate?options=-c%20search_path%3Dq' },
        { name: 'db3:5432', url: 'postgres://mq:s3cret@db3:5432/mqgate?options=-c%20search_path%3Dq' },
      ],
      target: 'read-write',
      name: 'db1.internal:5432,[::1]:5433,db3:5432/mqgate',
    });
    expect(choosesServer(hosts)).toBe(true);
    const clients = hosts.servers.map((server) => new Client({ connectionString: server.url }));
    expect(clients.map(({ host, port, user, database }) => ({ host, port, user, database }))).toEqual([
      { host: 'db1.internal', port: 5432, user: 'mq', database: 'mqgate' },
      { host: '::1', port: 5433, user: 'mq', database: 'mqgate' },
      { host: 'db3', port: 5432, user: 'mq', database: 'mqgate' },
    ]);
  });

  test('one server asking nothing is kept byte for byte, and there is nothing to choose', () => {
    const one = 'postgresql://mq:s3cret@db.internal/mqgate?options=-c%20search_path%3Dq';
    const hosts = parseHosts(one);
    expect(hosts).toEqual({ servers: [{ name: 'db.internal:5432', url: one }], target: 'any', name: 'db.internal:5432/mqgate' });
    expect(choosesServer(hosts)).toBe(false);
    // One server whose session must fit: a choice (the server is checked), and the parameter is taken out.
    const checked = parseHosts('postgres://mq@db.internal:6432/mqgate?target_session_attrs=primary');
    expect(checked).toMatchObject({ servers: [{ url: 'postgres://mq@db.internal:6432/mqgate' }], target: 'primary' });
    expect(choosesServer(checked)).toBe(true);
  });

  test('what the gateway cannot use is refused, naming the URL without its password', () => {
    const refusal = (url: string): string => {
      try {
        parseHosts(url);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refusal('postgres://mq:s3cret@h1:5432,h2:99999/db')).toBe(
      "the store URL postgres://mq:***@h1:5432,h2:99999/db names the port '99999', which is not a port number",
    );
    expect(refusal('postgres://mq:s3cret@h1,h2:x/db')).toMatch(/port 'x'/);
    expect(refusal('postgres://mq:s3cret@h1,h2/db?target_session_attrs=standby')).toBe(
      'the store URL postgres://mq:***@h1,h2/db?target_session_attrs=standby asks for target_session_attrs=standby; ' +
        'the gateway writes, so it takes any, read-write, primary',
    );
    expect(refusal('mysql://h1/db')).toBe('the store URL is not a postgres:// URL');
  });

  test('the password is masked for logs, whatever the number of servers', () => {
    expect(redactPassword('postgres://mq:s3cret@h1:5432,h2:5433/db')).toBe('postgres://mq:***@h1:5432,h2:5433/db');
    expect(redactPassword('postgres://mq:s3cret@h1/db')).toBe('postgres://mq:***@h1/db');
    expect(redactPassword('postgres://mq@h1,h2/db')).toBe('postgres://mq@h1,h2/db');
  });
});

// ---------------------------------------------------------------- choosing a server

/** A TCP proxy to a server: a server of its own address that can stop taking connections, or go away with those it had. */
interface Proxy {
  port: number;
  /** Connections open through it. */
  open(): number;
  /** New connections are refused; those open go on working. */
  refuseNew(): void;
  /** Refuses new connections and breaks the open ones, as a server's death does. */
  cut(): void;
}

async function startProxy(targetPort: number): Promise<Proxy> {
  const pairs = new Set<net.Socket[]>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, '127.0.0.1');
    const pair = [inbound, outbound];
    pairs.add(pair);
    const close = (): void => {
      pairs.delete(pair);
      for (const socket of pair) socket.destroy();
    };
    for (const socket of pair) socket.on('error', close).on('close', close);
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // close() stops the listening at once; its callback would wait for the open connections to end.
  const refuseNew = (): void => {
    server.close();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    open: () => pairs.size,
    refuseNew,
    cut: () => {
      refuseNew();
      for (const pair of pairs) for (const socket of pair) socket.destroy();
      pairs.clear();
    },
  };
}

/** Polls `done` until it holds; fails after 10 s. */
async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`still not so after 10 s: ${done.toString()}`);
    await delay(20);
  }
}


function runServerPort(): number {
  const url = process.env[URL_VARIABLE];
  if (url === undefined) throw new Error(`${URL_VARIABLE} is not set: jest's globalSetup (test/globalSetup.ts) sets it`);
  return Number(new URL(url).port);
}

/** A URL naming the servers on these loopback ports, in order, the database every server has. */
function urlOf(ports: number[], target?: string): string {
  const user = new URL(process.env[URL_VARIABLE] ?? '').username;
  const servers = ports.map((port) => `127.0.0.1:${port}`).join(',');
  return `postgres://${user}@${servers}/postgres${target === undefined ? '' : `?target_session_attrs=${target}`}`;
}

let readOnly: PostgresServer;
const pools: Pool[] = [];

function pool(url: string, connectTimeoutMs = 3000): Pool {
  const made = createPool({ url, poolSize: 4, connectTimeoutMs });
  pools.push(made);
  return made;
}

beforeAll(async () => {
  // A server whose sessions are read-only, as a standby's are (a standby is also in recovery: postgres-failover.test.ts has one).
  readOnly = await startPostgres();
  const admin = new Client({ connectionString: readOnly.url });
  await admin.connect();
  try {
    await admin.query('ALTER SYSTEM SET default_transaction_read_only = on');
    await admin.query('SELECT pg_reload_conf()');
  } finally {
    await admin.end();
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(pools.map((each) => each.end()));
  await readOnly.stop();
});

/** The port of the server a call of the pool runs on, as the server sees it. */
const serverPort = (db: Pool): Promise<number> =>
  withConnection(db, async (client) => (await client.query<{ port: number }>('SELECT inet_server_port() AS port')).rows[0].port);

/** A write: a temporary table, which a read-only session refuses like any other. */
const write = (db: Pool): Promise<unknown> => transaction(db, (tx) => tx.query('CREATE TEMP TABLE written (n integer)'));


describe('choosing the server', () => {
  test('a server that refuses connections is passed over for the next', async () => {
    const db = pool(urlOf([await freePort(), runServerPort()]));
    expect(await serverPort(db)).toBe(runServerPort());
    await write(db);
  });

  test('read-write passes a read-only server over; any takes it, and its writes are refused storage_unavailable', async () => {
    const checked = pool(urlOf([readOnly.port, runServerPort()], 'read-write'));
    expect(await serverPort(checked)).toBe(runServerPort());
    await write(checked);
    const unchecked = pool(urlOf([readOnly.port, runServerPort()], 'any'));
    expect(await serverPort(unchecked)).toBe(readOnly.port);
    expect(await failure(write(unchecked))).toMatchObject({ failure: { code: 'storage_unavailable', state: 'refused' } });
  });

  test('when no server fits, calls fail storage_unavailable, refused, within the connect timeout', async () => {
    const db = pool(urlOf([await freePort(), readOnly.port], 'read-write'), 1000);
    const started = Date.now();
    const error = await failure(write(db));
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).failure).toEqual({ code: 'storage_unavailable', state: 'refused' });
    // One connect timeout, and the turn of a busy machine.
    expect(Date.now() - started).toBeLessThan(1000 + 1000);
    // Again at once: a search that found none is not repeated for every call, which fails as fast.
    expect(await failure(write(db))).toBeInstanceOf(StoreError);
  });

  test('when its server goes, a call in flight fails storage_unavailable and the next goes to the next server', async () => {
    const proxy = await startProxy(runServerPort());
    const db = pool(urlOf([proxy.port, runServerPort()], 'read-write'));
    await write(db);
    expect(proxy.open()).toBe(1);
    const watcher = pool(urlOf([runServerPort()]));
    const inFlight = failure(transaction(db, (tx) => tx.query('SELECT pg_sleep(5)')));
    const sleeping = "SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)' AND state = 'active'";
    await until(async () => (await watcher.query(sleeping)).rowCount === 1);
    proxy.cut();
    expect(await inFlight).toMatchObject({ failure: { code: 'storage_unavailable', state: 'refused' } });
    await write(db);
    expect(await serverPort(db)).toBe(runServerPort());
    expect(proxy.open()).toBe(0);
  });

  test('after a move, the connections made to the old server are closed as they are checked out again', async () => {
    const proxy = await startProxy(runServerPort());
    const db = pool(urlOf([proxy.port, runServerPort()], 'read-write'));
    const holding = (): Promise<unknown> => transaction(db, (tx) => tx.query('SELECT pg_sleep(0.2)'));
    await Promise.all([holding(), holding()]);
    expect(proxy.open()).toBe(2);
    // The old server takes no new connection, and keeps those it has (a server that stops fitting, for one).
    proxy.refuseNew();
    // Two calls take the idle connections through the proxy; the third needs a new one, which is refused: it moves.
    await Promise.all([holding(), holding(), write(db)]);
    expect(await serverPort(db)).toBe(runServerPort());
    // As many calls at once as the pool holds connections check every idle one out: those to the old server are closed.
    await Promise.all([holding(), holding(), holding(), holding()]);
    await until(() => proxy.open() === 0);
  });

  test('a listener listens on the server that fits, and after that one goes, on the next', async () => {
    const proxy = await startProxy(runServerPort());
    const notifier = pool(urlOf([runServerPort()]));
    const heard: string[] = [];
    let listening = 0;
    const listener = listen({
      url: urlOf([proxy.port, readOnly.port, runServerPort()], 'read-write'),
      channels: ['hosts test'],
      retryDelayMs: 20,
      onNotification: (_channel, payload) => heard.push(payload),
      onListening: () => {
        listening += 1;
      },
    });
    try {
      await until(() => listening === 1);
      await notifier.query(`SELECT pg_notify('hosts test', 'one')`);
      await until(() => heard.length === 1);
      proxy.cut();
      // Not to the read-only server, which takes LISTEN (it is no standby) but would hear nothing of the primary's NOTIFY.
      await until(() => listening === 2);
      await notifier.query(`SELECT pg_notify('hosts test', 'two')`);
      await until(() => heard.length === 2);
      expect(heard).toEqual(['one', 'two']);
    } finally {
      await listener.close();
    }
  });
});
