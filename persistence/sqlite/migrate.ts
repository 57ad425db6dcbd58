import fs from 'node:fs';
import type { Database } from 'better-sqlite3';
import { packagePath } from '../packagePath';

const MIGRATIONS_DIR = packagePath('persistence', 'sqlite', 'migrations');
let shipped: string[] | null = null;

/** The migration files this code ships, read once: /readyz compares against them on every call. */
function migrationFiles(): string[] {
  shipped ??= fs.readdirSync(MIGRATIONS_DIR).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return shipped;
}

function appliedVersions(db: Database): Set<number> {
  return new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
}

/** Migrations shipped with this code that the database has not recorded (0 once started). */
export function pendingMigrations(db: Database): number {
  const applied = appliedVersions(db);
  return migrationFiles().filter((f) => !applied.has(Number.parseInt(f, 10))).length;
}

/**
 * Applies the numbered migrations of persistence/sqlite/migrations that the
 * database has not seen yet, each in its own transaction, and records them.
 * Released migrations are never edited: a change is a new file.
 */
export function migrate(db: Database): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const applied = appliedVersions(db);
  const files = migrationFiles();
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const newlyApplied: number[] = [];
  for (const file of files) {
    const version = Number.parseInt(file, 10);
    if (applied.has(version)) continue;
    const sql = fs.readFileSync(`${MIGRATIONS_DIR}/${file}`, 'utf8');
    db.transaction(() => {
      db.exec(sql);
      record.run(version, file, Date.now());
    }).immediate();
    newlyApplied.push(version);
  }
  return newlyApplied;
}

