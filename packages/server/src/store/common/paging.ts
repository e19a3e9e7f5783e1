// Cursor paging (domain/pagination.ts) as SQL: the same pieces on both stores.
import type { PageQuery } from '../../domain/pagination.js';
import type { Params } from './sql.js';

/**
 * WHERE/ORDER/LIMIT pieces for a cursor page over `col` (an allowlisted column), in the
 * direction of travel, fetching one row more than the page to know whether more remain. Asks for
 * its placeholders in text order (WHERE before LIMIT).
 */
export function cursor(col: string, q: PageQuery, ps: Params): { where: string; order: string; limit: string } {
  const backwards = q.before !== null;
  const asc = (q.order === 'ascending') !== backwards;
  const key = backwards ? q.before : q.after;
  const where = key === null ? '' : ` AND ${col} ${asc ? '>' : '<'} ${ps.p(key)}`;
  return { where, order: ` ORDER BY ${col} ${asc ? 'ASC' : 'DESC'}`, limit: ` LIMIT ${ps.p(q.limit + 1)}` };
}
