// Herald's endpoint health route in the served contract: attempts over time, aggregated on the
// server, for the endpoint page's chart.
import { MAX_BUCKETS } from '../domain/timeseries.js';

type Schema = Record<string, any>;

export function addEndpointTimeseries(doc: Schema): void {
  const s = doc.components.schemas as Schema;
  s.EndpointHealthBucketOut = {
    type: 'object',
    required: ['start', 'succeeded', 'failed', 'p50Ms', 'p95Ms'],
    properties: {
      start: { type: 'string', format: 'date-time', description: "The bucket's start: a whole UTC hour or day." },
      succeeded: { type: 'integer', description: 'Attempts answered with a 2xx.' },
      failed: { type: 'integer', description: 'Every other attempt (error status, timeout, refused connection).' },
      p50Ms: { type: 'integer', nullable: true, description: 'Median attempt duration (nearest rank); null when the bucket has no attempts.' },
      p95Ms: { type: 'integer', nullable: true, description: '95th percentile attempt duration (nearest rank); null when the bucket has no attempts.' },
    },
  };
  s.EndpointTimeseriesOut = {
    type: 'object',
    required: ['buckets'],
    properties: {
      buckets: {
        type: 'array',
        items: { $ref: '#/components/schemas/EndpointHealthBucketOut' },
        description: 'Every bucket of the window, oldest first; empty ones count zero.',
      },
    },
  };
  const stats = doc.paths['/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats']?.get;
  if (!stats) throw new Error('extension targets a missing operation: get endpoint stats');
  const pathParams = (stats.parameters as Schema[]).filter((p) => p.in === 'path');
  const err = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } } });
  doc.paths['/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats/timeseries'] = {
    get: {
      operationId: 'v1.endpoint.get-stats-timeseries',
      summary: 'Endpoint health over time',
      description:
        "Herald: the endpoint's attempts per hour or day (succeeded, failed) and their p50/p95 duration, aggregated on the server. " +
        'Buckets are whole UTC hours or days: the first holds `since`, the last the instant before `until`. ' +
        'Defaults: `until` now, `bucket` hour, `since` 24 buckets back by the hour and 14 by the day. ' +
        `At most ${MAX_BUCKETS} buckets. A portal token reads only its own application's endpoints.`,
      tags: ['Endpoint'],
      parameters: [
        ...pathParams,
        { in: 'query', name: 'since', style: 'form', schema: { type: 'string', format: 'date-time', nullable: true } },
        { in: 'query', name: 'until', style: 'form', schema: { type: 'string', format: 'date-time', nullable: true } },
        { in: 'query', name: 'bucket', style: 'form', schema: { type: 'string', enum: ['hour', 'day'], default: 'hour' } },
      ],
      responses: {
        '200': { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/EndpointTimeseriesOut' } } } },
        '401': err('Unauthorized'),
        '403': err('Forbidden'),
        '404': err('Not Found'),
        '422': {
          description: 'Validation Error: `loc` names the field',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/HTTPValidationError' } } },
        },
        '429': err('Too Many Requests'),
      },
      security: [{ HTTPBearer: [] }],
    },
  };
}

/** The endpoint's circuit and this process's view of its load (`GET …/endpoint/{endpoint_id}/health`). */
export function addEndpointCircuitHealth(doc: Schema): void {
  const s = doc.components.schemas as Schema;
  const time = (description: string) => ({ type: 'string', format: 'date-time', nullable: true, description });
  s.EndpointCircuitHealthOut = {
    type: 'object',
    required: ['circuit', 'since', 'consecutiveFailures', 'nextProbeAt', 'inFlight', 'concurrencyLimit'],
    properties: {
      circuit: {
        type: 'string',
        enum: ['closed', 'open', 'half-open'],
        description:
          '`open`: failures in a row (HERALD_CIRCUIT_FAILURES) opened it; due deliveries are held without using up retries. ' +
          '`half-open`: one delivery is probing the endpoint. `closed`: deliveries go out.',
      },
      since: time('When the circuit opened (open, half-open) or last closed (closed); null if it never opened.'),
      consecutiveFailures: { type: 'integer', description: 'Failures in a row that count against the circuit: timeouts, connection errors, 5xx and 429.' },
      nextProbeAt: time('When one delivery may probe the endpoint next (open), or when the probe in flight is given up (half-open); null when closed.'),
      inFlight: { type: 'integer', description: 'Deliveries to the endpoint in flight in the answering process (each worker process has its own).' },
      concurrencyLimit: {
        type: 'integer',
        description: "The answering process's adaptive limit of deliveries in flight to the endpoint, between 1 and HERALD_ENDPOINT_CONCURRENCY.",
      },
    },
  };
  const ep = doc.paths['/api/v1/app/{app_id}/endpoint/{endpoint_id}']?.get;
  if (!ep) throw new Error('extension targets a missing operation: get endpoint');
  const err = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } } });
  doc.paths['/api/v1/app/{app_id}/endpoint/{endpoint_id}/health'] = {
    get: {
      operationId: 'v1.endpoint.get-health',
      summary: 'Endpoint circuit and load',
      description:
        "Herald: the endpoint's circuit breaker, as stored (every worker process sees the same), and the answering process's " +
        'own view of its deliveries in flight and adaptive concurrency limit. Times are ISO 8601 or null. A portal token ' +
        "reads only its own application's endpoints.",
      tags: ['Endpoint'],
      parameters: (ep.parameters as Schema[]).filter((p) => p.in === 'path'),
      responses: {
        '200': { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/EndpointCircuitHealthOut' } } } },
        '401': err('Unauthorized'),
        '403': err('Forbidden'),
        '404': err('Not Found'),
        '429': err('Too Many Requests'),
      },
      security: [{ HTTPBearer: [] }],
    },
  };
}
