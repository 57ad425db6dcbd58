import type { Listed, PageRequest } from '../persistence/store';
import { everyItem, MAX_NAMES_EXAMINED, viewsOf, visiblePage } from '../queue/pages';

/** A list in name order, paged as a store pages it. */
function listOf(names: string[]): { list: (page: PageRequest) => Promise<Listed<{ name: string }>>; calls: PageRequest[] } {
  const calls: PageRequest[] = [];
  const list = async (page: PageRequest): Promise<Listed<{ name: string }>> => {
    calls.push(page);
    const after = names.filter((name) => (page.after === null || name > page.after) && name.startsWith(page.prefix));
    const items = after.slice(0, page.limit).map((name) => ({ name }));
    return { items, next: after.length > page.limit ? items[items.length - 1].name : null };
  };
  return { list, calls };
}

const padded = (i: number) => `n${String(i).padStart(6, '0')}`;

test('a caller who sees every name gets the store page as it is', async () => {
  const { list, calls } = listOf(['a', 'b', 'c']);
  expect(await visiblePage(list, { after: null, prefix: '', limit: 2, visible: null })).toEqual({ items: [{ name: 'a' }, { name: 'b' }], next: 'b' });
  expect(calls).toHaveLength(1);
});

test('a caller who sees some names gets full pages of them, the cursor after the last one it got', async () => {
  const names = Array.from({ length: 50 }, (_, i) => padded(i));
  const { list } = listOf(names);
  const visible = (name: string) => Number(name.slice(1)) % 7 === 0;
  const first = await visiblePage(list, { after: null, prefix: '', limit: 3, visible });
  expect(first).toEqual({ items: [{ name: padded(0) }, { name: padded(7) }, { name: padded(14) }], next: padded(14) });
  const rest = await visiblePage(list, { after: first.next, prefix: '', limit: 10, visible });
  expect(rest).toEqual({ items: [21, 28, 35, 42, 49].map((i) => ({ name: padded(i) })), next: null });
  // The last visible name ends the list: no empty page after it.
  expect(await visiblePage(list, { after: padded(35), prefix: '', limit: 2, visible })).toEqual({
    items: [{ name: padded(42) }, { name: padded(49) }],
    next: null,
  });
});

test(`at most ${MAX_NAMES_EXAMINED} names are looked at per request: a short (even empty) page, and a cursor to go on`, async () => {
  const count = MAX_NAMES_EXAMINED * 2 + 5;
  const names = Array.from({ length: count }, (_, i) => padded(i));
  const { list, calls } = listOf(names);
  const visible = (name: string) => name === padded(count - 1);
  const pages: Array<Listed<{ name: string }>> = [];
  let after: string | null = null;
  do {
    calls.length = 0;
    const page: Listed<{ name: string }> = await visiblePage(list, { after, prefix: '', limit: 1000, visible });
    expect(calls.reduce((sum, call) => sum + call.limit, 0)).toBeLessThanOrEqual(MAX_NAMES_EXAMINED);
    pages.push(page);
    after = page.next;
  } while (after !== null);
  expect(pages.map((page) => page.items.length)).toEqual([0, 0, 1]);
  expect(pages[2].items).toEqual([{ name: padded(count - 1) }]);
});

test('everyItem walks a list to its end, page after page', async () => {
  const names = Array.from({ length: 2500 }, (_, i) => padded(i));
  const { list, calls } = listOf(names);
  const walked: string[] = [];
  for await (const item of everyItem(list)) walked.push(item.name);
  expect(walked).toEqual(names);
  expect(calls.map((call) => call.after)).toEqual([null, padded(999), padded(1999)]);
});

test('a page of views lets the event loop turn between its slices: a request that came meanwhile is not held up by the whole page', async () => {
  const order: string[] = [];
  const served = new Promise<void>((resolve) =>
    setImmediate(() => {
      order.push('other request');
      resolve();
    }),
  );
  const views = await viewsOf(
    Array.from({ length: 250 }, (_, i) => i),
    async (i) => {
      if (i % 100 === 0) order.push(`view ${i}`);
      return i * 2;
    },
  );
  await served;
  expect(views).toEqual(Array.from({ length: 250 }, (_, i) => i * 2));
  expect(order[0]).toBe('view 0');
  expect(order.indexOf('other request')).toBeLessThan(order.indexOf('view 200'));
});
