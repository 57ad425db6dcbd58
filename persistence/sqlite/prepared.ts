import type { Database } from 'better-sqlite3';

/**
 * Wraps a module's statement builder so that its statements are prepared once
 * per connection, on first use.
 */
export function prepared<T>(build: (db: Database) => T): (db: Database) => T {
  const cache = new WeakMap<Database, T>();
  return (db) => {
    let statements = cache.get(db);
    if (statements === undefined) {
      statements = build(db);
      cache.set(db, statements);
    }
    return statements;
  };
}
