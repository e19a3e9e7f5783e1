// Cursor pagination in Svix's shape: {data, iterator, prevIterator, done}. The cursor is the sort
// key of the last item (an id, or an event type's name). A cursor prefixed with '-' pages
// backwards from that key. The store fetches limit+1 rows to know whether more remain, so a page
// is stable under concurrent inserts: it never repeats or skips an item that existed before.

export type Order = 'ascending' | 'descending';

export interface PageQuery {
  limit: number;
  /** Continue after this key (in the list's order). */
  after: string | null;
  /** Page backwards: items that come before this key (in the list's order). */
  before: string | null;
  order: Order;
}

export interface Page<T> {
  data: T[];
  iterator: string | null;
  prevIterator: string | null;
  done: boolean;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 250;

export function pageQuery(limit: number | undefined, iterator: string | null | undefined, order: Order): PageQuery {
  const lim = limit === undefined ? DEFAULT_LIMIT : limit;
  if (iterator?.startsWith('-')) return { limit: lim, after: null, before: iterator.slice(1), order };
  return { limit: lim, after: iterator || null, before: null, order };
}

/**
 * Build a page from up to limit+1 rows fetched in the direction of travel (for a backwards page,
 * rows come nearest-first and are flipped back into the list's order here).
 */
export function toPage<R, T>(rows: R[], q: PageQuery, key: (r: R) => string, map: (r: R) => T): Page<T> {
  const more = rows.length > q.limit;
  let kept = more ? rows.slice(0, q.limit) : rows;
  if (q.before !== null) kept = kept.reverse();
  const data = kept.map(map);
  const first = kept[0];
  const last = kept[kept.length - 1];
  return {
    data,
    iterator: last ? key(last) : (q.after ?? null),
    prevIterator: first ? `-${key(first)}` : q.before !== null ? `-${q.before}` : null,
    done: !more,
  };
}
