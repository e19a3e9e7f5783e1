// The Svix OpenAPI contract (packages/server/contract/svix-openapi.json) is the source of truth for
// Herald's management API: routes are registered from its operations, and request bodies and query
// strings are validated against its schemas. That keeps Herald wire-compatible by construction.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError, type ValidationIssue } from '../domain/errors.js';
import { applyHeraldExtensions } from './extensions.js';

type Schema = Record<string, any>;

const CONTRACT_ID = 'https://herald.invalid/contract';

const CONTRACT_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'contract', 'svix-openapi.json');

export interface QueryParam {
  name: string;
  schema: Schema;
  kind: 'string' | 'integer' | 'boolean' | 'array' | 'date-time';
}

export interface Operation {
  operationId: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  /** The contract's path, e.g. /api/v1/app/{app_id}. */
  path: string;
  /** The same path in the router's syntax, e.g. /api/v1/app/:app_id. */
  routePath: string;
  query: QueryParam[];
  /** The names in `query`. */
  queryNames: string[];
  validateBody: ValidateFunction | null;
  validateQuery: ValidateFunction;
}

const INT_FORMATS: Record<string, [number, number]> = {
  uint16: [0, 65535],
  int16: [-32768, 32767],
  uint32: [0, 4294967295],
  int32: [-2147483648, 2147483647],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint: [0, Number.MAX_SAFE_INTEGER],
};

/** OpenAPI 3.0 schema → JSON Schema draft-07 (nullable, integer formats, examples dropped). */
function toJsonSchema(s: Schema): Schema {
  if (Array.isArray(s)) return s.map(toJsonSchema);
  if (s === null || typeof s !== 'object') return s;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'example' || k === 'examples' || k === 'x-enum-varnames' || k === 'nullable') continue;
    if (k === 'properties' || k === 'definitions') {
      out[k] = Object.fromEntries(Object.entries(v as Schema).map(([pk, pv]) => [pk, toJsonSchema(pv as Schema)]));
    } else if (k === 'format' && typeof v === 'string' && v in INT_FORMATS) {
      const [lo, hi] = INT_FORMATS[v]!;
      out.minimum = Math.max(out.minimum ?? lo, s.minimum ?? lo, lo);
      out.maximum = Math.min(s.maximum ?? hi, hi);
    } else if (k === 'format' && v === 'uri') {
      // URLs get Herald's own check, with a clearer message than a generic format error.
    } else if (k === '$ref') {
      out.$ref = String(v).replace('#/components/schemas/', '#/definitions/');
    } else if (k === 'minimum' && out.minimum !== undefined) {
      out.minimum = Math.max(out.minimum, v as number);
    } else {
      out[k] = typeof v === 'object' ? toJsonSchema(v as Schema) : v;
    }
  }
  if (s.nullable === true) {
    if (out.$ref) return { anyOf: [{ $ref: out.$ref }, { type: 'null' }] };
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  }
  return out;
}

export class Contract {
  readonly document: Schema;
  readonly operations: Operation[];
  private readonly byId = new Map<string, Operation>();
  readonly ajv: Ajv;

  constructor(version = '0.0.0', file = CONTRACT_FILE) {
    this.document = applyHeraldExtensions(JSON.parse(readFileSync(file, 'utf8')), version);
    this.ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, coerceTypes: false });
    addFormats.default(this.ajv, ['date-time', 'email']);
    const definitions = Object.fromEntries(Object.entries(this.document.components.schemas as Schema).map(([k, v]) => [k, toJsonSchema(v)]));
    this.ajv.addSchema({ $id: CONTRACT_ID, definitions });
    this.operations = [];
    for (const [path, item] of Object.entries(this.document.paths as Schema)) {
      for (const [method, op] of Object.entries(item as Schema)) {
        if (!['get', 'post', 'put', 'patch', 'delete', 'head'].includes(method)) continue;
        const operationId = (op.operationId as string | undefined) ?? `${method}:${path}`;
        const bodyRef = op.requestBody?.content?.['application/json']?.schema?.$ref as string | undefined;
        const validateBody = bodyRef ? this.ajv.compile({ $ref: `${CONTRACT_ID}${bodyRef.replace('#/components/schemas/', '#/definitions/')}` }) : null;
        const query: QueryParam[] = (op.parameters ?? [])
          .filter((p: Schema) => p.in === 'query')
          .map((p: Schema) => {
            const schema = toJsonSchema(p.schema);
            const resolved = p.schema.$ref ? (this.document.components.schemas[p.schema.$ref.split('/').pop()] as Schema) : p.schema;
            const kind: QueryParam['kind'] =
              resolved.type === 'array'
                ? 'array'
                : resolved.type === 'integer'
                  ? 'integer'
                  : resolved.type === 'boolean'
                    ? 'boolean'
                    : resolved.format === 'date-time'
                      ? 'date-time'
                      : 'string';
            return { name: p.name, schema, kind };
          });
        const validateQuery = this.ajv.compile({
          $id: `https://herald.invalid/query/${method}/${encodeURIComponent(operationId)}`,
          type: 'object',
          properties: Object.fromEntries(query.map((q) => [q.name, rewriteRefs(q.schema)])),
        });
        const operation: Operation = {
          operationId,
          method: method.toUpperCase() as Operation['method'],
          path,
          routePath: path.replace(/\{([a-z_]+)\}/g, ':$1'),
          query,
          queryNames: query.map((q) => q.name),
          validateBody,
          validateQuery,
        };
        this.operations.push(operation);
        this.byId.set(`${operation.method} ${operationId}`, operation);
      }
    }
  }

  operation(method: Operation['method'], operationId: string): Operation {
    const op = this.byId.get(`${method} ${operationId}`);
    if (!op) throw new Error(`the contract has no operation ${method} ${operationId}`);
    return op;
  }
}

function rewriteRefs(s: Schema): Schema {
  return JSON.parse(JSON.stringify(s).replaceAll('"$ref":"#/definitions/', `"$ref":"${CONTRACT_ID}#/definitions/`));
}

/** Turn the raw query string values into typed values per the operation's parameters. */
export function coerceQuery(op: Operation, raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const issues: ValidationIssue[] = [];
  for (const p of op.query) {
    // Arrays come as `a,b`, `name[]=a&name[]=b` or `name[0]=a`, as Svix accepts.
    let v: unknown = raw[p.name];
    if (p.kind === 'array') {
      const parts: string[] = [];
      for (const [k, val] of Object.entries(raw)) {
        if (k === p.name || k === `${p.name}[]` || new RegExp(`^${p.name}\\[\\d+\\]$`).test(k)) {
          for (const x of Array.isArray(val) ? val : [val])
            parts.push(
              ...String(x)
                .split(',')
                .filter((s) => s !== ''),
            );
        }
      }
      if (parts.length) out[p.name] = parts;
      continue;
    }
    if (Array.isArray(v)) v = v[v.length - 1];
    if (v === undefined || v === '') continue;
    const s = String(v);
    if (p.kind === 'integer') {
      if (!/^-?\d+$/.test(s)) issues.push({ loc: ['query', p.name], msg: 'value is not a valid integer', type: 'type_error.integer' });
      else out[p.name] = Number(s);
    } else if (p.kind === 'boolean') {
      if (s === 'true' || s === '1') out[p.name] = true;
      else if (s === 'false' || s === '0') out[p.name] = false;
      else issues.push({ loc: ['query', p.name], msg: 'value could not be parsed to a boolean', type: 'type_error.bool' });
    } else out[p.name] = s;
  }
  if (issues.length) throw new ValidationError(issues);
  if (!op.validateQuery(out)) throw new ValidationError(toIssues(op.validateQuery.errors ?? [], 'query'));
  return out;
}

/** Validate a body against the operation's request schema (applying its defaults). */
export function validateBody(op: Operation, body: unknown): void {
  if (!op.validateBody) return;
  if (!op.validateBody(body)) throw new ValidationError(toIssues(op.validateBody.errors ?? [], 'body'));
}

/** Ajv errors → Svix's 422 items, with messages a person can act on. */
export function toIssues(errors: ErrorObject[], where: 'body' | 'query'): ValidationIssue[] {
  // A propertyNames failure is reported twice (the keyword and its subschema's); the subschema's
  // error carries the offending name, so that one is kept.
  const deep = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'propertyNames' && !(e.keyword === 'type' && e.params.type === 'null'));
  const chosen = deep.length ? deep : errors;
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const e of chosen) {
    const path = e.instancePath
      .split('/')
      .slice(1)
      .map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~'));
    const loc: (string | number)[] = [where, ...path.map((x) => (/^\d+$/.test(x) ? Number(x) : x))];
    // An error about a property's name (propertyNames) names that property, not the object holding it.
    const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName;
    if (propertyName !== undefined) loc.push(propertyName);
    let msg: string;
    let type: string;
    switch (e.keyword) {
      case 'required':
        loc.push(e.params.missingProperty);
        msg = 'field required';
        type = 'value_error.missing';
        break;
      case 'type': {
        const t = String(e.params.type).replace(',null', '');
        msg = `value is not a valid ${t}`;
        type = `type_error.${t}`;
        break;
      }
      case 'additionalProperties':
        // Name the unknown field itself (as pydantic does), not the object holding it.
        loc.push(e.params.additionalProperty);
        msg = 'extra fields not permitted';
        type = 'value_error.extra';
        break;
      case 'pattern':
        msg = `string does not match regex "${e.params.pattern}"`;
        type = 'value_error.str.regex';
        break;
      case 'minLength':
        msg = `ensure this value has at least ${e.params.limit} characters`;
        type = 'value_error.any_str.min_length';
        break;
      case 'maxLength':
        msg = `ensure this value has at most ${e.params.limit} characters`;
        type = 'value_error.any_str.max_length';
        break;
      case 'minimum':
        msg = `ensure this value is greater than or equal to ${e.params.limit}`;
        type = 'value_error.number.not_ge';
        break;
      case 'maximum':
        msg = `ensure this value is less than or equal to ${e.params.limit}`;
        type = 'value_error.number.not_le';
        break;
      case 'minItems':
        msg = `ensure this value has at least ${e.params.limit} items`;
        type = 'value_error.list.min_items';
        break;
      case 'maxItems':
        msg = `ensure this value has at most ${e.params.limit} items`;
        type = 'value_error.list.max_items';
        break;
      case 'uniqueItems':
        msg = 'the list has duplicated items';
        type = 'value_error.list.unique_items';
        break;
      case 'enum':
        msg = `value is not a valid enumeration member; permitted: ${(e.params.allowedValues as unknown[])
          .filter((x) => x !== null)
          .map((x) => JSON.stringify(x))
          .join(', ')}`;
        type = 'type_error.enum';
        break;
      case 'format':
        msg = e.params.format === 'date-time' ? 'invalid datetime format (use RFC 3339, e.g. 2024-01-31T12:00:00Z)' : `invalid ${e.params.format} format`;
        type = e.params.format === 'date-time' ? 'value_error.datetime' : 'value_error';
        break;
      case 'not':
        msg = propertyName !== undefined ? `the name ${JSON.stringify(propertyName)} is not allowed here` : 'this value is not allowed here';
        type = 'value_error.not_allowed';
        break;
      default:
        msg = e.message ?? 'invalid value';
        type = 'value_error';
    }
    const key = `${loc.join('.')}|${type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ loc: loc.map(String), msg, type });
  }
  return issues;
}
