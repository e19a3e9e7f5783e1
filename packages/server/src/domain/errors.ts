// The few error types Herald raises. The API maps them once to Svix's wire bodies:
// `{code, detail}` for HttpError, and 422 `{detail: [{loc, msg, type}]}` for ValidationError.

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'HttpError';
  }
}

export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class ValidationError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(issues.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; '));
    this.name = 'ValidationError';
  }
}

/** One field problem in a request body, as a 422. */
export function invalidBody(field: (string | number)[] | string, msg: string, type = 'value_error'): ValidationError {
  const loc = typeof field === 'string' ? [field] : field;
  return new ValidationError([{ loc: ['body', ...loc], msg, type }]);
}

export const notFound = (what = 'Entity') => new HttpError(404, 'not_found', `${what} not found`);
export const conflict = (detail = 'A conflict has occurred', code = 'conflict') => new HttpError(409, code, detail);
export const badRequest = (detail: string, code = 'generic_error') => new HttpError(400, code, detail);
export const unauthorized = (detail = 'Invalid token') => new HttpError(401, 'authentication_failed', detail);
export const forbidden = (detail = 'Insufficient access for the given operation.') => new HttpError(403, 'insufficient access', detail);
export const payloadTooLarge = (detail = 'Request payload is too large.') => new HttpError(413, 'payload_too_large', detail);
/** Engage: the tenant's webhooks module is off (the operator turns it on), so nothing is emitted. */
export const MODULE_DISABLED_DETAIL = "This application's webhooks module is off: the operator turns it on with PUT /api/v1/app/{app_id}/engage/module";
export const moduleDisabled = (detail = MODULE_DISABLED_DETAIL) => new HttpError(409, 'module_disabled', detail);
