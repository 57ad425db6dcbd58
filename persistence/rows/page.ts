import type { Listed, PageRequest } from '../store';

// Names compare by the bytes of their UTF-8 in every backend (SQLite's BINARY
// collation, PostgreSQL's COLLATE "C"), and U+10FFFF is the largest code
// point: every name that starts with a prefix sorts below the prefix
// followed by it.
const LAST_CHARACTER = '\u{10FFFF}';

/** The first text after every name that starts with `prefix`. */
export function prefixEnd(prefix: string): string {
  return prefix + LAST_CHARACTER;
}

/** The page of rows a page query returned: it asks for one more row than the page holds, which says whether another page follows. */
export function pageOf<T>(rows: T[], page: PageRequest, name: (row: T) => string): Listed<T> {
  const items = rows.slice(0, page.limit);
  return { items, next: rows.length > page.limit ? name(items[items.length - 1]) : null };
}
