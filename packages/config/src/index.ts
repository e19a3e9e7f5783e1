/**
 * Configuration as data. A program describes each environment variable once (its kind, default,
 * help text); from that one table come the values (parsed, then validated with JSON Schema by
 * Ajv), the error messages (every problem at once, each naming its variable), the deeply frozen
 * configuration object, the README's table and the `--help` listing.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export type Env = Readonly<Record<string, string | undefined>>;

/** One thing wrong with the configuration, and the variable (or setting) it is about. */
export interface Problem {
  variable: string;
  message: string;
}

/**
 * The configuration cannot be used. `problems` lists every problem found (as `NAME: message`),
 * `issues` the same as objects; `variable` is the first one's variable.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly Problem[];
  readonly problems: readonly string[];
  readonly variable: string;
  constructor(variable: string, message: string);
  constructor(problems: readonly (Problem | string)[]);
  constructor(first: string | readonly (Problem | string)[], message?: string) {
    const issues: Problem[] =
      typeof first === 'string'
        ? [{ variable: first, message: message ?? '' }]
        : first.map((p) => (typeof p === 'string' ? { variable: p.split(':')[0] ?? p, message: p.slice((p.split(':')[0] ?? p).length + 2) } : p));
    const problems = typeof first === 'string' ? [`${first}: ${message}`] : first.map((p) => (typeof p === 'string' ? p : `${p.variable}: ${p.message}`));
    super(problems.length === 1 ? problems[0] : `${problems.length} problems in the configuration:\n  - ${problems.join('\n  - ')}`);
    this.issues = Object.freeze(issues);
    this.problems = Object.freeze(problems);
    this.variable = issues[0]?.variable ?? '';
  }
}

/** A value's text is wrong; the message is a whole phrase about the shown value ("'x' is not …"). */
export class Invalid extends Error {}

/** How a variable's text becomes a value, what is allowed, and the JSON Schema the value must meet. */
export interface Kind<T> {
  /** Short type name for the docs: `duration`, `integer`, `list`, … */
  type: string;
  /** What is allowed, in words; used by the docs and by messages. */
  allowed: string;
  /** Turns the (trimmed, non-empty) text into a value; throws Invalid for text it cannot read. */
  parse(text: string, shown: string): T;
  /** JSON Schema the parsed value must meet (checked by Ajv, all variables at once). */
  schema: Record<string, unknown>;
  /** For lists: what one item is, in words ("an IP address"). */
  item?: string;
  /** Formats the schema uses (name → test), registered with Ajv. */
  formats?: Record<string, (s: string) => boolean>;
  /** The text as it may appear in a message (e.g. credentials masked); default: as is. */
  show?(text: string): string;
}

export interface Variable<T> {
  kind: Kind<Exclude<T, undefined>>;
  /** The default, in the variable's own syntax; read exactly like a set value. */
  default?: string;
  /** What the docs say the default is, when it is not `default` (computed, generated, none). */
  defaultText?: string;
  /** One line for the docs and `--help`. */
  help: string;
  /** Never echo the value in a message. */
  secret?: boolean;
  /**
   * Who reads the variable instead of this program (e.g. `the OpenTelemetry SDK`): it is listed in
   * the docs and `--help` only, never read or checked here. Made by `documented`.
   */
  readBy?: string;
}

/** A variable with a default: its value is always there. */
export function variable<T>(spec: Variable<T> & { default: string }): Variable<T>;
/** A variable without a default: its value is undefined when unset. */
export function variable<T>(spec: Variable<T>): Variable<T | undefined>;
export function variable<T>(spec: Variable<T>): Variable<T> {
  return spec;
}

/**
 * A variable another component reads itself (`readBy`), listed beside the program's own so that
 * the docs and `--help` name everything that configures it; never read or checked here.
 */
export function documented(spec: {
  readBy: string;
  allowed: string;
  default?: string;
  defaultText?: string;
  help: string;
}): Variable<never> & { readBy: string } {
  const { allowed, ...rest } = spec;
  return {
    ...rest,
    kind: {
      type: 'text',
      allowed,
      parse: () => {
        throw new Error(`read by ${spec.readBy}, not by this program`);
      },
      schema: {},
    },
  };
}

export type Table = Record<string, Variable<unknown>>;
/** The values of the variables the program reads (those `documented` as read elsewhere are left out). */
export type ValuesOf<T extends Table> = { readonly [K in keyof T as T[K] extends { readBy: string } ? never : K]: T[K] extends Variable<infer V> ? V : never };

/** The variables the program reads itself. */
function ownEntries(table: Table): [string, Variable<unknown>][] {
  return Object.entries(table).filter(([, v]) => v.readBy === undefined);
}

/** A rule over several variables, checked once each of them read cleanly. */
export type Rule<T extends Table> = (values: ValuesOf<T>) => Problem | undefined;

const validators = new WeakMap<Table, ValidateFunction>();

function validatorFor(table: Table): ValidateFunction {
  let v = validators.get(table);
  if (!v) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    for (const [, variable] of ownEntries(table)) {
      for (const [name, test] of Object.entries(variable.kind.formats ?? {})) if (!ajv.formats[name]) ajv.addFormat(name, test);
    }
    const properties = Object.fromEntries(ownEntries(table).map(([name, variable]) => [name, variable.kind.schema]));
    v = ajv.compile({ type: 'object', properties });
    validators.set(table, v);
  }
  return v;
}

/** The variable's text, trimmed; unset and blank are the same. */
export function text(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/**
 * Reads every variable of the table from `env` (a default where unset), validates all of them
 * and the rules, and returns the values, or throws one ConfigError listing every problem.
 */
export function readEnv<T extends Table>(table: T, env: Env, rules: readonly Rule<T>[] = []): ValuesOf<T> {
  const { values, problems } = checkEnv(table, env, rules);
  if (problems.length > 0) throw new ConfigError(problems);
  return values;
}

/**
 * What readEnv does, without throwing: the values that read cleanly (a variable with a problem is
 * absent), and every problem. `defaults: false` leaves unset variables out (for a program whose
 * variables override a file's settings, which has defaults of its own).
 */
export function checkEnv<T extends Table>(
  table: T,
  env: Env,
  rules: readonly Rule<T>[] = [],
  opts: { defaults?: boolean } = {},
): { values: ValuesOf<T>; problems: Problem[] } {
  const problems: Problem[] = [];
  const values: Record<string, unknown> = {};
  const texts: Record<string, string> = {};
  for (const [name, variable] of ownEntries(table)) {
    const raw = text(env, name) ?? (opts.defaults === false ? undefined : variable.default);
    if (raw === undefined) continue;
    texts[name] = raw;
    try {
      values[name] = variable.kind.parse(raw, shown(variable, raw));
    } catch (e) {
      if (!(e instanceof Invalid)) throw e;
      problems.push({ variable: name, message: e.message });
    }
  }
  const validate = validatorFor(table);
  if (!validate(values)) {
    const seen = new Set<string>();
    for (const err of validate.errors ?? []) {
      const name = err.instancePath.split('/')[1] ?? '';
      const variable = table[name];
      if (!variable) continue;
      const message = schemaMessage(variable, texts[name] ?? '', values[name], err);
      if (seen.has(`${name}\n${message}`)) continue;
      seen.add(`${name}\n${message}`);
      problems.push({ variable: name, message });
    }
  }
  // Rules see only clean values: a rule about a variable that is already wrong would only repeat it.
  const failed = new Set(problems.map((p) => p.variable));
  for (const name of failed) delete values[name];
  for (const rule of rules) {
    const p = rule(values as ValuesOf<T>);
    if (p && !failed.has(p.variable)) problems.push(p);
  }
  return { values: values as ValuesOf<T>, problems };
}

function shown(variable: Variable<unknown>, raw: string): string {
  return variable.secret ? 'the value' : `'${variable.kind.show ? variable.kind.show(raw) : raw}'`;
}

function schemaMessage(variable: Variable<unknown>, raw: string, value: unknown, err: ErrorObject): string {
  const path = err.instancePath.split('/').slice(2);
  const kind = variable.kind;
  if (err.keyword === 'uniqueItems') {
    const i = (err.params as { j: number }).j;
    return `lists '${(value as unknown[])[i]}' twice`;
  }
  if (path.length > 0 && Array.isArray(value)) {
    const item = value[Number(path[0])];
    return `'${variable.secret ? '…' : String(item)}' is not ${kind.item ?? 'allowed'}; use ${kind.allowed}`;
  }
  const range = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems'].includes(err.keyword);
  return `${shown(variable, raw)} ${range ? 'is out of range; use' : 'is not'} ${kind.allowed}`;
}

/** Freezes an object and everything it holds (byte buffers excepted: they cannot be frozen). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

// ---- kinds ----------------------------------------------------------------------------------

const UNITS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, '': 1e3 };

/** `500ms`, `15s`, `2m`, `3h`, `30d`, or a bare number of seconds; null if it is not one. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|)\s*$/.exec(text);
  return m ? Math.round(Number(m[1]) * UNITS[m[2] ?? '']!) : null;
}

/** Writes milliseconds the shortest exact way: 90000 → 90s, 3600000 → 1h. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 864e5],
    ['h', 36e5],
    ['m', 6e4],
    ['s', 1e3],
  ] as const) {
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export const kinds = {
  /** Any text (trimmed), optionally matching a pattern. */
  text(opts: { allowed?: string; pattern?: string; minLength?: number } = {}): Kind<string> {
    const schema: Record<string, unknown> = { type: 'string' };
    if (opts.pattern) schema.pattern = opts.pattern;
    if (opts.minLength) schema.minLength = opts.minLength;
    return { type: 'text', allowed: opts.allowed ?? 'text', parse: (t) => t, schema };
  },
  /** A whole number in [min, max]. */
  integer(min: number, max: number, allowed = `a whole number from ${min} to ${max}`): Kind<number> {
    return {
      type: 'integer',
      allowed,
      parse(t, shown) {
        if (!/^\d+$/.test(t)) throw new Invalid(`${shown} is not ${allowed}`);
        return Number(t);
      },
      schema: { type: 'integer', minimum: min, maximum: max },
    };
  },
  /** A duration in [minMs, maxMs], as milliseconds. */
  duration(minMs: number, maxMs: number, examples = '500ms, 15s or 2m'): Kind<number> {
    const allowed = `a duration between ${formatDuration(minMs)} and ${formatDuration(maxMs)}, e.g. ${examples}`;
    return {
      type: 'duration',
      allowed,
      parse(t, shown) {
        const ms = parseDuration(t);
        if (ms === null) throw new Invalid(`${shown} is not a duration; use ${allowed}`);
        return ms;
      },
      schema: { type: 'integer', minimum: minMs, maximum: maxMs },
    };
  },
  /** One of fixed words. */
  oneOf<W extends string>(words: readonly W[]): Kind<W> {
    return {
      type: 'enum',
      allowed: `one of ${words.join(', ')}`,
      parse: (t) => t as W,
      schema: { type: 'string', enum: [...words] },
    };
  },
  /**
   * A comma-separated list (blank items dropped, unless `keepBlank`: then each is an item the
   * schema judges); each item must meet `item` (a JSON Schema on a string, e.g.
   * `{ format: 'ip' }`), described in words by `itemText`.
   */
  list(opts: {
    item: Record<string, unknown>;
    itemText: string;
    allowed: string;
    split?: RegExp;
    unique?: boolean;
    minItems?: number;
    lowerCase?: boolean;
    keepBlank?: boolean;
    formats?: Record<string, (s: string) => boolean>;
  }): Kind<string[]> {
    const schema: Record<string, unknown> = { type: 'array', items: { type: 'string', ...opts.item } };
    if (opts.unique) schema.uniqueItems = true;
    if (opts.minItems) schema.minItems = opts.minItems;
    return {
      type: 'list',
      allowed: opts.allowed,
      item: opts.itemText,
      parse: (t) =>
        t
          .split(opts.split ?? ',')
          .map((x) => (opts.lowerCase ? x.trim().toLowerCase() : x.trim()))
          .filter((x) => opts.keepBlank || x !== ''),
      schema,
      ...(opts.formats ? { formats: opts.formats } : {}),
    };
  },
  /** Text read by a function of the program's own (which throws Invalid), with a JSON Schema on the result. */
  custom<T>(spec: Kind<T>): Kind<T> {
    return spec;
  },
};

// ---- docs -----------------------------------------------------------------------------------

/** The default as the docs show it. */
export function defaultOf(variable: Variable<unknown>): string {
  if (variable.defaultText !== undefined) return variable.defaultText;
  return variable.default === undefined ? 'none' : `\`${variable.default}\``;
}

/** A Markdown table of the variables: name, default, what is allowed, meaning. */
export function markdownTable(table: Table): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = Object.entries(table).map(([name, v]) => `| \`${name}\` | ${cell(defaultOf(v))} | ${cell(v.kind.allowed)} | ${cell(meaning(v))} |`);
  return ['| variable | default | allowed | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** The variables for `--help`: one entry per variable, the help text wrapped to `width`. */
export function helpText(table: Table, width = 100): string {
  const out: string[] = [];
  for (const [name, v] of Object.entries(table)) {
    const def = defaultOf(v).replace(/`/g, '');
    out.push(`  ${name} (default: ${def})`);
    for (const line of wrap(`${meaning(v).replace(/`/g, '')}. Allowed: ${v.kind.allowed.replace(/`/g, '')}.`, width - 6)) out.push(`      ${line}`);
  }
  return `${out.join('\n')}\n`;
}

/** The help text, saying who reads a variable the program only documents. */
function meaning(v: Variable<unknown>): string {
  return v.readBy === undefined ? v.help : `${v.help} (read by ${v.readBy} itself)`;
}

function wrap(s: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of s.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Replaces what stands between `<!-- begin:NAME -->` and `<!-- end:NAME -->` in `doc` with
 * `content`; throws if the markers are missing.
 */
export function replaceBetweenMarkers(doc: string, name: string, content: string): string {
  const begin = `<!-- begin:${name} (generated by npm run docs:config; do not edit) -->`;
  const end = `<!-- end:${name} -->`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) throw new Error(`the markers ${begin} … ${end} are missing`);
  return `${doc.slice(0, i + begin.length)}\n${content}\n${doc.slice(j)}`;
}
