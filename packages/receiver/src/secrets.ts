/**
 * Signing secrets in Standard Webhooks / Svix format, parsed once into reusable key objects:
 * - `whsec_<base64>`: symmetric HMAC-SHA256 key (`v1` signatures); a bare base64 string is read the same way, as Svix does;
 * - `whsk_<base64(seed ‖ public key)>`: ed25519 secret key, signs `v1a`;
 * - `whpk_<base64(public key)>`: ed25519 public key, verifies `v1a`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';

export interface HmacSecret {
  readonly kind: 'hmac';
  readonly key: Buffer;
}

export interface Ed25519SecretKey {
  readonly kind: 'ed25519-secret';
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export interface Ed25519PublicKey {
  readonly kind: 'ed25519-public';
  readonly publicKey: KeyObject;
}

export type ParsedSecret = HmacSecret | Ed25519SecretKey | Ed25519PublicKey;

/** A secret as configured (string), raw HMAC key bytes, or one already parsed by `parseSecret`. */
export type SecretInput = string | Uint8Array | ParsedSecret;

const STANDARD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ED25519_SEED_BYTES = 32;
const ED25519_PUBLIC_BYTES = 32;

function invalid(message: string): WebhookVerificationError {
  return new WebhookVerificationError('invalid_secret', message);
}

function decodeBase64(text: string, what: string): Buffer {
  // Buffer.from ignores junk characters; a mistyped secret must fail loudly instead.
  if (!STANDARD_BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
    throw invalid(`${what} is not valid base64`);
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0) throw invalid(`${what} is empty`);
  return bytes;
}

// RFC 8410 DER headers: node imports raw ed25519 keys only wrapped in PKCS#8 / SPKI.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function ed25519FromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({ format: 'der', type: 'pkcs8', key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]) });
}

function ed25519Public(raw: Buffer): KeyObject {
  return createPublicKey({ format: 'der', type: 'spki', key: Buffer.concat([SPKI_ED25519_PREFIX, raw]) });
}

function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length);
}

function isParsed(input: SecretInput): input is ParsedSecret {
  return typeof input === 'object' && input !== null && !(input instanceof Uint8Array) && typeof input.kind === 'string';
}

/** Parses a secret once; pass the result to `sign`/`verify` to skip re-decoding on every call. */
export function parseSecret(input: SecretInput): ParsedSecret {
  if (isParsed(input)) return input;
  if (input instanceof Uint8Array) {
    if (input.length === 0) throw invalid('the HMAC key is empty');
    return { kind: 'hmac', key: Buffer.from(input) };
  }
  if (typeof input !== 'string') throw invalid('a secret must be a string, bytes or a parsed secret');
  if (input.startsWith('whsk_')) {
    const bytes = decodeBase64(input.slice(5), 'the whsk_ secret key');
    if (bytes.length !== ED25519_SEED_BYTES && bytes.length !== ED25519_SEED_BYTES + ED25519_PUBLIC_BYTES) {
      throw invalid('a whsk_ secret key must hold a 32-byte seed or 64 bytes (seed ‖ public key)');
    }
    let privateKey: KeyObject;
    try {
      privateKey = ed25519FromSeed(bytes.subarray(0, ED25519_SEED_BYTES));
    } catch (cause) {
      throw new WebhookVerificationError('invalid_secret', 'the whsk_ secret key is not an ed25519 key', { cause });
    }
    const publicKey = createPublicKey(privateKey);
    // A 64-byte key carries its public half: a mismatch means a corrupted or spliced key.
    if (bytes.length === 64 && !rawPublicKey(publicKey).equals(bytes.subarray(ED25519_SEED_BYTES))) {
      throw invalid('the whsk_ secret key’s public half does not match its seed');
    }
    return { kind: 'ed25519-secret', privateKey, publicKey };
  }
  if (input.startsWith('whpk_')) {
    const bytes = decodeBase64(input.slice(5), 'the whpk_ public key');
    if (bytes.length !== ED25519_PUBLIC_BYTES) throw invalid('a whpk_ public key must be 32 bytes');
    try {
      return { kind: 'ed25519-public', publicKey: ed25519Public(bytes) };
    } catch (cause) {
      throw new WebhookVerificationError('invalid_secret', 'the whpk_ public key is not an ed25519 key', { cause });
    }
  }
  const body = input.startsWith('whsec_') ? input.slice(6) : input;
  return { kind: 'hmac', key: decodeBase64(body, 'the whsec_ secret') };
}

/** The `whpk_` public key for a `whsk_` secret key, to hand to receivers. */
export function publicKeyOf(secretKey: string | Ed25519SecretKey | Ed25519PublicKey): string {
  const parsed = parseSecret(secretKey);
  if (parsed.kind === 'hmac') throw invalid('an HMAC secret has no public key');
  return `whpk_${rawPublicKey(parsed.publicKey).toString('base64')}`;
}

/** A new symmetric secret: `whsec_` + base64 of 24 random bytes, the size Svix generates. */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** A new ed25519 key pair in Svix format: `whsk_` + base64(seed ‖ public key), and `whpk_` + base64(public key). */
export function generateKeyPair(): { secretKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length);
  const pub = rawPublicKey(publicKey);
  return {
    secretKey: `whsk_${Buffer.concat([seed, pub]).toString('base64')}`,
    publicKey: `whpk_${pub.toString('base64')}`,
  };
}
