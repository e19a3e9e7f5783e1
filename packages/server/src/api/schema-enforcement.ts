// Schema enforcement at ingest: an event type's `schemaEnforcement` ("off" | "warn" | "reject")
// checks each new message's payload against the event type's JSON Schema (its latest version, the
// highest key of `schemas`). "reject" refuses the message with a 422 listing the schema errors and
// stores nothing; "warn" accepts it and records the errors on the message (schemaViolations).
//
// Validators are compiled once per distinct schema (Ajv), kept by the schema's JSON text. What an
// event type enforces is read from the store at most once per ENFORCEMENT_TTL_MS per name (a
// message create costs no extra read); a change made through this process applies at once, one
// made through another API process sharing PostgreSQL within that time.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ValidationError } from '../domain/errors.js';
import type { SchemaEnforcement, SchemaViolation } from '../domain/types.js';
import type { EventTypeStore } from '../store/store.js';

export const ENFORCEMENT_TTL_MS = 1000;
/** At most this many errors are reported (and recorded) per message. */
export const MAX_VIOLATIONS = 20;

interface Entry {
  readAt: number;
  enforcement: SchemaEnforcement;
  validate: ValidateFunction | null;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
addFormats.default(ajv);
const compiled = new Map<string, { v: ValidateFunction | null; why: string | null }>();

function compiledOf(schema: unknown): { v: ValidateFunction | null; why: string | null } {
  const text = JSON.stringify(schema);
  let c = compiled.get(text);
  if (c === undefined) {
    if (compiled.size > 10_000) compiled.clear();
    try {
      // A copy without $id/$schema keys that would clash between schemas or name an unknown draft.
      const { $id: _id, $schema: _schema, ...body } = schema as Record<string, unknown>;
      c = { v: ajv.compile(body), why: null };
    } catch (e) {
      c = { v: null, why: e instanceof Error ? e.message : String(e) };
    }
    compiled.set(text, c);
  }
  return c;
}

/** The validator of one schema, compiled on first use; null if the schema does not compile. */
function validatorFor(schema: unknown): ValidateFunction | null {
  return compiledOf(schema).v;
}

/**
 * Why an event type's schemas cannot be enforced (its latest version does not compile, e.g. a
 * `$ref` to another document), or null when they can or there is no schema.
 */
export function enforcementProblem(schemas: Record<string, unknown> | null): string | null {
  const schema = latestSchema(schemas);
  if (schema === undefined || schema === null || typeof schema !== 'object') return null;
  return compiledOf(schema).why;
}

/** The schema messages are checked against: the highest version (numerically) of `schemas`. */
export function latestSchema(schemas: Record<string, unknown> | null): unknown {
  if (!schemas) return undefined;
  const versions = Object.keys(schemas).sort((a, b) => (Number(a) || 0) - (Number(b) || 0) || a.localeCompare(b));
  return versions.length ? schemas[versions[versions.length - 1]!] : undefined;
}

export class SchemaEnforcer {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly store: EventTypeStore) {}

  /** Forget what is known of `name` (its event type was just written through this process). */
  forget(name: string): void {
    this.entries.delete(name);
  }

  private async entry(name: string, now: number): Promise<Entry> {
    const hit = this.entries.get(name);
    if (hit && now - hit.readAt < ENFORCEMENT_TTL_MS && now >= hit.readAt) return hit;
    const et = await this.store.getEventType(name);
    const enforcement = et?.schemaEnforcement ?? 'off';
    const schema = enforcement === 'off' || !et ? undefined : latestSchema(et.schemas);
    const e: Entry = { readAt: now, enforcement, validate: schema === undefined || schema === null ? null : validatorFor(schema) };
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(name, e);
    return e;
  }

  /**
   * Check a payload of `eventType`: null when it passes or nothing is enforced; the violations
   * under "warn"; a 422 (ValidationError at body.payload...) under "reject".
   */
  async check(eventType: string, payload: () => unknown, now: number): Promise<SchemaViolation[] | null> {
    const e = await this.entry(eventType, now);
    if (e.enforcement === 'off' || !e.validate) return null;
    if (e.validate(payload())) return null;
    const violations = (e.validate.errors ?? []).slice(0, MAX_VIOLATIONS).map((err) => ({
      path: err.instancePath,
      message: `${err.message ?? 'is invalid'}${err.keyword === 'additionalProperties' ? `: '${String(err.params.additionalProperty)}'` : ''}`,
    }));
    if (e.enforcement === 'warn') return violations;
    throw new ValidationError(
      violations.map((v) => ({
        loc: [
          'body',
          'payload',
          ...v.path
            .split('/')
            .slice(1)
            .map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~')),
        ],
        msg: `${v.path || 'the payload'} ${v.message} (event type '${eventType}' enforces its schema)`,
        type: 'value_error.schema',
      })),
    );
  }
}

const enforcers = new WeakMap<EventTypeStore, SchemaEnforcer>();

/** The enforcer of a store (one per store, so every route of a process shares its cache). */
export function enforcerOf(store: EventTypeStore): SchemaEnforcer {
  let e = enforcers.get(store);
  if (!e) enforcers.set(store, (e = new SchemaEnforcer(store)));
  return e;
}

/** A payload given as a value, or as JSON text, parsed at most once and only if needed. */
export function lazyPayload(value: unknown, text: string | null): () => unknown {
  let parsed: { v: unknown } | undefined;
  return () => {
    if (value !== undefined) return value;
    parsed ??= { v: text === null ? null : JSON.parse(text) };
    return parsed.v;
  };
}
