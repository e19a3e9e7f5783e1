// Payload encryption on the producer side: no plaintext of an encrypted tenant's payloads at rest
// (the raw SQLite files are searched for markers), and end to end over loopback: Herald signs and
// delivers the encrypted envelope, and @herald/receiver verifies the signature and decrypts it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEncryptionKey, type UnknownEngageEnvelope } from '@herald/engage';
import { createReceiver, createRouter, verify } from '@herald/receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEndpoint } from '../helpers/fixtures.js';
import { markersIn, sqliteBytes } from '../helpers/at-rest.js';
import { startInProcess, type InProcess } from '../helpers/inproc.js';
import { Receiver } from '../helpers/receiver.js';
import { call, emit, guid, tenant } from './helpers.js';


describe('engage encryption: no plaintext at rest', () => {
  it('an encrypted tenant leaves no payload field value in the SQLite files; a plaintext tenant does (control)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-engage-rest-'));
    const h = await startInProcess({ dataDir: dir });
    const hidden = `HIDDEN${Math.random().toString(36).slice(2, 10)}`;
    const shown = `SHOWN${Math.random().toString(36).slice(2, 10)}`;
    try {
      const secret = await tenant(h, { key: generateEncryptionKey() });
      const plain = await tenant(h);
      await createEndpoint(h, secret.uid);
      for (const [t, marker] of [[secret, hidden], [plain, shown]] as const) {
        await emit(h, t.uid, 'contact', { contactId: guid(1), attributes: { email: `${marker}@example.com` } }, { status: 202 });
        await emit(h, t.uid, 'contact', { contactId: guid(1), consents: [{ id: 'memberConsent', value: true, source: `${marker}-src` }] }, { status: 202 });
        await emit(h, t.uid, 'reward-voucher', {
          id: guid(2), contactId: guid(1), amount: 10, currency: 'SEK', uniqueCode: `${marker}-code`,
          validFrom: '2026-01-01T00:00:00Z', validTo: '2026-02-01T00:00:00Z',
        }, { status: 202 });
        await emit(h, t.uid, 'point-transaction', {
          amount: 5, contactId: guid(1), pointDefinitionId: 1, source: 'Manual', description: `${marker}-desc`,
          userId: 'u', userName: 'n', reason: 'r', sourceId: 's',
        }, { status: 202 });
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
    const ep = (await createEndpoint(h, t.uid, { url: rx.url('/engage'), eventTypes: ['contact.created', 'contact.updated', 'contact.acceptsEmail.changed'] })).id;
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
});
