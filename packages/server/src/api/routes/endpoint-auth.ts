// Authentication to an endpoint beyond the signature: OAuth client credentials, mTLS and the
// server CA (Svix's routes), Basic and bearer (Herald's /auth). Credentials go in sealed and never
// come out: reads say only whether each is set. The rules are in domain/endpoint-auth.ts.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { assertSingleAuthorization, checkHttpAuth, checkOAuth, checkPem, withAuth, type EndpointAuth } from '../../domain/endpoint-auth.js';
import { invalidBody, notFound } from '../../domain/errors.js';
import { checkEndpointUrl, SENSITIVE_HEADERS } from '../../domain/validation.js';
import { route, type Ctx } from '../route.js';
import { TENANT_SSRF_REFUSAL } from './endpoints.js';

const PEM_CERT = /-----BEGIN CERTIFICATE-----/;

/** The first certificate of a PEM text, or a 422 naming the field. */
function certificateOf(pem: string, field: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw invalidBody([field], `holds no readable X.509 certificate: ${(e as Error).message}`);
  }
}

/** An mTLS identity: a certificate (chain) and the private key that matches its first certificate. */
function checkIdentity(v: unknown): string {
  const pem = checkPem(v, 'identity', PEM_CERT);
  const cert = certificateOf(pem, 'identity');
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw invalidBody(['identity'], `holds no readable unencrypted private key: ${(e as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) throw invalidBody(['identity'], 'the private key does not match the certificate');
  return pem;
}

/** The token URL gets the endpoint URL's checks: http(s), and the SSRF guard on IP literals. */
function tokenUrlCheck(c: Ctx) {
  return (url: string) => {
    try {
      checkEndpointUrl(url);
    } catch {
      throw invalidBody(['tokenUrl'], 'must be an http or https URL');
    }
    const refused = c.deps.ssrf.urlRefusal(url);
    if (refused) throw invalidBody(['tokenUrl'], c.principal.kind === 'portal' ? TENANT_SSRF_REFUSAL : refused, 'value_error.url.ssrf');
  };
}

async function save(c: Ctx, auth: EndpointAuth | null): Promise<{ status: number }> {
  await c.deps.store.updateEndpoint({ ...c.endpoint!, auth, updatedAt: c.now });
  return { status: 204 };
}

const ON_ENDPOINT = { access: 'secrets', app: 'required', endpoint: 'required' } as const;

export const endpointAuthRoutes = [
  route({
    method: 'GET',
    operationId: 'v1.endpoint.get-oauth',
    ...ON_ENDPOINT,
    async handler(c) {
      const o = c.endpoint!.auth?.oauth;
      if (!o) throw notFound('OAuth configuration');
      const { clientSecret, extraHeaders, ...shown } = o;
      // Credential-bearing header values are hidden, as GET …/headers hides them.
      const visible = Object.entries(extraHeaders ?? {}).filter(([k]) => !SENSITIVE_HEADERS.has(k.toLowerCase()));
      const hidden = Object.keys(extraHeaders ?? {}).filter((k) => SENSITIVE_HEADERS.has(k.toLowerCase()));
      return {
        status: 200,
        body: {
          ...shown,
          extraHeaders: extraHeaders ? Object.fromEntries(visible) : null,
          sensitiveExtraHeaders: hidden,
          clientSecretSet: clientSecret !== null,
        },
      };
    },
  }),
  route({
    method: 'PUT',
    operationId: 'v1.endpoint.set-oauth-config',
    ...ON_ENDPOINT,
    async handler(c) {
      const oauth = checkOAuth(c.body, tokenUrlCheck(c));
      assertSingleAuthorization('oauth', c.endpoint!.auth ?? null, c.endpoint!.headers);
      return save(c, withAuth(c.endpoint!.auth ?? null, 'oauth', oauth));
    },
  }),
  route({
    method: 'DELETE',
    operationId: 'v1.endpoint.delete-oauth-config',
    ...ON_ENDPOINT,
    handler: (c) => save(c, withAuth(c.endpoint!.auth ?? null, 'oauth', null)),
  }),
  route({
    method: 'GET',
    operationId: 'v1.endpoint.get-mtls',
    ...ON_ENDPOINT,
    async handler(c) {
      return { status: 200, body: { enabled: c.endpoint!.auth?.mtls !== undefined } };
    },
  }),
  route({
    method: 'PUT',
    operationId: 'v1.endpoint.set-mtls-config',
    ...ON_ENDPOINT,
    handler: (c) => save(c, withAuth(c.endpoint!.auth ?? null, 'mtls', { identity: checkIdentity(c.body.identity) })),
  }),
  route({
    method: 'DELETE',
    operationId: 'v1.endpoint.delete-mtls-config',
    ...ON_ENDPOINT,
    handler: (c) => save(c, withAuth(c.endpoint!.auth ?? null, 'mtls', null)),
  }),
  route({
    method: 'GET',
    operationId: 'v1.endpoint.get-server-ca',
    access: 'view',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      return { status: 200, body: { cert: c.endpoint!.auth?.ca ?? null } };
    },
  }),
  route({
    method: 'PUT',
    operationId: 'v1.endpoint.set-server-ca',
    ...ON_ENDPOINT,
    async handler(c) {
      const cert = c.body.cert === undefined || c.body.cert === null ? null : checkPem(c.body.cert, 'cert', PEM_CERT);
      if (cert !== null) certificateOf(cert, 'cert');
      return save(c, withAuth(c.endpoint!.auth ?? null, 'ca', cert));
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.endpoint.get-auth',
    ...ON_ENDPOINT,
    async handler(c) {
      const h = c.endpoint!.auth?.http;
      if (!h) throw notFound('Authentication');
      return { status: 200, body: h.type === 'basic' ? { type: 'basic', username: h.username, passwordSet: true } : { type: 'bearer', tokenSet: true } };
    },
  }),
  route({
    method: 'PUT',
    operationId: 'v1.endpoint.set-auth',
    ...ON_ENDPOINT,
    async handler(c) {
      const http = checkHttpAuth(c.body);
      assertSingleAuthorization('http', c.endpoint!.auth ?? null, c.endpoint!.headers);
      return save(c, withAuth(c.endpoint!.auth ?? null, 'http', http));
    },
  }),
  route({
    method: 'DELETE',
    operationId: 'v1.endpoint.delete-auth',
    ...ON_ENDPOINT,
    handler: (c) => save(c, withAuth(c.endpoint!.auth ?? null, 'http', null)),
  }),
];
