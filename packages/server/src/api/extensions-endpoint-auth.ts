// Authentication to an endpoint beyond the signature, in the served contract. OAuth, mTLS and the
// server CA use Svix's routes and models (`/oauth`, `/mtls`, `/ca`; the vendored Svix document
// predates them); Basic auth and static bearer tokens, which Svix has no route for, are Herald's
// `/auth`. No answer ever holds a credential: only whether it is set.

import { errorResponses, idParam, ref, type Schema } from './openapi-parts.js';

const PARAMS = [idParam('app_id', { what: 'Application' }), idParam('endpoint_id', { what: 'Endpoint' })];
const ERRORS = errorResponses(true);
const NO_CONTENT = { '204': { description: 'no content' } };
const ok = (name: string) => ({ '200': { description: '', content: { 'application/json': { schema: ref(name) } } } });
const body = (name: string) => ({ required: true, content: { 'application/json': { schema: ref(name) } } });
const op = (o: Schema) => ({ tags: ['Endpoint'], parameters: PARAMS, security: [{ HTTPBearer: [] }], ...o, responses: { ...o.responses, ...ERRORS } });
const SECRETS = ' Needs the `secrets` permission with a portal token.';

export function addEndpointAuth(doc: Schema): void {
  const s = doc.components.schemas as Schema;
  const stringMap = { type: 'object', additionalProperties: { type: 'string' }, nullable: true };
  s.EndpointOauthConfigIn = {
    type: 'object',
    required: ['authMethod', 'clientId', 'grantType', 'tokenUrl'],
    properties: {
      grantType: { type: 'string', enum: ['clientCredentials', 'refreshToken'], description: 'The OAuth grant type. Herald runs `clientCredentials`.' },
      authMethod: {
        type: 'string',
        enum: ['clientSecretJwt', 'clientSecretBasic', 'clientSecretPost'],
        description:
          'How Herald authenticates to the token URL: `clientSecretBasic` (an Authorization header) or `clientSecretPost` (`client_id` and `client_secret` in the body). Herald does not run `clientSecretJwt`.',
      },
      clientId: { type: 'string', maxLength: 4096 },
      clientSecret: { type: 'string', maxLength: 4096, nullable: true, description: 'Sealed at rest; never returned.' },
      tokenUrl: {
        type: 'string',
        format: 'uri',
        maxLength: 2048,
        description: 'Checked by the SSRF guard like the endpoint URL, and fetched through the same egress settings.',
      },
      scopes: { type: 'array', items: { type: 'string' }, nullable: true, description: 'Sent space-separated as `scope`.' },
      audience: {
        type: 'string',
        maxLength: 4096,
        nullable: true,
        description: 'Herald: sent as the `audience` parameter (Auth0, Okta). The same as `extraParams: {"audience": …}`.',
      },
      extraParams: { ...stringMap, description: 'Extra parameters added to the token request body.' },
      extraHeaders: { ...stringMap, description: 'Extra headers sent with the token request.' },
      jwtParams: { type: 'object', nullable: true, description: 'For `clientSecretJwt`, which Herald does not run.' },
      refreshToken: { type: 'string', nullable: true, description: 'For the `refreshToken` grant, which Herald does not run.' },
    },
  };
  s.EndpointOauthConfigOut = {
    type: 'object',
    required: ['authMethod', 'clientId', 'grantType', 'tokenUrl', 'clientSecretSet', 'sensitiveExtraHeaders'],
    properties: {
      grantType: { type: 'string', enum: ['clientCredentials', 'refreshToken'] },
      authMethod: { type: 'string', enum: ['clientSecretJwt', 'clientSecretBasic', 'clientSecretPost'] },
      clientId: { type: 'string' },
      tokenUrl: { type: 'string' },
      scopes: { type: 'array', items: { type: 'string' }, nullable: true },
      audience: { type: 'string', nullable: true, description: 'Herald: the `audience` parameter.' },
      extraParams: { type: 'object', additionalProperties: { type: 'string' }, nullable: true },
      extraHeaders: { type: 'object', additionalProperties: { type: 'string' }, nullable: true },
      clientSecretSet: { type: 'boolean', description: 'Herald: whether a client secret is set (it is never returned).' },
      sensitiveExtraHeaders: {
        type: 'array',
        items: { type: 'string' },
        description: 'Herald: extra headers whose values are hidden (Authorization, X-Api-Key and the like); they are left out of `extraHeaders`.',
      },
    },
  };
  s.EndpointMtlsConfigIn = {
    type: 'object',
    required: ['identity'],
    properties: {
      identity: {
        type: 'string',
        maxLength: 65536,
        description: 'A PEM encoded private key and X.509 certificate (chain) to identify the webhook sender. Sealed at rest; never returned.',
      },
    },
  };
  s.EndpointMtlsConfigOut = {
    type: 'object',
    properties: { enabled: { type: 'boolean', description: 'Herald: whether a client identity is set (it is never returned).' } },
  };
  s.EndpointServerCaIn = {
    type: 'object',
    properties: {
      cert: {
        type: 'string',
        maxLength: 65536,
        nullable: true,
        description:
          "PEM encoded X.509 certificates used to verify the webhook receiver's certificate; they replace the standard CAs for this endpoint. Set to `null` to use standard CAs.",
      },
    },
  };
  s.EndpointServerCaOut = {
    type: 'object',
    properties: { cert: { type: 'string', nullable: true, description: 'If this is `null`, standard CAs are in use.' } },
  };
  s.EndpointAuthIn = {
    type: 'object',
    required: ['type'],
    description: 'Herald: Basic authentication or a static bearer token, sent as `Authorization` with every delivery.',
    properties: {
      type: { type: 'string', enum: ['basic', 'bearer'] },
      username: { type: 'string', maxLength: 4096, description: 'For `basic`.' },
      password: { type: 'string', maxLength: 4096, description: 'For `basic`. Sealed at rest; never returned.' },
      token: { type: 'string', maxLength: 4096, description: 'For `bearer`. Sealed at rest; never returned.' },
    },
  };
  s.EndpointAuthOut = {
    type: 'object',
    required: ['type'],
    description: 'Herald: which authentication is set; credentials are never returned.',
    properties: {
      type: { type: 'string', enum: ['basic', 'bearer'] },
      username: { type: 'string', description: 'For `basic`.' },
      passwordSet: { type: 'boolean', description: 'For `basic`.' },
      tokenSet: { type: 'boolean', description: 'For `bearer`.' },
    },
  };

  const base = '/api/v1/app/{app_id}/endpoint/{endpoint_id}';
  doc.paths[`${base}/oauth`] = {
    get: op({
      operationId: 'v1.endpoint.get-oauth',
      summary: 'Get Endpoint OAuth Config',
      description: `The endpoint's OAuth configuration, without its client secret; 404 when it has none.${SECRETS}`,
      responses: ok('EndpointOauthConfigOut'),
    }),
    put: op({
      operationId: 'v1.endpoint.set-oauth-config',
      summary: 'Set Endpoint OAuth Config',
      requestBody: body('EndpointOauthConfigIn'),
      responses: NO_CONTENT,
      description:
        "Set the endpoint's OAuth 2.0 client-credentials configuration. Herald fetches a token from `tokenUrl`, caches it until shortly " +
        'before it expires, sends it as `Authorization: Bearer`, and on a 401 from the endpoint fetches a new one and retries once within ' +
        'the same attempt. A failed token request is a failed attempt whose response says why. 409 while the endpoint has Basic or ' +
        `bearer authentication or a custom Authorization header.${SECRETS}`,
    }),
    delete: op({
      operationId: 'v1.endpoint.delete-oauth-config',
      summary: 'Delete Endpoint OAuth Config',
      description: `Stop authenticating with OAuth.${SECRETS}`,
      responses: NO_CONTENT,
    }),
  };
  doc.paths[`${base}/mtls`] = {
    get: op({
      operationId: 'v1.endpoint.get-mtls',
      summary: 'Get Endpoint mTLS Config',
      description: `Whether the endpoint has a client identity (never the identity itself).${SECRETS}`,
      responses: ok('EndpointMtlsConfigOut'),
    }),
    put: op({
      operationId: 'v1.endpoint.set-mtls-config',
      summary: 'Set Endpoint mTLS Config',
      requestBody: body('EndpointMtlsConfigIn'),
      responses: NO_CONTENT,
      description: `Present this client certificate when delivering to the endpoint (mutual TLS); 422 unless the PEM holds a certificate and its matching private key.${SECRETS}`,
    }),
    delete: op({
      operationId: 'v1.endpoint.delete-mtls-config',
      summary: 'Delete Endpoint mTLS Config',
      description: `Stop presenting a client certificate.${SECRETS}`,
      responses: NO_CONTENT,
    }),
  };
  doc.paths[`${base}/ca`] = {
    get: op({
      operationId: 'v1.endpoint.get-server-ca',
      summary: 'Get Endpoint Server CA',
      description:
        "The CA certificates the receiver's certificate is checked against (null: the standard ones, plus the installation's HERALD_EXTRA_CA_CERTS).",
      responses: ok('EndpointServerCaOut'),
    }),
    put: op({
      operationId: 'v1.endpoint.set-server-ca',
      summary: 'Set Endpoint Server CA',
      description: `Check the receiver's certificate against these CA certificates (for receivers on a private PKI).${SECRETS}`,
      requestBody: body('EndpointServerCaIn'),
      responses: NO_CONTENT,
    }),
  };
  doc.paths[`${base}/auth`] = {
    get: op({
      operationId: 'v1.endpoint.get-auth',
      summary: 'Get Endpoint Authentication',
      description: `Herald: which Basic or bearer authentication the endpoint has, without the password or token; 404 when none.${SECRETS}`,
      responses: ok('EndpointAuthOut'),
    }),
    put: op({
      operationId: 'v1.endpoint.set-auth',
      summary: 'Set Endpoint Authentication',
      requestBody: body('EndpointAuthIn'),
      responses: NO_CONTENT,
      description:
        'Herald: send `Authorization: Basic …` (`{"type": "basic", "username", "password"}`) or `Authorization: Bearer …` ' +
        '(`{"type": "bearer", "token"}`) with every delivery, sealed at rest rather than kept among the custom headers. 409 while the ' +
        `endpoint has an OAuth configuration or a custom Authorization header; while it is set, custom headers may not set Authorization.${SECRETS}`,
    }),
    delete: op({
      operationId: 'v1.endpoint.delete-auth',
      summary: 'Delete Endpoint Authentication',
      description: `Herald: stop sending Basic or bearer authentication.${SECRETS}`,
      responses: NO_CONTENT,
    }),
  };
}
