/**
 * Why verification failed. Stable codes: callers and the gateway map them to responses.
 * `invalid_secret` and `raw_body_unavailable` are problems on the receiving side (a bad secret, a
 * body parser that ran first), not bad requests.
 */
export type VerificationFailureReason =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature'
  | 'invalid_payload'
  | 'invalid_secret'
  | 'raw_body_unavailable';

/** The one error `verify`, `sign` and `parseSecret` throw for webhook problems. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  readonly reason: VerificationFailureReason;

  constructor(reason: VerificationFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}
