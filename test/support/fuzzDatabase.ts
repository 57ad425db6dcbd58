import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client, escapeIdentifier } from 'pg';
import { DATABASE_FILE } from '../../persistence/sqlite/sqliteStore';
import type { TestGateway } from './testGateway';
import { schemaOf, serverUrl, testBackend } from './testStore';

export interface Fingerprint {
  /** The database's commit marker when the digests were read: it moves whenever a connection commits. */
  version: string;
  /** A digest of every row of every table, by table. */
  tables: Map<string, string>;
}

/** What each backend's watch reads, through a connection of its own. */
interface WatchedDatabase {
  /** The commit marker: if it has not moved, no connection committed since it was read. */
  version(): Promise<string>;
  /** A fingerprint, its version read no later than its digests. */
  read(): Promise<Fingerprint>;
  /** Names of push subscriptions that deliver (are not paused). */
  runningPushes(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * The SQLite file, read through a second, read-only connection. Its version is
 * SQLite's data_version, which moves whenever another connection commits.
 */
class SqliteDatabase implements WatchedDatabase {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    this.db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
  }

  async version(): Promise<string> {
    return String(this.db.pragma('data_version', { simple: true }));
  }

  async read(): Promise<Fingerprint> {
    const version = await this.version();
    const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    return { version, tables: new Map(tables.map((table) => [table, this.digest(table)])) };
  }

  async runningPushes(): Promise<string[]> {
    const table = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'push_subscriptions'").get();
    if (table === undefined) return [];
    return (this.db.prepare('SELECT name FROM push_subscriptions WHERE paused = 0').pluck().all() as string[]).sort();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /** Rows in the order of all their columns, so equal contents hash equal whatever the physical order. */
  private digest(table: string): string {
    const quoted = `"${table.replace(/"/g, '""')}"`;
    const columns = (this.db.pragma(`table_info(${quoted})`) as unknown[]).length;
    const order = Array.from({ length: columns }, (_, i) => i + 1).join(', ');
    const hash = createHash('sha256');
    const rows = this.db.prepare(`SELECT * FROM ${quoted} ORDER BY ${order}`).raw(true).safeIntegers(true);
    for (const row of rows.iterate() as Iterable<unknown[]>) {
      for (const value of row) {
        if (Buffer.isBuffer(value)) hash.update('b').update(String(value.length)).update(':').update(value);
        else hash.update(typeof value === 'string' ? `s${value.length}:${value}` : `${typeof value}:${String(value)}`);
        hash.update('\u0000');
      }
      hash.update('\n');
    }
    return hash.digest('hex');
  }
}

/**
 * The gateway's schema on the run's PostgreSQL server, read through a
 * connection of its own. The tables are hashed by the server, all in one
 * statement: each table's rows as text, in the order of that text (the
 * database's collation is C), so equal contents hash equal whatever the
 * physical order. Sequences are left out: PostgreSQL never takes back a
 * number a rolled-back insert drew, and no client sees one.
 *
 * The version is the server's current snapshot (pg_current_snapshot: the
 * transactions still running, and the next one to finish). Any transaction
 * that wrote commits or aborts only by changing it; the per-session counters
 * (pg_stat_xact_*, txid_current_if_assigned) see only the watching session,
 * and pg_stat_database is flushed lazily. The snapshot is the whole server's:
 * other test files' commits move it too, which costs a needless new digest,
 * never a missed change. Read in the digests' own statement, it is the
 * snapshot they saw.
 */
class PostgresDatabase implements WatchedDatabase {
  private constructor(
    private readonly client: Client,
    private readonly schema: string,
    private readonly tables: string[],
  ) {}

  static async open(dataDir: string): Promise<PostgresDatabase> {
    const client = new Client({ connectionString: serverUrl() });
    await client.connect();
    const schema = schemaOf(dataDir);
    const { rows } = await client.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 ORDER BY tablename', [schema]);
    return new PostgresDatabase(client, schema, rows.map((row) => row.name));
  }

  async version(): Promise<string> {
    const { rows } = await this.client.query<{ version: string }>('SELECT pg_current_snapshot()::text AS version');
    return rows[0].version;
  }

  async read(): Promise<Fingerprint> {
    const digests = this.tables.map(
      (table) => `(SELECT md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM ${this.qualified(table)} r)`,
    );
    const { rows } = await this.client.query<{ version: string; digests: string[] }>(
      `SELECT pg_current_snapshot()::text AS version, ARRAY[${digests.join(', ')}]::text[] AS digests`,
    );
    const [{ version, digests: values }] = rows;
    return { version, tables: new Map(this.tables.map((table, i) => [table, values[i]])) };
  }

  async runningPushes(): Promise<string[]> {
    const { rows } = await this.client.query<{ name: string }>(`SELECT name FROM ${this.qualified('push_subscriptions')} WHERE NOT paused ORDER BY name`);
    return rows.map((row) => row.name);
  }

  close(): Promise<void> {
    return this.client.end();
  }

  private qualified(table: string): string {
    return `${escapeIdentifier(this.schema)}.${escapeIdentifier(table)}`;
  }
}

/**
 * Fingerprints of a test gateway's database: every row of every table
 * hashed, so any change a request makes shows. A fingerprint is recomputed
 * only when the version says some connection committed since the last one,
 * so an unchanged database costs one look at the version.
 */
export class DatabaseWatch {
  private last: Fingerprint | null = null;

  private constructor(private readonly database: WatchedDatabase) {}

  /** The watch of the gateway's backend (testBackend()), once its store is open and migrated. */
  static async open(gateway: TestGateway): Promise<DatabaseWatch> {
    await gateway.ready();
    return new DatabaseWatch(testBackend() === 'postgres' ? await PostgresDatabase.open(gateway.dataDir) : new SqliteDatabase(gateway.dataDir));
  }

  version(): Promise<string> {
    return this.database.version();
  }

  async fingerprint(): Promise<Fingerprint> {
    const version = await this.database.version();
    if (this.last === null || this.last.version !== version) this.last = await this.database.read();
    return this.last;
  }

  /** Names of the tables whose rows differ between two fingerprints. */
  static changed(before: Fingerprint, after: Fingerprint): string[] {
    const names = new Set([...before.tables.keys(), ...after.tables.keys()]);
    return [...names].filter((name) => before.tables.get(name) !== after.tables.get(name)).sort();
  }

  runningPushes(): Promise<string[]> {
    return this.database.runningPushes();
  }

  close(): Promise<void> {
    return this.database.close();
  }
}
