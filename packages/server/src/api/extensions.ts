// Herald's additions to the Svix contract, applied to the document before routes are built, so
// they are validated and documented exactly like the contract's own fields. Every addition is
// optional: a Svix client that never sends them sees Svix's behaviour.
import { ENDPOINT_ORDERINGS, ORDERING_KEY_MAX_LENGTH } from '../domain/ordering.js';
import { HEADER_MASK } from '../domain/request-headers.js';
import { addReadiness, addVersionOperation } from './extensions-health.js';
import { ENGAGE_INPUT_SCHEMAS } from '@herald/engage';
import { addDeliveryPolicy, addSchemaEnforcement } from './extensions-policy.js';
import { addEndpointCircuitHealth, addEndpointTimeseries } from './extensions-stats.js';
import { addDestinations } from './extensions-destinations.js';
import { addEndpointAuth } from './extensions-endpoint-auth.js';
import { addTransformation } from './extensions-transformation.js';
import { addPortalLookSchema } from './portal-look.js';

type Schema = Record<string, any>;

function addQuery(doc: Schema, method: string, path: string, param: Schema): void {
  const op = doc.paths[path]?.[method];
  if (!op) throw new Error(`extension targets a missing operation: ${method} ${path}`);
  op.parameters = [...(op.parameters ?? []), { in: 'query', style: 'form', ...param }];
}

export function applyHeraldExtensions(doc: Schema, version: string): Schema {
  doc.info = {
    title: 'Herald API',
    version,
    description:
      "Herald's management API. It is wire-compatible with Svix's (the official `svix` SDKs work against it unchanged); " +
      'fields and parameters marked "Herald:" are Herald additions.',
  };
  doc.security = [{ HTTPBearer: [] }];
  const s = doc.components.schemas as Schema;

  // Asymmetric signing, as the Svix server accepts it: a whsk_ ed25519 key signs with v1a, and a
  // secret read answers its whpk_ public key.
  const secretPattern = '^(whsec_[a-zA-Z0-9+/=]{32,100}|whsk_[a-zA-Z0-9+/=]{40,100}|[a-zA-Z0-9+/=]{32,100})$';
  s.EndpointIn.properties.secret.pattern = secretPattern;
  s.EndpointSecretRotateIn.properties.key.pattern = secretPattern;

  // Background tasks (recover), as in Svix cloud: look one up by id.
  s.BackgroundTaskOut = {
    type: 'object',
    required: ['id', 'status', 'task', 'data', 'updatedAt'],
    properties: {
      id: { type: 'string', example: 'qtask_1srOrx2ZWZBpBUvZwXKQmoEYga2' },
      status: { type: 'string', enum: ['running', 'finished', 'failed'] },
      task: { type: 'string', enum: ['endpoint.recover'] },
      data: { type: 'object', description: 'For endpoint.recover: `messagesSent` once finished.' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  };
  doc.paths['/api/v1/background-task/{task_id}'] = {
    get: {
      operationId: 'v1.background-task.get',
      summary: 'Get a background task',
      description:
        "Herald: the state of a background task such as an endpoint recover. A portal token reads only its own application's tasks; any other id answers 404.",
      tags: ['Background Task'],
      parameters: [{ in: 'path', name: 'task_id', required: true, schema: { type: 'string' } }],
      responses: {
        '200': { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/BackgroundTaskOut' } } } },
        '404': { description: 'Not Found', content: { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } } },
      },
      security: [{ HTTPBearer: [] }],
    },
  };

  addQuery(doc, 'delete', '/api/v1/event-type/{event_type_name}', {
    name: 'expunge',
    description: 'When `true`, the event type is removed for good instead of archived.',
    schema: { type: 'boolean', default: false },
  });

  s.EventTypeIn.properties.groupName = { type: 'string', nullable: true, maxLength: 256, description: 'Herald: a display group for catalogs.' };
  s.EventTypeUpdate.properties.groupName = s.EventTypeIn.properties.groupName;
  s.EventTypePatch.properties.groupName = s.EventTypeIn.properties.groupName;
  s.EventTypeOut.properties.groupName = s.EventTypeIn.properties.groupName;

  s.EndpointIn.properties.headers = {
    type: 'object',
    nullable: true,
    additionalProperties: { type: 'string' },
    description: 'Custom headers sent with every request to this endpoint (as in Svix cloud).',
  };
  s.EndpointOut.properties.disabledReason = {
    type: 'string',
    nullable: true,
    description: 'Herald: why Herald disabled this endpoint, when it did (null when enabled or disabled by a user).',
  };
  s.MessageEndpointOut.properties.heldBy = {
    type: 'string',
    enum: ['circuit', 'module'],
    nullable: true,
    description:
      'Herald: why this pending delivery is held without attempts (and without using up retries): `circuit` while the ' +
      "endpoint's circuit is open, `module` while the application's Engage webhooks module is off; null otherwise.",
  };
  s.EndpointMessageOut.properties.heldBy = s.MessageEndpointOut.properties.heldBy;
  s.MessageAttemptOut.properties.requestHeaders = {
    type: 'object',
    nullable: true,
    additionalProperties: { type: 'string' },
    description:
      "Herald: the headers of the request this attempt sent. Herald's own (`webhook-*`/`svix-*` id, timestamp and signature, " +
      '`content-type`, `user-agent`, `traceparent`, `herald-*`) as sent; custom endpoint headers and `authorization` by name, ' +
      `their value replaced by \`${HEADER_MASK}\` since they may be credentials. The body sent is the message's payload. ` +
      'Null for attempts recorded before Herald kept them and for attempts reported by readers of polling endpoints.',
  };
  addOrdering(s);
  s.EndpointHeadersPatchIn.properties.deleteHeaders = {
    type: 'array',
    items: { type: 'string' },
    description: 'Header names to remove (as in Svix cloud).',
  };

  s.EventExampleIn.properties.exampleIndex = {
    type: 'integer',
    minimum: 0,
    default: 0,
    description: "Which of the schema's `examples` to send (as in Svix cloud).",
  };

  s.AppPortalAccessIn.properties.permissions = {
    type: 'array',
    uniqueItems: true,
    items: { type: 'string', enum: ['view', 'manage', 'secrets'] },
    description:
      'Herald: what the token may do. `view` reads; `manage` changes endpoints, sends tests, resends and recovers; ' +
      '`secrets` reveals and rotates signing secrets. Default: all three.',
  };
  addPortalLookSchema(s);
  s.AppPortalAccessIn.properties.readOnly = { type: 'boolean', nullable: true, description: 'Same as `permissions: ["view"]` (as in Svix cloud).' };
  s.AppPortalAccessIn.properties.expiry = {
    type: 'integer',
    nullable: true,
    minimum: 60,
    maximum: 604800,
    description: 'Token lifetime in seconds (as in Svix cloud). Default 7 days.',
  };
  addPortalSession(doc);
  addSourceIps(doc);
  addEngage(doc);
  addAuditLog(doc);
  addEndpointTimeseries(doc);
  addEndpointCircuitHealth(doc);
  addDestinations(doc);
  addEndpointAuth(doc);
  addTransformation(doc);
  addDeliveryPolicy(doc);
  addSchemaEnforcement(doc);
  addReadiness(doc);
  addVersionOperation(doc);
  addTraceparent(doc);
  return doc;
}

/** Ordered delivery per key (domain/ordering.ts): the message's key, the endpoint's switch, and why a delivery waits. */
function addOrdering(s: Schema): void {
  s.MessageIn.properties.orderingKey = {
    type: 'string',
    nullable: true,
    minLength: 1,
    maxLength: ORDERING_KEY_MAX_LENGTH,
    example: 'cont_2Vx7bLQ9',
    description:
      'Herald: the key that orders this message. At an endpoint with `ordering: "key"`, messages with the same key are delivered ' +
      'in the order they were accepted: the next is not attempted until the one before it has succeeded or ended without success ' +
      '(retries exhausted, aborted, canceled, endpoint disabled). Other keys and messages without a key never wait. Each delivery ' +
      'carries the headers `herald-ordering-key` and `herald-sequence` (1, 2, 3… per endpoint and key, the same on every attempt). ' +
      '1 to 256 characters, no control characters; a key that is not printable ASCII is sent percent-encoded.',
  };
  s.MessageOut.properties.orderingKey = {
    type: 'string',
    description: "Herald: the message's ordering key; present only when it has one.",
  };
  const ordering = {
    type: 'string',
    enum: ENDPOINT_ORDERINGS,
    description:
      'Herald: `"key"` delivers the messages of each `orderingKey` in order, one at a time per key; `"none"` (the default) orders ' +
      'nothing. On update (PUT), leaving it out keeps the current value.',
  };
  s.EndpointIn.properties.ordering = { ...ordering, default: 'none' };
  s.EndpointUpdate.properties.ordering = ordering;
  s.EndpointPatch.properties.ordering = ordering;
  s.EndpointOut.properties.ordering = ordering;
  s.MessageEndpointOut.properties.ordering = ordering;
  s.MessageEndpointOut.properties.waitingFor = {
    type: 'string',
    nullable: true,
    example: 'msg_1srOrx2ZWZBpBUvZwXKQmoEYga2',
    description:
      'Herald: while this delivery waits for its turn in its ordering key, the id of the message ahead of it (whose delivery to this ' +
      'endpoint has not ended yet); null otherwise.',
  };
  s.EndpointMessageOut.properties.waitingFor = s.MessageEndpointOut.properties.waitingFor;
}

/** The audit log of management changes: who, what, when; operator only. */
function addAuditLog(doc: Schema): void {
  const s = doc.components.schemas as Schema;
  const nullableId = { type: 'string', nullable: true };
  s.AuditEntryOut = {
    type: 'object',
    required: ['id', 'timestamp', 'actor', 'operationId', 'method', 'path', 'status', 'appId', 'endpointId', 'msgId'],
    properties: {
      id: { type: 'string', example: 'audit_1srOrx2ZWZBpBUvZwXKQmoEYga2' },
      timestamp: { type: 'string', format: 'date-time' },
      actor: {
        type: 'object',
        required: ['type'],
        description: 'The operator token, or a portal session (with the application it is scoped to).',
        properties: { type: { type: 'string', enum: ['operator', 'portal'] }, sessionId: { type: 'string' }, appId: { type: 'string' } },
      },
      operationId: { type: 'string', example: 'v1.endpoint.create' },
      method: { type: 'string', enum: ['POST', 'PUT', 'PATCH', 'DELETE'] },
      path: { type: 'string', description: 'The request path, without the query string.' },
      status: { type: 'integer', description: 'The answer: 2xx for a change made, 403 for one refused to a valid token.' },
      appId: { ...nullableId, description: 'The application concerned, when there is one.' },
      endpointId: nullableId,
      msgId: nullableId,
    },
  };
  s.ListResponse_AuditEntryOut_ = {
    type: 'object',
    required: ['data', 'done', 'iterator'],
    properties: {
      data: { type: 'array', items: { $ref: '#/components/schemas/AuditEntryOut' } },
      done: { type: 'boolean' },
      iterator: { type: 'string', nullable: true },
      prevIterator: { type: 'string', nullable: true },
    },
  };
  const err = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } } });
  doc.paths['/api/v1/audit-log'] = {
    get: {
      operationId: 'v1.audit-log.list',
      summary: 'List the audit log',
      description:
        'Herald: management changes (POST, PUT, PATCH, DELETE) that succeeded or were refused to a valid token (403), newest first: ' +
        'who made them, which operation and ids, and when. Message ingest is not listed. No request bodies are kept. Operator token only.',
      tags: ['Audit Log'],
      parameters: [
        { in: 'query', name: 'limit', style: 'form', description: 'Limit the number of returned items', schema: { type: 'integer', minimum: 1 } },
        {
          in: 'query',
          name: 'iterator',
          style: 'form',
          description: 'The iterator returned from a prior invocation',
          schema: { type: 'string', nullable: true },
        },
        {
          in: 'query',
          name: 'order',
          style: 'form',
          description: 'The sorting order (default: newest first)',
          schema: { $ref: '#/components/schemas/Ordering' },
        },
        {
          in: 'query',
          name: 'app_id',
          style: 'form',
          description: 'Only entries about this application (id or uid)',
          schema: { type: 'string', maxLength: 256 },
        },
      ],
      responses: {
        '200': { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/ListResponse_AuditEntryOut_' } } } },
        '401': err('Unauthorized'),
        '403': err('Forbidden'),
        '429': err('Too Many Requests'),
      },
      security: [{ HTTPBearer: [] }],
    },
  };
}

/** The addresses deliveries come from, for tenants to allowlist. */
function addSourceIps(doc: Schema): void {
  (doc.components.schemas as Schema).SourceIpsOut = {
    type: 'object',
    required: ['addresses'],
    properties: {
      addresses: {
        type: 'array',
        items: { type: 'string', example: '203.0.113.10' },
        description: 'IP addresses (or CIDR ranges) that deliveries come from, as receivers see them.',
      },
    },
  };
  doc.paths['/api/v1/source-ips'] = {
    get: {
      operationId: 'v1.source-ips.get',
      summary: 'List the source IPs of deliveries',
      description:
        'Herald: the addresses webhook deliveries come from, for receivers to allowlist (HERALD_PUBLISHED_SOURCE_IPS, by default ' +
        'HERALD_EGRESS_ADDRESSES). Readable with the operator token or any portal token. 404 when none are configured.',
      tags: ['Source IPs'],
      responses: {
        '200': { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/SourceIpsOut' } } } },
        '401': { description: 'Unauthorized', content: { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } } },
        '404': {
          description: 'No fixed source addresses are configured',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } },
        },
      },
      security: [{ HTTPBearer: [] }],
    },
  };
}

/** The dashboard's first call: which application a portal token is scoped to, and what it may do. */
function addPortalSession(doc: Schema): void {
  (doc.components.schemas as Schema).PortalSessionOut = {
    type: 'object',
    required: ['appId', 'permissions', 'expiresAt'],
    properties: {
      appId: { type: 'string', example: 'app_1srOrx2ZWZBpBUvZwXKQmoEYga2' },
      permissions: { type: 'array', items: { type: 'string', enum: ['view', 'manage', 'secrets'] } },
      expiresAt: { type: 'string', format: 'date-time' },
    },
  };
  doc.paths['/api/v1/auth/session'] = {
    get: {
      operationId: 'v1.authentication.session',
      summary: 'Describe the calling portal session',
      description: 'Herald: the application and permissions of the portal token in the Authorization header. The operator token has no session (400).',
      tags: ['Authentication'],
      responses: {
        '200': { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/PortalSessionOut' } } } },
        '400': { description: 'Bad request', content: { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } } },
        '401': { description: 'Unauthorized', content: { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } } },
      },
      security: [{ HTTPBearer: [] }],
    },
  };
}

/**
 * A draft-07 schema from @herald/engage as an OpenAPI 3.0 schema: no `$schema`, and
 * `type: [T, 'null']` as `type: T, nullable: true` (the contract turns it back for validation).
 * A union of several non-null types stays a type array, which validators read as meant.
 */
function toOpenApi30(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toOpenApi30);
  if (s === null || typeof s !== 'object') return s;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s as Schema)) {
    if (k === '$schema') continue;
    if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v as Schema).map(([pk, pv]) => [pk, toOpenApi30(pv)]));
    else if (k === 'type' && Array.isArray(v)) {
      const types = v.filter((t) => t !== 'null');
      if (types.length === 1) {
        out.type = types[0];
        if (types.length < v.length) out.nullable = true;
      } else out.type = [...v];
    } else out[k] = toOpenApi30(v);
  }
  return out;
}

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const ERR = (description: string) => ({ description, content: json('HttpErrorOut') });
const appParam = {
  in: 'path',
  name: 'app_id',
  required: true,
  description: 'The tenant: the application id or uid.',
  schema: { type: 'string', minLength: 1, maxLength: 256 },
};
/**
 * A producer's W3C trace context, honoured on every request that accepts messages (message create,
 * an endpoint's send-example, the Engage producer routes) when OpenTelemetry tracing is on.
 */
const traceparentParam = {
  in: 'header',
  name: 'traceparent',
  required: false,
  description:
    "Herald: the caller's W3C trace context (`00-<trace id>-<span id>-<flags>`). With OpenTelemetry tracing on, each message accepted is a span in this trace, and so is each of its delivery attempts, however much later. Ignored when tracing is off or the value is malformed.",
  schema: { type: 'string' },
};

function addTraceparent(doc: Schema): void {
  for (const item of Object.values(doc.paths as Record<string, Schema>)) {
    for (const o of Object.values(item) as Schema[]) {
      const id = String(o?.operationId ?? '');
      // The Engage producer routes are those that answer 202 with the messages they emitted.
      const accepts = id === 'v1.message.create' || id === 'v1.endpoint.send-example' || (id.startsWith('v1.engage.') && o.responses?.['202']);
      if (accepts) o.parameters = [...(o.parameters ?? []), traceparentParam];
    }
  }
}

const idemParam = {
  in: 'header',
  name: 'idempotency-key',
  required: false,
  description: 'The key used for idempotent requests (12 hours).',
  schema: { type: 'string' },
};

function op(operationId: string, summary: string, description: string, extra: Schema, responses: Schema): Schema {
  return {
    operationId,
    summary,
    description: `Herald: ${description}`,
    tags: ['Engage'],
    ...extra,
    responses: {
      ...responses,
      '401': ERR('Unauthorized'),
      '403': ERR('Forbidden'),
      '422': { description: 'Validation Error: `loc` names the field', content: json('HTTPValidationError') },
    },
    security: [{ HTTPBearer: [] }],
  };
}

/**
 * The Engage side: catalog install, per-tenant settings (the webhooks module switch and
 * the payload encryption key) and the producer routes that detect changes and emit events.
 */
function addEngage(doc: Schema): void {
  const s = doc.components.schemas as Schema;
  s.EngageContactIn = toOpenApi30(ENGAGE_INPUT_SCHEMAS.contact);
  s.EngagePointBalanceIn = toOpenApi30(ENGAGE_INPUT_SCHEMAS.balance);
  s.EngagePointTransactionIn = toOpenApi30(ENGAGE_INPUT_SCHEMAS.pointTransaction);
  s.EngageRewardVoucherIn = toOpenApi30(ENGAGE_INPUT_SCHEMAS.voucher);
  s.EngagePromotionAssignmentIn = toOpenApi30(ENGAGE_INPUT_SCHEMAS.promotionAssignment);
  s.EngageEmitOut = {
    type: 'object',
    required: ['messageIds', 'events'],
    description: 'The messages created, one per event, in the order they were detected; empty when nothing changed.',
    properties: {
      messageIds: { type: 'array', items: { type: 'string', example: 'msg_1srOrx2ZWZBpBUvZwXKQmoEYga2' } },
      events: {
        type: 'array',
        items: {
          type: 'object',
          required: ['msgId', 'eventId', 'eventType'],
          properties: {
            msgId: { type: 'string' },
            eventId: { type: 'string', description: "The envelope's eventId (a GUID), also the message's eventId." },
            eventType: { type: 'string', example: 'contact.created' },
          },
        },
      },
    },
  };
  s.EngageCatalogInstallOut = {
    type: 'object',
    required: ['created', 'updated', 'unchanged', 'eventTypes'],
    properties: {
      created: { type: 'integer', description: 'Event types created.' },
      updated: { type: 'integer', description: 'Event types brought back to the catalog (edited or archived ones).' },
      unchanged: { type: 'integer', description: 'Event types already as the catalog has them.' },
      eventTypes: {
        type: 'object',
        required: ['created', 'updated', 'unchanged'],
        properties: {
          created: { type: 'array', items: { type: 'string' } },
          updated: { type: 'array', items: { type: 'string' } },
          unchanged: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  };
  s.EngageSettingsOut = {
    type: 'object',
    required: ['moduleEnabled', 'encryptionEnabled', 'keySetAt'],
    properties: {
      moduleEnabled: {
        type: 'boolean',
        description: 'The webhooks module: off until the operator turns it on; while off, producer routes answer 409 `module_disabled`.',
      },
      encryptionEnabled: { type: 'boolean', description: 'Whether payloads are encrypted. The key itself is never shown again after it is set.' },
      keySetAt: { type: 'string', format: 'date-time', nullable: true, description: 'When the current key was set (null: no key).' },
    },
  };
  s.EngageModuleIn = {
    type: 'object',
    required: ['enabled'],
    additionalProperties: false,
    properties: { enabled: { type: 'boolean' } },
  };
  s.EngageEncryptionKeyIn = {
    type: 'object',
    additionalProperties: false,
    properties: {
      key: {
        type: 'string',
        nullable: true,
        pattern: '^[a-zA-Z0-9]{32}$',
        description: '32 characters of a-z, A-Z, 0-9. Left out or null: Herald generates one.',
        example: 'DaqfT7Ys6tGqM3zbesEKpmacTJEqBCp2',
      },
    },
  };
  s.EngageEncryptionKeyOut = {
    type: 'object',
    required: ['key', 'keySetAt'],
    description: 'The key, shown in this answer only: store it on the receiving side now.',
    properties: {
      key: { type: 'string', example: 'DaqfT7Ys6tGqM3zbesEKpmacTJEqBCp2' },
      keySetAt: { type: 'string', format: 'date-time' },
    },
  };

  const emitted = {
    '200': { description: 'Nothing changed: nothing was sent', content: json('EngageEmitOut') },
    '202': { description: 'The events were accepted: their messages and delivery tasks are committed', content: json('EngageEmitOut') },
    '404': ERR(
      '`not_found`: unknown tenant; `contact_not_found` (points, vouchers, promotions): the contact was never created, or was deleted (nothing was written)',
    ),
    '409': ERR('`module_disabled`: the webhooks module is off (nothing was written); `conflict`: the input contradicts what is stored'),
  };
  const producer = (name: string, body: string, summary: string, description: string) =>
    op(
      `v1.engage.${name}`,
      summary,
      `${description} Operator only; the tenant's webhooks module must be on.`,
      {
        parameters: [appParam, idemParam],
        requestBody: { required: true, content: json(body) },
      },
      emitted,
    );

  doc.paths['/api/v1/engage/catalog/install'] = {
    post: op(
      'v1.engage.catalog.install',
      'Install the Engage event catalog',
      'creates or updates the 11 Engage event types (installation-wide, like every event type). Idempotent: a second run changes nothing. Operator only.',
      {},
      { '200': { description: '', content: json('EngageCatalogInstallOut') } },
    ),
  };
  doc.paths['/api/v1/app/{app_id}/engage'] = {
    get: op(
      'v1.engage.settings.get',
      "Get a tenant's Engage settings",
      'the webhooks module switch and whether payloads are encrypted.',
      { parameters: [appParam] },
      { '200': { description: '', content: json('EngageSettingsOut') }, '404': ERR('Not Found') },
    ),
  };
  doc.paths['/api/v1/app/{app_id}/engage/module'] = {
    put: op(
      'v1.engage.module.set',
      'Turn the webhooks module on or off',
      "the operator turns a tenant's webhooks module on (it starts off). Operator only.",
      { parameters: [appParam], requestBody: { required: true, content: json('EngageModuleIn') } },
      { '200': { description: '', content: json('EngageSettingsOut') }, '404': ERR('Not Found') },
    ),
  };
  doc.paths['/api/v1/app/{app_id}/engage/encryption-key'] = {
    put: op(
      'v1.engage.encryption-key.set',
      'Set or rotate the payload encryption key',
      "sets the tenant's 32-character key (or generates one); from the next event on, `payload` is base64url(IV ‖ AES-256-CBC(JSON)) and `isEncrypted` is true. " +
        "Messages stored earlier keep the old key's ciphertext, retries included: a receiver accepts both keys until those retries are over. " +
        'The key is returned in this answer only. Needs the `secrets` permission.',
      { parameters: [appParam], requestBody: { required: false, content: json('EngageEncryptionKeyIn') } },
      { '200': { description: '', content: json('EngageEncryptionKeyOut') }, '404': ERR('Not Found') },
    ),
    delete: op(
      'v1.engage.encryption-key.delete',
      'Clear the payload encryption key',
      'payloads go in plaintext from the next event on. Needs the `secrets` permission.',
      { parameters: [appParam] },
      { '204': { description: 'No Content' }, '404': ERR('Not Found') },
    ),
  };
  doc.paths['/api/v1/app/{app_id}/engage/contact'] = {
    post: producer(
      'contact.upsert',
      'EngageContactIn',
      'Upsert a contact',
      'merges the contact into its last known state. New: `contact.created` only. Existing: `contact.updated` plus `contact.accepts{Email,Sms,Postal}.changed` and `contact.consent.changed` for what really changed; nothing when nothing changed.',
    ),
  };
  doc.paths['/api/v1/app/{app_id}/engage/contact/{contact_id}'] = {
    delete: op(
      'v1.engage.contact.delete',
      'Delete a contact',
      '`contact.deleted`. An unknown contact is a 404. Operator only; the webhooks module must be on.',
      {
        parameters: [appParam, { in: 'path', name: 'contact_id', required: true, schema: { type: 'string', minLength: 1 } }],
      },
      emitted,
    ),
  };
  doc.paths['/api/v1/app/{app_id}/engage/point-transaction'] = {
    post: producer(
      'point-transaction.create',
      'EngagePointTransactionIn',
      'Add a point transaction',
      '`loyalty.addPoints` with the transaction (nothing for 0 points).',
    ),
  };
  doc.paths['/api/v1/app/{app_id}/engage/point-balance'] = {
    post: producer('point-balance.set', 'EngagePointBalanceIn', "Set a point account's balance", '`point.balance.updated` only when the balance moved.'),
  };
  doc.paths['/api/v1/app/{app_id}/engage/reward-voucher'] = {
    post: producer(
      'reward-voucher.create',
      'EngageRewardVoucherIn',
      'Create a reward voucher',
      '`reward.voucher.created` (PascalCase payload). The same voucher again sends nothing; its id with other content is a 409.',
    ),
  };
  doc.paths['/api/v1/app/{app_id}/engage/promotion-assignment'] = {
    post: producer(
      'promotion-assignment.create',
      'EngagePromotionAssignmentIn',
      'Assign a multichannel promotion',
      '`promotion.multichannel.assigned`. A promotion the contact already holds sends nothing.',
    ),
  };
}
