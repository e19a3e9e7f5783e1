// The fuzz run (test/fuzz-sqlite.test.ts, test/fuzz-postgres.test.ts): a seeded, reproducible run over every route of the contract, on both stores: hostile strings
// (NUL, lone surrogates, prototype keys, line separators, injection and traversal text, overlong
// values), hostile numbers (0, negatives, 2^53 and past it, 1e999, -0), hostile structures (wrong
// types, deep nesting, prototype keys at any depth, duplicate keys) in path ids, query values,
// bodies and tokens. Every answer must be below 500, and every error in Herald's shapes.
// HERALD_FUZZ_REQUESTS sets the requests per store (default 10,000), HERALD_FUZZ_SEED the seed
// (default 16); a failure prints the seed and path to replay it.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRoutes } from '../../src/api/routes/index.js';
import type { RouteDef } from '../../src/api/route.js';
import { createApp, createEndpoint, createEventType, portalToken, sendMessage } from './fixtures.js';
import { Clock, useInProcess, type Method } from './inproc.js';

const REQUESTS = Number(process.env.HERALD_FUZZ_REQUESTS ?? 10_000);
const SEED = Number(process.env.HERALD_FUZZ_SEED ?? 16);

/** Strings that have broken servers and stores before. */
const NASTY = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'a\ud83d',
  '\ud83d\ude00',
  '__proto__',
  'constructor',
  'prototype',
  '',
  ' ',
  '\u2028',
  '\r\n',
  '\t',
  '\u007f',
  '\u0001',
  '%00',
  '../../etc/passwd',
  "' OR 1=1--",
  '"; DROP TABLE app;--',
  '<script>',
  'x'.repeat(300),
  '0',
  '-1',
  'NaN',
  'Infinity',
  '1e309',
  'null',
  'true',
  '2000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '2024-06-30T23:59:60Z',
  '2200-01-01T00:00:00Z',
  'app_',
  'msg_0000000000000000000000000000',
  `ep_${'z'.repeat(27)}`,
  '\u00e9',
  '\u65e5\u672c',
];
const NUMBERS = [
  '0',
  '-1',
  '1',
  '250',
  '251',
  '65535',
  '65536',
  '4294967296',
  '9007199254740993',
  '12345678901234567890',
  '1e999',
  '-1e999',
  '-0',
  '0.5',
  '1e-300',
];

/** Any UTF-16 code unit, lone surrogates included. */
const unit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ unit, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...NASTY), fc.constantFrom(...NASTY)).map(([a, b]) => a + b) },
);

/** JSON text (always valid JSON) for a hostile value; objects may repeat keys and use prototype keys. */
const { json: hostileJson } = fc.letrec<{ json: string }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: hostileString.map((s) => JSON.stringify(s)) },
    { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
    { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null', '{}', '[]') },
    { weight: 1, arbitrary: fc.array(tie('json'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'prototype', 'name', 'url')), tie('json')), { maxLength: 4 })
        .map((es) => `{${es.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
    },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: 300 }).map((n) => '['.repeat(n) + ']'.repeat(n)) },
    { weight: 1, arbitrary: fc.constant('{"constructor":{"prototype":{"polluted":true}}}') },
  ),
}));

/** A URL component for `s`; a lone surrogate (which has no UTF-8 form) is sent as its would-be bytes. */
function enc(s: string): string {
  return [...s]
    .map((c) => {
      const code = c.charCodeAt(0);
      if (c.length === 1 && code >= 0xd800 && code <= 0xdfff) return '%ED%A0%80';
      return encodeURIComponent(c);
    })
    .join('');
}

interface World {
  app: string;
  appUid: string;
  endpoint: string;
  msg: string;
  eventType: string;
  portalAll: string;
  portalView: string;
}

/** Fields the route's body schema names, from the contract. */
function bodyFields(doc: Record<string, any>, path: string, method: string): string[] {
  const ref: string | undefined = doc.paths[path]?.[method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema?.$ref;
  const schema = ref ? doc.components.schemas[ref.split('/').pop()!] : undefined;
  return schema?.properties ? Object.keys(schema.properties) : [];
}

/** A body the route accepts, as JSON text without its closing brace, so hostile fields can follow. */
function baseBody(operationId: string, w: World): string {
  const base: Record<string, unknown> =
    operationId.startsWith('v1.application.') || operationId === 'patch_application'
      ? { name: 'fuzzed' }
      : operationId.startsWith('v1.endpoint.create') || operationId.startsWith('v1.endpoint.update') || operationId === 'patch_endpoint'
        ? { url: 'https://example.com/fuzz' }
        : operationId === 'v1.event-type.create'
          ? { name: 'fuzz.made', description: 'd' }
          : operationId === 'v1.message.create'
            ? { eventType: w.eventType, payload: { a: 1 } }
            : operationId === 'v1.endpoint.recover'
              ? { since: '2026-01-01T00:00:00Z' }
              : {};
  return JSON.stringify(base).slice(0, -1);
}

const statuses = new Map<string, Map<number, number>>();
afterAll(() => {
  for (const [store, m] of statuses) {
    const by = [...m.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([c, n]) => `${c}:${n}`)
      .join(' ');
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    console.info(`fuzz (${store}, seed ${SEED}): ${total} requests over ${allRoutes.length} routes; statuses ${by}`);
  }
});

/** Register the fuzz run for one store (a file per store, so the two run in parallel). */
export function fuzzStore(database: 'sqlite' | 'postgres'): void {
  describe(`fuzz on ${database}`, () => {
    const clock = new Clock();
    const h = useInProcess({ database, now: clock.now, env: { HERALD_API_RATE_LIMIT: 'off', HERALD_OPERATOR_RATE_LIMIT: 'off' } });
    let w: World;
    beforeAll(async () => {
      const app = await createApp(h(), { uid: 'fuzz-app' });
      const eventType = (await createEventType(h())).name as string;
      w = {
        app: app.id,
        appUid: 'fuzz-app',
        endpoint: (await createEndpoint(h(), app.id)).id,
        msg: (await sendMessage(h(), app.id, { eventType })).id,
        eventType,
        portalAll: await portalToken(h(), app.id),
        portalView: await portalToken(h(), app.id, { permissions: ['view'] }),
      };
    });

    it(`${REQUESTS} hostile requests over every route answer below 500, in Herald's error shapes`, async () => {
      const doc = h().herald.deps.contract.document as Record<string, any>;
      const counts = new Map<number, number>();
      statuses.set(database, counts);
      const ids: Record<string, string[]> = {
        app_id: [w.app, w.appUid],
        endpoint_id: [w.endpoint],
        msg_id: [w.msg],
        event_type_name: [w.eventType],
        contact_id: ['c1'],
      };
      const real = (name: string): string[] => ids[name] ?? ['x'];
      const request = fc.constantFrom(...allRoutes).chain((def: RouteDef) => {
        const op = h().herald.deps.contract.operation(def.method, def.operationId);
        const names = [...op.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
        const fields = bodyFields(doc, op.path, op.method);
        const queryNames = [...op.query.map((q) => q.name), 'limit', 'iterator', 'after', 'before', 'since', 'until', '__proto__'];
        return fc.record({
          def: fc.constant(def),
          params: fc.tuple(...names.map((n) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...real(n)) }, { weight: 1, arbitrary: hostileString }))),
          query: fc.array(fc.tuple(fc.constantFrom(...queryNames), fc.oneof(hostileString, fc.constantFrom(...NUMBERS))), { maxLength: 3 }),
          body: fc.array(
            fc.tuple(
              fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...(fields.length ? fields : ['name'])) }, { weight: 1, arbitrary: hostileString }),
              hostileJson,
            ),
            { maxLength: 3 },
          ),
          token: fc.oneof(
            { weight: 6, arbitrary: fc.constant<'operator' | 'all' | 'view' | 'none' | 'junk'>('operator') },
            { weight: 2, arbitrary: fc.constantFrom<'all' | 'view'>('all', 'view') },
            { weight: 1, arbitrary: fc.constantFrom<'none' | 'junk'>('none', 'junk') },
          ),
        });
      });
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(request, async ({ def, params, query, body, token }) => {
          const op = h().herald.deps.contract.operation(def.method, def.operationId);
          let i = 0;
          const path = op.path.replace(/\{([a-z_]+)\}/g, () => enc(params[i++]!));
          const qs = query.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
          const url = qs ? `${path}?${qs}` : path;
          const hasBody = def.method === 'POST' || def.method === 'PUT' || def.method === 'PATCH';
          const base = baseBody(def.operationId, w);
          const extra = body.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',');
          const raw = hasBody ? `${base}${base.length > 1 && extra ? ',' : ''}${extra}}` : undefined;
          // Logging out with a portal token would revoke it for the rest of the run: those go as junk.
          const who = def.operationId.startsWith('logout') && (token === 'all' || token === 'view') ? 'junk' : token;
          const t = { operator: undefined, all: w.portalAll, view: w.portalView, none: null, junk: 'appsk_x.y' }[who];
          const r = await h().inject(def.method as Method, url, { token: t, raw, headers: raw === undefined ? {} : { 'content-type': 'application/json' } });
          sent++;
          counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
          if (r.status >= 500) throw new Error(`${def.method} ${url.slice(0, 300)} ${raw?.slice(0, 300) ?? ''} → ${r.status} ${r.text.slice(0, 300)}`);
          // A HEAD answer has no body to hold the error.
          if (r.status >= 400 && def.method !== 'HEAD') {
            const ok =
              typeof r.json === 'object' &&
              r.json !== null &&
              (Array.isArray(r.json.detail) || (typeof r.json.code === 'string' && typeof r.json.detail === 'string'));
            if (!ok) throw new Error(`${def.method} ${url.slice(0, 200)} → ${r.status} not in Herald's error shape: ${r.text.slice(0, 200)}`);
          }
          clock.advance(3);
        }),
        { numRuns: REQUESTS, seed: SEED, endOnFailure: true },
      );
      expect(sent).toBe(REQUESTS);
      expect([...counts.keys()].every((s) => s < 500)).toBe(true);
    }, 600_000);
  });
}
