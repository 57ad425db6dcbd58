import type { Listed, PageRequest } from '../persistence/store';

/** A page of a list, for a caller who may see only some of its names. */
export interface ListRequest extends PageRequest {
  /** Whether the caller may see the item of that name; null: every item. */
  visible: ((name: string) => boolean) | null;
}

/**
 * Names one request looks at, at most, for a caller who sees only some: past
 * it the page comes back short (even empty) with a next cursor, so a key that
 * sees few of 100,000 queues never holds the loop for a walk of all of them.
 */
export const MAX_NAMES_EXAMINED = 10_000;

/** The visible items of a page; `list` reads the store's pages in name order. */
export async function visiblePage<T extends { name: string }>(
  list: (page: PageRequest) => Promise<Listed<T>>,
  { visible, ...page }: ListRequest,
): Promise<Listed<T>> {
  if (visible === null) return list(page);
  const items: T[] = [];
  let examined = 0;
  let after = page.after;
  for (;;) {
    const chunk = await list({ ...page, after });
    for (const [i, item] of chunk.items.entries()) {
      if (visible(item.name)) items.push(item);
      if (items.length === page.limit) {
        const last = i === chunk.items.length - 1 && chunk.next === null;
        return { items, next: last ? null : item.name };
      }
    }
    examined += chunk.items.length;
    if (chunk.next === null || examined >= MAX_NAMES_EXAMINED) return { items, next: chunk.next };
    after = chunk.next;
  }
}

/** The largest page a store is asked for when a caller walks a whole list. */
const WALK_PAGE = 1000;

/** Every item of a list (after the name `from`, if given), a page at a time. */
export async function* everyItem<T>(list: (page: PageRequest) => Promise<Listed<T>>, from: string | null = null): AsyncGenerator<T> {
  let after = from;
  do {
    const page: Listed<T> = await list({ after, prefix: '', limit: WALK_PAGE });
    yield* page.items;
    after = page.next;
  } while (after !== null);
}

/**
 * Views made before the loop is let go to other requests: a store that
 * answers at once (SQLite) would otherwise make a page's thousand stats in
 * one stretch, 50 ms and more, with every other request waiting.
 */
const VIEWS_PER_TURN = 100;

/** The views of `items`, VIEWS_PER_TURN at a time, with a turn of the event loop between. */
export async function viewsOf<T, V>(items: T[], view: (item: T) => Promise<V>): Promise<V[]> {
  const views: V[] = [];
  for (let start = 0; start < items.length; start += VIEWS_PER_TURN) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    views.push(...(await Promise.all(items.slice(start, start + VIEWS_PER_TURN).map(view))));
  }
  return views;
}

/** A page with each item replaced by its view. */
export async function viewPage<T, V>({ items, next }: Listed<T>, view: (item: T) => Promise<V>): Promise<Listed<V>> {
  return { items: await viewsOf(items, view), next };
}
