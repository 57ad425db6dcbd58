import { prefixEnd } from '../rows/page';
import type { Listed, PageRequest } from '../store';

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

export function pageParameters(page: PageRequest): PageParameters {
  return { after: page.after ?? '', prefix: page.prefix, prefixEnd: prefixEnd(page.prefix), limit: page.limit + 1 };
}

export function mapPage<T, U>({ items, next }: Listed<T>, map: (item: T) => U): Listed<U> {
  return { items: items.map(map), next };
}
