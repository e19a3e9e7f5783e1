/**
 * The receiving pipeline every adapter shares: source IP → size → signature → dedupe → envelope →
 * decrypt → route. Framework adapters only translate their request into `InboundRequest` and the
 * `ReceiverResponse` back, so every framework behaves the same.
 */
import { decryptEnvelope, EngageError, parseEncryptionKey, parseEnvelope, type EngageErrorCode, type EngageKey } from '@herald/engage';
import { createMemoryDedupeStore, type DedupeStore } from './dedupe.js';
import { WebhookVerificationError, type VerificationFailureReason } from './errors.js';
import { getHeader, type HeadersLike } from './headers.js';
import { createClientIpResolver, createIpAllowlist, isIpAllowlist, type IpAllowlist } from './ip.js';
import type { EngageRouter } from './router.js';
import type { SecretInput } from './secrets.js';
import { traced } from './tracing.js';
import { createVerifier, type VerifyOptions } from './verify.js';
import type { Tracer } from '@opentelemetry/api';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface ReceiverOptions {
  /** Signing secret(s): `whsec_…` and/or `whpk_…`; list current and previous during rotation. */
  secrets: SecretInput | readonly SecretInput[];
  /** Where verified, decrypted events go. */
  router: EngageRouter;
  /**
   * The 32-character Engage key, when payload encryption is on. While the key is rotated, list the
   * new and the old key (newest first): messages sent before the switch, and their retries, keep
   * the old key's ciphertext; each payload is opened with the first key that fits.
   */
  encryptionKey?: string | EngageKey | readonly (string | EngageKey)[] | undefined;
  /** Source addresses/CIDRs allowed to call (e.g. Svix's EU IPs). Absent: any source. */
  allowlist?: readonly string[] | IpAllowlist | undefined;
  /** Your own proxies, whose X-Forwarded-For is believed. Absent: the socket address is the client. */
  trustedProxies?: readonly string[] | IpAllowlist | undefined;
  /** Dedupe by webhook id. Default: a bounded in-memory store. `false` turns it off. */
  dedupe?: DedupeStore | false | undefined;
  /** Largest body accepted, bytes. Default 1 MiB. */
  maxBodyBytes?: number | undefined;
  /** Timestamp tolerance, seconds. Default 300. */
  toleranceSeconds?: number | undefined;
  /** Clock in epoch ms; inject in tests. */
  now?: (() => number) | undefined;
  /** Called with every refused or failed delivery, for logging. Never throws into the pipeline. */
  onError?: ((error: ReceiverError) => void) | undefined;
  /**
   * An OpenTelemetry tracer (from `@opentelemetry/api`, an optional peer dependency): each
   * verified delivery is a `herald.receive` span continuing the sender's `traceparent`, and the
   * handler runs inside it. Absent: no span, and the handler's context carries the header as sent.
   */
  tracer?: Tracer | undefined;
}

export interface InboundRequest {
  rawBody: string | Uint8Array;
  headers: HeadersLike;
  /** The socket peer address. */
  remoteAddress: string | undefined;
}

export type ReceiverErrorCode = VerificationFailureReason | EngageErrorCode | 'ip_not_allowed' | 'payload_too_large' | 'handler_failed';

export interface ReceiverResponse {
  status: number;
  body: { ok: true; duplicate?: true } | { code: ReceiverErrorCode; detail: string };
}

/** A refused or failed delivery, as given to `onError`. */
export class ReceiverError extends Error {
  override readonly name = 'ReceiverError';
  constructor(
    readonly code: ReceiverErrorCode,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const STATUS: Record<ReceiverErrorCode, number> = {
  missing_headers: 400,
  invalid_timestamp: 400,
  timestamp_too_old: 401,
  timestamp_too_new: 401,
  no_matching_signature: 401,
  invalid_payload: 400,
  invalid_envelope: 400,
  invalid_ciphertext: 400,
  invalid_payload_json: 400,
  ip_not_allowed: 403,
  payload_too_large: 413,
  // Receiver-side misconfiguration: 5xx so the sender retries once it is fixed.
  invalid_secret: 500,
  invalid_key: 500,
  missing_key: 500,
  raw_body_unavailable: 500,
  handler_failed: 500,
};

/**
 * What the sender is told when a handler fails. Never the error itself: the sender stores the
 * answer in its attempt log (for Engage, in Voyado's log), and an error text may carry a
 * connection string, a host or a secret. The error goes to `onError`.
 */
export const HANDLER_FAILED_DETAIL = 'the event handler failed; the receiver logged the cause';

export interface Receiver {
  readonly maxBodyBytes: number;
  /** The source-IP check alone, so adapters can refuse before reading the body. */
  checkSource(headers: HeadersLike, remoteAddress: string | undefined): ReceiverResponse | undefined;
  /** The whole pipeline. Never throws: failures come back as 4xx/5xx responses. */
  handle(request: InboundRequest): Promise<ReceiverResponse>;
  /** A refusal response in the receiver's format (adapters use it for size limits etc.). */
  refuse(code: ReceiverErrorCode, detail: string, cause?: unknown): ReceiverResponse;
}

function toList<T>(value: readonly T[] | T): readonly T[] {
  return Array.isArray(value) ? value : [value as T];
}

export function createReceiver(options: ReceiverOptions): Receiver {
  const verifyOptions: VerifyOptions = { toleranceSeconds: options.toleranceSeconds, now: options.now };
  const verifier = createVerifier(toList(options.secrets), verifyOptions);
  // Parsed once, up front: a malformed key is a configuration error, not a per-request failure.
  const keys = options.encryptionKey === undefined ? undefined : toList(options.encryptionKey).map((k) => (typeof k === 'string' ? parseEncryptionKey(k) : k));
  const allowlist = options.allowlist === undefined ? undefined : isIpAllowlist(options.allowlist) ? options.allowlist : createIpAllowlist(options.allowlist);
  const clientIp = createClientIpResolver({ trustedProxies: options.trustedProxies });
  const dedupe = options.dedupe === false ? undefined : (options.dedupe ?? createMemoryDedupeStore({ now: options.now }));
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // Concurrent deliveries of one id (a retry racing a slow first attempt) share one processing.
  const inFlight = new Map<string, Promise<ReceiverResponse>>();

  function refuse(code: ReceiverErrorCode, detail: string, cause?: unknown): ReceiverResponse {
    const status = STATUS[code];
    if (options.onError) {
      try {
        options.onError(new ReceiverError(code, status, detail, { cause }));
      } catch {
        // Logging must not change the answer.
      }
    }
    // Refusals describe the request, which the sender may know; a handler failure is ours alone.
    return { status, body: { code, detail: code === 'handler_failed' ? HANDLER_FAILED_DETAIL : detail } };
  }

  function fromError(err: unknown): ReceiverResponse {
    if (err instanceof WebhookVerificationError) return refuse(err.reason, err.message, err);
    if (err instanceof EngageError) return refuse(err.code, err.message, err);
    const message = err instanceof Error ? err.message : String(err);
    return refuse('handler_failed', `the event handler failed: ${message}`, err);
  }

  function checkSource(headers: HeadersLike, remoteAddress: string | undefined): ReceiverResponse | undefined {
    if (allowlist === undefined) return undefined;
    const ip = clientIp(remoteAddress, headers);
    if (allowlist.allows(ip)) return undefined;
    return refuse('ip_not_allowed', `source address ${ip ?? '(unknown)'} is not allowed`);
  }

  async function process(id: string, timestamp: number, payload: unknown, traceparent: string | undefined): Promise<ReceiverResponse> {
    try {
      if (dedupe && (await dedupe.has(id))) return { status: 200, body: { ok: true, duplicate: true } };
      const event = decryptEnvelope(parseEnvelope(payload), keys);
      await options.router.dispatch(event, traceparent === undefined ? { webhookId: id, timestamp } : { webhookId: id, timestamp, traceparent });
      if (dedupe) await dedupe.add(id);
      return { status: 200, body: { ok: true } };
    } catch (err) {
      return fromError(err);
    }
  }

  async function handle(request: InboundRequest): Promise<ReceiverResponse> {
    const refused = checkSource(request.headers, request.remoteAddress);
    if (refused) return refused;
    const size = typeof request.rawBody === 'string' ? Buffer.byteLength(request.rawBody) : request.rawBody.byteLength;
    if (size > maxBodyBytes) return refuse('payload_too_large', `the body is larger than ${maxBodyBytes} bytes`);
    let verified: ReturnType<typeof verifier>;
    try {
      // Dedupe only after verification: unsigned requests must not be able to burn ids.
      verified = verifier(request.rawBody, request.headers);
    } catch (err) {
      return fromError(err);
    }
    const running = inFlight.get(verified.id);
    if (running) return running;
    const { id, timestamp, payload } = verified;
    const traceparent = getHeader(request.headers, 'traceparent');
    const { tracer } = options;
    const result = tracer ? traced(tracer, traceparent, id, (own) => process(id, timestamp, payload, own)) : process(id, timestamp, payload, traceparent);
    inFlight.set(verified.id, result);
    try {
      return await result;
    } finally {
      inFlight.delete(verified.id);
    }
  }

  return { maxBodyBytes, checkSource, handle, refuse };
}
