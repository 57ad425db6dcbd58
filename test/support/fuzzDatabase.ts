import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DATABASE_FILE } from '../../persistence/sqlite/sqliteStore';

export interface Fingerprint {
  /** SQLite's data_version as this connection saw it: it moves whenever another connection commits. */
  version: number;
  /** A digest of every row of every table, by table. */
  tables: Map<string, string>;
}

/**
 * Fingerprints of the gateway's database, read through a second, read-only
 * connection: every row of every table hashed, so any change a request makes
 * shows. A fingerprint is recomputed only when data_version says some
 * connection committed since the last one, so an unchanged database costs one
 * pragma.
 */
export class DatabaseWatch {
  private readonly db: Database.Database;
  private last: Fingerprint | null = null;

  constructor(dataDir: string) {
    this.db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
  }

  version(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  fingerprint(): Fingerprint {
    const version = this.version();
    if (this.last === null || this.last.version !== version) this.last = { version, tables: this.digests() };
    return this.last;
  }

  /** Names of the tables whose rows differ between two fingerprints. */
  static changed(before: Fingerprint, after: Fingerprint): string[] {
    const names = new Set([...before.tables.keys(), ...after.tables.keys()]);
    return [...names].filter((name) => before.tables.get(name) !== after.tables.get(name)).sort();
  }

  /** Names of push subscriptions that deliver (are not paused). */
  runningPushes(): string[] {
    const table = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'push_subscriptions'").get();
    if (table === undefined) return [];
    return (this.db.prepare('SELECT name FROM push_subscriptions WHERE paused = 0').pluck().all() as string[]).sort();
  }

  close(): void {
    this.db.close();
  }

  private digests(): Map<string, string> {
    const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    return new Map(tables.map((table) => [table, this.digest(table)]));
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
