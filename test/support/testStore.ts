import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client, escapeIdentifier } from 'pg';
import { PostgresStore } from '../../persistence/postgres/postgresStore';
import { DATABASE_FILE, SqliteStore } from '../../persistence/sqlite/sqliteStore';
import type { Fsync } from '../../persistence/sqlite/walSync';
import type { Store } from '../../persistence/store';
import { rules } from '../../queue/rules';
import { URL_VARIABLE } from './testPostgres';

/**
 * The backend the API tests run on: MQGATE_TEST_STORE=postgres runs them on
 * the run's PostgreSQL server (jest's global setup starts one), anything else
 * on SQLite. The same test files run on both (jest.config.js's projects).
 */
export type TestBackend = 'sqlite' | 'postgres';

export function testBackend(): TestBackend {
  return process.env.MQGATE_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
}

export interface TestStoreOptions {
  /**
   * Where the data is: reopening the same place finds the same data. A
   * directory for SQLite; on PostgreSQL it names a schema of its own.
   */
  dataDir: string;
  /** Cap on the database file, to run out of space on purpose (SQLite only). */
  maxStorageBytes?: number;
  /** The store's fsync of its log (default: fs.fsync); a test holds it to see what waits for it (SQLite only). */
  fsync?: Fsync;
  /** Told of each commit's duration and size (the gateway's metrics). */
  onCommit?: (seconds: number, operations: number) => void;
}

/** The PostgreSQL schema of a place: its directory's name, which is unique (mkdtemp). */
export function schemaOf(dataDir: string): string {
  return `test_${path.basename(dataDir).replace(/[^A-Za-z0-9]/g, '_').toLowerCase()}`;
}

/** The run's PostgreSQL server (test/support/testPostgres.ts). */
export function serverUrl(): string {
  const url = process.env[URL_VARIABLE];
  if (url === undefined) throw new Error(`${URL_VARIABLE} is not set: jest's globalSetup (test/globalSetup.ts) sets it`);
  return url;
}

/** The store a test gateway runs on, opened as the gateway opens it (with queue/'s rules). */
export function openTestStore(options: TestStoreOptions): Store {
  if (testBackend() === 'postgres') {
    return new PostgresStore({ url: serverUrl(), schema: schemaOf(options.dataDir), rules, poolSize: 4, onCommit: options.onCommit });
  }
  return new SqliteStore({
    dataDir: options.dataDir,
    synchronous: 'FULL',
    maxDatabaseBytes: options.maxStorageBytes,
    fsync: options.fsync,
    onCommit: options.onCommit,
    rules,
  });
}

/** Runs statements on a place's PostgreSQL schema through a connection of its own. */
async function inSchema<T>(dataDir: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: serverUrl(), options: `-c search_path=${escapeIdentifier(schemaOf(dataDir))}` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Removes what a place holds: its directory, and on PostgreSQL its schema. */
export async function removeTestStore(dataDir: string): Promise<void> {
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (testBackend() !== 'postgres') return;
  await inSchema(dataDir, (client) => client.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schemaOf(dataDir))} CASCADE`));
}

/**
 * Deletes the record of the newest applied migration, as if this code shipped
 * one the database lacks (readiness must say so); returns what puts it back.
 */
export async function forgetNewestMigration(dataDir: string): Promise<() => Promise<void>> {
  const newest = 'SELECT version, name, applied_at FROM schema_migrations ORDER BY version DESC LIMIT 1';
  if (testBackend() === 'postgres') {
    const row = await inSchema(dataDir, async (client) => {
      const { rows } = await client.query<{ version: number; name: string; applied_at: string }>(newest);
      await client.query('DELETE FROM schema_migrations WHERE version = $1', [rows[0].version]);
      return rows[0];
    });
    return async () => {
      await inSchema(dataDir, (client) =>
        client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [row.version, row.name, row.applied_at]),
      );
    };
  }
  const db = new Database(path.join(dataDir, DATABASE_FILE));
  const row = db.prepare(newest).get() as Record<string, unknown>;
  db.prepare('DELETE FROM schema_migrations WHERE version = @version').run(row);
  db.close();
  return async () => {
    const again = new Database(path.join(dataDir, DATABASE_FILE));
    again.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @applied_at)').run(row);
    again.close();
  };
}

/** The SQLite store under a test gateway, for the tests of what only SQLite does (group commit, its files). */
export function sqliteStoreOf(gateway: { store: Store }): SqliteStore {
  if (!(gateway.store instanceof SqliteStore)) throw new Error('This test is about the SQLite backend; the gateway runs on another.');
  return gateway.store;
}

/** How many commits the store under a test gateway made, for how many write calls (either backend counts them). */
export function commitStatsOf(gateway: { store: Store }): { commits: number; operations: number } {
  const { store } = gateway;
  if (store instanceof SqliteStore || store instanceof PostgresStore) return store.commitStats;
  throw new Error('This store does not count its commits.');
}
