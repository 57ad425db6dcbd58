import fs from 'node:fs';
import { escapeIdentifier, type Pool } from 'pg';
import { packagePath } from '../packagePath';
import { type Queryable, transaction } from './connection';

/** Read from the package's own tree, from source and from dist/ alike (packagePath), as the SQLite migrations are. */
const MIGRATIONS_DIR = packagePath('persistence', 'postgres', 'migrations');

/**
 * The key of the advisory lock a migration holds: any constant, the same in
 * every gateway over the database ('mqgate' in ASCII).
 */
const MIGRATION_LOCK = '120333833172069';

let shipped: string[] | null = null;

/** The migration files this code ships, read once: readiness compares against them on every call. */
function migrationFiles(): string[] {
  shipped ??= fs.readdirSync(MIGRATIONS_DIR).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return shipped;
}

async function appliedVersions(db: Queryable): Promise<Set<number>> {
  const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
  return new Set(rows.map((row) => row.version));
}

/** Migrations shipped with this code that the database has not recorded (0 once started). */
export async function pendingMigrations(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  const applied = rows[0].present ? await appliedVersions(db) : new Set<number>();
  return migrationFiles().filter((f) => !applied.has(Number.parseInt(f, 10))).length;
}

/**
 * Applies the numbered migrations of persistence/postgres/migrations that the
 * database has not recorded, all in one transaction with the others'
 * records, and returns their versions. The transaction first takes an
 * advisory lock: of two gateways starting at once over a new database, the
 * second waits for the first to commit, then finds everything applied (READ
 * COMMITTED: each statement sees what committed before it). Released
 * migrations are never edited: a change is a new file. A migration runs
 * inside the transaction, so it cannot use what refuses one (CREATE INDEX
 * CONCURRENTLY, ALTER TYPE … ADD VALUE before PostgreSQL 12).
 */
export function migrate(pool: Pool, schema?: string): Promise<number[]> {
  return transaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK]);
    if (schema !== undefined) await tx.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(schema)}`);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at bigint NOT NULL
    )`);
    const applied = await appliedVersions(tx);
    const newlyApplied: number[] = [];
    for (const file of migrationFiles()) {
      const version = Number.parseInt(file, 10);
      if (applied.has(version)) continue;
      // No parameters: the simple query protocol, which takes a file of many statements.
      await tx.query(fs.readFileSync(`${MIGRATIONS_DIR}/${file}`, 'utf8'));
      await tx.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [version, file, Date.now()]);
      newlyApplied.push(version);
    }
    return newlyApplied;
  });
}
