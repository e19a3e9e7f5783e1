/**
 * Why verification failed. Stable codes: callers and the gateway map them to responses.
 * `invalid_secret` is a configuration problem on the receiving side, not a bad request.
 */
export type VerificationFailureReason =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature'
  | 'invalid_payload'
  | 'invalid_secret';

/** The one error `verify`, `sign` and `parseSecret` throw for webhook problems. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  readonly reason: VerificationFailureReason;

  constructor(reason: VerificationFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}
