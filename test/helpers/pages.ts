import type { Page, PageRequest } from '../../src/store/browse.ts';

/** Every item a paged read of the store's API gives (store.browse.*), following the cursors: newest first, as the store pages. */
export async function allPages<T>(read: (page: PageRequest) => Promise<Page<T>>, limit = 1000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await read({ limit, cursor });
    items.push(...page.rows);
    if (page.next === null) return items;
    cursor = page.next;
  }
}

/** Every row of a browse listing, oldest first. */
export async function everything<T>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  return (await allPages(list, 500)).reverse();
}
