import { prefixEnd } from '../rows/page';
import type { PageRequest } from '../store';

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

export function pageParameters(page: PageRequest): PageParameters {
  return [page.after ?? '', page.prefix, prefixEnd(page.prefix), page.limit + 1];
}
