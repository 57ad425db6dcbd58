import type { Listed, PageRequest } from '../store';

// Names are COLLATE "C" (byte order of their UTF-8) and U+10FFFF is the
// largest code point: every name that starts with a prefix sorts below the
// prefix followed by it.
const LAST_CHARACTER = '\u{10FFFF}';

/**
 * The end of a page query over `column`, an indexed unique name: rows after
 * the `after` within the prefix, in name order, one more than the page holds
 * (so the page knows whether another follows). Its four parameters are
 * `pageParameters(page)`, numbered from `first`: a query with parameters of
 * its own numbers them after the page's (`$5`, with
 * `values: [...pageParameters(page), topicId]`) or passes the number the
 * page's start at (`first` 2, with `values: [topic, ...pageParameters(page)]`).
 */
export function pageClause(column: string, first = 1): string {
  const [after, prefix, end, limit] = [first, first + 1, first + 2, first + 3];
  return `${column} > $${after} AND ${column} >= $${prefix} AND ${column} < $${end} ORDER BY ${column} LIMIT $${limit}`;
}

/** The values of a `pageClause`'s parameters, in order: after, prefix, the prefix's end, the limit. */
export type PageParameters = [after: string, prefix: string, prefixEnd: string, limit: number];

/** The first text after every name that starts with `prefix`. */
export function prefixEnd(prefix: string): string {
  return prefix + LAST_CHARACTER;
}

export function pageParameters(page: PageRequest): PageParameters {
  return [page.after ?? '', page.prefix, prefixEnd(page.prefix), page.limit + 1];
}

/** The page of rows a `pageClause` query returned. */
export function pageOf<T>(rows: T[], page: PageRequest, name: (row: T) => string): Listed<T> {
  const items = rows.slice(0, page.limit);
  return { items, next: rows.length > page.limit ? name(items[items.length - 1]) : null };
}
