import { type CpuClock, CpuMeter, type Meter, processTreeClock } from './cpuMeter';
import { createDatabase, type PostgresServer, startPostgres } from './postgresServer';
import type { SideCpu } from './report';
import { withTempDir } from './tempDir';

/** A fresh, empty store of a backend. */
export interface FreshStore {
  /** The gateway's command-line options that make it store there. */
  args: string[];
  /** Where it is, for what opens it in this process or reads it beside the gateway: SQLite's data dir, PostgreSQL's database URL. */
  location: string;
}

/** A side's meter, and what it measured per message (every run it was given). */
export interface SideMeter {
  meter: Meter;
  cpu(): SideCpu;
}

/** What a gateway under bench stores in. */
export interface Backend {
  name: 'SQLite' | 'PostgreSQL';
  /** The name with how it stores, for the notes. */
  description: string;
  /** Runs `work` with a fresh, empty store, removed afterwards whatever happens. */
  withFreshStore<T>(work: (store: FreshStore) => Promise<T>): Promise<T>;
  /** Meters the process (or processes) whose CPU `gateway` reads, and the database server's where the store has one of its own. */
  meter(gateway: CpuClock): SideMeter;
}

/** The gateway's options for storing in SQLite in `dataDir`. */
export function sqliteArgs(dataDir: string, synchronous: 'FULL' | 'NORMAL'): string[] {
  return ['--data-dir', dataDir, '--synchronous', synchronous];
}

/** SQLite in a fresh temp dir per store, synchronous=FULL (the default durability), inside the gateway's process. */
export const SQLITE: Backend = {
  name: 'SQLite',
  description: 'SQLite, synchronous=FULL',
  withFreshStore: (work) => withTempDir('store', (dir) => work({ args: sqliteArgs(dir, 'FULL'), location: dir })),
  meter: (gateway) => {
    const meter = new CpuMeter({ gateway });
    return { meter, cpu: () => ({ gateway: meter.use('gateway').perMessage, server: null }) };
  },
};

/**
 * A fresh database per store on `server`, which commits as production does
 * (fsync, synchronous_commit on; postgresServer.ts). Its CPU is the
 * postmaster's and every process under it: one backend process per pooled
 * connection, the WAL writer, the checkpointer, autovacuum.
 */
function postgresBackend(server: PostgresServer): Backend {
  const postmaster = server.pid();
  if (postmaster === null) throw new Error('the bench PostgreSQL server is not running');
  const serverClock = processTreeClock(postmaster);
  return {
    name: 'PostgreSQL',
    description: "PostgreSQL (the bench's throw-away server on this machine, fsync and synchronous_commit on)",
    withFreshStore: async (work) => {
      const database = await createDatabase(server.url, 'mqgate_bench');
      try {
        return await work({ args: ['--store', database.url], location: database.url });
      } finally {
        await database.drop();
      }
    },
    meter: (gateway) => {
      const meter = new CpuMeter({ gateway, server: serverClock });
      return { meter, cpu: () => ({ gateway: meter.use('gateway').perMessage, server: meter.use('server').perMessage }) };
    },
  };
}

/**
 * The bench's throw-away PostgreSQL server: started when the first scenario
 * asks for it, so a run without PostgreSQL scenarios needs no PostgreSQL,
 * and stopped (its files removed) at the end of the run. If the bench dies,
 * the server shuts itself down (postgresServer.ts).
 */
export class BenchPostgres {
  private started: Promise<Backend> | null = null;
  private server: PostgresServer | null = null;

  backend(): Promise<Backend> {
    this.started ??= startPostgres().then((server) => {
      this.server = server;
      return postgresBackend(server);
    });
    return this.started;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}
