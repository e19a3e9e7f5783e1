/**
 * Standard Webhooks signing: `v1,` HMAC-SHA256 and `v1a,` ed25519 over `${id}.${timestamp}.${body}`.
 * This is the one implementation of the scheme; the server signs deliveries with it.
 */
import { createHmac, sign as edSign } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';
import { parseSecret, type ParsedSecret, type SecretInput } from './secrets.js';

export type WebhookBody = string | Uint8Array;

export interface SignInput {
  /** The message id (`msg_…`), identical on every attempt. */
  id: string;
  /** Unix seconds, or a Date (rounded down to the second). */
  timestamp: number | Date;
  /** The exact bytes that will be sent. */
  body: WebhookBody;
  /** One secret, or several during rotation (current first). Parse them once with `parseSecret` for speed. */
  secrets: SecretInput | readonly SecretInput[];
}

/** Unix seconds as the header carries them. */
export function toUnixSeconds(timestamp: number | Date): number {
  const seconds = timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp;
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new RangeError('the timestamp must be a non-negative integer number of seconds');
  }
  return seconds;
}

/** `${id}.${timestamp}.` as bytes, followed by the body: what both signature versions sign. */
export function signedContent(id: string, timestamp: number, body: WebhookBody): Buffer {
  const prefix = Buffer.from(`${id}.${timestamp}.`, 'utf8');
  return Buffer.concat([prefix, typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
}

/** HMAC-SHA256 digest of the signed content, raw bytes (avoids building the concatenation). */
export function hmacDigest(key: Buffer, id: string, timestamp: number, body: WebhookBody): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
}

/** One signature entry, e.g. `v1,<base64>` or `v1a,<base64>`. Public keys cannot sign. */
export function signOne(secret: ParsedSecret, id: string, timestamp: number, body: WebhookBody): string {
  switch (secret.kind) {
    case 'hmac':
      return `v1,${hmacDigest(secret.key, id, timestamp, body).toString('base64')}`;
    case 'ed25519-secret':
      return `v1a,${edSign(null, signedContent(id, timestamp, body), secret.privateKey).toString('base64')}`;
    case 'ed25519-public':
      throw new WebhookVerificationError('invalid_secret', 'a whpk_ public key can verify but not sign');
  }
}

/** The signature header value: one entry per secret, space-separated, in the order given. */
export function sign(input: SignInput): string {
  const secrets = Array.isArray(input.secrets) ? input.secrets : [input.secrets as SecretInput];
  if (secrets.length === 0) throw new WebhookVerificationError('invalid_secret', 'at least one secret is needed to sign');
  const timestamp = toUnixSeconds(input.timestamp);
  return secrets.map((s) => signOne(parseSecret(s), input.id, timestamp, input.body)).join(' ');
}

export type HeaderPrefix = 'svix' | 'webhook';

/**
 * The three headers of a signed delivery. `svix-*` by default, as Svix (and so Engage) sends;
 * `webhook-*` for Standard Webhooks receivers.
 */
export function signatureHeaders(input: SignInput & { prefix?: HeaderPrefix | undefined }): Record<string, string> {
  const prefix = input.prefix ?? 'svix';
  return {
    [`${prefix}-id`]: input.id,
    [`${prefix}-timestamp`]: String(toUnixSeconds(input.timestamp)),
    [`${prefix}-signature`]: sign(input),
  };
}
