// "No plaintext of an encrypted tenant's payloads" everywhere Herald keeps or shows data,
// on both stores, with a real `herald serve` process logging at trace level: every producer route
// is driven for an encrypted tenant and for a plaintext one (the control), with a marker in every
// free-text payload field; the dispatcher delivers to a real receiver on loopback (one endpoint
// fails, so there are retries and failed attempts, and the receiver echoes the body it got, which
// Herald records as the attempt's response). Then the marker of the encrypted tenant must be in
// none of: the database (the SQLite data folder's files, or a pg_dump), the process's logs, the
// messages and attempts the API returns. The control's marker is found in the database and the
// API, so the search itself works.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptEnvelope, parseEnvelope } from '@herald/engage';
import { afterAll, describe, expect, it } from 'vitest';
import { markersIn, pgDump, sqliteBytes } from '../helpers/at-rest.js';
import { call as http, serve, type Served } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { Receiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';
import { guid } from './helpers.js';

const TOKEN = `op_${randomBytes(16).toString('hex')}`;
const KEY = 'Rk3vTq9ZpL0xWb7NcY2mHs5JdA8eUf1G';

/** Every producer route once, with `m` in every free-text payload field; returns the number of messages. */
async function drive(api: (method: string, path: string, status: number, body?: unknown) => Promise<any>, uid: string, m: string): Promise<number> {
  const c = guid(1);
  let n = 0;
  const emit = async (method: string, route: string, body?: unknown) => {
    const r = await api(method, `/api/v1/app/${uid}/engage/${route}`, 202, body);
    n += r.messageIds.length;
  };
  await emit('POST', 'contact', { contactId: c, attributes: { firstName: `${m}-first` } });
  // contact.updated (its changedFields names the custom attribute) and contact.consent.changed.
  await emit('POST', 'contact', {
    contactId: c,
    attributes: { [`x${m}`]: 'v' },
    consents: [{ id: 'memberConsent', value: true, source: `${m}-source`, comment: `${m}-comment` }],
  });
  await emit('POST', 'point-transaction', {
    amount: 25,
    contactId: c,
    pointDefinitionId: 1,
    source: 'Manual',
    description: `${m}-description`,
    userId: `${m}-user`,
    userName: `${m}-username`,
    reason: `${m}-reason`,
    sourceId: `${m}-sourceid`,
  });
  // Points need an existing contact (404 contact_not_found otherwise), and a contact id is then a
  // state key, kept in the clear like every contact id: so the balance carries no marker.
  await emit('POST', 'point-balance', { contactId: c, accountId: 42, definitionId: 1, balance: 125 });
  await emit('POST', 'reward-voucher', {
    id: guid(2),
    contactId: c,
    amount: 100,
    currency: 'SEK',
    uniqueCode: `${m}-code`,
    validFrom: '2026-01-01T00:00:00+01:00',
    validTo: '2026-12-31T23:59:59+01:00',
  });
  await emit('POST', 'promotion-assignment', { id: guid(3), contactId: c, promotionId: guid(4), externalId: `${m}-external` });
  await emit('DELETE', `contact/${c}`);
  return n;
}

describe.each(['sqlite', 'postgres'] as const)('engage encryption: no plaintext at rest, in logs, attempts or the API (%s)', (kind) => {
  const dir = mkdtempSync(join(tmpdir(), `herald-engage-rest-${kind}-`));
  let db: TestDatabase | undefined;
  let server: Served | undefined;
  let rx: Receiver | undefined;
  afterAll(async () => {
    await server?.stop();
    await rx?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an encrypted tenant leaves no payload value anywhere; a plaintext tenant does (control)', async () => {
    rx = await Receiver.start();
    const echo = (status: number) => (req: { text: string }) => ({ status, body: req.text });
    for (const t of ['secret', 'plain']) rx.on(`/ok-${t}`, echo(200)).on(`/fail-${t}`, echo(500));
    if (kind === 'postgres') db = await createTestDatabase();
    server = await serve({
      HERALD_DATA_DIR: dir,
      HERALD_API_TOKEN: TOKEN,
      HERALD_RETRY_SCHEDULE: '1s',
      HERALD_POLL_INTERVAL: '50ms',
      // Eight messages fail twice each on purpose: an open circuit would hold the retries for 30 s.
      HERALD_CIRCUIT_FAILURES: '0',
      HERALD_LOG_LEVEL: 'trace',
      ...(db ? { HERALD_DATABASE_URL: db.url } : {}),
    });
    const api = async (method: string, path: string, status: number, body?: unknown) => {
      const r = await http(server!.url, TOKEN, method, path, body);
      if (r.status !== status) throw new Error(`${method} ${path} answered ${r.status} (wanted ${status}): ${JSON.stringify(r.json)}`);
      return r.json;
    };
    await api('POST', '/api/v1/engage/catalog/install', 200);

    const hidden = `HIDDEN${randomBytes(6).toString('hex')}`;
    const shown = `SHOWN${randomBytes(6).toString('hex')}`;
    const tenants = {
      secret: { uid: `enc-${randomBytes(3).toString('hex')}`, marker: hidden },
      plain: { uid: `pln-${randomBytes(3).toString('hex')}`, marker: shown },
    };
    const endpoints: Record<string, { ok: string; fail: string }> = {};
    const sent: Record<string, number> = {};
    for (const [name, t] of Object.entries(tenants)) {
      await api('POST', '/api/v1/app', 201, { name: `Engage ${name}`, uid: t.uid });
      await api('PUT', `/api/v1/app/${t.uid}/engage/module`, 200, { enabled: true });
      if (name === 'secret') await api('PUT', `/api/v1/app/${t.uid}/engage/encryption-key`, 200, { key: KEY });
      endpoints[name] = {
        ok: (await api('POST', `/api/v1/app/${t.uid}/endpoint`, 201, { url: rx.url(`/ok-${name}`) })).id,
        fail: (await api('POST', `/api/v1/app/${t.uid}/endpoint`, 201, { url: rx.url(`/fail-${name}`) })).id,
      };
      sent[name] = await drive(api, t.uid, t.marker);
    }
    expect(sent).toEqual({ secret: 8, plain: 8 });

    // Delivered, and each message to the failing endpoint tried a second time.
    const got = await rx.waitForCount(8, { path: '/ok-secret', timeoutMs: 20_000 });
    await rx.waitForCount(16, { path: '/fail-secret', timeoutMs: 20_000 });
    await rx.waitForCount(8, { path: '/ok-plain', timeoutMs: 20_000 });
    await rx.waitForCount(16, { path: '/fail-plain', timeoutMs: 20_000 });
    // The wire carries ciphertext that the tenant's key opens (so the marker was really sent).
    const opened = got.map((r) => decryptEnvelope(parseEnvelope(JSON.parse(r.text)), KEY));
    expect(JSON.stringify(opened.map((e) => e.payload))).toContain(hidden);
    expect(got.every((r) => !r.text.includes(hidden))).toBe(true);

    // What the API shows: messages, each message, and the attempts (with the echoed response bodies).
    const apiText = async (name: 'secret' | 'plain'): Promise<string> => {
      const { uid } = tenants[name];
      const parts: unknown[] = [];
      const msgs = await api('GET', `/api/v1/app/${uid}/msg?limit=50`, 200);
      expect(msgs.data).toHaveLength(8);
      parts.push(msgs);
      for (const m of msgs.data) {
        parts.push(await api('GET', `/api/v1/app/${uid}/msg/${m.id}`, 200));
        parts.push(await api('GET', `/api/v1/app/${uid}/attempt/msg/${m.id}?limit=50`, 200));
      }
      // Attempts are recorded after the answer: wait until every one of the failing endpoint's is there.
      const failed: any = await until(
        `the failing endpoint's 16 attempts (${name})`,
        async () => {
          const page = await api('GET', `/api/v1/app/${uid}/attempt/endpoint/${endpoints[name]!.fail}?limit=100`, 200);
          return page.data.length >= 16 ? page : null;
        },
        20_000,
      );
      expect(failed.data.every((a: { response: string }) => a.response.includes('"isEncrypted"'))).toBe(true);
      parts.push(failed, await api('GET', `/api/v1/app/${uid}/attempt/endpoint/${endpoints[name]!.ok}?limit=100`, 200));
      return JSON.stringify(parts);
    };
    const secretApi = await apiText('secret');
    expect(markersIn(Buffer.from(secretApi), { hidden })).toEqual([]);
    expect(markersIn(Buffer.from(await apiText('plain')), { shown })).toEqual(['shown']);

    await server.stop();
    const logs = server.stdout() + server.stderr();
    server = undefined;
    // Trace-level logs covered the deliveries of the encrypted tenant's messages...
    const secretIds = JSON.parse(secretApi)[0].data.map((m: { id: string }) => m.id) as string[];
    expect(secretIds.some((id) => logs.includes(id))).toBe(true);
    // ...and hold none of its plaintext.
    expect(markersIn(Buffer.from(logs), { hidden })).toEqual([]);

    const bytes = kind === 'postgres' ? pgDump(db!.url) : sqliteBytes(dir);
    if (kind === 'postgres') expect(bytes.includes('COPY public.message ')).toBe(true);
    expect(markersIn(bytes, { shown })).toEqual(['shown']);
    expect(markersIn(bytes, { hidden })).toEqual([]);
  });
});
