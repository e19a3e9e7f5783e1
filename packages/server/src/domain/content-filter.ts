// Content filters: an endpoint may receive only the messages whose payload matches a filter, in
// the JSON operator form Convoy and Outpost use, rooted at the payload:
//
//   {"country": {"$eq": "SE"}, "score": {"$gte": 10}, "$or": [{"tier": "gold"}, {"vip": {"$exist": true}}]}
//
// A key is a dotted path into the payload (`customer.address.country`; a numeric segment indexes
// an array) or one of `$or`, `$and` (a list of filters) and `$not` (a filter). A path's value is an
// operator object (`$eq $neq $gt $gte $lt $lte $in $nin $exist $not`) or a plain value, which
// means `$eq`. All the keys of one object must hold. Rules, the same everywhere:
// - `$eq` / `$neq`: JSON equality (objects by their keys, arrays in order); when the payload holds a
//   list and the operand is not one, `$eq` matches if any element equals it.
// - `$gt $gte $lt $lte`: numbers with numbers, strings with strings (by code point); else no match.
// - `$in` / `$nin`: the operand is a list; the value (or, for a list, any of its elements) is in it.
// - `$exist`: true matches a present value (null included), false an absent one.
// - A missing path matches only `$neq`, `$nin` and `$exist: false`.
// Filters are compiled once to closures and kept by their text, so fan-out pays one map look-up
// per filtered endpoint and one JSON.parse of the payload per message, and only when needed.
import { ValidationError } from './errors.js';

/** A filter as stored and answered: a JSON object. */
export type ContentFilter = Record<string, unknown>;
type Pred = (v: unknown) => boolean;
/** Matches a payload. */
export type CompiledFilter = (payload: unknown) => boolean;

export const FILTER_MAX_BYTES = 4096;
export const FILTER_MAX_DEPTH = 10;
const FIELD_OPS = new Set(['$eq', '$neq', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exist', '$not']);
const MISSING = Symbol('missing');

/** A filter that cannot be compiled: `at` is where in the filter, `msg` what is wrong. */
export class FilterError extends Error {
  constructor(
    readonly at: string[],
    msg: string,
  ) {
    super(msg);
  }
}

/** Compile a filter (a JSON object) or throw FilterError. */
export function compileFilter(filter: unknown): CompiledFilter {
  if (!isObject(filter)) throw new FilterError([], 'a filter is a JSON object such as {"country": {"$eq": "SE"}}');
  return compileObject(filter, [], 0);
}

function compileObject(f: Record<string, unknown>, at: string[], depth: number): CompiledFilter {
  if (depth > FILTER_MAX_DEPTH) throw new FilterError(at, `filters nest at most ${FILTER_MAX_DEPTH} deep`);
  const parts: CompiledFilter[] = [];
  for (const [key, value] of Object.entries(f)) {
    const here = [...at, key];
    if (key === '$or' || key === '$and') {
      if (!Array.isArray(value) || value.length === 0) throw new FilterError(here, `${key} takes a non-empty list of filters`);
      const subs = value.map((v, i) => {
        if (!isObject(v)) throw new FilterError([...here, String(i)], `each filter in ${key} is a JSON object`);
        return compileObject(v, [...here, String(i)], depth + 1);
      });
      parts.push(key === '$or' ? (p) => subs.some((s) => s(p)) : (p) => subs.every((s) => s(p)));
    } else if (key === '$not') {
      if (!isObject(value)) throw new FilterError(here, '$not takes a filter (a JSON object)');
      const sub = compileObject(value, here, depth + 1);
      parts.push((p) => !sub(p));
    } else if (key.startsWith('$')) {
      throw new FilterError(here, `unknown operator ${key} here; use $or, $and, $not or a field path`);
    } else {
      if (key === '' || key.split('.').some((s) => s === '')) throw new FilterError(here, `'${key}' is not a field path such as "customer.country"`);
      const path = key.split('.');
      const pred = compileField(value, here, depth + 1);
      parts.push((p) => pred(lookup(p, path)));
    }
  }
  if (parts.length === 1) return parts[0]!;
  return (p) => parts.every((x) => x(p));
}

/** A path's condition: an operator object, or a plain value meaning `$eq`. */
function compileField(cond: unknown, at: string[], depth: number): Pred {
  if (depth > FILTER_MAX_DEPTH) throw new FilterError(at, `filters nest at most ${FILTER_MAX_DEPTH} deep`);
  if (!isObject(cond) || !Object.keys(cond).some((k) => k.startsWith('$'))) return op('$eq', cond, at, depth);
  const preds = Object.entries(cond).map(([k, v]) => {
    if (!FIELD_OPS.has(k)) throw new FilterError([...at, k], `unknown operator ${k}; use one of ${[...FIELD_OPS].join(' ')}`);
    return op(k, v, [...at, k], depth);
  });
  return preds.length === 1 ? preds[0]! : (v) => preds.every((p) => p(v));
}

function op(name: string, operand: unknown, at: string[], depth: number): Pred {
  switch (name) {
    case '$eq':
      return (v) => v !== MISSING && (equal(v, operand) || (Array.isArray(v) && !Array.isArray(operand) && v.some((x) => equal(x, operand))));
    case '$neq': {
      const eq = op('$eq', operand, at, depth);
      return (v) => !eq(v);
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      if (typeof operand !== 'number' && typeof operand !== 'string') throw new FilterError(at, `${name} compares with a number or a string`);
      const test =
        name === '$gt' ? (c: number) => c > 0 : name === '$gte' ? (c: number) => c >= 0 : name === '$lt' ? (c: number) => c < 0 : (c: number) => c <= 0;
      return (v) => typeof v === typeof operand && test(v! < operand ? -1 : v! > operand ? 1 : 0);
    }
    case '$in':
    case '$nin': {
      if (!Array.isArray(operand)) throw new FilterError(at, `${name} takes a list of values`);
      const scalars = new Set(operand.filter((x) => x === null || typeof x !== 'object'));
      const objects = operand.filter((x) => x !== null && typeof x === 'object');
      const has = (x: unknown) => scalars.has(x) || objects.some((o) => equal(x, o));
      const inList = (v: unknown) => v !== MISSING && (has(v) || (Array.isArray(v) && v.some(has)));
      return name === '$in' ? inList : (v) => !inList(v);
    }
    case '$exist':
      if (typeof operand !== 'boolean') throw new FilterError(at, '$exist takes true or false');
      return (v) => (v !== MISSING) === operand;
    case '$not': {
      const sub = compileField(operand, at, depth + 1);
      return (v) => !sub(v);
    }
  }
  throw new FilterError(at, `unknown operator ${name}`);
}

function lookup(payload: unknown, path: string[]): unknown {
  let v: unknown = payload;
  for (const seg of path) {
    if (Array.isArray(v)) {
      if (!/^\d+$/.test(seg)) return MISSING;
      v = v[Number(seg)];
    } else if (isObject(v)) {
      v = Object.prototype.hasOwnProperty.call(v, seg) ? v[seg] : undefined;
    } else return MISSING;
    if (v === undefined) return MISSING;
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && equal((a as any)[k], (b as any)[k]));
}

/**
 * A filter from a request body: null for none (absent, null or `{}`), else the filter once it
 * compiles and fits in FILTER_MAX_BYTES; otherwise a 422 naming where it is wrong.
 */
export function checkFilter(filter: unknown, field = 'filter'): ContentFilter | null {
  if (filter === undefined || filter === null) return null;
  const text = JSON.stringify(filter);
  if (text.length > FILTER_MAX_BYTES) {
    throw new ValidationError([{ loc: ['body', field], msg: `a filter is at most ${FILTER_MAX_BYTES} characters of JSON`, type: 'value_error.filter' }]);
  }
  try {
    compileFilter(filter);
  } catch (e) {
    if (!(e instanceof FilterError)) throw e;
    throw new ValidationError([{ loc: ['body', field, ...e.at], msg: e.message, type: 'value_error.filter' }]);
  }
  return Object.keys(filter as object).length === 0 ? null : (filter as ContentFilter);
}

const compiled = new Map<string, CompiledFilter>();

/**
 * The compiled form of a stored filter, by its JSON text (one entry per distinct filter, so an
 * edited filter is a new entry and never a stale one). A stored filter that no longer compiles
 * matches nothing.
 */
export function filterFor(text: string): CompiledFilter {
  let f = compiled.get(text);
  if (!f) {
    if (compiled.size > 50_000) compiled.clear();
    try {
      f = compileFilter(JSON.parse(text));
    } catch {
      f = () => false;
    }
    compiled.set(text, f);
  }
  return f;
}
