// The mechanism: a table of variables read into values, every problem listed at once (parse,
// schema and rules), deep freezing, and the docs and help that come from the same table.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  checkEnv,
  deepFreeze,
  documented,
  helpText,
  Invalid,
  kinds,
  markdownTable,
  readEnv,
  replaceBetweenMarkers,
  type Rule,
  variable,
} from '../src/index.js';

const TABLE = {
  T_PORT: variable({ kind: kinds.integer(1, 100), default: '10', help: 'a port' }),
  T_WAIT: variable({ kind: kinds.duration(1000, 60_000), default: '5s', help: 'a wait' }),
  T_LEVEL: variable({ kind: kinds.oneOf(['low', 'high'] as const), default: 'low', help: 'a level' }),
  T_NAMES: variable({
    kind: kinds.list({ item: { pattern: '^[a-z]+$' }, itemText: 'a name', allowed: 'comma-separated lower-case names', unique: true }),
    help: 'names',
  }),
  T_SECRET: variable({ kind: kinds.text({ allowed: 'at least 8 characters', minLength: 8 }), secret: true, help: 'a secret' }),
  T_EVEN: variable({
    kind: kinds.custom<number>({
      type: 'even',
      allowed: 'an even number',
      parse(t, shown) {
        if (!/^\d+$/.test(t) || Number(t) % 2) throw new Invalid(`${shown} is not an even number`);
        return Number(t);
      },
      schema: { type: 'integer' },
    }),
    help: 'even',
  }),
};
const RULES: Rule<typeof TABLE>[] = [
  (v) =>
    v.T_WAIT !== undefined && v.T_PORT !== undefined && v.T_WAIT < v.T_PORT * 100
      ? { variable: 'T_WAIT', message: 'must be at least T_PORT × 100 ms' }
      : undefined,
];

function refusal(env: Record<string, string>): ConfigError {
  try {
    readEnv(TABLE, env, RULES);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('readEnv accepted it');
}

describe('readEnv', () => {
  it('reads defaults and set values, trimmed; blank is unset', () => {
    expect(readEnv(TABLE, {}, RULES)).toEqual({ T_PORT: 10, T_WAIT: 5000, T_LEVEL: 'low' });
    expect(readEnv(TABLE, { T_PORT: ' 2 ', T_WAIT: '1m', T_LEVEL: 'high', T_NAMES: 'a, b,,c', T_SECRET: '  ', T_EVEN: '4' }, RULES)).toEqual({
      T_PORT: 2,
      T_WAIT: 60_000,
      T_LEVEL: 'high',
      T_NAMES: ['a', 'b', 'c'],
      T_EVEN: 4,
    });
  });

  it('lists every problem at once, each naming its variable: bad text, out of range, not allowed, a bad item, a repeat, a rule', () => {
    const e = refusal({ T_PORT: '500', T_WAIT: 'soon', T_LEVEL: 'medium', T_NAMES: 'ok,Bad', T_SECRET: 'short', T_EVEN: '3' });
    expect(e.issues.map((p) => p.variable).sort()).toEqual(['T_EVEN', 'T_LEVEL', 'T_NAMES', 'T_PORT', 'T_SECRET', 'T_WAIT']);
    expect(e.problems).toEqual(
      expect.arrayContaining([
        "T_PORT: '500' is out of range; use a whole number from 1 to 100",
        "T_WAIT: 'soon' is not a duration; use a duration between 1s and 1m, e.g. 500ms, 15s or 2m",
        "T_LEVEL: 'medium' is not one of low, high",
        "T_NAMES: 'Bad' is not a name; use comma-separated lower-case names",
        'T_SECRET: the value is not at least 8 characters',
        "T_EVEN: '3' is not an even number",
      ]),
    );
    expect(e.message).toMatch(/^6 problems in the configuration:\n {2}- /);
    expect(e.message).not.toContain('short');
    expect(refusal({ T_NAMES: 'a,b,a' }).problems).toEqual(["T_NAMES: lists 'a' twice"]);
  });

  it('checks rules over clean values, and not about a variable already wrong', () => {
    const e = refusal({ T_PORT: '100', T_WAIT: '5s' });
    expect([e.variable, e.message]).toEqual(['T_WAIT', 'T_WAIT: must be at least T_PORT × 100 ms']);
    expect(refusal({ T_PORT: '100', T_WAIT: '2h' }).problems).toEqual([
      "T_WAIT: '2h' is out of range; use a duration between 1s and 1m, e.g. 500ms, 15s or 2m",
    ]);
  });

  it('checkEnv returns the clean values and the problems without throwing, and can leave defaults out', () => {
    const { values, problems } = checkEnv(TABLE, { T_PORT: 'x', T_LEVEL: 'high' }, [], { defaults: false });
    expect(values).toEqual({ T_LEVEL: 'high' });
    expect(problems).toEqual([{ variable: 'T_PORT', message: "'x' is not a whole number from 1 to 100" }]);
  });
});

describe('deepFreeze', () => {
  it('freezes every object and array inside, and leaves byte buffers alone', () => {
    const o = deepFreeze({ a: { b: [1, { c: 2 }] }, key: Buffer.alloc(4) });
    expect(Object.isFrozen(o.a)).toBe(true);
    expect(Object.isFrozen(o.a.b)).toBe(true);
    expect(Object.isFrozen(o.a.b[1])).toBe(true);
    expect(() => (o.a.b as number[]).push(3)).toThrow(TypeError);
    expect(o.key.length).toBe(4);
  });
});

describe('docs and help from the table', () => {
  it('a Markdown table with every variable, its default, what is allowed and its help', () => {
    const md = markdownTable(TABLE);
    expect(md.split('\n')).toHaveLength(2 + Object.keys(TABLE).length);
    expect(md).toContain('| `T_WAIT` | `5s` | a duration between 1s and 1m, e.g. 500ms, 15s or 2m | a wait |');
    expect(md).toContain('| `T_NAMES` | none |');
  });

  it('replaces only what stands between the markers, and refuses a document without them', () => {
    const doc = 'before\n<!-- begin:t (generated by npm run docs:config; do not edit) -->\nold\n<!-- end:t -->\nafter\n';
    expect(replaceBetweenMarkers(doc, 't', 'new')).toBe(
      'before\n<!-- begin:t (generated by npm run docs:config; do not edit) -->\nnew\n<!-- end:t -->\nafter\n',
    );
    expect(() => replaceBetweenMarkers('no markers', 't', 'x')).toThrow(/markers/);
  });

  it('help lists every variable with its default', () => {
    const help = helpText(TABLE);
    for (const name of Object.keys(TABLE)) expect(help).toContain(`  ${name} (default: `);
    expect(help).toContain('T_PORT (default: 10)');
  });
});

describe('variables another component reads (documented)', () => {
  const WITH_SDK = {
    T_PORT: variable({ kind: kinds.integer(1, 100), default: '10', help: 'a port' }),
    T_SDK: documented({ readBy: 'the SDK', allowed: 'a name', defaultText: '`x`', help: 'a name the SDK reads' }),
  };

  it('are neither read nor checked, and are not among the values', () => {
    const values = readEnv(WITH_SDK, { T_SDK: 'anything at all', T_PORT: '20' });
    expect(values).toEqual({ T_PORT: 20 });
    // @ts-expect-error: a variable read elsewhere has no value here
    expect(values.T_SDK).toBeUndefined();
    expect(checkEnv(WITH_SDK, { T_SDK: '' }).problems).toEqual([]);
  });

  it('are listed in the docs and help, saying who reads them', () => {
    expect(markdownTable(WITH_SDK)).toContain('| `T_SDK` | `x` | a name | a name the SDK reads (read by the SDK itself) |');
    expect(helpText(WITH_SDK)).toContain('  T_SDK (default: x)\n      a name the SDK reads (read by the SDK itself). Allowed: a name.');
  });
});
