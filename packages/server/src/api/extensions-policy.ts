// Herald's per-tenant delivery rules in the contract: retry schedule and timeout on applications
// and endpoints, content filters on endpoints. All optional; a Svix client that never sends them
// gets Svix's behaviour and the server's settings.
import { POLICY_MAX_RETRIES, POLICY_MAX_TIMEOUT_S, POLICY_MIN_TIMEOUT_S } from '../domain/policy.js';

type Schema = Record<string, any>;

const retrySchedule = (owner: string): Schema => ({
  type: 'array',
  nullable: true,
  maxItems: POLICY_MAX_RETRIES,
  items: { type: 'string', example: '30m' },
  example: ['5s', '1m', '10m', '1h'],
  description:
    `Herald: the delays between attempts for ${owner}, in HERALD_RETRY_SCHEDULE's syntax ("5s", "30m", "2h"), each 1s to 24h, ` +
    `at most ${POLICY_MAX_RETRIES}. \`[]\` means a single attempt, no retries. Null or absent: ${owner === "this endpoint's deliveries" ? "the application's schedule, else the server's" : "the server's schedule"}.`,
});

const timeout = (owner: string): Schema => ({
  type: 'integer',
  nullable: true,
  minimum: POLICY_MIN_TIMEOUT_S,
  maximum: POLICY_MAX_TIMEOUT_S,
  example: 10,
  description:
    `Herald: how long one request to ${owner} may take, in whole seconds (${POLICY_MIN_TIMEOUT_S} to ${POLICY_MAX_TIMEOUT_S}; ` +
    `at most half of the server's HERALD_LEASE). Null or absent: ${owner === 'this endpoint' ? "the application's timeout, else the server's HERALD_DELIVERY_TIMEOUT" : "the server's HERALD_DELIVERY_TIMEOUT"}.`,
});

/** `retrySchedule` and `timeout` on applications and endpoints, in and out. */
export function addDeliveryPolicy(doc: Schema): void {
  const s = doc.components.schemas as Schema;
  for (const k of ['ApplicationIn', 'ApplicationPatch', 'ApplicationOut']) {
    s[k].properties.retrySchedule = retrySchedule("this application's endpoints");
    s[k].properties.timeout = timeout("this application's endpoints");
  }
  for (const k of ['EndpointIn', 'EndpointUpdate', 'EndpointPatch', 'EndpointOut']) {
    s[k].properties.retrySchedule = retrySchedule("this endpoint's deliveries");
    s[k].properties.timeout = timeout('this endpoint');
    s[k].properties.filter = CONTENT_FILTER;
  }
  // Encrypted Engage payloads cannot be matched by content: a key on a filtered application is refused.
  const setKey = doc.paths['/api/v1/app/{app_id}/engage/encryption-key']?.put;
  if (setKey) {
    setKey.responses['409'] = {
      description: 'Herald: `endpoints_filtered`: endpoints of this application carry a content filter (named in `detail`); remove those filters first.',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } },
    };
  }
}

/** `schemaEnforcement` on event types, and what it records on messages. */
export function addSchemaEnforcement(doc: Schema): void {
  const s = doc.components.schemas as Schema;
  const enforcement = {
    type: 'string',
    enum: ['off', 'warn', 'reject'],
    example: 'reject',
    description:
      "Herald: check each new message's payload against this event type's JSON Schema (its highest version in `schemas`). " +
      '`off` (default): no check. `warn`: accept, and record the violations on the message (`schemaViolations`). ' +
      '`reject`: answer 422 listing the schema errors (at `body.payload...`) and store nothing. Applies to the Engage producer ' +
      "routes too. An update that leaves it out keeps the event type's current setting. Setting `warn` or `reject` on a schema " +
      'that cannot be compiled (say, a `$ref` to another document) is a 422 at `body.schemas.<version>`.',
  };
  for (const k of ['EventTypeIn', 'EventTypeUpdate', 'EventTypePatch']) s[k].properties.schemaEnforcement = enforcement;
  s.EventTypeOut.properties.schemaEnforcement = { ...enforcement, description: `${enforcement.description} Always present in answers.` };
  const violations = {
    type: 'array',
    items: {
      type: 'object',
      required: ['path', 'message'],
      properties: {
        path: { type: 'string', description: 'Where in the payload, as a JSON Pointer ("" is the payload itself).', example: '/customer/email' },
        message: { type: 'string', example: 'must match format "email"' },
      },
    },
    description:
      "Herald: present only on a message accepted while its event type's schemaEnforcement was `warn` and its payload broke the schema: " +
      'the errors found (at most 20).',
  };
  for (const k of ['MessageOut', 'EndpointMessageOut']) if (s[k]) s[k].properties.schemaViolations = violations;
}

const CONTENT_FILTER: Schema = {
  type: 'object',
  nullable: true,
  additionalProperties: true,
  example: { country: { $eq: 'SE' }, $or: [{ tier: 'gold' }, { score: { $gte: 100 } }] },
  description:
    'Herald: only messages whose payload matches this filter go to the endpoint (after the event type and channel filters). ' +
    'The JSON operator form Convoy and Outpost use, rooted at the payload: keys are dotted paths (`customer.country`; a number ' +
    'indexes a list) or `$or`/`$and` (lists of filters) and `$not` (a filter); a path takes a value (equality) or operators ' +
    '`$eq $neq $gt $gte $lt $lte $in $nin $exist $not`. A missing path matches only `$neq`, `$nin` and `$exist: false`. ' +
    'At most 4096 characters and 10 levels. Null, absent or `{}`: every message. Not allowed on an application whose Engage ' +
    'payloads are encrypted (422). A send-example ignores it.',
};
