export type EngageErrorCode =
  | 'invalid_key'
  | 'missing_key'
  | 'invalid_ciphertext'
  | 'invalid_payload_json'
  | 'invalid_envelope';

/** The one error type of this package; `code` is stable, the message is for humans. */
export class EngageError extends Error {
  override readonly name = 'EngageError';
  readonly code: EngageErrorCode;

  constructor(code: EngageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
