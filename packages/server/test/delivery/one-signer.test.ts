// One implementation of the signature scheme (DESIGN.md, packages table): the server signs
// deliveries by calling @herald/receiver's `sign`, and computes no webhook signature of its own.
// The source scan keeps a second HMAC/ed25519 signer from creeping back into packages/server/src;
// the behavioural check proves the headers the sender builds are exactly what `sign` produces.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, generateSecret, parseSecret, sign, verifyWebhook } from '@herald/receiver';
import { afterAll, describe, expect, it } from 'vitest';
import { Sender } from '../../src/delivery/send.js';
import { SsrfGuard } from '../../src/security/ssrf.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|tsx|mts)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

// api/auth.ts HMACs portal session tokens with a key derived from the master key: a different
// scheme, never a webhook signature. Anything else that reaches for these primitives is suspect.
const ALLOWED_HMAC = new Set(['api/auth.ts']);

describe('the server has one webhook signer: @herald/receiver sign', () => {
  const files = sources(SRC);

  it('scans the server sources', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('computes no HMAC outside portal-token auth, and no ed25519 signature at all', () => {
    const offenders: string[] = [];
    for (const file of files) {
      const name = relative(SRC, file).split('\\').join('/');
      const text = readFileSync(file, 'utf8');
      if (/\bcreateHmac\b|\bsubtle\.sign\b|['"]HMAC['"]/.test(text) && !ALLOWED_HMAC.has(name)) offenders.push(`${name}: HMAC`);
      // node:crypto's one-shot sign (ed25519), imported or called through the namespace.
      if (/import\s*\{[^}]*\bsign\b[^}]*\}\s*from\s*['"](node:)?crypto['"]|\bcrypto\.sign\s*\(|\bcreateSign\b/.test(text)) {
        offenders.push(`${name}: node:crypto sign`);
      }
      // The receiver's lower-level pieces would let a second join/encoding of the header grow here.
      if (/import\s*\{[^}]*\b(signOne|hmacDigest|signedContent)\b[^}]*\}\s*from\s*['"]@herald\/receiver['"]/.test(text)) {
        offenders.push(`${name}: imports a signing building block instead of sign`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('delivery/send.ts signs with sign() from @herald/receiver', () => {
    const text = readFileSync(join(SRC, 'delivery/send.ts'), 'utf8');
    expect(text).toMatch(/import\s*\{[^}]*\bsign\b[^}]*\}\s*from\s*['"]@herald\/receiver['"]/);
    expect(text).toMatch(/\bsign\(\{/);
  });

  describe('the headers the sender builds', () => {
    const sender = new Sender({ timeoutMs: 1000, headerPrefixes: ['svix', 'webhook'], userAgent: 'test', guard: new SsrfGuard(['127.0.0.0/8']) });
    afterAll(() => sender.close());

    it('carry exactly sign()’s header for a rotation set of HMAC and ed25519 secrets, and verify', () => {
      const hmac = generateSecret();
      const previous = generateSecret();
      const pair = generateKeyPair();
      const secrets = [hmac, previous, pair.secretKey].map(parseSecret);
      const body = '{"eventType":"point.balance.updated","payload":{"balance":1.5}}';
      const ts = Math.floor(Date.now() / 1000);
      const h = sender.headersFor({ url: 'http://127.0.0.1:1/', msgId: 'msg_one_signer', body, secrets, headers: {}, timestampSeconds: ts });
      const expected = sign({ id: 'msg_one_signer', timestamp: ts, body, secrets });
      expect(h['svix-signature']).toBe(expected);
      expect(h['webhook-signature']).toBe(expected);
      expect(expected.split(' ').map((e) => e.slice(0, e.indexOf(',')))).toEqual(['v1', 'v1', 'v1a']);
      for (const key of [hmac, previous, pair.publicKey]) {
        expect(verifyWebhook(body, h, key).id).toBe('msg_one_signer');
      }
    });
  });
});
