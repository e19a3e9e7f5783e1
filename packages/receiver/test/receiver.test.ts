// The pipeline behind every adapter, driven directly (adapter-suite.ts covers it over HTTP).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { encryptEnvelope, generateEncryptionKey } from '@herald/engage';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createReceiver,
  createRouter,
  createVerifier,
  EngageError,
  generateSecret,
  openFileDedupeStore,
  ReceiverError,
  verifyWebhook,
  type DedupeStore,
  type InboundRequest,
} from '../src/index.js';
import { balance } from './adapter-suite.js';
import { msgId, signedHeaders } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-receiver-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const secret = generateSecret();
const BODY = JSON.stringify(balance);

function request(body = BODY, id = msgId()): InboundRequest {
  return { rawBody: body, headers: signedHeaders(body, secret, { id }), remoteAddress: '127.0.0.1' };
}

describe('createReceiver', () => {
  it('processes concurrent deliveries of one id once, and both get the outcome', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const receiver = createReceiver({
      secrets: secret,
      router: createRouter().onAny(async () => {
        calls++;
        await gate;
      }),
    });
    const id = msgId();
    const first = receiver.handle(request(BODY, id));
    const second = receiver.handle(request(BODY, id));
    release();
    expect(await Promise.all([first, second])).toEqual([
      { status: 200, body: { ok: true } },
      { status: 200, body: { ok: true } },
    ]);
    expect(calls).toBe(1);
  });

  it('with dedupe off, processes every repeat', async () => {
    let calls = 0;
    const receiver = createReceiver({ secrets: secret, dedupe: false, router: createRouter().onAny(() => void calls++) });
    const id = msgId();
    await receiver.handle(request(BODY, id));
    await receiver.handle(request(BODY, id));
    expect(calls).toBe(2);
  });

  it('remembers ids across restarts with the file store', async () => {
    const path = join(dir, 'dedupe.jsonl');
    const id = msgId();
    let calls = 0;
    const router = createRouter().onAny(() => void calls++);
    const store1 = await openFileDedupeStore({ path });
    await createReceiver({ secrets: secret, router, dedupe: store1 }).handle(request(BODY, id));
    await store1.close();
    const store2 = await openFileDedupeStore({ path });
    const again = await createReceiver({ secrets: secret, router, dedupe: store2 }).handle(request(BODY, id));
    await store2.close();
    expect(again.body).toEqual({ ok: true, duplicate: true });
    expect(calls).toBe(1);
  });

  it('takes any DedupeStore, e.g. one over SQLite shared by several processes', async () => {
    const db = new Database(join(dir, 'dedupe.sqlite'));
    db.exec('create table if not exists seen (id text primary key, expires_at integer not null)');
    const store: DedupeStore = {
      has: (id) => db.prepare('select 1 from seen where id = ? and expires_at > ?').get(id, Date.now()) !== undefined,
      add: (id) => void db.prepare('insert or replace into seen values (?, ?)').run(id, Date.now() + 3_600_000),
    };
    let calls = 0;
    const receiver = createReceiver({ secrets: secret, dedupe: store, router: createRouter().onAny(() => void calls++) });
    const id = msgId();
    await receiver.handle(request(BODY, id));
    expect((await receiver.handle(request(BODY, id))).body).toEqual({ ok: true, duplicate: true });
    expect(calls).toBe(1);
    db.close();
  });

  it('acknowledges event types nobody handles, so the sender does not retry them forever', async () => {
    const unhandled: string[] = [];
    const receiver = createReceiver({ secrets: secret, router: createRouter().onUnhandled((e) => void unhandled.push(e.eventType)) });
    const body = JSON.stringify({ ...balance, eventType: 'order.shipped' });
    expect((await receiver.handle(request(body))).status).toBe(200);
    expect(unhandled).toEqual(['order.shipped']);
  });

  it('decrypts a payload in standard base64 as well as base64url', async () => {
    const key = generateEncryptionKey();
    const seen: unknown[] = [];
    const receiver = createReceiver({ secrets: secret, encryptionKey: key, router: createRouter().onAny((e) => void seen.push(e.payload)) });
    // A fresh IV each time; draw until the two spellings really differ (needs a '+' or '/' in the
    // standard form), so the test cannot pass by sending the same text twice.
    let encrypted = encryptEnvelope(balance, key);
    for (let i = 0; i < 100 && !/[+/]/.test(Buffer.from(encrypted.payload as string, 'base64url').toString('base64')); i++) {
      encrypted = encryptEnvelope(balance, key);
    }
    const url = encrypted.payload as string;
    const standard = Buffer.from(url, 'base64url').toString('base64');
    expect(standard).toMatch(/[+/]/);
    expect(url).toMatch(/^[A-Za-z0-9_-]+$/);
    for (const payload of [url, standard]) {
      const res = await receiver.handle(request(JSON.stringify({ ...encrypted, payload })));
      expect(res).toEqual({ status: 200, body: { ok: true } });
    }
    expect(seen).toEqual([balance.payload, balance.payload]);
  });

  it('decrypts the shared Engage encryption vector, in both alphabets, to its plaintext', async () => {
    const vectors = JSON.parse(readFileSync(new URL('../../engage/test/vectors/engage-encryption.json', import.meta.url), 'utf8')) as {
      engageEncryption: { key: string; plaintext: string; ciphertext: string }[];
    };
    expect(vectors.engageEncryption.length).toBeGreaterThan(0);
    for (const v of vectors.engageEncryption) {
      const seen: unknown[] = [];
      const receiver = createReceiver({ secrets: secret, encryptionKey: v.key, router: createRouter().onAny((e) => void seen.push(e.payload)) });
      const standard = Buffer.from(v.ciphertext, 'base64url').toString('base64');
      for (const payload of [v.ciphertext, standard]) {
        const envelope = { eventId: msgId(), eventType: 'loyalty.addPoints', isEncrypted: true, payload, tenant: 'acme' };
        expect(await receiver.handle(request(JSON.stringify(envelope)))).toEqual({ status: 200, body: { ok: true } });
      }
      expect(seen).toEqual([JSON.parse(v.plaintext), JSON.parse(v.plaintext)]);
    }
  });

  it('refuses a verified body that is not an Engage envelope with 400 invalid_envelope', async () => {
    const receiver = createReceiver({ secrets: secret, router: createRouter() });
    const res = await receiver.handle(request('{"hello":"world"}'));
    expect([res.status, 'code' in res.body && res.body.code]).toEqual([400, 'invalid_envelope']);
  });

  it('answers 500 missing_key (retryable) when an encrypted event arrives and no key is configured', async () => {
    const receiver = createReceiver({ secrets: secret, router: createRouter() });
    const res = await receiver.handle(request(JSON.stringify(encryptEnvelope(balance, generateEncryptionKey()))));
    expect([res.status, 'code' in res.body && res.body.code]).toEqual([500, 'missing_key']);
  });

  it('opens payloads under the new or the old key while the key is rotated; any other key is refused', async () => {
    const [oldKey, newKey, stranger] = [generateEncryptionKey(), generateEncryptionKey(), generateEncryptionKey()];
    const got: unknown[] = [];
    const receiver = createReceiver({ secrets: secret, encryptionKey: [newKey, oldKey], router: createRouter().onAny((e) => void got.push(e.payload)) });
    for (const key of [oldKey, newKey]) {
      const res = await receiver.handle(request(JSON.stringify(encryptEnvelope(balance, key))));
      expect(res).toEqual({ status: 200, body: { ok: true } });
    }
    expect(got).toEqual([balance.payload, balance.payload]);
    const res = await receiver.handle(request(JSON.stringify(encryptEnvelope(balance, stranger))));
    expect([res.status, 'code' in res.body && res.body.code]).toEqual([400, 'invalid_ciphertext']);
    // With only the new key, a message still under the old one is refused: the old key is needed until its retries are over.
    const newOnly = createReceiver({ secrets: secret, encryptionKey: newKey, router: createRouter() });
    expect((await newOnly.handle(request(JSON.stringify(encryptEnvelope(balance, oldKey))))).status).toBe(400);
    expect(() => createReceiver({ secrets: secret, router: createRouter(), encryptionKey: [newKey, 'short'] })).toThrow(EngageError);
  });

  it('reports refusals to onError, and a throwing onError does not change the answer', async () => {
    const errors: ReceiverError[] = [];
    const receiver = createReceiver({
      secrets: secret,
      router: createRouter(),
      allowlist: ['10.0.0.0/8'],
      onError: (err) => {
        errors.push(err);
        throw new Error('logger down');
      },
    });
    const res = await receiver.handle(request());
    expect(res.status).toBe(403);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ReceiverError);
    expect([errors[0].code, errors[0].status]).toEqual(['ip_not_allowed', 403]);
  });

  it('fails at construction on a bad encryption key or allowlist entry, not per request', () => {
    expect(() => createReceiver({ secrets: secret, router: createRouter(), encryptionKey: 'short' })).toThrow(EngageError);
    expect(() => createReceiver({ secrets: secret, router: createRouter(), allowlist: ['10.0.0.0/40'] })).toThrow(TypeError);
    expect(() => createReceiver({ secrets: 'whsec_***', router: createRouter() })).toThrow(/base64/);
  });

  it('refuses a negative or non-numeric toleranceSeconds at construction (it would refuse every message)', () => {
    for (const toleranceSeconds of [-1, -300, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createReceiver({ secrets: secret, router: createRouter(), toleranceSeconds }), String(toleranceSeconds)).toThrow(RangeError);
      expect(() => createVerifier(secret, { toleranceSeconds })).toThrow(/toleranceSeconds must be a finite number of seconds, 0 or more/);
      expect(() => verifyWebhook('{}', {}, secret, { toleranceSeconds })).toThrow(RangeError);
    }
    expect(() => createReceiver({ secrets: secret, router: createRouter(), toleranceSeconds: 0 })).not.toThrow();
  });
});
