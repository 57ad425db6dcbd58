import type { Listed, PageRequest } from '../store';

// SQLite compares text as UTF-8 bytes, and U+10FFFF is the largest code point:
// every name that starts with a prefix sorts below the prefix followed by it.
const LAST_CHARACTER = '\u{10FFFF}';

/**
 * The end of a page query over `column`, an indexed unique name: rows after
 * `:after` within the prefix, in name order, one more than the page holds (so
 * the page knows whether another follows). Bound with `pageParameters`.
 */
export function pageClause(column: string): string {
  return `${column} > :after AND ${column} >= :prefix AND ${column} < :prefixEnd ORDER BY ${column} LIMIT :limit`;
}

export interface PageParameters {
  after: string;
  prefix: string;
  prefixEnd: string;
  limit: number;
}

/** The first text after every name that starts with `prefix`. */
export function prefixEnd(prefix: string): string {
  return prefix + LAST_CHARACTER;
}

export function pageParameters(page: PageRequest): PageParameters {
  return { after: page.after ?? '', prefix: page.prefix, prefixEnd: prefixEnd(page.prefix), limit: page.limit + 1 };
}

/** The page of rows a `pageClause` query returned. */
export function pageOf<T>(rows: T[], page: PageRequest, name: (row: T) => string): Listed<T> {
  const items = rows.slice(0, page.limit);
  return { items, next: rows.length > page.limit ? name(items[items.length - 1]) : null };
}

export function mapPage<T, U>({ items, next }: Listed<T>, map: (item: T) => U): Listed<U> {
  return { items: items.map(map), next };
}
