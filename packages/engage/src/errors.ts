export type EngageErrorCode = 'invalid_key' | 'missing_key' | 'invalid_ciphertext' | 'invalid_payload_json' | 'invalid_envelope';

/** The one error type of this package; `code` is stable, the message is for humans. */
export class EngageError extends Error {
  override readonly name = 'EngageError';
  readonly code: EngageErrorCode;

  constructor(code: EngageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export type EngageInputErrorCode =
  /** A change-detector input that breaks the rules (a server answers 422). */
  | 'invalid_input'
  /** The input contradicts what already exists, e.g. a voucher id reused with other content (409). */
  | 'conflict';

/**
 * What the change detector throws for bad input. Separate from EngageError, whose codes are about
 * receiving (the receiver kit maps each of those to a status); `field` names the offending input
 * field, e.g. `consents[1].value`, so an API can say what is wrong.
 */
export class EngageInputError extends Error {
  override readonly name = 'EngageInputError';
  readonly code: EngageInputErrorCode;
  readonly field: string;

  constructor(code: EngageInputErrorCode, field: string, message: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}
