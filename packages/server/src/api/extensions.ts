// Herald's additions to the Svix contract, applied to the document before routes are built, so
// they are validated and documented exactly like the contract's own fields. Every addition is
// optional: a Svix client that never sends them sees Svix's behaviour.
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
      description: 'Herald: the state of a background task such as an endpoint recover.',
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
  s.EndpointHeadersPatchIn.properties.deleteHeaders = {
    type: 'array',
    items: { type: 'string' },
    description: 'Header names to remove (as in Svix cloud).',
  };

  s.EventExampleIn.properties.exampleIndex = {
    type: 'integer',
    minimum: 0,
    default: 0,
    description: 'Which of the schema\'s `examples` to send (as in Svix cloud).',
  };

  s.AppPortalAccessIn.properties.permissions = {
    type: 'array',
    uniqueItems: true,
    items: { type: 'string', enum: ['view', 'manage', 'secrets'] },
    description:
      'Herald: what the token may do. `view` reads; `manage` changes endpoints, sends tests, resends and recovers; ' +
      '`secrets` reveals and rotates signing secrets. Default: all three.',
  };
  s.AppPortalAccessIn.properties.readOnly = { type: 'boolean', nullable: true, description: 'Same as `permissions: ["view"]` (as in Svix cloud).' };
  s.AppPortalAccessIn.properties.expiry = {
    type: 'integer',
    nullable: true,
    minimum: 60,
    maximum: 604800,
    description: 'Token lifetime in seconds (as in Svix cloud). Default 7 days.',
  };
  return doc;
}
