// The pieces Herald's additions to the served contract (extensions-*.ts) build their operations
// from, in the shapes of the vendored Svix document.

export type Schema = Record<string, any>;

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A path parameter that names an object by its id or uid, as Svix's document writes them. */
export function idParam(name: string, opts: { what?: string; example?: string } = {}) {
  return {
    in: 'path',
    name,
    required: true,
    style: 'simple',
    ...(opts.what ? { description: `The ${opts.what}'s ID or UID.` } : {}),
    schema: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[a-zA-Z0-9\\-_.]+$', example: opts.example ?? 'unique-identifier' },
  };
}

/** An error answer in Svix's shape. */
export const err = (description: string) => ({ description, content: { 'application/json': { schema: ref('HttpErrorOut') } } });

/** The error answers every operation may give; 409 for those that can conflict. */
export function errorResponses(conflict: boolean): Schema {
  return {
    '401': err('Unauthorized'),
    '403': err('Forbidden'),
    '404': err('Not Found'),
    ...(conflict ? { '409': err('Conflict') } : {}),
    '422': { description: 'Validation Error', content: { 'application/json': { schema: ref('HTTPValidationError') } } },
    '429': err('Too Many Requests'),
  };
}
