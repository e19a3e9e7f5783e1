// Endpoint signing secrets: `whsec_` + base64 of random bytes (24 by default), as Svix makes them.
import { randomBytes } from 'node:crypto';
import { invalidBody } from '../domain/errors.js';

const WHSEC = 'whsec_';

export function generateSigningSecret(): string {
  return WHSEC + randomBytes(24).toString('base64');
}

/** Accept a caller's `whsec_` key (or bare base64) of 24 to 75 raw bytes; return it prefixed. */
export function normalizeSigningSecret(key: string, field: (string | number)[] = ['secret']): string {
  const b64 = key.startsWith(WHSEC) ? key.slice(WHSEC.length) : key;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw invalidBody(field, 'secret must be base64, optionally prefixed with whsec_');
  }
  const n = Buffer.from(b64, 'base64').length;
  if (n < 24 || n > 75) throw invalidBody(field, `secret must decode to 24..75 bytes, got ${n}`);
  return WHSEC + b64;
}
