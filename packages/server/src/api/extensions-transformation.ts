// An endpoint's transformation in the served contract: Svix's routes and models
// (`…/transformation`, `…/transformation/simulate`; the vendored Svix document predates them), with
// Herald's additions marked "Herald:".
import { errorResponses, idParam, ref, type Schema } from './openapi-parts.js';
import { TRANSFORMATION_CPU_MS, TRANSFORMATION_MAX_BYTES, TRANSFORMATION_MEMORY_BYTES } from '../domain/transformation.js';

const op = (o: Schema) => ({
  tags: ['Endpoint'],
  parameters: [idParam('app_id', { what: 'Application' }), idParam('endpoint_id', { what: 'Endpoint' })],
  security: [{ HTTPBearer: [] }],
  ...o,
  responses: { ...o.responses, ...errorResponses(false) },
});

const SANDBOX =
  `The code runs in QuickJS compiled to WebAssembly, one fresh runtime per run, with no filesystem, network, timers, process or module loading, ` +
  `at most ${TRANSFORMATION_CPU_MS} ms of CPU and ${TRANSFORMATION_MEMORY_BYTES / 1048576} MB of memory.`;

export function addTransformation(doc: Schema): void {
  const s = doc.components.schemas as Schema;
  // Svix's newer SDKs know Canceled = 4; the vendored document predates it.
  s.MessageStatus.enum = [0, 1, 2, 3, 4];
  s.MessageStatus['x-enum-varnames'] = [...s.MessageStatus['x-enum-varnames'], 'Canceled'];
  s.MessageStatus.description +=
    "\n- Canceled = 4 (the delivery ended without being sent: the endpoint's transformation canceled it, or the endpoint was deleted or disabled)";
  const code = {
    type: 'string',
    nullable: true,
    minLength: 1,
    maxLength: TRANSFORMATION_MAX_BYTES,
    description:
      'JavaScript declaring `function handler(webhook)`. It receives `{method, url, eventType, payload, headers}` (`headers`: the ' +
      "endpoint's custom headers) and returns the webhook, changed: `payload` is sent as its JSON text and signed as sent; `url` " +
      "replaces the endpoint's URL for this delivery (checked by the SSRF guard); `headers` replace the custom headers; `method` is " +
      `"POST" or "PUT"; \`cancel: true\` sends nothing and ends the delivery canceled. At most ${TRANSFORMATION_MAX_BYTES} bytes; ` +
      'Herald: saving code that does not compile, or does not declare `handler`, is a 422 naming the error. `null` removes the code.',
  };
  const variables = {
    type: 'object',
    additionalProperties: { type: 'string' },
    nullable: true,
    description: 'Herald: not supported; an empty object or null is accepted, anything else is a 422.',
  };
  s.EndpointTransformationPatch = {
    type: 'object',
    properties: {
      code,
      enabled: { type: 'boolean', description: 'Whether deliveries go through the code. Herald: `true` needs code.' },
      variables,
    },
  };
  s.EndpointTransformationOut = {
    type: 'object',
    properties: {
      code: { type: 'string', nullable: true },
      enabled: { type: 'boolean' },
      updatedAt: { type: 'string', format: 'date-time', nullable: true, description: 'When the code or the switch last changed.' },
    },
  };
  s.EndpointTransformationSimulateIn = {
    type: 'object',
    required: ['code', 'eventType', 'payload'],
    properties: {
      code: { ...code, nullable: false },
      eventType: { type: 'string', maxLength: 256, example: 'user.signup' },
      payload: { type: 'object', description: 'The sample payload the handler receives.' },
      channels: { type: 'array', items: { type: 'string' }, nullable: true, description: 'Accepted for Svix compatibility; not given to the handler.' },
    },
  };
  s.EndpointTransformationSimulateOut = {
    type: 'object',
    required: ['cancel'],
    properties: {
      method: { type: 'string', enum: ['POST', 'PUT'], nullable: true },
      url: { type: 'string', nullable: true },
      payload: { type: 'string', nullable: true, description: 'The body that would be sent and signed.' },
      headers: {
        type: 'object',
        additionalProperties: { type: 'string' },
        nullable: true,
        description: "Herald: the custom headers that would be sent (credential-bearing ones are left out of the handler's input).",
      },
      cancel: { type: 'boolean', description: 'Herald: true when the handler canceled the delivery (the other fields are then null).' },
    },
  };

  const base = '/api/v1/app/{app_id}/endpoint/{endpoint_id}/transformation';
  doc.paths[base] = {
    get: op({
      operationId: 'v1.endpoint.transformation-get',
      summary: 'Get Endpoint Transformation',
      description: "The endpoint's transformation code and whether it runs (`code` null when it has none).",
      responses: { '200': { description: '', content: { 'application/json': { schema: ref('EndpointTransformationOut') } } } },
    }),
    patch: op({
      operationId: 'v1.endpoint.patch-transformation',
      summary: 'Set Endpoint Transformation',
      description:
        "Set or unset the endpoint's transformation code, and turn it on or off. While it is on, every delivery to the endpoint runs " +
        `it before it is signed. ${SANDBOX} A run that throws, runs out of time or memory, or returns something that cannot be sent is ` +
        'a failed attempt whose response says why, retried on the schedule like any failure (it does not count against the circuit).',
      requestBody: { required: true, content: { 'application/json': { schema: ref('EndpointTransformationPatch') } } },
      responses: { '204': { description: 'no content' } },
    }),
  };
  doc.paths[`${base}/simulate`] = {
    post: op({
      operationId: 'v1.endpoint.transformation-simulate',
      summary: 'Simulate Endpoint Transformation',
      description:
        "Run `code` on a sample payload, with the endpoint's URL and custom headers, without saving anything, and answer what would be " +
        `sent. ${SANDBOX} A run that fails is a 422 naming the error.`,
      requestBody: { required: true, content: { 'application/json': { schema: ref('EndpointTransformationSimulateIn') } } },
      responses: { '200': { description: '', content: { 'application/json': { schema: ref('EndpointTransformationSimulateOut') } } } },
    }),
  };
}
