// The readiness probe (Svix has liveness only) and the version operation: Herald additions to the
// contract, under the Health tag. The version route itself is in routes/version.ts.
type Schema = Record<string, any>;

export function addReadiness(doc: Schema): void {
  const error = { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } };
  doc.paths['/api/v1/health/ready'] = {
    get: {
      operationId: 'v1.health.ready',
      summary: 'Readiness',
      description:
        'Herald: whether this process can take writes, for load balancers. 200 while the store takes writes; 503 with ' +
        '`{code, detail}` and `Retry-After` when it does not: `store_unavailable` (the database cannot be reached, is ' +
        'shutting down, or refused recent writes) or `insufficient_storage` (its disk is full). `GET /api/v1/health` ' +
        'stays a liveness check that asks nothing of the store. No authentication.',
      tags: ['Health'],
      responses: {
        '200': {
          description: 'The store takes writes',
          content: {
            'application/json': {
              schema: { type: 'object', properties: { status: { type: 'string', enum: ['ready'] }, store: { type: 'string', enum: ['sqlite', 'postgres'] } } },
            },
          },
        },
        '503': { description: 'The store does not take writes now; the body says why', content: error },
      },
      security: [],
    },
  };
}

/** `GET /api/v1/version`'s entry in the OpenAPI document. */
export function addVersionOperation(doc: Schema): void {
  (doc.components.schemas as Schema).VersionOut = {
    type: 'object',
    required: ['version', 'schemaVersion'],
    properties: {
      version: { type: 'string', example: '0.1.0', description: "This Herald's version." },
      schemaVersion: { type: 'integer', example: 10, description: 'The database schema version it runs on (its latest migration).' },
    },
  };
  const err = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } } });
  doc.paths['/api/v1/version'] = {
    get: {
      operationId: 'v1.version.get',
      summary: 'Get the version',
      description: "Herald: this process's version and the schema version of its database, e.g. to follow a rolling upgrade. Operator token only.",
      tags: ['Health'],
      responses: {
        '200': { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/VersionOut' } } } },
        '401': err('Unauthorized'),
        '403': err('Forbidden'),
      },
      security: [{ HTTPBearer: [] }],
    },
  };
}
