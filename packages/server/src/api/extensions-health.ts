// The readiness probe, a Herald addition to the contract (Svix has liveness only).
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
          content: { 'application/json': { schema: { type: 'object', properties: { status: { type: 'string', enum: ['ready'] }, store: { type: 'string', enum: ['sqlite', 'postgres'] } } } } },
        },
        '503': { description: 'The store does not take writes now; the body says why', content: error },
      },
      security: [],
    },
  };
}
