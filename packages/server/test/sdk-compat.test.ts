// Wire-compatibility suite: drives a real Herald (child process, real HTTP) with the official
// `svix` JS SDK 2.x and checks every SDK method that maps onto the 43 operations of
// shared/contracts/svix-openapi.json, plus the cross-cutting conventions of
// shared/reference/svix.md §2.1, §2.2 and §2.4 (ids, uids, pagination, idempotency, error bodies,
// status codes, app-portal token scoping).
//
// Where a check goes beyond what the SDK exposes (status codes, raw JSON, headers), it uses
// fetch against the same server. One Herald serves the whole file; every test makes its own
// uniquely named resources so tests do not depend on each other's data.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiException, MessageStatus, Ordering, StatusCodeClass, Svix, type ApplicationOut, type EndpointOut, type MessageAttemptOut } from 'svix';
import { startHerald, type HeraldProcess } from './helpers/herald-process.js';
import { until } from './helpers/wait.js';

// ---------------------------------------------------------------------------------------------
// Shared helpers

const idRe = (prefix: string): RegExp => new RegExp(`^${prefix}[A-Za-z0-9]{27}$`);
const APP_ID = idRe('app_');
const EP_ID = idRe('ep_');
const MSG_ID = idRe('msg_');
const ATMPT_ID = idRe('atmpt_');
const QTASK_ID = idRe('qtask_');
/** RFC 3339 in UTC with a `Z` suffix, optional fraction (svix.md §2.4 item 8). */
const RFC3339_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** `whsec_` + base64 of 24 random bytes = 32 base64 characters, no padding. */
const WHSEC = /^whsec_[A-Za-z0-9+/]{32}$/;
/** Well-formed ids that no server has minted (all-zero KSUID payloads at the epoch). */
const NEVER_MINTED = `${'0'.repeat(26)}1`;
const MISSING_APP = `app_${NEVER_MINTED}`;
const MISSING_EP = `ep_${NEVER_MINTED}`;
const MISSING_MSG = `msg_${NEVER_MINTED}`;
const MISSING_ATTEMPT = `atmpt_${NEVER_MINTED}`;

const RUN = randomBytes(4).toString('hex');
let seq = 0;
/** A fresh uid / name matching ^[a-zA-Z0-9\-_.]+$ that no other test uses. */
const uniq = (label: string): string => `${label}-${RUN}-${++seq}`;

let herald: HeraldProcess;
let svix: Svix;

function client(token: string): Svix {
  return new Svix(token, { serverUrl: herald.url });
}

/** Await a call that must fail with an ApiException and return that exception. */
async function apiError(call: Promise<unknown>): Promise<ApiException<any>> {
  let result: unknown;
  try {
    result = await call;
  } catch (err) {
    if (err instanceof ApiException) return err as ApiException<any>;
    throw err;
  }
  throw new Error(`expected an ApiException, but the call succeeded with ${JSON.stringify(result)}`);
}

async function expectStatus(call: Promise<unknown>, status: number): Promise<ApiException<any>> {
  const err = await apiError(call);
  expect(err.code, `HTTP ${err.code}: ${JSON.stringify(err.body)}`).toBe(status);
  return err;
}

/** 4xx bodies other than 422 are `{code, detail}` (svix.md §2.1, Errors). */
function expectHttpErrorBody(err: ApiException<any>, code?: string): void {
  expect(typeof err.body, JSON.stringify(err.body)).toBe('object');
  expect(typeof err.body.code).toBe('string');
  expect(typeof err.body.detail).toBe('string');
  if (code !== undefined) expect(err.body.code).toBe(code);
}

/** 422 bodies are `{detail: [{loc, msg, type}]}` with loc starting at "body"/"query"/"path". */
function expectValidationBody(err: ApiException<any>, field?: string): void {
  const detail = err.body?.detail;
  expect(Array.isArray(detail), JSON.stringify(err.body)).toBe(true);
  expect(detail.length).toBeGreaterThan(0);
  for (const item of detail) {
    expect(Array.isArray(item.loc), JSON.stringify(item)).toBe(true);
    expect(typeof item.msg).toBe('string');
    expect(typeof item.type).toBe('string');
  }
  if (field !== undefined) {
    const hit = detail.find((d: { loc: unknown[] }) => d.loc[0] === 'body' && d.loc.includes(field));
    expect(hit, `no detail item with loc ["body", …"${field}"…] in ${JSON.stringify(detail)}`).toBeDefined();
  }
}

interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** A plain HTTP call to Herald, authenticated with the org token unless told otherwise. */
async function raw(
  method: string,
  path: string,
  opts: { body?: unknown; rawBody?: string; headers?: Record<string, string>; token?: string | null } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  const token = opts.token === undefined ? herald.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(herald.url + path, { method, headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

function describeRaw(r: RawResponse): string {
  return `HTTP ${r.status}: ${r.text.slice(0, 500)}`;
}

function expectValidDate(d: unknown): void {
  expect(d).toBeInstanceOf(Date);
  expect(Number.isNaN((d as Date).getTime()), `invalid date ${String(d)}`).toBe(false);
}

interface Page<T> {
  data: T[];
  iterator?: string | null;
  prevIterator?: string | null;
  done: boolean;
}

/** The list envelope every list operation returns (svix.md §2.1 Pagination, §2.4 item 3). */
function expectPage<T>(page: Page<T>): void {
  expect(Array.isArray(page.data), JSON.stringify(page)).toBe(true);
  expect(typeof page.done, JSON.stringify(page)).toBe('boolean');
  expect(page.iterator === null || typeof page.iterator === 'string', `iterator must be null or a string, got ${JSON.stringify(page.iterator)}`).toBe(true);
}

function expectEmptyPage<T>(page: Page<T>): void {
  expectPage(page);
  expect(page.data).toEqual([]);
  expect(page.done).toBe(true);
}

/** Follow `iterator` from the first page until `done`; returns every page fetched. */
async function allPages<T>(fetchPage: (iterator: string | undefined) => Promise<Page<T>>): Promise<Page<T>[]> {
  const pages: Page<T>[] = [];
  let iterator: string | undefined;
  for (let i = 0; i < 200; i++) {
    const page = await fetchPage(iterator);
    expectPage(page);
    pages.push(page);
    if (page.done) return pages;
    expect(page.iterator, 'a page with done=false must carry an iterator').toEqual(expect.any(String));
    iterator = page.iterator as string;
  }
  throw new Error('pagination did not finish within 200 pages');
}

function expectStrictlyAscending(ids: string[]): void {
  for (let i = 1; i < ids.length; i++) {
    expect(ids[i - 1] < ids[i], `not ascending at ${i}: ${ids[i - 1]} then ${ids[i]}`).toBe(true);
  }
}

function expectStrictlyDescending(ids: string[]): void {
  for (let i = 1; i < ids.length; i++) {
    expect(ids[i - 1] > ids[i], `not descending at ${i}: ${ids[i - 1]} then ${ids[i]}`).toBe(true);
  }
}

/** Check the paged traversal: page sizes, `done` only at the end, each wanted id exactly once. */
function checkTraversal<T extends { id: string }>(pages: Page<T>[], limit: number, wanted: string[]): string[] {
  const ids = pages.flatMap((p) => p.data.map((x) => x.id));
  pages.forEach((p, i) => {
    expect(p.data.length).toBeLessThanOrEqual(limit);
    if (i < pages.length - 1) expect(p.done).toBe(false);
  });
  for (const id of wanted) {
    expect(
      ids.filter((x) => x === id),
      `id ${id} seen ${ids.filter((x) => x === id).length} times`,
    ).toHaveLength(1);
  }
  expect(new Set(ids).size, 'an id was returned twice').toBe(ids.length);
  return ids;
}

const lowerKeys = (o: Record<string, string>): string[] => Object.keys(o).map((k) => k.toLowerCase());

function b64Secret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

async function newApp(label = 'app'): Promise<ApplicationOut> {
  return svix.application.create({ name: `Compat ${label}`, uid: uniq(label) });
}

async function newEventType(label = 'et', schemas?: Record<string, unknown>): Promise<string> {
  const name = `${label}.${RUN}.${++seq}`;
  await svix.eventType.create({ name, description: `event type ${label}`, schemas });
  return name;
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  herald = await startHerald();
  svix = new Svix(herald.token, { serverUrl: herald.url });
});

afterAll(async () => {
  await herald?.stop();
});

describe('health and authentication basics', () => {
  it('health.get succeeds; GET and HEAD /api/v1/health agree; ping answers 204', async () => {
    await expect(svix.health.get()).resolves.toBeUndefined();
    const get = await raw('GET', '/api/v1/health');
    // The contract says 204; Svix OSS answers 200 with a status body. Either is fine for the SDK.
    expect([200, 204], describeRaw(get)).toContain(get.status);
    const head = await raw('HEAD', '/api/v1/health');
    expect(head.status).toBe(get.status);
    const ping = await raw('GET', '/api/v1/health/ping', { token: null });
    expect(ping.status).toBe(204);
  });

  it('rejects a wrong or missing bearer token with 401 authentication_failed', async () => {
    const bad = client(`testsk_${randomBytes(24).toString('hex')}`);
    const err = await expectStatus(bad.application.list(), 401);
    expectHttpErrorBody(err, 'authentication_failed');

    const none = await raw('GET', '/api/v1/app', { token: null });
    expect(none.status, describeRaw(none)).toBe(401);
    expect(none.json?.code).toBe('authentication_failed');
  });
});

describe('application', () => {
  it('create returns a full ApplicationOut with defaults', async () => {
    const app = await svix.application.create({ name: 'Minimal app' });
    expect(app.id).toMatch(APP_ID);
    expect(app.name).toBe('Minimal app');
    expect(app.uid ?? null).toBeNull();
    expect(app.throttleRate ?? null).toBeNull();
    expect(app.metadata).toEqual({});
    expectValidDate(app.createdAt);
    expectValidDate(app.updatedAt);
    expect(app.updatedAt.getTime()).toBeGreaterThanOrEqual(app.createdAt.getTime());

    // The wire form: camelCase keys and RFC 3339 dates in UTC.
    const r = await raw('GET', `/api/v1/app/${app.id}`);
    expect(r.status, describeRaw(r)).toBe(200);
    expect(r.json).toMatchObject({ id: app.id, name: 'Minimal app', metadata: {} });
    expect(r.json.createdAt).toMatch(RFC3339_Z);
    expect(r.json.updatedAt).toMatch(RFC3339_Z);
  });

  it('create answers 201 on the wire', async () => {
    const r = await raw('POST', '/api/v1/app', { body: { name: 'Raw create' } });
    expect(r.status, describeRaw(r)).toBe(201);
    expect(r.json.id).toMatch(APP_ID);
  });

  it('stores uid, metadata and throttleRate, and gets the app by id or by uid', async () => {
    const uid = uniq('with-uid');
    const app = await svix.application.create({
      name: 'With uid',
      uid,
      metadata: { tier: 'gold', region: 'eu' },
      throttleRate: 10,
    });
    expect(app.uid).toBe(uid);
    expect(app.metadata).toEqual({ tier: 'gold', region: 'eu' });
    expect(app.throttleRate).toBe(10);

    const byId = await svix.application.get(app.id);
    const byUid = await svix.application.get(uid);
    expect(byId).toEqual(app);
    expect(byUid).toEqual(app);
  });

  it('rejects a duplicate uid with 409', async () => {
    const uid = uniq('dup');
    await svix.application.create({ name: 'First', uid });
    const err = await expectStatus(svix.application.create({ name: 'Second', uid }), 409);
    expectHttpErrorBody(err);
  });

  it('getOrCreate creates once and then returns the existing app (201, then 200)', async () => {
    const uid = uniq('goc');
    const created = await svix.application.getOrCreate({ name: 'Get or create', uid });
    expect(created.id).toMatch(APP_ID);
    expect(created.uid).toBe(uid);
    const again = await svix.application.getOrCreate({ name: 'Another name', uid });
    expect(again.id).toBe(created.id);
    expect(again.name).toBe('Get or create');

    const uid2 = uniq('goc-raw');
    const first = await raw('POST', '/api/v1/app?get_if_exists=true', { body: { name: 'G', uid: uid2 } });
    expect(first.status, describeRaw(first)).toBe(201);
    const second = await raw('POST', '/api/v1/app?get_if_exists=true', { body: { name: 'G', uid: uid2 } });
    expect(second.status, describeRaw(second)).toBe(200);
    expect(second.json.id).toBe(first.json.id);
  });

  it('answers 404 not_found for a missing app, by id and by uid', async () => {
    const err = await expectStatus(svix.application.get(MISSING_APP), 404);
    expectHttpErrorBody(err, 'not_found');
    await expectStatus(svix.application.get(uniq('nobody')), 404);
  });

  it('upsert creates (201), then updates (200), addressed by uid or id', async () => {
    // Svix's PUT takes the whole ApplicationIn, so the uid travels in the body as well.
    const uid = uniq('upsert');
    const created = await svix.application.upsert(uid, { name: 'Upserted', uid });
    expect(created.id).toMatch(APP_ID);
    expect(created.name).toBe('Upserted');
    expect(created.uid).toBe(uid);
    expect((await svix.application.get(uid)).id).toBe(created.id);

    const updated = await svix.application.upsert(uid, { name: 'Upserted again', uid, metadata: { a: '1' } });
    expect(updated.id).toBe(created.id);
    expect(updated.name).toBe('Upserted again');
    expect(updated.metadata).toEqual({ a: '1' });

    const uid2 = uniq('upsert-new');
    const renamed = await svix.application.upsert(created.id, { name: 'By id', uid: uid2 });
    expect(renamed.id).toBe(created.id);
    expect(renamed.uid).toBe(uid2);
    expect(renamed.metadata).toEqual({});
    expect((await svix.application.get(uid2)).id).toBe(created.id);
    await expectStatus(svix.application.get(uid), 404);

    const uid3 = uniq('upsert-raw');
    const r1 = await raw('PUT', `/api/v1/app/${uid3}`, { body: { name: 'P', uid: uid3 } });
    expect(r1.status, describeRaw(r1)).toBe(201);
    const r2 = await raw('PUT', `/api/v1/app/${uid3}`, { body: { name: 'Q', uid: uid3 } });
    expect(r2.status, describeRaw(r2)).toBe(200);
    expect(r2.json.id).toBe(r1.json.id);
    expect(r2.json.name).toBe('Q');

    // Taking another app's uid through PUT is a conflict.
    const other = await newApp('upsert-other');
    await expectStatus(svix.application.upsert(created.id, { name: 'Thief', uid: other.uid as string }), 409);
  });

  it('PUT is a full replacement: a body without uid removes the uid', async () => {
    // svix-server's own e2e test (tests/it/e2e_application.rs, test_uid, "Remove the uid")
    // PUTs ApplicationIn without a uid and expects the uid to be gone afterwards.
    const uid = uniq('put-no-uid');
    const app = await svix.application.create({ name: 'Has uid', uid, metadata: { k: 'v' } });
    const replaced = await svix.application.upsert(app.id, { name: 'No uid' });
    expect(replaced.id).toBe(app.id);
    expect(replaced.uid ?? null).toBeNull();
    expect(replaced.metadata).toEqual({});
    await expectStatus(svix.application.get(uid), 404);
  });

  it('patch changes only the given fields; null clears uid and throttleRate', async () => {
    const uid = uniq('patch');
    const app = await svix.application.create({ name: 'Before', uid, metadata: { k: 'v' }, throttleRate: 5 });

    const renamed = await svix.application.patch(app.id, { name: 'After' });
    expect(renamed.id).toBe(app.id);
    expect(renamed.name).toBe('After');
    expect(renamed.uid).toBe(uid);
    expect(renamed.metadata).toEqual({ k: 'v' });
    expect(renamed.throttleRate).toBe(5);

    const meta = await svix.application.patch(uid, { metadata: { other: 'x' } });
    expect(meta.metadata).toEqual({ other: 'x' });
    expect(meta.name).toBe('After');

    const cleared = await svix.application.patch(app.id, { uid: null, throttleRate: null });
    expect(cleared.uid ?? null).toBeNull();
    expect(cleared.throttleRate ?? null).toBeNull();
    expect(cleared.name).toBe('After');
    await expectStatus(svix.application.get(uid), 404);

    await expectStatus(svix.application.patch(MISSING_APP, { name: 'x' }), 404);
  });

  it('delete answers 204, then the app is gone and its uid can be reused', async () => {
    const uid = uniq('del');
    const app = await svix.application.create({ name: 'Doomed', uid });
    const r = await raw('DELETE', `/api/v1/app/${app.id}`);
    expect(r.status, describeRaw(r)).toBe(204);
    expect(r.text).toBe('');
    await expectStatus(svix.application.get(app.id), 404);
    await expectStatus(svix.application.get(uid), 404);
    await expectStatus(svix.application.delete(app.id), 404);

    const reborn = await svix.application.create({ name: 'Reborn', uid });
    expect(reborn.id).not.toBe(app.id);

    // And through the SDK.
    await expect(svix.application.delete(reborn.id)).resolves.toBeUndefined();
    await expectStatus(svix.application.get(reborn.id), 404);
    const ids = (await allPages((it) => svix.application.list({ limit: 250, iterator: it }))).flatMap((p) => p.data.map((a) => a.id));
    expect(ids).not.toContain(app.id);
    expect(ids).not.toContain(reborn.id);
  });

  it('lists across pages in ascending id order, each app exactly once', async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await newApp(`page${i}`)).id);
    expectStrictlyAscending(created); // ids are time-sortable

    const pages = await allPages((iterator) => svix.application.list({ limit: 3, iterator }));
    expect(pages.length).toBeGreaterThanOrEqual(3);
    const ids = checkTraversal(pages, 3, created);
    expectStrictlyAscending(ids);
    expect(ids.filter((id) => created.includes(id))).toEqual(created);

    // Explicit descending order walks the same set backwards.
    const down = await allPages((iterator) => svix.application.list({ limit: 3, iterator, order: Ordering.Descending }));
    const downIds = checkTraversal(down, 3, created);
    expectStrictlyDescending(downIds);
    expect([...downIds].sort()).toEqual([...ids].sort());
  });

  it('prevIterator ("-<id>") pages backwards', async () => {
    for (let i = 0; i < 4; i++) await newApp(`prev${i}`);
    const p1 = await svix.application.list({ limit: 2 });
    const p2 = await svix.application.list({ limit: 2, iterator: p1.iterator as string });
    expect(p2.data.length).toBe(2);
    expect(p2.prevIterator, JSON.stringify(p2)).toEqual(expect.stringMatching(/^-/));
    const back = await svix.application.list({ limit: 2, iterator: p2.prevIterator as string });
    expect(new Set(back.data.map((a) => a.id))).toEqual(new Set(p1.data.map((a) => a.id)));
  });

  it('rejects limit above 250 with 422 and accepts 250', async () => {
    await expectStatus(svix.application.list({ limit: 251 }), 422);
    expectPage(await svix.application.list({ limit: 250 }));
  });

  it('honours idempotency-key: the same key twice gives the same app, created once', async () => {
    const name = uniq('idem');
    const key = `test-${randomBytes(8).toString('hex')}`;
    const a = await raw('POST', '/api/v1/app', { body: { name }, headers: { 'idempotency-key': key } });
    const b = await raw('POST', '/api/v1/app', { body: { name }, headers: { 'idempotency-key': key } });
    expect(a.status, describeRaw(a)).toBe(201);
    expect(b.status, describeRaw(b)).toBe(201);
    expect(b.json.id).toBe(a.json.id);
    expect(b.json).toEqual(a.json);

    const all = (await allPages((it) => svix.application.list({ limit: 250, iterator: it }))).flatMap((p) => p.data).filter((x) => x.name === name);
    expect(all.map((x) => x.id)).toEqual([a.json.id]);

    // The SDK passes an explicit key through, and sends a fresh auto_ key otherwise.
    const sdkKey = `sdk-${randomBytes(8).toString('hex')}`;
    const s1 = await svix.application.create({ name: `${name}-sdk` }, { idempotencyKey: sdkKey });
    const s2 = await svix.application.create({ name: `${name}-sdk` }, { idempotencyKey: sdkKey });
    expect(s2.id).toBe(s1.id);
    const s3 = await svix.application.create({ name: `${name}-sdk` });
    const s4 = await svix.application.create({ name: `${name}-sdk` });
    expect(new Set([s1.id, s3.id, s4.id]).size).toBe(3);
  });

  it('idempotency: concurrent duplicates with one key create a single app', async () => {
    const name = uniq('idem-concurrent');
    const headers = { 'idempotency-key': `conc-${randomBytes(8).toString('hex')}` };
    const results = await Promise.all(Array.from({ length: 5 }, () => raw('POST', '/api/v1/app', { body: { name }, headers })));
    for (const r of results) {
      expect(r.status, describeRaw(r)).toBe(201);
      expect(r.json.id).toBe(results[0].json.id);
    }
    const same = (await allPages((it) => svix.application.list({ limit: 250, iterator: it }))).flatMap((p) => p.data).filter((x) => x.name === name);
    expect(same).toHaveLength(1);
  });

  it('idempotency: only 2xx answers are remembered, and a key is scoped to its URL', async () => {
    const headers = { 'idempotency-key': `scoped-${randomBytes(8).toString('hex')}` };
    const bad = await raw('POST', '/api/v1/app', { body: { name: '' }, headers });
    expect(bad.status, describeRaw(bad)).toBe(422);
    const good = await raw('POST', '/api/v1/app', { body: { name: 'After a 422' }, headers });
    expect(good.status, describeRaw(good)).toBe(201);
    expect(good.json.name).toBe('After a 422');

    const etName = `idem.${RUN}`;
    const et = await raw('POST', '/api/v1/event-type', { body: { name: etName, description: 'x' }, headers });
    expect(et.status, describeRaw(et)).toBe(201);
    expect(et.json.name).toBe(etName);
  });

  it('answers 422 with detail[].loc for invalid bodies', async () => {
    const empty = await expectStatus(svix.application.create({ name: '' }), 422);
    expectValidationBody(empty, 'name');

    const badUid = await expectStatus(svix.application.create({ name: 'x', uid: 'not valid!' }), 422);
    expectValidationBody(badUid, 'uid');

    // A uid may not look like an id (svix.md §2.1 UIDs).
    await expectStatus(svix.application.create({ name: 'x', uid: `app_${RUN}` }), 422);

    const noName = await raw('POST', '/api/v1/app', { body: { uid: uniq('noname') } });
    expect(noName.status, describeRaw(noName)).toBe(422);
    expect(noName.json.detail[0].loc[0]).toBe('body');
  });

  it('answers 422 (not 400/500) for a body that is not JSON', async () => {
    const r = await raw('POST', '/api/v1/app', { rawBody: '{"name": ' });
    expect(r.status, describeRaw(r)).toBe(422);
    expect(Array.isArray(r.json?.detail), describeRaw(r)).toBe(true);
  });
});

describe('event type', () => {
  it('create returns EventTypeOut (201) and a duplicate name is 409 event_type_exists', async () => {
    const name = `create.${RUN}`;
    const schemas = { '1': { type: 'object', properties: { a: { type: 'string' } } } };
    const r = await raw('POST', '/api/v1/event-type', { body: { name, description: 'Created', schemas } });
    expect(r.status, describeRaw(r)).toBe(201);
    expect(r.json.createdAt).toMatch(RFC3339_Z);

    const et = await svix.eventType.get(name);
    expect(et.name).toBe(name);
    expect(et.description).toBe('Created');
    expect(et.archived ?? false).toBe(false);
    expect(et.deprecated).toBe(false);
    expect(et.schemas).toEqual(schemas);
    expectValidDate(et.createdAt);
    expectValidDate(et.updatedAt);

    const err = await expectStatus(svix.eventType.create({ name, description: 'Again' }), 409);
    expectHttpErrorBody(err, 'event_type_exists');
  });

  it('get answers 404 for an unknown name; create validates the name', async () => {
    await expectStatus(svix.eventType.get(`missing.${RUN}`), 404);
    const err = await expectStatus(svix.eventType.create({ name: 'bad name!', description: 'x' }), 422);
    expectValidationBody(err, 'name');
  });

  it('upsert creates (201) then updates (200)', async () => {
    const name = `upsert.${RUN}`;
    const created = await svix.eventType.upsert(name, { description: 'One' });
    expect(created.name).toBe(name);
    expect(created.description).toBe('One');
    const updated = await svix.eventType.upsert(name, { description: 'Two', deprecated: true });
    expect(updated.description).toBe('Two');
    expect(updated.deprecated).toBe(true);

    const name2 = `upsert-raw.${RUN}`;
    const r1 = await raw('PUT', `/api/v1/event-type/${name2}`, { body: { description: 'a' } });
    expect(r1.status, describeRaw(r1)).toBe(201);
    const r2 = await raw('PUT', `/api/v1/event-type/${name2}`, { body: { description: 'b' } });
    expect(r2.status, describeRaw(r2)).toBe(200);
    expect(r2.json.description).toBe('b');
  });

  it('patch changes only the given fields', async () => {
    const schemas = { '1': { type: 'object' } };
    const name = await newEventType('patch', schemas);
    const patched = await svix.eventType.patch(name, { description: 'Patched', deprecated: true });
    expect(patched.name).toBe(name);
    expect(patched.description).toBe('Patched');
    expect(patched.deprecated).toBe(true);
    expect(patched.schemas).toEqual(schemas);
    expect((await svix.eventType.get(name)).description).toBe('Patched');
    await expectStatus(svix.eventType.patch(`missing.${RUN}`, { description: 'x' }), 404);
  });

  it('list omits schemas unless with_content, and pages by name in ascending order', async () => {
    const prefix = `page.${RUN}`;
    const names = ['a', 'b', 'c', 'd', 'e'].map((s) => `${prefix}.${s}`);
    for (const n of [...names].reverse()) {
      await svix.eventType.create({ name: n, description: n, schemas: { '1': { title: n } } });
    }

    const pages = await allPages((iterator) => svix.eventType.list({ limit: 2, iterator }));
    const seen = pages.flatMap((p) => p.data.map((e) => e.name));
    pages.forEach((p, i) => {
      expect(p.data.length).toBeLessThanOrEqual(2);
      if (i < pages.length - 1) expect(p.done).toBe(false);
    });
    expectStrictlyAscending(seen);
    for (const n of names) expect(seen.filter((x) => x === n)).toHaveLength(1);
    for (const e of pages.flatMap((p) => p.data)) expect(e.schemas ?? null).toBeNull();

    const full = (await allPages((iterator) => svix.eventType.list({ limit: 250, iterator, withContent: true }))).flatMap((p) => p.data);
    expect(full.find((e) => e.name === names[0])?.schemas).toEqual({ '1': { title: names[0] } });
  });

  it('delete archives by default; include_archived shows it; create unarchives it', async () => {
    const name = await newEventType('archive');
    const r = await raw('DELETE', `/api/v1/event-type/${name}`);
    expect(r.status, describeRaw(r)).toBe(204);

    const listNames = async (includeArchived: boolean) =>
      (await allPages((iterator) => svix.eventType.list({ limit: 250, iterator, includeArchived }))).flatMap((p) => p.data);
    expect((await listNames(false)).map((e) => e.name)).not.toContain(name);
    const archived = (await listNames(true)).find((e) => e.name === name);
    expect(archived, 'archived event type missing from include_archived=true').toBeDefined();
    expect(archived?.archived).toBe(true);

    const revived = await svix.eventType.create({ name, description: 'Back again' });
    expect(revived.archived ?? false).toBe(false);
    expect(revived.description).toBe('Back again');
    expect((await listNames(false)).map((e) => e.name)).toContain(name);
  });

  it('delete with expunge removes it entirely', async () => {
    const name = await newEventType('expunge');
    await svix.eventType.delete(name, { expunge: true });
    await expectStatus(svix.eventType.get(name), 404);
    const all = (await allPages((iterator) => svix.eventType.list({ limit: 250, iterator, includeArchived: true }))).flatMap((p) => p.data.map((e) => e.name));
    expect(all).not.toContain(name);
    await expectStatus(svix.eventType.delete(name), 404);
  });
});

describe('endpoint', () => {
  let app: ApplicationOut;
  let etA: string;
  let etB: string;

  beforeAll(async () => {
    app = await newApp('ep-host');
    etA = await newEventType('ep.a');
    etB = await newEventType('ep.b');
  });

  it('create returns EndpointOut (201) with defaults, and get works by id and by uid', async () => {
    const uid = uniq('ep');
    const ep = await svix.endpoint.create(app.id, {
      url: 'https://receiver.example.invalid/hook',
      uid,
      eventTypes: [etA],
      channels: ['ch1'],
    });
    expect(ep.id).toMatch(EP_ID);
    expect(ep.url).toBe('https://receiver.example.invalid/hook');
    expect(ep.uid).toBe(uid);
    expect(ep.description).toBe('');
    expect(ep.disabled ?? false).toBe(false);
    expect(ep.metadata).toEqual({});
    expect(ep.eventTypes).toEqual([etA]);
    expect(ep.channels).toEqual(['ch1']);
    expectValidDate(ep.createdAt);
    expectValidDate(ep.updatedAt);

    expect(await svix.endpoint.get(app.id, ep.id)).toEqual(ep);
    expect(await svix.endpoint.get(app.id, uid)).toEqual(ep);
    expect(await svix.endpoint.get(app.uid as string, uid)).toEqual(ep);

    const r = await raw('POST', `/api/v1/app/${app.id}/endpoint`, { body: { url: 'https://x.example.invalid/' } });
    expect(r.status, describeRaw(r)).toBe(201);
    expect(r.json.createdAt).toMatch(RFC3339_Z);
  });

  it('uids are unique per app: 409 in the same app, fine in another', async () => {
    const uid = uniq('ep-dup');
    await svix.endpoint.create(app.id, { url: 'https://a.example.invalid/', uid });
    const err = await expectStatus(svix.endpoint.create(app.id, { url: 'https://b.example.invalid/', uid }), 409);
    expectHttpErrorBody(err);
    const other = await newApp('ep-other');
    const ep = await svix.endpoint.create(other.id, { url: 'https://b.example.invalid/', uid });
    expect(ep.uid).toBe(uid);
  });

  it('validates the body: bad url, unknown event type, bad secret → 422; missing app → 404', async () => {
    const badUrl = await expectStatus(svix.endpoint.create(app.id, { url: 'not a url' }), 422);
    expectValidationBody(badUrl, 'url');
    await expectStatus(svix.endpoint.create(app.id, { url: 'https://a.example.invalid/', eventTypes: [`nope.${RUN}`] }), 422);
    await expectStatus(svix.endpoint.create(app.id, { url: 'https://a.example.invalid/', secret: 'whsec_short' }), 422);
    await expectStatus(svix.endpoint.create(MISSING_APP, { url: 'https://a.example.invalid/' }), 404);
    await expectStatus(svix.endpoint.get(app.id, MISSING_EP), 404);
  });

  it('an archived event type cannot be used as an endpoint filter', async () => {
    const name = await newEventType('ep.archived');
    await svix.eventType.delete(name);
    await expectStatus(svix.endpoint.create(app.id, { url: 'https://a.example.invalid/', eventTypes: [name] }), 422);
  });

  it('upsert creates (201), then replaces (200)', async () => {
    const uid = uniq('ep-upsert');
    const created = await svix.endpoint.upsert(app.id, uid, { url: 'https://one.example.invalid/', uid });
    expect(created.id).toMatch(EP_ID);
    expect(created.uid).toBe(uid);
    expect((await svix.endpoint.get(app.id, uid)).id).toBe(created.id);
    const { key } = await svix.endpoint.getSecret(app.id, uid);
    expect(key).toMatch(WHSEC);

    const updated = await svix.endpoint.upsert(app.id, uid, {
      url: 'https://two.example.invalid/',
      description: 'updated',
      uid,
      eventTypes: [etA],
    });
    expect(updated.id).toBe(created.id);
    expect(updated.url).toBe('https://two.example.invalid/');
    expect(updated.description).toBe('updated');
    expect(updated.eventTypes).toEqual([etA]);
    // Replacing the endpoint does not touch its secret.
    expect((await svix.endpoint.getSecret(app.id, created.id)).key).toBe(key);

    const replaced = await svix.endpoint.upsert(app.id, created.id, { url: 'https://three.example.invalid/', uid });
    expect(replaced.description).toBe('');
    expect(replaced.eventTypes ?? []).toEqual([]);

    const uid2 = uniq('ep-upsert-raw');
    const path = `/api/v1/app/${app.id}/endpoint/${uid2}`;
    const r1 = await raw('PUT', path, { body: { url: 'https://r.example.invalid/', uid: uid2 } });
    expect(r1.status, describeRaw(r1)).toBe(201);
    const r2 = await raw('PUT', path, { body: { url: 'https://s.example.invalid/', uid: uid2 } });
    expect(r2.status, describeRaw(r2)).toBe(200);
    expect(r2.json.id).toBe(r1.json.id);
  });

  it('patch changes only the given fields; null clears eventTypes and channels', async () => {
    const ep = await svix.endpoint.create(app.id, {
      url: 'https://patch.example.invalid/',
      description: 'orig',
      channels: ['c1'],
    });
    const p1 = await svix.endpoint.patch(app.id, ep.id, {
      eventTypes: [etA, etB],
      description: 'changed',
      disabled: true,
      metadata: { owner: 'team-a' },
    });
    expect(p1.id).toBe(ep.id);
    expect(p1.url).toBe('https://patch.example.invalid/');
    expect(p1.description).toBe('changed');
    expect(p1.disabled).toBe(true);
    expect(p1.metadata).toEqual({ owner: 'team-a' });
    expect([...(p1.eventTypes ?? [])].sort()).toEqual([etA, etB].sort());
    expect(p1.channels).toEqual(['c1']);

    const p2 = await svix.endpoint.patch(app.id, ep.id, { eventTypes: null, channels: null, disabled: false });
    expect(p2.eventTypes ?? []).toEqual([]);
    expect(p2.channels ?? []).toEqual([]);
    expect(p2.disabled).toBe(false);
    expect(p2.description).toBe('changed');
    expect(await svix.endpoint.get(app.id, ep.id)).toEqual(p2);
  });

  it('lists newest first by default, across pages, each endpoint exactly once', async () => {
    const host = await newApp('ep-pages');
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      created.push((await svix.endpoint.create(host.id, { url: `https://p${i}.example.invalid/` })).id);
    }
    expectStrictlyAscending(created);

    const pages = await allPages((iterator) => svix.endpoint.list(host.id, { limit: 2, iterator }));
    expect(pages.length).toBe(3);
    const ids = checkTraversal(pages, 2, created);
    expect(ids).toEqual([...created].reverse());

    const asc = await allPages((iterator) => svix.endpoint.list(host.uid as string, { limit: 2, iterator, order: Ordering.Ascending }));
    expect(checkTraversal(asc, 2, created)).toEqual(created);

    await expectStatus(svix.endpoint.list(MISSING_APP), 404);
  });

  it('secrets: whsec_ + base64(24 bytes), an explicit secret is kept, rotate replaces it (204)', async () => {
    const ep = await svix.endpoint.create(app.id, { url: 'https://sec.example.invalid/' });
    const { key } = await svix.endpoint.getSecret(app.id, ep.id);
    expect(key).toMatch(WHSEC);
    expect(Buffer.from(key.slice('whsec_'.length), 'base64')).toHaveLength(24);

    const rotated = await raw('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/secret/rotate`, { body: {} });
    expect(rotated.status, describeRaw(rotated)).toBe(204);
    const after = (await svix.endpoint.getSecret(app.id, ep.id)).key;
    expect(after).toMatch(WHSEC);
    expect(after).not.toBe(key);

    await expect(svix.endpoint.rotateSecret(app.id, ep.id)).resolves.toBeUndefined();
    const afterSdk = (await svix.endpoint.getSecret(app.id, ep.id)).key;
    expect(afterSdk).toMatch(WHSEC);
    expect(afterSdk).not.toBe(after);

    const chosen = b64Secret();
    await svix.endpoint.rotateSecret(app.id, ep.id, { key: chosen });
    expect((await svix.endpoint.getSecret(app.id, ep.id)).key).toBe(chosen);

    const given = b64Secret();
    const ep2 = await svix.endpoint.create(app.id, { url: 'https://sec2.example.invalid/', secret: given });
    expect((await svix.endpoint.getSecret(app.id, ep2.id)).key).toBe(given);

    await expectStatus(svix.endpoint.getSecret(app.id, MISSING_EP), 404);
  });

  it('headers: set replaces (204), patch merges and removes nulls (204), sensitive names are hidden', async () => {
    const ep = await svix.endpoint.create(app.id, { url: 'https://hdr.example.invalid/' });
    const initial = await svix.endpoint.getHeaders(app.id, ep.id);
    expect(initial.headers).toEqual({});
    expect(initial.sensitive).toEqual([]);

    const put = await raw('PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}/headers`, {
      body: { headers: { 'X-Custom': 'one', Authorization: 'Bearer very-secret' } },
    });
    expect(put.status, describeRaw(put)).toBe(204);
    const h1 = await svix.endpoint.getHeaders(app.id, ep.id);
    expect(h1.headers['X-Custom'] ?? h1.headers['x-custom']).toBe('one');
    expect(lowerKeys(h1.headers)).not.toContain('authorization');
    expect(h1.sensitive.map((s) => s.toLowerCase())).toContain('authorization');
    expect(JSON.stringify(h1)).not.toContain('very-secret');

    await expect(
      svix.endpoint.patchHeaders(app.id, ep.id, {
        headers: { 'X-Other': 'two', 'X-Custom': null } as unknown as Record<string, string>,
      }),
    ).resolves.toBeUndefined();
    const h2 = await svix.endpoint.getHeaders(app.id, ep.id);
    expect(lowerKeys(h2.headers).sort()).toEqual(['x-other']);
    expect(h2.sensitive.map((s) => s.toLowerCase())).toContain('authorization');

    await expect(svix.endpoint.setHeaders(app.id, ep.id, { headers: { 'X-Only': '1' } })).resolves.toBeUndefined();
    const h3 = await svix.endpoint.getHeaders(app.id, ep.id);
    expect(lowerKeys(h3.headers)).toEqual(['x-only']);
    expect(h3.sensitive).toEqual([]);

    await expectStatus(svix.endpoint.getHeaders(app.id, MISSING_EP), 404);
  });

  it('recover answers 202 RecoverOut', async () => {
    const ep = await svix.endpoint.create(app.id, { url: 'https://rec.example.invalid/' });
    const out = await svix.endpoint.recover(app.id, ep.id, { since: new Date(Date.now() - 3_600_000) });
    expect(out.id).toMatch(QTASK_ID);
    expect(['running', 'finished']).toContain(out.status);
    expect(out.task).toBe('endpoint.recover');
    expectValidDate(out.updatedAt);

    const r = await raw('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/recover`, {
      body: { since: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(r.status, describeRaw(r)).toBe(202);
    await expectStatus(svix.endpoint.recover(app.id, MISSING_EP, { since: new Date(Date.now() - 60_000) }), 404);
  });

  it('recover refuses a window of more than 14 days with 422', async () => {
    // svix.md §1.8: "The window is at most 14 days + 5 minutes; otherwise 422".
    const ep = await svix.endpoint.create(app.id, { url: 'https://rec2.example.invalid/' });
    const err = await expectStatus(svix.endpoint.recover(app.id, ep.id, { since: new Date(Date.now() - 15 * 24 * 3_600_000) }), 422);
    expectValidationBody(err);
  });

  it('getStats of an endpoint without messages is all zeros', async () => {
    const ep = await svix.endpoint.create(app.id, { url: 'https://stats.example.invalid/' });
    const stats = await svix.endpoint.getStats(app.id, ep.id);
    expect(stats).toEqual({ success: 0, pending: 0, sending: 0, fail: 0, canceled: 0 });
    const windowed = await svix.endpoint.getStats(app.id, ep.id, {
      since: new Date(Date.now() - 24 * 3_600_000),
      until: new Date(Date.now() - 1_000),
    });
    expect(windowed).toEqual({ success: 0, pending: 0, sending: 0, fail: 0, canceled: 0 });
    await expectStatus(svix.endpoint.getStats(app.id, MISSING_EP), 404);
  });

  it('sendExample with svix.ping sends {"success": true} without any event type being defined', async () => {
    const ep = await svix.endpoint.create(app.id, { url: 'https://ping.example.invalid/' });
    const ping = await svix.endpoint.sendExample(app.id, ep.id, { eventType: 'svix.ping' });
    expect(ping.id).toMatch(MSG_ID);
    expect(ping.eventType).toBe('svix.ping');
    expectValidDate(ping.timestamp);
    const stored = await svix.message.get(app.id, ping.id, { withContent: true });
    expect(stored.payload).toEqual({ success: true });
  });

  it("sendExample sends the event type's first schema example (200 on the wire)", async () => {
    const ep = await svix.endpoint.create(app.id, { url: 'https://example-send.example.invalid/' });
    const example = { invoiceId: 'inv_1', amount: 42 };
    const withExample = await newEventType('example', {
      '1': { type: 'object', examples: [example], properties: { invoiceId: { type: 'string' } } },
    });
    const sent = await svix.endpoint.sendExample(app.id, ep.id, { eventType: withExample });
    expect(sent.id).toMatch(MSG_ID);
    expect(sent.eventType).toBe(withExample);
    expect((await svix.message.get(app.id, sent.id, { withContent: true })).payload).toEqual(example);

    const r = await raw('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/send-example`, {
      body: { eventType: withExample },
    });
    // The contract (and Svix OSS) answer 200; the cloud spec says 202.
    expect([200, 202], describeRaw(r)).toContain(r.status);
    await expectStatus(svix.endpoint.sendExample(app.id, MISSING_EP, { eventType: withExample }), 404);
  });

  it('sendExample for an event type without an example is 400', async () => {
    // svix.md §1.8: "if there is no example, 400 invalid_scheme".
    const ep = await svix.endpoint.create(app.id, { url: 'https://no-example.example.invalid/' });
    const noExample = await newEventType('no-example');
    const err = await expectStatus(svix.endpoint.sendExample(app.id, ep.id, { eventType: noExample }), 400);
    expectHttpErrorBody(err);
  });

  it('delete answers 204; the endpoint is gone and its uid is free again', async () => {
    const uid = uniq('ep-del');
    const ep = await svix.endpoint.create(app.id, { url: 'https://del.example.invalid/', uid });
    const r = await raw('DELETE', `/api/v1/app/${app.id}/endpoint/${ep.id}`);
    expect(r.status, describeRaw(r)).toBe(204);
    await expectStatus(svix.endpoint.get(app.id, ep.id), 404);
    await expectStatus(svix.endpoint.get(app.id, uid), 404);
    await expectStatus(svix.endpoint.delete(app.id, ep.id), 404);
    const again = await svix.endpoint.create(app.id, { url: 'https://del2.example.invalid/', uid });
    expect(again.id).not.toBe(ep.id);
    await expect(svix.endpoint.delete(app.id, uid)).resolves.toBeUndefined();
    const listed = (await allPages((iterator) => svix.endpoint.list(app.id, { limit: 250, iterator }))).flatMap((p) => p.data.map((e) => e.id));
    expect(listed).not.toContain(ep.id);
    expect(listed).not.toContain(again.id);
  });
});

describe('message', () => {
  let app: ApplicationOut;
  let etMain: string;
  let etOther: string;

  beforeAll(async () => {
    app = await newApp('msg-host');
    etMain = await newEventType('msg.main');
    etOther = await newEventType('msg.other');
  });

  it('create answers 202 with MessageOut; with_content decides whether the payload is echoed', async () => {
    const payload = { user: { id: 7, email: 'a@example.com' }, tags: ['x'] };
    const eventId = uniq('evt');
    const msg = await svix.message.create(app.id, { eventType: etMain, payload, eventId, channels: ['ch-a'] });
    expect(msg.id).toMatch(MSG_ID);
    expect(msg.eventType).toBe(etMain);
    expect(msg.eventId).toBe(eventId);
    expect(msg.channels).toEqual(['ch-a']);
    expectValidDate(msg.timestamp);
    // The SDK sends with_content=false by default: the payload comes back as {}.
    expect(msg.payload).toEqual({});

    const echoed = await svix.message.create(app.id, { eventType: etMain, payload }, { withContent: true });
    expect(echoed.payload).toEqual(payload);

    const r = await raw('POST', `/api/v1/app/${app.id}/msg`, { body: { eventType: etMain, payload } });
    expect(r.status, describeRaw(r)).toBe(202);
    expect(r.json.payload).toEqual(payload); // with_content defaults to true on the wire
    expect(r.json.timestamp).toMatch(RFC3339_Z);
  });

  it('get works by id and by eventId, with and without content', async () => {
    const payload = { n: 1, nested: { ok: true } };
    const eventId = uniq('get');
    const msg = await svix.message.create(app.id, { eventType: etMain, payload, eventId });
    const byId = await svix.message.get(app.id, msg.id, { withContent: true });
    const byEventId = await svix.message.get(app.uid as string, eventId, { withContent: true });
    expect(byId.id).toBe(msg.id);
    expect(byEventId.id).toBe(msg.id);
    expect(byId.payload).toEqual(payload);
    expect(byEventId.payload).toEqual(payload);
    expect(byId.eventId).toBe(eventId);
    expect((await svix.message.get(app.id, msg.id)).payload).toEqual({});
    await expectStatus(svix.message.get(app.id, MISSING_MSG), 404);
  });

  it('create with the same idempotency-key twice stores one message', async () => {
    const host = await newApp('msg-idem');
    const idempotencyKey = `msg-${randomBytes(8).toString('hex')}`;
    const m1 = await svix.message.create(host.id, { eventType: etMain, payload: { n: 1 } }, { idempotencyKey });
    const m2 = await svix.message.create(host.id, { eventType: etMain, payload: { n: 1 } }, { idempotencyKey });
    expect(m2.id).toBe(m1.id);
    expect((await svix.message.list(host.id)).data.map((m) => m.id)).toEqual([m1.id]);
  });

  it('a duplicate eventId in the same app is 409', async () => {
    const eventId = uniq('dup-evt');
    await svix.message.create(app.id, { eventType: etMain, payload: {}, eventId });
    const err = await expectStatus(svix.message.create(app.id, { eventType: etMain, payload: { b: 2 }, eventId }), 409);
    expectHttpErrorBody(err);
  });

  it('validates the body with 422 and answers 404 for a missing app', async () => {
    const badType = await expectStatus(svix.message.create(app.id, { eventType: 'bad type!', payload: {} }), 422);
    expectValidationBody(badType, 'eventType');
    const notObject = await raw('POST', `/api/v1/app/${app.id}/msg`, { body: { eventType: etMain, payload: [1, 2] } });
    expect(notObject.status, describeRaw(notObject)).toBe(422);
    const noPayload = await raw('POST', `/api/v1/app/${app.id}/msg`, { body: { eventType: etMain } });
    expect(noPayload.status, describeRaw(noPayload)).toBe(422);
    await expectStatus(svix.message.create(MISSING_APP, { eventType: etMain, payload: {} }), 404);
  });

  it('creates the app inline from MessageIn.application when it does not exist', async () => {
    const uid = uniq('inline');
    const msg = await svix.message.create(uid, {
      eventType: etMain,
      payload: { hi: 1 },
      application: { name: 'Inline app', uid },
    });
    expect(msg.id).toMatch(MSG_ID);
    const created = await svix.application.get(uid);
    expect(created.name).toBe('Inline app');

    const mismatch = uniq('inline-mismatch');
    await expectStatus(
      svix.message.create(mismatch, {
        eventType: etMain,
        payload: {},
        application: { name: 'Wrong', uid: uniq('other') },
      }),
      422,
    );
  });

  it('lists newest first across pages, each message exactly once, and filters', async () => {
    const host = await newApp('msg-pages');
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const eventType = i % 2 === 0 ? etMain : etOther;
      const channels = i < 2 ? ['first-two'] : undefined;
      created.push((await svix.message.create(host.id, { eventType, payload: { i }, channels })).id);
    }
    expectStrictlyAscending(created);

    const pages = await allPages((iterator) => svix.message.list(host.id, { limit: 2, iterator }));
    expect(pages.length).toBe(3);
    const ids = checkTraversal(pages, 2, created);
    expect(ids).toEqual([...created].reverse());
    for (const m of pages.flatMap((p) => p.data)) expect(m.payload).toEqual({});

    const withContent = await svix.message.list(host.id, { limit: 1, withContent: true });
    expect(withContent.data[0].payload).toEqual({ i: 4 });

    const main = await svix.message.list(host.id, { eventTypes: [etMain] });
    expect(main.data.map((m) => m.id)).toEqual([created[4], created[2], created[0]]);
    const both = await svix.message.list(host.id, { eventTypes: [etMain, etOther] });
    expect(both.data).toHaveLength(5);
    const chan = await svix.message.list(host.id, { channel: 'first-two' });
    expect(chan.data.map((m) => m.id)).toEqual([created[1], created[0]]);

    const empty = await newApp('msg-none');
    expectEmptyPage(await svix.message.list(empty.id));
  });

  it('a message matching no endpoint is accepted (202) and produces no attempts', async () => {
    const host = await newApp('msg-nomatch');
    const ep = await svix.endpoint.create(host.id, {
      url: 'https://nomatch.example.invalid/',
      eventTypes: [etOther],
    });
    const r = await raw('POST', `/api/v1/app/${host.id}/msg`, { body: { eventType: etMain, payload: { a: 1 } } });
    expect(r.status, describeRaw(r)).toBe(202);
    const msgId = r.json.id as string;

    expectEmptyPage(await svix.messageAttempt.listByMsg(host.id, msgId));
    expectEmptyPage(await svix.messageAttempt.listAttemptedDestinations(host.id, msgId));
    expectEmptyPage(await svix.messageAttempt.listByEndpoint(host.id, ep.id));
    expectEmptyPage(await svix.messageAttempt.listAttemptedMessages(host.id, ep.id));
    expect(await svix.endpoint.getStats(host.id, ep.id)).toEqual({
      success: 0,
      pending: 0,
      sending: 0,
      fail: 0,
      canceled: 0,
    });

    // An app with no endpoints at all.
    const bare = await newApp('msg-bare');
    const m = await svix.message.create(bare.id, { eventType: etMain, payload: {} });
    expectEmptyPage(await svix.messageAttempt.listByMsg(bare.id, m.id));
  });

  it('expungeContent answers 204 and removes the payload but keeps the message', async () => {
    const payload = { secret: 'do-not-keep' };
    const msg = await svix.message.create(app.id, { eventType: etMain, payload });
    const r = await raw('DELETE', `/api/v1/app/${app.id}/msg/${msg.id}/content`);
    expect(r.status, describeRaw(r)).toBe(204);
    const after = await svix.message.get(app.id, msg.id, { withContent: true });
    expect(after.id).toBe(msg.id);
    // Svix answers a message without content the way it answers an expired one.
    expect(after.payload).toEqual({ expired: true });

    const msg2 = await svix.message.create(app.id, { eventType: etMain, payload });
    await expect(svix.message.expungeContent(app.id, msg2.id)).resolves.toBeUndefined();
    await expectStatus(svix.message.expungeContent(app.id, MISSING_MSG), 404);
  });
});

describe('message attempt', () => {
  // A loopback receiver that accepts everything, so that once delivery exists the attempts are
  // real successes. Delivery may not exist yet: attempt lists may legitimately be empty, but
  // they must be well-formed pages, and whatever attempts do exist must be well-formed too.
  let receiver: Server;
  let receiverUrl: string;
  let app: ApplicationOut;
  let ep: EndpointOut;
  let eventType: string;
  let msgId: string;
  let eventId: string;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

    app = await newApp('att-host');
    eventType = await newEventType('att');
    ep = await svix.endpoint.create(app.id, { url: receiverUrl, uid: uniq('att-ep') });
    eventId = uniq('att-evt');
    msgId = (await svix.message.create(app.id, { eventType, payload: { hello: 'attempts' }, eventId })).id;
    // Wait for the delivery to succeed, so the attempt lists below are stable (and not empty).
    await until('the delivery to succeed', async () => (await svix.messageAttempt.listAttemptedDestinations(app.id, msgId)).data[0]?.status === 0, 15_000);
  });

  it('the delivery made exactly one successful attempt, visible in both attempt lists', async () => {
    // The SDK asks for with_content=false unless told otherwise, which blanks `response` to '{}'.
    expect((await svix.messageAttempt.listByEndpoint(app.id, ep.id)).data[0]!.response).toBe('{}');
    const byEndpoint = await svix.messageAttempt.listByEndpoint(app.id, ep.id, { withContent: true });
    const byMsg = await svix.messageAttempt.listByMsg(app.id, msgId, { withContent: true });
    expect(byEndpoint.data).toHaveLength(1);
    expect(byMsg.data.map((a) => a.id)).toEqual(byEndpoint.data.map((a) => a.id));
    expect(byEndpoint.data[0]!.status).toBe(0);
    expect(byEndpoint.data[0]!.responseStatusCode).toBe(200);
    expect(byEndpoint.data[0]!.response).toBe('{"ok":true}');
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  });

  function checkAttempt(a: MessageAttemptOut): void {
    expect(a.id).toMatch(ATMPT_ID);
    expect(a.msgId).toBe(msgId);
    expect(a.endpointId).toBe(ep.id);
    expect(a.url).toBe(receiverUrl);
    expect(typeof a.response).toBe('string');
    expect(Number.isInteger(a.responseStatusCode)).toBe(true);
    expect(Number.isInteger(a.responseDurationMs)).toBe(true);
    expect([0, 1, 2, 3, 4]).toContain(a.status);
    expect(['success', 'pending', 'fail', 'sending', 'canceled']).toContain(a.statusText);
    expect([0, 1]).toContain(a.triggerType);
    expectValidDate(a.timestamp);
  }

  it('listByEndpoint returns a well-formed page (by id and by uid)', async () => {
    const page = await svix.messageAttempt.listByEndpoint(app.id, ep.id);
    expectPage(page);
    page.data.forEach(checkAttempt);
    const byUid = await svix.messageAttempt.listByEndpoint(app.uid as string, ep.uid as string);
    expectPage(byUid);
    expect(byUid.data.map((a) => a.id)).toEqual(page.data.map((a) => a.id));
    // Every filter the SDK can send is accepted.
    const filtered = await svix.messageAttempt.listByEndpoint(app.id, ep.id, {
      limit: 10,
      status: MessageStatus.Success,
      statusCodeClass: StatusCodeClass.Code2xx,
      channel: 'some-channel',
      eventTypes: [eventType],
      before: new Date(Date.now() + 60_000),
      withContent: true,
    });
    expectPage(filtered);
    await expectStatus(svix.messageAttempt.listByEndpoint(app.id, MISSING_EP), 404);
  });

  it('listByMsg returns a well-formed page (by id and by eventId)', async () => {
    const page = await svix.messageAttempt.listByMsg(app.id, msgId);
    expectPage(page);
    page.data.forEach(checkAttempt);
    expectPage(await svix.messageAttempt.listByMsg(app.id, eventId, { endpointId: ep.id }));
    expectPage(
      await svix.messageAttempt.listByMsg(app.id, msgId, {
        status: MessageStatus.Fail,
        statusCodeClass: StatusCodeClass.Code5xx,
        after: new Date(Date.now() - 3_600_000),
      }),
    );
    await expectStatus(svix.messageAttempt.listByMsg(app.id, MISSING_MSG), 404);
  });

  it('listAttemptedMessages returns EndpointMessageOut items for this endpoint', async () => {
    const page = await svix.messageAttempt.listAttemptedMessages(app.id, ep.id, { withContent: true });
    expectPage(page);
    for (const m of page.data) {
      expect(m.id).toBe(msgId);
      expect(m.eventType).toBe(eventType);
      expect([0, 1, 2, 3, 4]).toContain(m.status);
      expect(typeof m.statusText).toBe('string');
    }
    expectPage(await svix.messageAttempt.listAttemptedMessages(app.id, ep.uid as string, { status: MessageStatus.Success }));
    await expectStatus(svix.messageAttempt.listAttemptedMessages(app.id, MISSING_EP), 404);
  });

  it('listAttemptedDestinations returns MessageEndpointOut items for this message', async () => {
    const page = await svix.messageAttempt.listAttemptedDestinations(app.id, msgId);
    expectPage(page);
    for (const d of page.data) {
      expect(d.id).toBe(ep.id);
      expect(d.url).toBe(receiverUrl);
      expect([0, 1, 2, 3, 4]).toContain(d.status);
      expectValidDate(d.createdAt);
    }
    expectPage(await svix.messageAttempt.listAttemptedDestinations(app.id, eventId, { limit: 5 }));
    await expectStatus(svix.messageAttempt.listAttemptedDestinations(app.id, MISSING_MSG), 404);
  });

  it('get and expungeContent work on an existing attempt, and answer 404 for a missing one', async () => {
    const page = await svix.messageAttempt.listByMsg(app.id, msgId);
    const attempt = page.data[0];
    if (attempt !== undefined) {
      const got = await svix.messageAttempt.get(app.id, msgId, attempt.id);
      expect(got.id).toBe(attempt.id);
      checkAttempt(got);
      expect((await svix.messageAttempt.get(app.id, eventId, attempt.id)).id).toBe(attempt.id);
      await expect(svix.messageAttempt.expungeContent(app.id, msgId, attempt.id)).resolves.toBeUndefined();
      const expunged = await svix.messageAttempt.get(app.id, msgId, attempt.id);
      checkAttempt(expunged);
      // Svix OSS replaces the stored response body with "EXPUNGED".
      if (got.response !== '') expect(expunged.response).not.toBe(got.response);
    }
    await expectStatus(svix.messageAttempt.get(app.id, msgId, MISSING_ATTEMPT), 404);
    await expectStatus(svix.messageAttempt.expungeContent(app.id, msgId, MISSING_ATTEMPT), 404);
  });

  it('resend answers 202 {} and 404 for a missing message or endpoint', async () => {
    await expect(svix.messageAttempt.resend(app.id, msgId, ep.id)).resolves.toEqual({});
    const r = await raw('POST', `/api/v1/app/${app.id}/msg/${msgId}/endpoint/${ep.id}/resend`);
    expect(r.status, describeRaw(r)).toBe(202);
    expect(r.json ?? {}).toEqual({});
    await expect(svix.messageAttempt.resend(app.id, eventId, ep.uid as string)).resolves.toEqual({});
    await expectStatus(svix.messageAttempt.resend(app.id, MISSING_MSG, ep.id), 404);
    await expectStatus(svix.messageAttempt.resend(app.id, msgId, MISSING_EP), 404);
  });

  it('resend of a message whose payload was expunged is 400 missing_payload', async () => {
    const m = await svix.message.create(app.id, { eventType, payload: { gone: true } });
    await svix.message.expungeContent(app.id, m.id);
    const err = await expectStatus(svix.messageAttempt.resend(app.id, m.id, ep.id), 400);
    expectHttpErrorBody(err, 'missing_payload');
  });
});

describe('authentication (app portal tokens)', () => {
  let appA: ApplicationOut;
  let appB: ApplicationOut;
  let epB: EndpointOut;

  beforeAll(async () => {
    appA = await newApp('portal-a');
    appB = await newApp('portal-b');
    await svix.endpoint.create(appA.id, { url: 'https://a.example.invalid/' });
    epB = await svix.endpoint.create(appB.id, { url: 'https://b.example.invalid/' });
  });

  async function portalToken(appId: string): Promise<string> {
    const out = await svix.authentication.appPortalAccess(appId, {});
    expect(typeof out.token).toBe('string');
    expect(out.token.length).toBeGreaterThan(0);
    expect(() => new URL(out.url)).not.toThrow();
    return out.token;
  }

  it('appPortalAccess returns {url, token}; 404 for a missing app', async () => {
    await portalToken(appA.id);
    await portalToken(appA.uid as string);
    const r = await raw('POST', `/api/v1/auth/app-portal-access/${appA.id}`, { body: {} });
    expect(r.status, describeRaw(r)).toBe(200);
    await expectStatus(svix.authentication.appPortalAccess(MISSING_APP, {}), 404);
  });

  it('appPortalAccess can create the app inline', async () => {
    const uid = uniq('portal-inline');
    await svix.authentication.appPortalAccess(uid, { application: { name: 'Portal inline', uid } });
    expect((await svix.application.get(uid)).name).toBe('Portal inline');
  });

  it("a portal token works on its own app and is refused on another app's routes", async () => {
    const portal = client(await portalToken(appA.id));
    expect((await portal.application.get(appA.id)).id).toBe(appA.id);
    expectPage(await portal.endpoint.list(appA.id));
    expectPage(await portal.message.list(appA.id));

    const refused = [401, 403, 404];
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['application.get(B)', () => portal.application.get(appB.id)],
      ['application.get(B uid)', () => portal.application.get(appB.uid as string)],
      ['endpoint.list(B)', () => portal.endpoint.list(appB.id)],
      ['endpoint.get(B)', () => portal.endpoint.get(appB.id, epB.id)],
      ['endpoint.getSecret(B)', () => portal.endpoint.getSecret(appB.id, epB.id)],
      ['endpoint.patch(B)', () => portal.endpoint.patch(appB.id, epB.id, { description: 'hijacked' })],
      ['endpoint.create(B)', () => portal.endpoint.create(appB.id, { url: 'https://evil.example.invalid/' })],
      ['message.list(B)', () => portal.message.list(appB.id)],
      ['messageAttempt.listByEndpoint(B)', () => portal.messageAttempt.listByEndpoint(appB.id, epB.id)],
    ];
    for (const [what, call] of calls) {
      const err = await apiError(call());
      expect(refused, `${what} answered ${err.code} ${JSON.stringify(err.body)}`).toContain(err.code);
    }
    // Nothing changed on app B.
    expect((await svix.endpoint.get(appB.id, epB.id)).description).toBe('');
    expect((await svix.endpoint.list(appB.id)).data).toHaveLength(1);
  });

  it('a portal token cannot call organisation-only routes (403)', async () => {
    const portal = client(await portalToken(appA.id));
    await expectStatus(portal.application.list(), 403);
    await expectStatus(portal.application.create({ name: 'nope' }), 403);
    await expectStatus(portal.application.delete(appA.id), 403);
    await expectStatus(portal.eventType.create({ name: `portal.${RUN}`, description: 'x' }), 403);
    await expectStatus(portal.message.create(appA.id, { eventType: 'any.type', payload: {} }), 403);
    expect((await svix.application.get(appA.id)).id).toBe(appA.id);
  });

  it('logout (204) revokes the app token it is called with', async () => {
    const token = await portalToken(appA.id);
    const portal = client(token);
    expectPage(await portal.endpoint.list(appA.id));
    const r = await raw('POST', '/api/v1/auth/logout', { token });
    expect(r.status, describeRaw(r)).toBe(204);
    const err = await expectStatus(portal.endpoint.list(appA.id), 401);
    expectHttpErrorBody(err);

    const token2 = await portalToken(appA.id);
    await expect(client(token2).authentication.logout()).resolves.toBeUndefined();
    await expectStatus(client(token2).endpoint.list(appA.id), 401);
  });

  it('logout with the organisation token fails and leaves that token working', async () => {
    const err = await apiError(svix.authentication.logout());
    expect(err.code).toBeGreaterThanOrEqual(400);
    expect(err.code).toBeLessThan(500);
    expectPage(await svix.application.list({ limit: 1 }));
  });
});

describe('wire conventions (svix.md §2.4)', () => {
  it('accepts paths with a trailing slash', async () => {
    const app = await newApp('slash');
    const list = await raw('GET', '/api/v1/app/');
    expect(list.status, describeRaw(list)).toBe(200);
    expect(Array.isArray(list.json.data)).toBe(true);
    const one = await raw('GET', `/api/v1/app/${app.id}/`);
    expect(one.status, describeRaw(one)).toBe(200);
    expect(one.json.id).toBe(app.id);
    const create = await raw('POST', `/api/v1/app/${app.id}/endpoint/`, { body: { url: 'https://s.example.invalid/' } });
    expect(create.status, describeRaw(create)).toBe(201);
  });

  it('ignores unknown and cloud-only fields instead of rejecting them', async () => {
    const r = await raw('POST', '/api/v1/app', { body: { name: 'Unknown fields', someFutureField: { x: 1 } } });
    expect(r.status, describeRaw(r)).toBe(201);
    const app = r.json as { id: string };
    const ep = await svix.endpoint.create(app.id, {
      url: 'https://cloud.example.invalid/',
      headers: { 'X-From-Create': '1' },
    });
    expect(ep.id).toMatch(EP_ID);
    const et = await newEventType('cloud');
    const msg = await svix.message.create(app.id, { eventType: et, payload: {}, tags: ['t1'] });
    expect(msg.id).toMatch(MSG_ID);
  });

  it('answers unknown routes with 404', async () => {
    const r = await raw('GET', '/api/v1/no-such-route');
    expect(r.status, describeRaw(r)).toBe(404);
  });
});

describe('Herald extensions beside the SDK: ordered delivery', () => {
  // The SDK's models carry only Svix's fields, so `ordering` and `orderingKey` are set over plain
  // HTTP; what matters is that every SDK call keeps working around them and never undoes them.
  it('SDK calls work unchanged on ordered endpoints and keyed messages, and an SDK update keeps ordering', async () => {
    const app = await newApp('ordering');
    const et = await newEventType('ordering.ev');
    const url = 'https://ordered.example.invalid/hook';
    const r = await raw('POST', `/api/v1/app/${app.id}/endpoint`, { body: { url, ordering: 'key' } });
    expect(r.status, describeRaw(r)).toBe(201);
    expect(r.json.ordering).toBe('key');
    const ep = await svix.endpoint.get(app.id, r.json.id);
    expect(ep.url).toBe(url);
    // PUT and PATCH through the SDK know nothing of ordering: it stays.
    await svix.endpoint.upsert(app.id, ep.id, { url, description: 'via sdk' });
    await svix.endpoint.patch(app.id, ep.id, { description: 'patched via sdk' });
    expect((await raw('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`)).json).toMatchObject({ ordering: 'key', description: 'patched via sdk' });
    // What the SDK creates gets the defaults: no ordering, no key.
    const plain = await svix.endpoint.create(app.id, { url: 'https://plain.example.invalid/hook' });
    expect((await raw('GET', `/api/v1/app/${app.id}/endpoint/${plain.id}`)).json.ordering).toBe('none');
    const m = await svix.message.create(app.id, { eventType: et, payload: { n: 1 } });
    expect('orderingKey' in (await raw('GET', `/api/v1/app/${app.id}/msg/${m.id}`)).json).toBe(false);
    // Keyed messages (over HTTP) read back through the SDK, and so do their destinations.
    const keyed: string[] = [];
    for (let i = 0; i < 2; i++) {
      const k = await raw('POST', `/api/v1/app/${app.id}/msg`, { body: { eventType: et, payload: { i }, orderingKey: 'contact-1' } });
      expect(k.status, describeRaw(k)).toBe(202);
      expect(k.json.orderingKey).toBe('contact-1');
      keyed.push(k.json.id);
    }
    expect((await svix.message.get(app.id, keyed[1]!, { withContent: true })).payload).toEqual({ i: 1 });
    const dests = await svix.messageAttempt.listAttemptedDestinations(app.id, keyed[1]!);
    expect(dests.data.map((d) => d.id).sort()).toEqual([ep.id, plain.id].sort());
    const wire = await raw('GET', `/api/v1/app/${app.id}/msg/${keyed[1]}/endpoint`);
    const byId = new Map(wire.json.data.map((d: any) => [d.id, d]));
    expect((byId.get(plain.id) as any).waitingFor).toBeNull();
    expect([null, keyed[0]]).toContain((byId.get(ep.id) as any).waitingFor);
  });
});

// ---------------------------------------------------------------------------------------------
describe('Herald extensions (retry policy, content filter, schema enforcement) with the SDK unchanged', () => {
  it('SDK reads and writes work with the fields set, and an SDK update keeps them', async () => {
    const app = await newApp('ext');
    const a = await raw('PATCH', `/api/v1/app/${app.id}`, { body: { retrySchedule: ['30s', '5m'], timeout: 10 } });
    expect(a.status, describeRaw(a)).toBe(200);
    // The SDK's update (a PUT without the Herald fields) leaves them as they were.
    const updated = await svix.application.upsert(app.id, { name: 'renamed by the SDK' });
    expect(updated.name).toBe('renamed by the SDK');
    expect((await raw('GET', `/api/v1/app/${app.id}`)).json).toMatchObject({ retrySchedule: ['30s', '5m'], timeout: 10 });

    const e = await raw('POST', `/api/v1/app/${app.id}/endpoint`, {
      body: { url: 'https://ext.example.invalid/', retrySchedule: [], timeout: 3, filter: { country: { $eq: 'SE' } } },
    });
    expect(e.status, describeRaw(e)).toBe(201);
    const got = await svix.endpoint.get(app.id, e.json.id);
    expect(got.id).toBe(e.json.id);
    await svix.endpoint.upsert(app.id, e.json.id, { url: 'https://ext2.example.invalid/', description: 'by the SDK' });
    await svix.endpoint.patch(app.id, e.json.id, { description: 'patched by the SDK' });
    expect((await raw('GET', `/api/v1/app/${app.id}/endpoint/${e.json.id}`)).json).toMatchObject({
      url: 'https://ext2.example.invalid/',
      description: 'patched by the SDK',
      retrySchedule: [],
      timeout: 3,
      filter: { country: { $eq: 'SE' } },
    });
    expect((await svix.endpoint.list(app.id)).data.map((x) => x.id)).toContain(e.json.id);
  });

  it('schema enforcement: warn answers the SDK a MessageOut; reject is an ApiException 422 naming the payload field', async () => {
    const app = await newApp('ext-schema');
    const schema = { type: 'object', required: ['email'], properties: { email: { type: 'string', format: 'email' } } };
    const et = await newEventType('ext-schema', { 1: schema });
    expect((await raw('PATCH', `/api/v1/event-type/${et}`, { body: { schemaEnforcement: 'warn' } })).status).toBe(200);
    // An SDK update of the event type keeps the setting.
    await svix.eventType.upsert(et, { description: 'updated by the SDK', schemas: { 1: schema } });
    expect((await raw('GET', `/api/v1/event-type/${et}`)).json.schemaEnforcement).toBe('warn');

    const warned = await svix.message.create(app.id, { eventType: et, payload: { email: 'nope' } });
    expect(warned.id).toMatch(MSG_ID);
    expect((await svix.message.get(app.id, warned.id)).eventType).toBe(et);
    expect((await raw('GET', `/api/v1/app/${app.id}/msg/${warned.id}`)).json.schemaViolations).toEqual([
      { path: '/email', message: 'must match format "email"' },
    ]);

    expect((await raw('PATCH', `/api/v1/event-type/${et}`, { body: { schemaEnforcement: 'reject' } })).status).toBe(200);
    const err = await expectStatus(svix.message.create(app.id, { eventType: et, payload: { email: 'nope' } }), 422);
    expect(err.body.detail[0].loc).toEqual(['body', 'payload', 'email']);
    expect((await svix.message.create(app.id, { eventType: et, payload: { email: 'ada@example.com' } })).id).toMatch(MSG_ID);
  });
});
