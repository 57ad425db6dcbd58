/** Names whose rows are kept at most: past it the cache starts again empty, so 100,000 queues cost no more than this many. */
const MAX_KEPT = 10_000;

/**
 * Rows the SQLite store reads on every produce (a queue's settings, a
 * schema), kept by name until a write that changes them empties the cache.
 * The store is its database's only writer, so it sees every such write.
 */
export class KeptRows<T> {
  private readonly rows = new Map<string, T>();

  /** The row kept for `name`, or else `read()`'s, kept from now on. */
  get(name: string, read: () => T): T {
    const kept = this.rows.get(name);
    if (kept !== undefined) return kept;
    const row = read();
    if (this.rows.size >= MAX_KEPT) this.rows.clear();
    this.rows.set(name, row);
    return row;
  }

  clear(): void {
    this.rows.clear();
  }
}
