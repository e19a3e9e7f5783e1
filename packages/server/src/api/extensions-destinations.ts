// Destinations and polling endpoints in the served contract. The routes and models are Svix's
// (the shapes the official SDKs speak: `destination.*`, `message.poller.*`); the vendored Svix
// document predates them, so they are added here. Herald's additions are marked "Herald:".
import { errorResponses, idParam, ref, type Schema } from './openapi-parts.js';
import { DESTINATION_TYPES, MAX_LEASE_MS, MIN_LEASE_MS, POLL_MAX_LIMIT, POLL_MAX_WAIT_S, POLL_SETTLE_MS } from '../domain/destinations.js';

const APP = idParam('app_id', { example: 'unique-app-identifier' });
const DEST = idParam('destination_id', { example: 'unique-destination-identifier' });
const SINK = idParam('sink_id', { example: 'dest_1srOrx2ZWZBpBUvZwXKQmoEYga2' });
const CONSUMER = idParam('consumer_id', { example: 'my-consumer' });
const limit = {
  in: 'query',
  name: 'limit',
  style: 'form',
  schema: { type: 'integer', format: 'uint64', minimum: 1, maximum: POLL_MAX_LIMIT, nullable: true },
  description: 'Limit the number of returned items',
};
const iterator = {
  in: 'query',
  name: 'iterator',
  style: 'form',
  schema: { type: 'string', nullable: true },
  description: 'The iterator returned from a prior invocation',
};
const json = (schema: Schema, description = '') => ({ description, content: { 'application/json': { schema } } });
const ERRORS = errorResponses(true);
const op = (o: Schema) => ({ ...o, security: [{ HTTPBearer: [] }], responses: { ...o.responses, ...ERRORS } });
const body = (name: string) => ({ required: true, content: { 'application/json': { schema: ref(name) } } });
const idempotencyKey = { in: 'header', name: 'idempotency-key', required: false, schema: { type: 'string' }, description: "The request's idempotency key" };

const common: Schema = {
  uid: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[a-zA-Z0-9\\-_.]+$', nullable: true, description: "The destination's UID." },
  status: { type: 'string', enum: ['enabled', 'disabled'] },
  batchSize: { type: 'integer', format: 'uint16', minimum: 1, maximum: 5000, description: 'Ignored by polling endpoints.' },
  maxWaitSecs: { type: 'integer', format: 'uint16', minimum: 0, maximum: 300, description: 'Ignored by polling endpoints.' },
  eventTypes: { type: 'array', items: { type: 'string', maxLength: 256, pattern: '^[a-zA-Z0-9\\-_.]+$' }, uniqueItems: true, nullable: true },
  channels: {
    type: 'array',
    items: { type: 'string', maxLength: 128, pattern: '^[a-zA-Z0-9\\-_.:]+$' },
    minItems: 1,
    maxItems: 10,
    uniqueItems: true,
    nullable: true,
  },
  metadata: { type: 'object', additionalProperties: { type: 'string' } },
  config: {
    type: 'object',
    description:
      "The type's settings. A polling endpoint has none. `rabbitMq` (Svix's shape): `{uri, routingKey}`, `uri` an amqp:// or amqps:// URI with credentials " +
      'and virtual host; each message is published to the default exchange with `routingKey` (the queue name), persistent and mandatory, and counts as ' +
      'delivered on the publisher confirm. Herald: `redisStream`: `{uri, stream, maxLen?}`, `uri` a redis:// or rediss:// URL; each message is an `XADD` ' +
      '(approximately capped at `maxLen` entries). Herald: `natsJetStream`: `{servers, subject, credentials?}`, `servers` a list of nats:// or tls:// URIs ' +
      '(`uri` is accepted for one), `credentials` the text of a .creds file; each message is a JetStream publish acknowledged by the stream, with ' +
      '`Nats-Msg-Id` `<message id>:<destination id>`. Every broker message carries `webhook-id`, `webhook-timestamp` and `webhook-signature` headers (Redis: ' +
      "fields) signed with the destination's secret (`GET …/destination/{destination_id}/secret`), and the payload as its body. URIs and credentials are " +
      'sealed at rest; answers show URIs without user, password or query, and `credentialsSet: true` for credentials. On an update, a URI sent back as ' +
      'shown, or credentials left out, keep the stored ones. Broker hosts pass the same SSRF guard as endpoint URLs.',
  },
  leaseSecs: {
    type: 'integer',
    minimum: MIN_LEASE_MS / 1000,
    maximum: MAX_LEASE_MS / 1000,
    nullable: true,
    description:
      'Herald: make the destination temporary. It is removed this many seconds after it was last read (a poll renews the lease), ' +
      'so a reader that dies leaves nothing behind. `herald listen` creates its polling endpoint this way. Omitted or null: permanent.',
  },
};

const TYPES = Object.keys(DESTINATION_TYPES);

export function addDestinations(doc: Schema): void {
  const s = doc.components.schemas as Schema;
  s.DestinationIn = {
    type: 'object',
    required: ['type'],
    properties: {
      type: {
        type: 'string',
        enum: TYPES,
        description:
          'The kind of destination. Herald supports `pollingEndpoint` and `rabbitMq`, and, as Herald types, `redisStream` and `natsJetStream`. A broker ' +
          'destination is delivered like an endpoint: the retry schedule, the attempt log (`endpointId` is the destination id) and auto-disable apply.',
      },
      ...common,
    },
  };
  s.DestinationPatch = {
    type: 'object',
    properties: { type: { type: 'string', enum: TYPES }, ...common },
  };
  s.DestinationOut = {
    type: 'object',
    required: ['type', 'id', 'status', 'currentIterator', 'createdAt', 'updatedAt', 'batchSize', 'maxWaitSecs', 'metadata'],
    properties: {
      type: { type: 'string', enum: TYPES },
      config: { type: 'object' },
      id: { type: 'string', example: 'dest_1srOrx2ZWZBpBUvZwXKQmoEYga2' },
      uid: common.uid,
      status: { type: 'string', enum: ['enabled', 'paused', 'disabled', 'retrying'] },
      currentIterator: {
        type: 'string',
        description: 'For a polling endpoint: the iterator of its start (reading from it returns every message it has seen).',
      },
      failureReason: {
        type: 'string',
        nullable: true,
        description:
          'Herald: why Herald disabled a broker destination (failing deliveries past the auto-disable cutoff); it then shows as disabled until set enabled again.',
      },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      batchSize: { type: 'integer' },
      maxWaitSecs: { type: 'integer' },
      eventTypes: common.eventTypes,
      channels: common.channels,
      nextRetryAt: { type: 'string', format: 'date-time', nullable: true },
      metadata: common.metadata,
      expiresAt: {
        type: 'string',
        format: 'date-time',
        nullable: true,
        description: 'Herald: when a temporary destination is removed unless read before then.',
      },
      leaseSecs: { type: 'integer', nullable: true, description: 'Herald: the lease a temporary destination was created with; null when permanent.' },
    },
  };
  s.ListResponse_DestinationOut_ = {
    type: 'object',
    required: ['data', 'done'],
    properties: {
      data: { type: 'array', items: ref('DestinationOut') },
      iterator: { type: 'string', nullable: true },
      prevIterator: { type: 'string', nullable: true },
      done: { type: 'boolean' },
    },
  };
  s.PollingEndpointMessageOut = {
    type: 'object',
    required: ['eventType', 'payload', 'id', 'timestamp'],
    properties: {
      headers: { type: 'object', additionalProperties: { type: 'string' }, nullable: true },
      eventId: { type: 'string', nullable: true },
      eventType: { type: 'string' },
      payload: { type: 'object' },
      channels: { type: 'array', items: { type: 'string' }, nullable: true },
      id: { type: 'string' },
      timestamp: { type: 'string', format: 'date-time' },
      tags: { type: 'array', items: { type: 'string' }, nullable: true },
      deliverAt: { type: 'string', format: 'date-time', nullable: true },
    },
  };
  s.PollingEndpointOut = {
    type: 'object',
    required: ['data', 'iterator', 'done'],
    properties: {
      data: { type: 'array', items: ref('PollingEndpointMessageOut') },
      iterator: { type: 'string', description: 'Where the next read goes on from.' },
      done: { type: 'boolean', description: 'True when the read reached the newest message there is for now.' },
    },
  };
  s.PollingEndpointConsumerSeekIn = { type: 'object', required: ['after'], properties: { after: { type: 'string', format: 'date-time' } } };
  s.PollingEndpointConsumerSeekOut = { type: 'object', required: ['iterator'], properties: { iterator: { type: 'string' } } };
  s.DestinationSecretOut = { type: 'object', required: ['key'], properties: { key: { type: 'string', example: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD' } } };
  s.DestinationAttemptIn = {
    type: 'object',
    required: ['msgId', 'url', 'responseStatusCode', 'responseDurationMs'],
    properties: {
      msgId: { type: 'string', description: 'The message that was delivered.' },
      consumerId: {
        type: 'string',
        maxLength: 256,
        pattern: '^[a-zA-Z0-9\\-_.]+$',
        nullable: true,
        description: 'The consumer whose position moves to this message (never backwards), in the same commit as the attempt.',
      },
      url: { type: 'string', maxLength: 65536, description: 'Where the message was delivered (e.g. the local URL `herald listen` forwarded to).' },
      responseStatusCode: {
        type: 'integer',
        minimum: 0,
        maximum: 999,
        description: "The answer's status; 0 when there was none (refused connection, timeout).",
      },
      response: { type: 'string', maxLength: 65536, description: "The answer's body (kept as Herald keeps an endpoint's)." },
      responseDurationMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
    },
  };

  const tags = ['Destination'];
  doc.paths['/api/v1/app/{app_id}/destination'] = {
    get: op({
      operationId: 'v1.destination.list',
      summary: 'List Destinations',
      tags,
      description: "List of all the application's destinations.",
      parameters: [
        APP,
        { ...limit, schema: { type: 'integer', minimum: 1, maximum: 250, nullable: true } },
        iterator,
        { in: 'query', name: 'order', style: 'form', schema: ref('Ordering') },
        {
          in: 'query',
          name: 'include_herald_types',
          style: 'form',
          schema: { type: 'boolean', default: false, nullable: true },
          description:
            "Herald: also list destinations of Herald's own types (`redisStream`, `natsJetStream`). Left out by default, because Svix's SDKs refuse a list " +
            'holding a type they do not know; a get by id answers any type.',
        },
      ],
      responses: { '200': json(ref('ListResponse_DestinationOut_')) },
    }),
    post: op({
      operationId: 'v1.destination.create',
      summary: 'Create Destination',
      tags,
      description:
        'Creates a new destination. A `pollingEndpoint` sees the messages created from then on that match its event types and channels; read them with the poller routes.',
      parameters: [APP, idempotencyKey],
      requestBody: body('DestinationIn'),
      responses: { '201': json(ref('DestinationOut')) },
    }),
  };
  doc.paths['/api/v1/app/{app_id}/destination/{destination_id}'] = {
    get: op({
      operationId: 'v1.destination.get',
      summary: 'Get Destination',
      tags,
      description: 'Get a destination by id or uid (Herald: of any type, Herald types included).',
      parameters: [APP, DEST],
      responses: { '200': json(ref('DestinationOut')) },
    }),
    put: op({
      operationId: 'v1.destination.upsert',
      summary: 'Update Destination',
      tags,
      description: 'Create or update a destination (a missing uid creates one).',
      parameters: [APP, DEST],
      requestBody: body('DestinationIn'),
      responses: { '200': json(ref('DestinationOut')), '201': json(ref('DestinationOut')) },
    }),
    patch: op({
      operationId: 'v1.destination.patch',
      summary: 'Patch Destination',
      tags,
      description: 'Partially update a destination. Its type cannot change.',
      parameters: [APP, DEST],
      requestBody: body('DestinationPatch'),
      responses: { '200': json(ref('DestinationOut')) },
    }),
    delete: op({
      operationId: 'v1.destination.delete',
      summary: 'Delete Destination',
      tags,
      description: "Delete a destination and its consumers' positions.",
      parameters: [APP, DEST],
      responses: { '204': { description: 'No Content' } },
    }),
  };
  doc.paths['/api/v1/app/{app_id}/destination/{destination_id}/secret'] = {
    get: op({
      operationId: 'v1.destination.get-secret',
      summary: "Get a destination's signing secret",
      tags,
      description:
        "Herald: the secret a reader signs the messages it forwards with (`herald listen` signs with it, in Standard Webhooks headers, so a receiver verifies them as it would Herald's own deliveries); for a broker destination, the secret its messages' `webhook-signature` is made with. Needs the portal 'secrets' permission.",
      parameters: [APP, DEST],
      responses: { '200': json(ref('DestinationSecretOut')) },
    }),
  };
  doc.paths['/api/v1/app/{app_id}/destination/{destination_id}/attempt'] = {
    get: op({
      operationId: 'v1.destination.list-attempts',
      summary: 'List attempts made through a destination',
      tags,
      description:
        "Herald: the attempts reported for this destination, newest first. They are also in the message's attempt log (`GET /api/v1/app/{app_id}/attempt/msg/{msg_id}`), where their `endpointId` is the destination's id.",
      parameters: [APP, DEST, { ...limit, schema: { type: 'integer', minimum: 1, maximum: 250, nullable: true } }, iterator],
      responses: { '200': json(ref('ListResponse_MessageAttemptOut_')) },
    }),
    post: op({
      operationId: 'v1.destination.report-attempt',
      summary: 'Report a delivery made through a destination',
      tags,
      description:
        'Herald: record what a reader of a polling endpoint did with a message (`herald listen` reports each local answer here), as an attempt like those Herald makes ' +
        "to endpoints: status success for a 2xx, fail otherwise. With `consumerId`, that consumer's position moves to the message in the same commit, so a reader " +
        'that only reports after the answer never skips a message it did not deliver.',
      parameters: [APP, DEST],
      requestBody: body('DestinationAttemptIn'),
      responses: { '201': json(ref('MessageAttemptOut')) },
    }),
  };
  const pollTags = ['Message Poller'];
  doc.paths['/api/v1/app/{app_id}/poller/{sink_id}'] = {
    get: op({
      operationId: 'v1.message.poller.poll',
      summary: 'Poll',
      tags: pollTags,
      description:
        "Reads the stream of created messages for an application, filtered on the polling endpoint's event types and channels, oldest first. Without an iterator " +
        `it reads from the endpoint's creation on (or from \`after\`). A message becomes readable ${POLL_SETTLE_MS} ms after it was accepted (so concurrent commits cannot appear behind a reader). ` +
        '`done` is true when the read reached the newest message for now; keep the iterator and read again later.',
      parameters: [
        APP,
        SINK,
        limit,
        iterator,
        {
          in: 'query',
          name: 'event_type',
          style: 'form',
          schema: { type: 'string', maxLength: 256, pattern: '^[a-zA-Z0-9\\-_.]+$', nullable: true },
          description: 'Filters messages sent with this event type (optional).',
        },
        {
          in: 'query',
          name: 'channel',
          style: 'form',
          schema: { type: 'string', maxLength: 128, nullable: true },
          description: 'Filters messages sent with this channel (optional).',
        },
        { in: 'query', name: 'after', style: 'form', schema: { type: 'string', format: 'date-time', nullable: true } },
      ],
      responses: { '200': json(ref('PollingEndpointOut')) },
    }),
  };
  doc.paths['/api/v1/app/{app_id}/poller/{sink_id}/consumer/{consumer_id}'] = {
    get: op({
      operationId: 'v1.message.poller.consumer-poll',
      summary: 'Consumer Poll',
      tags: pollTags,
      description:
        "Reads the stream like Poll, from the position the server keeps for this consumer (from the endpoint's creation for a new one; `iterator` overrides it), " +
        "and keeps the returned iterator as the consumer's new position.",
      parameters: [
        APP,
        SINK,
        CONSUMER,
        limit,
        iterator,
        {
          in: 'query',
          name: 'wait',
          style: 'form',
          schema: { type: 'integer', minimum: 0, maximum: POLL_MAX_WAIT_S, nullable: true },
          description: `Herald: long poll. When nothing is there to read, wait up to this many seconds (at most ${POLL_MAX_WAIT_S}) for a first message before answering.`,
        },
        {
          in: 'query',
          name: 'commit',
          style: 'form',
          schema: { type: 'boolean', default: true, nullable: true },
          description:
            "Herald: false leaves the consumer's position where it is; the reader moves it itself when it has handled the messages (report their attempts with `consumerId`, or seek). `herald listen` reads this way.",
        },
      ],
      responses: { '200': json(ref('PollingEndpointOut')) },
    }),
  };
  doc.paths['/api/v1/app/{app_id}/poller/{sink_id}/consumer/{consumer_id}/seek'] = {
    post: op({
      operationId: 'v1.message.poller.consumer-seek',
      summary: 'Consumer Seek',
      tags: pollTags,
      description:
        "Sets the consumer's position to just before the messages created after `after` (never before the endpoint's creation), and returns that iterator.",
      parameters: [APP, SINK, CONSUMER, idempotencyKey],
      requestBody: body('PollingEndpointConsumerSeekIn'),
      responses: { '200': json(ref('PollingEndpointConsumerSeekOut')) },
    }),
  };
}
