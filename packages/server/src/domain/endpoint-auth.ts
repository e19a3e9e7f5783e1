// How Herald authenticates to an endpoint beyond the signature: what an endpoint may carry, and
// the rules over it. Four independent settings, all sealed at rest in one value with the endpoint
// (`auth_sealed`), none ever returned by the API (answers say only whether each is set):
//  - `http`: Basic auth or a static bearer token, sent as `Authorization` (Herald's `/auth` route);
//  - `oauth`: OAuth 2.0 client credentials (Svix's `/oauth` route and shape); the token is sent as
//    `Authorization: Bearer`;
//  - `mtls`: a client certificate and its key, in one PEM `identity` (Svix's `/mtls`);
//  - `ca`: the PEM certificates the receiver's certificate is checked against (Svix's `/ca`).
// `http` and `oauth` both write `Authorization`, so an endpoint has at most one of them, and while
// either is set its custom headers may not hold `Authorization` (the credential would be sent
// twice, or one would silently override the other).
import { conflict, invalidBody } from './errors.js';

export type HttpAuth = { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string };

/** OAuth 2.0 client credentials, in Svix's `EndpointOauthConfigIn` shape (the grant and methods Herald runs). */
export interface OAuthConfig {
  grantType: 'clientCredentials';
  /** How the client authenticates to the token endpoint. */
  authMethod: 'clientSecretBasic' | 'clientSecretPost';
  tokenUrl: string;
  clientId: string;
  clientSecret: string | null;
  scopes: string[] | null;
  /** Sent as the `audience` parameter (Auth0, Okta and others ask for one). */
  audience: string | null;
  extraParams: Record<string, string> | null;
  extraHeaders: Record<string, string> | null;
}

export interface EndpointAuth {
  http?: HttpAuth;
  oauth?: OAuthConfig;
  /** PEM: the client certificate (chain) and its private key. */
  mtls?: { identity: string };
  /** PEM: the CA certificates the receiver's certificate must chain to (besides the installation's). */
  ca?: string;
}

const MAX_FIELD = 4096;
const MAX_PEM = 64 * 1024;

function text(v: unknown, field: string[], max = MAX_FIELD, required = true): string | null {
  if (v === undefined || v === null || v === '') {
    if (required) throw invalidBody(field, 'is required');
    return null;
  }
  if (typeof v !== 'string') throw invalidBody(field, 'must be a string');
  if (v.length > max) throw invalidBody(field, `must be at most ${max} characters`);
  // Anything that ends up in a header: no control characters.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is to refuse control characters in a header value
  if (max === MAX_FIELD && /[\x00-\x08\x0a-\x1f\x7f]/.test(v)) throw invalidBody(field, 'may not hold control characters');
  return v;
}

function stringMap(v: unknown, field: string): Record<string, string> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidBody([field], 'must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(v as Record<string, unknown>)) out[k] = text(s, [field, k])!;
  return Object.keys(out).length ? out : null;
}

/** The `/auth` body: `{type: "basic", username, password}` or `{type: "bearer", token}`. */
export function checkHttpAuth(b: Record<string, unknown>): HttpAuth {
  if (b.type === 'basic') {
    const username = text(b.username, ['username'])!;
    if (username.includes(':')) throw invalidBody(['username'], 'may not contain ":" (Basic auth joins the two with one)');
    return { type: 'basic', username, password: text(b.password, ['password'])! };
  }
  if (b.type === 'bearer') return { type: 'bearer', token: text(b.token, ['token'])! };
  throw invalidBody(['type'], 'must be "basic" or "bearer"');
}

/** The `/oauth` body (Svix's shape). `checkUrl` applies the URL and SSRF checks the endpoint URL gets. */
export function checkOAuth(b: Record<string, unknown>, checkUrl: (url: string) => void): OAuthConfig {
  if (b.grantType !== 'clientCredentials') {
    throw invalidBody(['grantType'], 'Herald runs the "clientCredentials" grant only');
  }
  if (b.authMethod !== 'clientSecretBasic' && b.authMethod !== 'clientSecretPost') {
    throw invalidBody(['authMethod'], 'Herald supports "clientSecretBasic" and "clientSecretPost"');
  }
  const tokenUrl = text(b.tokenUrl, ['tokenUrl'])!;
  checkUrl(tokenUrl);
  const scopes = b.scopes === undefined || b.scopes === null ? null : b.scopes;
  if (scopes !== null && (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s)))) {
    throw invalidBody(['scopes'], 'must be a list of scope names (visible ASCII, no spaces, quotes or backslashes)');
  }
  return {
    grantType: 'clientCredentials',
    authMethod: b.authMethod,
    tokenUrl,
    clientId: text(b.clientId, ['clientId'])!,
    clientSecret: text(b.clientSecret, ['clientSecret'], MAX_FIELD, false),
    scopes: scopes?.length ? (scopes as string[]) : null,
    audience: text(b.audience, ['audience'], MAX_FIELD, false),
    extraParams: stringMap(b.extraParams, 'extraParams'),
    extraHeaders: stringMap(b.extraHeaders, 'extraHeaders'),
  };
}

/** PEM text of at most 64 KiB holding at least one block named `what` (parsing is the caller's). */
export function checkPem(v: unknown, field: string, what: RegExp): string {
  const pem = text(v, [field], MAX_PEM)!;
  if (!what.test(pem)) throw invalidBody([field], 'must be PEM text (-----BEGIN …-----)');
  return pem;
}

/** Whether custom headers set the header an authentication setting writes. */
export function headersSetAuthorization(headers: Record<string, unknown>): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === 'authorization');
}

/**
 * Refuse an authentication setting that would write `Authorization` beside another writer: Basic
 * or bearer beside OAuth (either way round), or either beside a custom `Authorization` header.
 */
export function assertSingleAuthorization(kind: 'http' | 'oauth', auth: EndpointAuth | null, headers: Record<string, string>): void {
  const other = kind === 'http' ? 'oauth' : 'http';
  if (auth?.[other]) {
    throw conflict(
      kind === 'http'
        ? 'The endpoint authenticates with OAuth; delete its OAuth configuration before setting Basic or bearer authentication.'
        : 'The endpoint has Basic or bearer authentication; delete it before configuring OAuth.',
    );
  }
  if (headersSetAuthorization(headers)) {
    throw conflict('The endpoint has a custom Authorization header; remove it from its headers first.');
  }
}

/** Custom headers may not set `Authorization` while an authentication setting writes it. */
export function assertHeadersLeaveAuthorization(headers: Record<string, unknown>, auth: EndpointAuth | null): void {
  if ((auth?.http || auth?.oauth) && headersSetAuthorization(headers)) {
    throw invalidBody(
      ['headers', 'Authorization'],
      'the endpoint sets Authorization through its authentication settings (/auth or /oauth); a custom header may not set it too',
    );
  }
}

/** The endpoint's settings with one replaced or removed; null when none is left. */
export function withAuth<K extends keyof EndpointAuth>(auth: EndpointAuth | null, key: K, value: EndpointAuth[K] | null): EndpointAuth | null {
  const next: EndpointAuth = { ...(auth ?? {}) };
  if (value === null || value === undefined) delete next[key];
  else next[key] = value;
  return Object.keys(next).length ? next : null;
}
