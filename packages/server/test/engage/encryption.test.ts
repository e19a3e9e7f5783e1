// Payload encryption on the producer side: no plaintext of an encrypted tenant's payloads at rest
// (the raw SQLite files are searched for markers), and end to end over loopback: Herald signs and
// delivers the encrypted envelope, and @herald/receiver verifies the signature and decrypts it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptEnvelope, generateEncryptionKey, parseEnvelope, type UnknownEngageEnvelope } from '@herald/engage';
import { createReceiver, createRouter, verify } from '@herald/receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEndpoint } from '../helpers/fixtures.js';
import { markersIn, sqliteBytes } from '../helpers/at-rest.js';
import { startInProcess, TEST_DATABASE, type InProcess } from '../helpers/inproc.js';
import { Receiver } from '../helpers/receiver.js';
import { call, emit, envelopeOf, guid, tenant } from './helpers.js';

// The raw files searched here are SQLite's; engage/at-rest.test.ts searches both stores.
describe.skipIf(TEST_DATABASE === 'postgres')('engage encryption: no plaintext at rest', () => {
  it('an encrypted tenant leaves no payload field value in the SQLite files; a plaintext tenant does (control)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-engage-rest-'));
    const h = await startInProcess({ dataDir: dir });
    const hidden = `HIDDEN${Math.random().toString(36).slice(2, 10)}`;
    const shown = `SHOWN${Math.random().toString(36).slice(2, 10)}`;
    try {
      const secret = await tenant(h, { key: generateEncryptionKey() });
      const plain = await tenant(h);
      await createEndpoint(h, secret.uid);
      for (const [t, marker] of [
        [secret, hidden],
        [plain, shown],
      ] as const) {
        await emit(h, t.uid, 'contact', { contactId: guid(1), attributes: { email: `${marker}@example.com` } }, { status: 202 });
        await emit(h, t.uid, 'contact', { contactId: guid(1), consents: [{ id: 'memberConsent', value: true, source: `${marker}-src` }] }, { status: 202 });
        await emit(
          h,
          t.uid,
          'reward-voucher',
          {
            id: guid(2),
            contactId: guid(1),
            amount: 10,
            currency: 'SEK',
            uniqueCode: `${marker}-code`,
            validFrom: '2026-01-01T00:00:00Z',
            validTo: '2026-02-01T00:00:00Z',
          },
          { status: 202 },
        );
        await emit(
          h,
          t.uid,
          'point-transaction',
          {
            amount: 5,
            contactId: guid(1),
            pointDefinitionId: 1,
            source: 'Manual',
            description: `${marker}-desc`,
            userId: 'u',
            userName: 'n',
            reason: 'r',
            sourceId: 's',
          },
          { status: 202 },
        );
      }
      // Nor does the API give it back: it only has the ciphertext.
      const list = await call(h, 'GET', `/api/v1/app/${secret.uid}/msg`, 200);
      expect(list.json.data.length).toBe(5); // created; updated + consent.changed; voucher; points
      expect(list.text).not.toContain(hidden);
      for (const m of list.json.data) expect(m.payload).toMatchObject({ isEncrypted: true, tenant: secret.uid });
    } finally {
      await h.close(); // the data folder was ours, so it stays for the search
    }
    try {
      // Every byte Herald left in its data folder (the database, its WAL and shared-memory files).
      const bytes = sqliteBytes(dir);
      expect(markersIn(bytes, { shown })).toEqual(['shown']); // the search does find plaintext where there is some
      expect(markersIn(bytes, { hidden })).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('engage encryption: end to end over loopback', () => {
  let h: InProcess;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await Receiver.start();
    h = await startInProcess({ dispatch: true, env: { HERALD_POLL_INTERVAL: '20ms', HERALD_LOG_LEVEL: 'silent' } });
  });
  afterAll(async () => {
    await h?.close();
    await rx?.close();
  });

  it('delivers signed, encrypted envelopes that @herald/receiver verifies and decrypts, in order', async () => {
    await call(h, 'POST', '/api/v1/engage/catalog/install', 200);
    const key = generateEncryptionKey();
    const t = await tenant(h, { key });
    const ep = (await createEndpoint(h, t.uid, { url: rx.url('/engage'), eventTypes: ['contact.created', 'contact.updated', 'contact.acceptsEmail.changed'] }))
      .id;
    const secret = (await call(h, 'GET', `/api/v1/app/${t.uid}/endpoint/${ep}/secret`, 200)).json.key as string;

    const created = await emit(h, t.uid, 'contact', { contactId: guid(9) }, { status: 202 });
    const updated = await emit(h, t.uid, 'contact', { contactId: guid(9), preferences: { acceptsEmail: true } }, { status: 202 });
    const sent = [...created.r.json.events, ...updated.r.json.events];
    const got = await rx.waitForCount(3, { path: '/engage' });

    const events: UnknownEngageEnvelope[] = [];
    const kit = createReceiver({ secrets: secret, encryptionKey: key, router: createRouter().onAny((e) => void events.push(e)) });
    for (const req of got) {
      // The wire body is the encrypted envelope, signed as it is.
      const wire = verify(req.body, req.headers, secret) as UnknownEngageEnvelope;
      expect(wire).toMatchObject({ isEncrypted: true, tenant: t.uid });
      expect(typeof wire.payload).toBe('string');
      const res = await kit.handle({ rawBody: req.body, headers: req.headers, remoteAddress: '127.0.0.1' });
      expect(res.status).toBe(200);
    }
    const byId = new Map(events.map((e) => [e.eventId, e]));
    for (const s of sent) expect(byId.get(s.eventId)?.eventType).toBe(s.eventType);
    expect(byId.get(sent[0].eventId)?.payload).toEqual({ contactId: guid(9), contactType: 'Member' });
    expect(byId.get(sent[1].eventId)?.payload).toEqual({ contactId: guid(9), contactType: 'Member', changedFields: ['preferences.acceptsEmail'] });
    expect(byId.get(sent[2].eventId)?.payload).toEqual({ contactId: guid(9), value: true });
    // Every attempt of a message carries its message id, which the receiver dedupes on.
    for (const req of got) expect(sent.map((s) => s.msgId)).toContain(req.headers['svix-id'] ?? req.headers['webhook-id']);
  });

  it('key rotation: new events use the new key; stored messages and their resends keep the old one, which a receiver holding both opens', async () => {
    const oldKey = generateEncryptionKey();
    const newKey = generateEncryptionKey();
    const t = await tenant(h, { key: oldKey });
    const ep = (await createEndpoint(h, t.uid, { url: rx.url('/rotate') })).id;
    const secret = (await call(h, 'GET', `/api/v1/app/${t.uid}/endpoint/${ep}/secret`, 200)).json.key as string;
    const before = (await emit(h, t.uid, 'contact', { contactId: guid(20) }, { status: 202 })).r.json.events[0];
    await rx.waitForCount(1, { path: '/rotate' });

    await call(h, 'PUT', `/api/v1/app/${t.uid}/engage/encryption-key`, 200, { body: { key: newKey } });
    const after = (await emit(h, t.uid, 'contact', { contactId: guid(21) }, { status: 202 })).r.json.events[0];
    await call(h, 'POST', `/api/v1/app/${t.uid}/msg/${before.msgId}/endpoint/${ep}/resend`, 202);
    const got = await rx.waitForCount(3, { path: '/rotate' });

    const wire = (req: { body: Buffer; headers: Record<string, unknown> }) => parseEnvelope(verify(req.body, req.headers as never, secret));
    const byMsg = (id: string) => got.filter((r) => (r.headers['svix-id'] ?? r.headers['webhook-id']) === id).map(wire);
    const [first, resent] = byMsg(before.msgId);
    const [fresh] = byMsg(after.msgId);
    // The old message, stored and resent after the switch, is the same ciphertext under the old key.
    expect(resent!.payload).toBe(first!.payload);
    expect(decryptEnvelope(resent!, oldKey).payload).toEqual({ contactId: guid(20), contactType: 'Member' });
    expect(() => decryptEnvelope(resent!, newKey)).toThrow();
    expect(decryptEnvelope(fresh!, newKey).payload).toEqual({ contactId: guid(21), contactType: 'Member' });
    expect(() => decryptEnvelope(fresh!, oldKey)).toThrow();
    // The API holds what was stored: the old message still under the old key.
    expect(decryptEnvelope(parseEnvelope(await envelopeOf(h, t.uid, before.msgId)), oldKey).payload).toMatchObject({ contactId: guid(20) });

    // As the README tells receivers: hold both keys (newest first) until the old messages' retries are over.
    const both = createReceiver({ secrets: secret, encryptionKey: [newKey, oldKey], dedupe: false, router: createRouter() });
    const newOnly = createReceiver({ secrets: secret, encryptionKey: newKey, dedupe: false, router: createRouter() });
    for (const req of got) {
      const inbound = { rawBody: req.body, headers: req.headers, remoteAddress: '127.0.0.1' };
      expect((await both.handle(inbound)).status).toBe(200);
      const fresh = (req.headers['svix-id'] ?? req.headers['webhook-id']) === after.msgId;
      expect((await newOnly.handle(inbound)).status).toBe(fresh ? 200 : 400);
    }
  });
});
