// Hostile input, property-based (fast-check), over every route of the route table: random JSON,
// wrong types for every body field, huge strings, deep nesting, invalid UTF-8, CR/LF in custom
// header names and values, odd ids in path and query parameters, odd tokens and content types.
// For every case: no 5xx, a well-formed answer, and no partial write (a refused request, or a
// read, leaves every table as it was; only the audit log may record a refused change).
// HERALD_FUZZ_RUNS sets the cases per route (default 20); the total is printed at the end.
// A second part sends byte-level garbage to a real `herald serve` over raw sockets and checks the
// process is still up and answering.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { allRoutes } from '../src/api/routes/index.js';
import type { Operation } from '../src/api/contract.js';
import { createApp, createEndpoint, createEventType, insertAttempt, portalToken, sendMessage } from './helpers/fixtures.js';
import { startHerald } from './helpers/herald-process.js';
import { Clock, useInProcess, type InProcess, type Method } from './helpers/inproc.js';
import { snapshotTables } from './helpers/rows.js';

const RUNS_PER_ROUTE = Number(process.env.HERALD_FUZZ_RUNS ?? 20);
const SEED = process.env.HERALD_FUZZ_SEED === undefined ? undefined : Number(process.env.HERALD_FUZZ_SEED);

interface World {
  app: string;
  appUid: string;
  endpoint: string;
  msg: string;
  attempt: string;
  eventType: string;
  portalAll: string;
  portalView: string;
  otherApp: string;
}

/** Strings that have broken servers before: encodings, traversal, injection, overlong forms. */
const NASTY = [
  '',
  ' ',
  '%00',
  '%FF',
  '%C3%28',
  '%ED%A0%80',
  '%F0%28%8C%BC',
  '%0D%0AX-Injected:%201',
  '..',
  '%2e%2e%2f%2e%2e',
  '%2F',
  "'%20OR%201=1--",
  '%22%3E%3Cscript%3E',
  'null',
  'undefined',
  '-1',
  '0',
  '1e309',
  'NaN',
  '%7B%7D',
  '__proto__',
  'constructor',
  'app_',
  'app_0000000000000000000000000000',
  'ep_zzzzzzzzzzzzzzzzzzzzzzzzzzz',
  'msg_%00',
  'sess_x',
  `app_${'A'.repeat(27)}`,
];

/** A path or query value, already encoded for the URL (NASTY ones are sent raw, on purpose). */
function oddValue(real: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...real).map(encodeURIComponent) },
    { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.integer({ min: 300, max: 2000 }).map((n) => 'x'.repeat(n)) },
  );
}

/** Any JSON value, JSON as the wire has it (no undefined, no -0 surprises). */
const json = fc.jsonValue({ maxDepth: 4 });

const crlf = fc
  .tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\r\n', '\r', '\n', '\r\n\r\n', '\u0000', '\u2028'), fc.string({ maxLength: 8 }))
  .map(([a, b, c]) => a + b + c);

/** Custom endpoint headers with CR, LF or NUL in names and values, mixed with ordinary ones. */
const crlfHeaders = fc.dictionary(fc.oneof(crlf, fc.constantFrom('X-Ok', 'Authorization', 'Host', 'Content-Length', 'svix-id')), fc.oneof(crlf, fc.string()), {
  minKeys: 1,
  maxKeys: 4,
});

function deepNest(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Bytes that are not UTF-8: lone continuation, overlong, surrogate, truncated sequences. */
const BAD_UTF8 = [Buffer.from([0xff, 0xfe]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xe2, 0x82])];

type Body = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; raw: string | Buffer; type?: string };

function bodyFor(fields: string[], base: Record<string, unknown>): fc.Arbitrary<Body> {
  const keys = fields.length ? fields : ['name', 'url', 'payload'];
  const wrongTypes = fc
    .dictionary(fc.constantFrom(...keys), json, { minKeys: 1, maxKeys: keys.length })
    .map((o) => ({ kind: 'json' as const, value: { ...base, ...o } }));
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
    { weight: 3, arbitrary: json.map((value): Body => ({ kind: 'json', value })) },
    { weight: 5, arbitrary: wrongTypes },
    { weight: 2, arbitrary: crlfHeaders.map((headers): Body => ({ kind: 'json', value: { ...base, headers } })) },
    {
      weight: 2,
      arbitrary: fc
        .record({ field: fc.constantFrom(...keys), n: fc.constantFrom(1_000, 70_000, 300_000) })
        .map(({ field, n }): Body => ({ kind: 'json', value: { ...base, [field]: 'é'.repeat(n) } })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ field: fc.constantFrom(...keys), depth: fc.integer({ min: 50, max: 20_000 }), kind: fc.constantFrom<'array' | 'object'>('array', 'object') })
        .map(({ field, depth, kind }): Body => ({ kind: 'raw', raw: `{${JSON.stringify(field)}:${deepNest(depth, kind)}}` })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ field: fc.constantFrom(...keys), bad: fc.constantFrom(...BAD_UTF8) })
        .map(({ field, bad }): Body => ({ kind: 'raw', raw: Buffer.concat([Buffer.from(`{${JSON.stringify(field)}:"a`), bad, Buffer.from('b"}')]) })),
    },
    { weight: 1, arbitrary: fc.constantFrom<Body>({ kind: 'raw', raw: Buffer.alloc(2 * 1024 * 1024 + 100 * 1024, 0x20) }) },
    {
      weight: 1,
      arbitrary: fc
        .record({
          raw: fc.string({ maxLength: 60 }),
          type: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', ''),
        })
        .map(({ raw, type }): Body => ({ kind: 'raw', raw, type })),
    },
  );
}

/** The request body's top-level field names, from the contract schema the route validates against. */
function bodyFields(h: InProcess, op: Operation): string[] {
  const doc = h.herald.deps.contract.document as Record<string, any>;
  const ref: string | undefined = doc.paths[op.path]?.[op.method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema?.$ref;
  const schema = ref ? doc.components.schemas[ref.split('/').pop()!] : undefined;
  return schema?.properties ? Object.keys(schema.properties) : [];
}

/** A body the route would accept, so single-field mutations get past the other checks. */
function baseBody(operationId: string, w: World): Record<string, unknown> {
  switch (operationId) {
    case 'v1.application.create':
    case 'v1.application.update':
    case 'patch_application':
      return { name: 'fuzzed' };
    case 'v1.endpoint.create':
    case 'v1.endpoint.update':
    case 'patch_endpoint':
      return { url: 'https://example.com/fuzz' };
    case 'v1.event-type.create':
      return { name: 'fuzz.made', description: 'd' };
    case 'v1.event-type.update':
    case 'patch_event_type':
      return { description: 'd' };
    case 'v1.message.create':
      return { eventType: w.eventType, payload: { a: 1 } };
    case 'v1.endpoint.send-example':
      return { eventType: w.eventType };
    default:
      return {};
  }
}

/** Every table except the audit log (which records refused changes by design), hashed. */
async function fingerprint(h: InProcess): Promise<string> {
  return createHash('sha256')
    .update(JSON.stringify(await snapshotTables(h, ['audit_log'])))
    .digest('hex');
}

let totalCases = 0;
const statusCounts = new Map<number, number>();
afterAll(() => {
  const by = [...statusCounts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([c, n]) => `${c}:${n}`)
    .join(' ');
  console.info(
    `hostile input: ${totalCases} cases (${RUNS_PER_ROUTE} per route over ${allRoutes.length} routes, plus raw-socket cases); in-process statuses ${by}`,
  );
});

describe('hostile input: every route of the route table', () => {
  const clock = new Clock();
  const h = useInProcess({
    now: clock.now,
    // Rate limits are tested on their own; here they would only turn later cases into 429s.
    env: { HERALD_API_RATE_LIMIT: 'off', HERALD_OPERATOR_RATE_LIMIT: 'off' },
  });
  let w: World | undefined;

  async function world(): Promise<World> {
    if (w) return w;
    const app = await createApp(h(), { uid: 'fuzz-target' });
    const eventType = (await createEventType(h())).name as string;
    const endpoint = (await createEndpoint(h(), app.id, { headers: { 'X-Seed': '1' } })).id as string;
    const msg = (await sendMessage(h(), app.id, { eventType })).id as string;
    const attempt = await insertAttempt(h(), { appId: app.id, msgId: msg, endpointId: endpoint });
    const other = await createApp(h());
    w = {
      app: app.id,
      appUid: 'fuzz-target',
      endpoint,
      msg,
      attempt,
      eventType,
      otherApp: other.id,
      portalAll: await portalToken(h(), app.id),
      portalView: await portalToken(h(), app.id, { permissions: ['view'] }),
    };
    return w;
  }

  it('the route table is the one the server registered', () => {
    expect(allRoutes.length).toBeGreaterThanOrEqual(40);
    for (const def of allRoutes) expect(() => h().herald.deps.contract.operation(def.method, def.operationId)).not.toThrow();
  });

  it.each(allRoutes.map((d) => [`${d.method} ${d.operationId}`, d] as const))('%s', async (_title, def) => {
    const wd = await world();
    const op = h().herald.deps.contract.operation(def.method, def.operationId);
    const names = [...op.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
    const real: Record<string, string[]> = {
      app_id: [wd.app, wd.appUid, wd.otherApp],
      endpoint_id: [wd.endpoint],
      msg_id: [wd.msg],
      attempt_id: [wd.attempt],
      event_type_name: [wd.eventType],
      task_id: ['qtask_2aVHbyVjDtmnqf4k3nwCrUnPwQe'],
    };
    const params = fc.record(Object.fromEntries(names.map((n) => [n, oddValue(real[n] ?? ['x'])])));
    const queryNames = [...op.query.map((q) => q.name), 'iterator', 'limit', '__proto__', 'x'];
    const query = fc.array(
      fc.tuple(fc.constantFrom(...queryNames), fc.oneof(oddValue([wd.app, 'true', '10', '2026-01-01T00:00:00Z']), fc.constant('a'.repeat(5000)))),
      { maxLength: 4 },
    );
    const token = fc.oneof(
      { weight: 4, arbitrary: fc.constant<string | null>(h().operatorToken) },
      { weight: 3, arbitrary: fc.constantFrom<string | null>(wd.portalAll, wd.portalView) },
      { weight: 1, arbitrary: fc.constantFrom<string | null>(null, 'appsk_x.y', `${wd.portalAll}x`, 'a'.repeat(9000)) },
    );
    const headers = fc.record({ 'idempotency-key': fc.oneof(fc.string({ maxLength: 30 }), fc.constant('k'.repeat(3000))) }, { requiredKeys: [] });
    const body = bodyFor(bodyFields(h(), op), baseBody(op.operationId, wd));

    await fc.assert(
      fc.asyncProperty(params, query, token, headers, body, async (p, q, t, hd, b) => {
        totalCases += 1;
        let path = op.path;
        for (const [k, v] of Object.entries(p)) path = path.replace(`{${k}}`, v as string);
        const qs = q.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join('&');
        const url = qs ? `${path}?${qs}` : path;
        const reqHeaders: Record<string, string> = { ...hd };
        let raw: string | Buffer | undefined;
        if (b.kind === 'json') {
          raw = JSON.stringify(b.value);
          reqHeaders['content-type'] = 'application/json';
        } else if (b.kind === 'raw') {
          raw = b.raw;
          if (b.type !== '') reqHeaders['content-type'] = b.type ?? 'application/json';
        }
        const before = await fingerprint(h());
        const r = await h().inject(op.method as Method, url, { token: t, raw, headers: reqHeaders });
        statusCounts.set(r.status, (statusCounts.get(r.status) ?? 0) + 1);
        if (r.status >= 500) throw new Error(`${op.method} ${url.slice(0, 300)} → ${r.status} ${r.text.slice(0, 300)}`);
        // Errors are Svix's shapes: {code, detail} or 422 {detail: [...]}.
        if (r.status >= 400) {
          const what = `${op.method} ${url.slice(0, 120)} → ${r.status} ${String(r.headers['content-type'])} ${r.text.slice(0, 200)}`;
          expect(r.json, what).toBeTypeOf('object');
          expect(r.json.detail, what).toBeDefined();
        }
        if (r.status >= 400 || op.method === 'GET') {
          expect(await fingerprint(h()), `${op.method} ${url.slice(0, 200)} → ${r.status} changed the database`).toBe(before);
        }
        // Successful changes may move the clock-dependent state; keep time moving so ids and
        // windows behave as in real traffic.
        clock.advance(7);
      }),
      { numRuns: RUNS_PER_ROUTE, seed: SEED, endOnFailure: true },
    );
  });
});

describe('hostile input: byte-level garbage against a real process', () => {
  it('raw requests with CR/LF in header names and values, bad UTF-8 and broken framing leave it up and answering', async () => {
    const herald = await startHerald({ env: { HERALD_API_RATE_LIMIT: 'off', HERALD_OPERATOR_RATE_LIMIT: 'off' } });
    try {
      const port = herald.port;
      const auth = `Authorization: Bearer ${herald.token}\r\n`;
      const requests = [
        `POST /api/v1/app HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nX-Bad\rName: 1\r\nContent-Length: 2\r\n\r\n{}`,
        `POST /api/v1/app HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nX-Ok: a\nInjected: b\r\nContent-Length: 2\r\n\r\n{}`,
        `GET /api/v1/app HTTP/1.1\r\nHost: x\r\n${auth}X-Nul: a\u0000b\r\n\r\n`,
        `GET /api/v1/app/%FF%FE HTTP/1.1\r\nHost: x\r\n${auth}\r\n`,
        `GET /api/v1/app/\u00ff\u00fe HTTP/1.1\r\nHost: x\r\n${auth}\r\n`,
        `POST /api/v1/app HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{"a":1}`,
        `POST /api/v1/app HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
        `POST /api/v1/app HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"short`,
        `GET ${'/a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `GET /api/v1/app HTTP/1.1\r\nHost: x\r\n${auth}X-Big: ${'b'.repeat(70_000)}\r\n\r\n`,
        `BREW /api/v1/app HTTP/1.1\r\nHost: x\r\n\r\n`,
        `\u0000\u0001\u0002garbage\r\n\r\n`,
      ];
      const bodies = [
        Buffer.concat([
          Buffer.from(`POST /api/v1/app HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 14\r\n\r\n{"name":"`),
          Buffer.from([0xff, 0xc3, 0x28, 0xed]),
          Buffer.from('"}'),
        ]),
      ];
      const send = (data: string | Buffer) =>
        new Promise<string>((resolve) => {
          const s = connect(port, '127.0.0.1');
          let out = '';
          s.setTimeout(3000, () => s.destroy());
          s.on('data', (d) => (out += d.toString('latin1')));
          s.on('error', () => resolve(out));
          s.on('close', () => resolve(out));
          s.end(data);
        });
      const answers: string[] = [];
      for (const r of [...requests, ...bodies]) answers.push((await send(Buffer.isBuffer(r) ? r : Buffer.from(r, 'latin1'))).split('\r\n')[0] ?? '');
      totalCases += answers.length;
      // Every answer, where the connection got one, is a 4xx (or a 2xx for the odd-but-legal ones); never 5xx.
      for (const a of answers) expect(a).not.toMatch(/^HTTP\/1\.1 5/);
      expect(answers.filter((a) => /^HTTP\/1\.1 4/.test(a)).length).toBeGreaterThanOrEqual(8);
      // Still up, still answering, nothing half-made from the refused bodies.
      const health = await fetch(`${herald.url}/api/v1/health`);
      expect(health.status).toBeLessThan(300);
      const apps = await fetch(`${herald.url}/api/v1/app`, { headers: { authorization: `Bearer ${herald.token}` } });
      expect(apps.status).toBe(200);
      const names = ((await apps.json()) as { data: { name: string }[] }).data.map((a) => a.name);
      expect(names.every((n) => !n.includes('short'))).toBe(true);
    } finally {
      await herald.stop();
    }
  });
});
