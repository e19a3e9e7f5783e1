// Text Herald can store and give back unchanged. Herald's own fields (names, descriptions, uids,
// metadata, headers, filters, every query value) go into TEXT columns of both stores, so a string
// there must be well-formed Unicode without NUL: PostgreSQL refuses U+0000 outright, and a lone
// UTF-16 surrogate has no UTF-8 form, so each store would store something else than it was sent.
// Keys that name a prototype (`__proto__`, `constructor.prototype`) are refused there too: nothing
// in Herald's own fields needs them, and refusing them keeps every later merge or copy safe.
// A message payload is the tenant's, not Herald's: it is stored as the exact JSON text sent
// (domain/json-span.ts), so it is not walked here and any valid JSON passes.
import { ValidationError, type ValidationIssue } from '../domain/errors.js';

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `s` cannot be stored as Herald text, or null when it can. */
export function textProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'text must not contain NUL (U+0000)';
  if (LONE_SURROGATE.test(s)) return 'text must be valid Unicode (it contains a lone UTF-16 surrogate)';
  return null;
}

type Loc = (string | number)[];

/**
 * The request body's problems: strings and keys with NUL or lone surrogates, and prototype keys.
 * `opaque` names top-level members that belong to the tenant (a message payload) and are skipped.
 * Iterative, so it holds for the deepest body the parser lets through.
 */
export function bodyIssues(body: unknown, opaque: readonly string[] = []): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const stack: [unknown, Loc][] = [[body, ['body']]];
  while (stack.length > 0 && issues.length < 20) {
    const [v, loc] = stack.pop()!;
    if (typeof v === 'string') {
      const p = textProblem(v);
      if (p) issues.push({ loc: loc.map(String), msg: p, type: 'value_error.str' });
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push([v[i], [...loc, i]]);
      continue;
    }
    const top = loc.length === 1;
    for (const key of Object.keys(v)) {
      if (top && opaque.includes(key)) continue;
      const at = [...loc, key];
      const child = (v as Record<string, unknown>)[key];
      const p = textProblem(key);
      if (p) issues.push({ loc: at.map(String), msg: `a key: ${p}`, type: 'value_error.key' });
      else if (key === '__proto__' || (key === 'prototype' && loc[loc.length - 1] === 'constructor')) {
        issues.push({ loc: at.map(String), msg: `the key '${key}' is not accepted in Herald's fields`, type: 'value_error.key' });
      } else stack.push([child, at]);
    }
  }
  return issues;
}

/**
 * The query string's problems, for the parameters the route reads (`known`; `name[]` and
 * `name[0]` are `name`). Others are never read, so they cannot reach a store and are left alone.
 */
export function queryIssues(query: Record<string, unknown>, known: readonly string[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const [name, raw] of Object.entries(query)) {
    if (!known.includes(name.replace(/\[\d*\]$/, ''))) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    const p = values.map((x) => (typeof x === 'string' ? textProblem(x) : null)).find((x) => x !== null) ?? null;
    if (p) issues.push({ loc: ['query', name], msg: p, type: 'value_error.str' });
  }
  return issues;
}

/** A 422 naming every field whose text Herald cannot store. */
export function checkInputText(query: Record<string, unknown>, known: readonly string[], body: unknown, opaque: readonly string[] = []): void {
  const issues = [...queryIssues(query, known), ...bodyIssues(body, opaque)];
  if (issues.length) throw new ValidationError(issues);
}

/** Whether a path parameter can name anything stored: one with NUL never can, so it is unknown. */
export function pathIdUsable(id: string): boolean {
  return textProblem(id) === null;
}
