// Helpers shared by the route modules.
import { invalidBody, moduleDisabled, ValidationError } from '../../domain/errors.js';
import { MAX_LIMIT, pageQuery, type Order, type Page, type PageQuery } from '../../domain/pagination.js';
import type { Ctx } from '../route.js';

export function pageOf(c: Ctx, defaultOrder: Order): PageQuery {
  const limit = c.query.limit as number | undefined;
  // A limit of 0 would answer empty pages that are never `done`: a client paging to the end loops.
  if (limit !== undefined && (limit < 1 || limit > MAX_LIMIT)) {
    throw new ValidationError([{ loc: ['query', 'limit'], msg: `limit must be from 1 to ${MAX_LIMIT}`, type: 'value_error.number' }]);
  }
  return pageQuery(limit, c.query.iterator as string | undefined, (c.query.order as Order | undefined) ?? defaultOrder);
}

export function mapPage<T, U>(p: Page<T>, f: (t: T) => U): Page<U> {
  return { data: p.data.map(f), iterator: p.iterator, prevIterator: p.prevIterator, done: p.done };
}

/** An RFC 3339 query value as epoch ms (already format-checked by the contract). */
export function timeParam(c: Ctx, name: string): number | undefined {
  const v = c.query[name] as string | undefined;
  return v === undefined ? undefined : instant(v, ['query', name]);
}

/**
 * An RFC 3339 time as epoch ms; a 422 at `loc` for one the contract's format lets through but no
 * clock has (a leap second, 23:59:60). Times outside the id clock's range are fine: the stores'
 * time filters clamp them (domain/ids.ts).
 */
export function instant(v: string, loc: (string | number)[]): number {
  const ms = Date.parse(v);
  if (Number.isNaN(ms))
    throw new ValidationError([{ loc, msg: 'not a time Herald can use (use RFC 3339, e.g. 2024-01-31T12:00:00Z)', type: 'value_error.datetime' }]);
  return ms;
}

/** Event type names that must exist (and not be archived) to be subscribed to. */
export async function requireEventTypes(c: Ctx, names: string[] | null | undefined, field = 'eventTypes'): Promise<void> {
  if (!names || names.length === 0) return;
  const missing = await c.deps.store.missingEventTypes(names);
  if (missing.length) throw invalidBody([field], `The following event types don't exist: ${missing.join(', ')}`);
}

/** `throttleRate`, or its deprecated alias `rateLimit`. */
export function throttleOf(body: Record<string, unknown>): number | null | undefined {
  if (body.throttleRate !== undefined) return body.throttleRate as number | null;
  if (body.rateLimit !== undefined) {
    const r = body.rateLimit;
    if (r !== null && (typeof r !== 'number' || !Number.isInteger(r) || r < 1 || r > 65535)) {
      throw invalidBody(['rateLimit'], 'ensure this value is an integer from 1 to 65535', 'value_error.number');
    }
    return r as number | null;
  }
  return undefined;
}

/**
 * While a tenant's webhooks module is off, its portal sessions send nothing (test sends, resends,
 * recovers), whatever their permissions; the dashboard hides those actions, and this makes the
 * API agree. The operator is not held back.
 */
export async function requireModuleForPortal(c: Ctx): Promise<void> {
  if (c.principal.kind !== 'portal') return;
  const s = await c.deps.store.getEngageSettings(c.app!.id);
  if (!s.moduleEnabled) throw moduleDisabled("This application's webhooks module is off; the operator turns it on.");
}

/**
 * Content filters and Engage encryption exclude each other: an encrypted payload's content cannot
 * be matched. A filter (non-null) on an application with an encryption key is a 422 naming it.
 */
export async function requireFilterable(c: Ctx, filter: unknown): Promise<void> {
  if (filter === null || filter === undefined) return;
  if ((await c.deps.store.getEngageSettings(c.app!.id)).encryptionKey !== null) {
    throw invalidBody(
      ['filter'],
      "This application's Engage payloads are encrypted (an encryption key is set), so endpoints cannot filter on their content.",
      'value_error.filter.encrypted',
    );
  }
}

/** The ids of the application's endpoints that carry a content filter. */
export async function filteredEndpoints(c: Ctx): Promise<string[]> {
  const ids: string[] = [];
  let iterator: string | undefined;
  for (;;) {
    const page = await c.deps.store.listEndpoints(c.app!.id, pageQuery(MAX_LIMIT, iterator, 'ascending'));
    for (const ep of page.data) if (ep.filter) ids.push(ep.id);
    if (page.done || !page.iterator) return ids;
    iterator = page.iterator;
  }
}
