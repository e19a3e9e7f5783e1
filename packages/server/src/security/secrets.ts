// Endpoint signing secrets: `whsec_` + base64 of random bytes (24 by default), as Svix makes them,
// or an ed25519 secret key `whsk_…` (asymmetric: receivers verify with the `whpk_` public key).
import { generateSecret, parseSecret, publicKeyOf } from '@herald/receiver';
import { invalidBody } from '../domain/errors.js';

const WHSEC = 'whsec_';

export function generateSigningSecret(): string {
  return generateSecret();
}

/** Accept a caller's `whsec_` key (or bare base64) of 24 to 75 bytes, or a `whsk_` ed25519 key. */
export function normalizeSigningSecret(key: string, field: (string | number)[] = ['secret']): string {
  if (key.startsWith('whsk_')) {
    try {
      parseSecret(key);
    } catch (e) {
      throw invalidBody(field, `not a valid whsk_ ed25519 secret key: ${(e as Error).message}`);
    }
    return key;
  }
  const b64 = key.startsWith(WHSEC) ? key.slice(WHSEC.length) : key;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw invalidBody(field, 'secret must be base64, optionally prefixed with whsec_ (or a whsk_ ed25519 key)');
  }
  const n = Buffer.from(b64, 'base64').length;
  if (n < 24 || n > 75) throw invalidBody(field, `secret must decode to 24..75 bytes, got ${n}`);
  return WHSEC + b64;
}

/** What a secret read shows: the secret itself, or for an ed25519 key only its public half. */
export function revealableSecret(secret: string): string {
  return secret.startsWith('whsk_') ? publicKeyOf(secret) : secret;
}
