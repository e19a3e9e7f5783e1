/**
 * Standard Webhooks verification, as Svix sends it: `svix-*` or `webhook-*` headers, `v1` HMAC and
 * `v1a` ed25519 entries, several entries and several secrets (rotation), ±5 min timestamp window.
 */
import { timingSafeEqual, verify as edVerify } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';
import { getHeader, type HeadersLike } from './headers.js';
import { parseSecret, type ParsedSecret, type SecretInput } from './secrets.js';
import { hmacDigest, signedContent, type WebhookBody } from './sign.js';

export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export interface VerifyOptions {
  /** Allowed clock difference either way, seconds. Default 300. */
  toleranceSeconds?: number | undefined;
  /** Clock in epoch milliseconds; inject it in tests. Default `Date.now`. */
  now?: (() => number) | undefined;
}

export interface VerifiedWebhook {
  /** The message id: the same on every retry, so it is the dedupe key. */
  id: string;
  /** Unix seconds the sender signed at. */
  timestamp: number;
  /** The parsed JSON body. */
  payload: unknown;
}

const HMAC_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;
const DIGITS = /^\d{1,15}$/;

interface SignatureHeaders {
  id: string;
  timestamp: string;
  signature: string;
}

function readHeaders(headers: HeadersLike): SignatureHeaders {
  if (typeof headers !== 'object' || headers === null) {
    throw new WebhookVerificationError('missing_headers', 'no request headers were given to verify');
  }
  // Take all three from one family, so a stray header of the other family cannot mix in.
  for (const prefix of ['svix', 'webhook'] as const) {
    const id = getHeader(headers, `${prefix}-id`);
    if (id === undefined) continue;
    const timestamp = getHeader(headers, `${prefix}-timestamp`);
    const signature = getHeader(headers, `${prefix}-signature`);
    if (!id || !timestamp || !signature?.trim()) break;
    return { id, timestamp, signature };
  }
  throw new WebhookVerificationError(
    'missing_headers',
    'missing webhook headers: need svix-id, svix-timestamp and svix-signature (or the webhook-* equivalents)',
  );
}

function checkTimestamp(raw: string, options: VerifyOptions | undefined): number {
  if (!DIGITS.test(raw)) throw new WebhookVerificationError('invalid_timestamp', 'the timestamp header is not unix seconds');
  const timestamp = Number(raw);
  const tolerance = options?.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor((options?.now ?? Date.now)() / 1000);
  if (timestamp < now - tolerance) throw new WebhookVerificationError('timestamp_too_old', 'the message timestamp is too old');
  if (timestamp > now + tolerance) throw new WebhookVerificationError('timestamp_too_new', 'the message timestamp is too new');
  return timestamp;
}

/**
 * Canonical, padded standard base64 only, as `standardwebhooks` and Svix compare: Buffer.from
 * would also take the unpadded and URL-safe forms and skip junk characters, so one signature
 * would verify under many header strings.
 */
function decodeSignature(text: string, expectedBytes: number): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== expectedBytes || bytes.toString('base64') !== text) return undefined;
  return bytes;
}

function parseEntries(header: string): { v1: Buffer[]; v1a: Buffer[] } {
  const v1: Buffer[] = [];
  const v1a: Buffer[] = [];
  for (const entry of header.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0) continue;
    const version = entry.slice(0, comma);
    // Unknown versions are skipped, not fatal: senders may add schemes before receivers know them.
    if (version === 'v1') {
      const sig = decodeSignature(entry.slice(comma + 1), HMAC_BYTES);
      if (sig) v1.push(sig);
    } else if (version === 'v1a') {
      const sig = decodeSignature(entry.slice(comma + 1), ED25519_SIGNATURE_BYTES);
      if (sig) v1a.push(sig);
    }
  }
  return { v1, v1a };
}

function anySignatureMatches(secrets: readonly ParsedSecret[], id: string, timestamp: number, body: WebhookBody, header: string): boolean {
  const { v1, v1a } = parseEntries(header);
  let content: Buffer | undefined;
  for (const secret of secrets) {
    if (secret.kind === 'hmac') {
      if (v1.length === 0) continue;
      const expected = hmacDigest(secret.key, id, timestamp, body);
      // Constant time per comparison; which entry matched is not secret.
      if (v1.some((sig) => timingSafeEqual(sig, expected))) return true;
    } else if (v1a.length > 0) {
      content ??= signedContent(id, timestamp, body);
      for (const sig of v1a) {
        if (edVerify(null, content, secret.publicKey, sig)) return true;
      }
    }
  }
  return false;
}

function toSecretList(secrets: SecretInput | readonly SecretInput[]): ParsedSecret[] {
  const list = Array.isArray(secrets) ? secrets : [secrets as SecretInput];
  if (list.length === 0) throw new WebhookVerificationError('invalid_secret', 'no secret configured to verify with');
  return list.map(parseSecret);
}

function checkBody(rawBody: unknown): asserts rawBody is WebhookBody {
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
    // A parsed object means a JSON body parser ran first: re-serialising it would not match the signature.
    throw new WebhookVerificationError(
      'raw_body_unavailable',
      'verify needs the raw request body (string or bytes), not a parsed object: read the body before any JSON parser does',
    );
  }
}

function verifyWith(secrets: readonly ParsedSecret[], rawBody: WebhookBody, headers: HeadersLike, options: VerifyOptions | undefined): VerifiedWebhook {
  checkBody(rawBody);
  const h = readHeaders(headers);
  const timestamp = checkTimestamp(h.timestamp, options);
  if (!anySignatureMatches(secrets, h.id, timestamp, rawBody, h.signature)) {
    throw new WebhookVerificationError('no_matching_signature', 'no signature matches any configured secret');
  }
  const text = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength).toString('utf8');
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (cause) {
    throw new WebhookVerificationError('invalid_payload', 'the verified body is not JSON', { cause });
  }
  return { id: h.id, timestamp, payload };
}

/** Verifies and returns the id, timestamp and parsed payload. Throws `WebhookVerificationError`. */
export function verifyWebhook(
  rawBody: WebhookBody,
  headers: HeadersLike,
  secrets: SecretInput | readonly SecretInput[],
  options?: VerifyOptions,
): VerifiedWebhook {
  checkBody(rawBody);
  checkTolerance(options?.toleranceSeconds);
  return verifyWith(toSecretList(secrets), rawBody, headers, options);
}

/** Verifies a webhook and returns its parsed JSON payload. Throws `WebhookVerificationError`. */
export function verify(rawBody: WebhookBody, headers: HeadersLike, secrets: SecretInput | readonly SecretInput[], options?: VerifyOptions): unknown {
  return verifyWebhook(rawBody, headers, secrets, options).payload;
}

export type Verifier = (rawBody: WebhookBody, headers: HeadersLike) => VerifiedWebhook;

/** A tolerance that is negative or not a number would refuse every message: fail when configured. */
export function checkTolerance(toleranceSeconds: number | undefined): void {
  if (toleranceSeconds === undefined) return;
  if (typeof toleranceSeconds !== 'number' || !Number.isFinite(toleranceSeconds) || toleranceSeconds < 0) {
    throw new RangeError(`toleranceSeconds must be a finite number of seconds, 0 or more; got ${String(toleranceSeconds)}`);
  }
}

/** A verifier with its secrets parsed once, for hot paths. */
export function createVerifier(secrets: SecretInput | readonly SecretInput[], options?: VerifyOptions): Verifier {
  checkTolerance(options?.toleranceSeconds);
  const parsed = toSecretList(secrets);
  return (rawBody, headers) => verifyWith(parsed, rawBody, headers, options);
}
