// delivery/auth: how the sender authenticates to an endpoint beyond the signature. The sender asks
// it, per attempt, for the `Authorization` value (Basic, a static bearer token, or an OAuth 2.0
// client-credentials token it fetches and caches) and for the undici Agent that carries the
// endpoint's TLS identity (an mTLS client certificate, a CA bundle). Knows nothing of the store.
//
// OAuth tokens are cached per endpoint in this process until shortly before they expire (a tenth
// of their lifetime, at most a minute, early), keyed by the configuration that fetched them, so a
// changed configuration fetches anew. A 401 from the endpoint asks for a fresh token once
// (`rejected`); attempts that were refused the same token at the same time share one new token. The token URL is fetched through the sender's own Agent: the same SSRF guard and
// egress settings (fixed source addresses, proxy) as deliveries.
//
// Agents: one per distinct TLS identity (client certificate, key and CA bundle), shared by the
// endpoints that carry the same one. When an endpoint's identity changes its old Agent is closed
// unless another endpoint still uses it; Agents nobody used for ten minutes (deleted endpoints'
// among them) are closed by the next look-up.
import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import type { EgressConfig } from '../config/index.js';
import type { EndpointAuth, OAuthConfig } from '../domain/endpoint-auth.js';
import type { SsrfGuard } from '../security/ssrf.js';
import { egressConnector } from './egress.js';

/** What the sender needs to know of an endpoint to authenticate to it. */
export interface AuthTarget {
  endpointId: string;
  auth: EndpointAuth;
}

/** The credentials of one attempt, or why there are none. */
export type Prepared = { ok: true; authorization: string | null; dispatcher: Dispatcher | null; oauth: boolean } | { ok: false; reason: string };

export interface AuthOptions {
  guard: SsrfGuard;
  egress?: Pick<EgressConfig, 'addresses' | 'proxy' | 'noProxy'> | undefined;
  /** Installation-wide extra CA certificates (HERALD_EXTRA_CA_CERTS), PEM. */
  extraCaCerts?: string | null | undefined;
  connectTimeoutMs: number;
  /** How long a token request may take. */
  tokenTimeoutMs: number;
  userAgent: string;
  /** The sender's Agent: token requests go through it (guard and egress as deliveries). */
  agent: () => Dispatcher;
}

interface CachedToken {
  key: string;
  token: string;
  /** Epoch ms after which it is fetched again; null: until a 401. */
  refreshAt: number | null;
}

interface PooledAgent {
  agent: Agent;
  close: () => Promise<void>;
  usedAt: number;
}

/** How long an Agent may sit unused before it is closed. */
const AGENT_IDLE_MS = 10 * 60_000;
/** Without `expires_in`, a token is kept at most this long (and dropped at once on a 401). */
const TOKEN_DEFAULT_TTL_MS = 60 * 60_000;
const TOKEN_BODY_MAX = 64 * 1024;

/** Why a token request failed, in the words the attempt log shows. */
class TokenError extends Error {}

const fingerprint = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex');
/** Fingerprints by settings object: a store hands out the same object while the endpoint is unchanged (SQLite's cache). */
const prints = new WeakMap<object, string>();
function printOf(o: object, of: () => unknown): string {
  let p = prints.get(o);
  if (p === undefined) prints.set(o, (p = fingerprint(of())));
  return p;
}

/** The CA bundle for an endpoint: its own (which replaces the public ones), else the system's plus the installation's. */
export function caFor(endpointCa: string | undefined, extra: string | null | undefined): string[] | undefined {
  if (endpointCa) return extra ? [endpointCa, extra] : [endpointCa];
  return extra ? [...rootCertificates, extra] : undefined;
}

export class EndpointAuthenticator {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly fetching = new Map<string, Promise<CachedToken>>();
  private readonly agents = new Map<string, PooledAgent>();
  /** Which identity each endpoint last used. */
  private readonly identityOf = new Map<string, string>();
  /** Token requests made (for operators' curiosity and the tests). */
  tokenRequests = 0;

  constructor(private readonly o: AuthOptions) {}

  /**
   * The credentials for one attempt. `rejected`: the Authorization value the endpoint just answered
   * 401 to; a new OAuth token is fetched unless another attempt has already replaced that one.
   */
  async prepare(t: AuthTarget, nowMs: () => number, rejected: string | null = null): Promise<Prepared> {
    const dispatcher = this.dispatcherFor(t);
    const { http, oauth } = t.auth;
    if (http) {
      const authorization = http.type === 'basic' ? `Basic ${Buffer.from(`${http.username}:${http.password}`).toString('base64')}` : `Bearer ${http.token}`;
      return { ok: true, authorization, dispatcher, oauth: false };
    }
    if (oauth) {
      try {
        const token = await this.token(t.endpointId, oauth, nowMs, rejected?.replace(/^Bearer /, '') ?? null);
        return { ok: true, authorization: `Bearer ${token}`, dispatcher, oauth: true };
      } catch (e) {
        return { ok: false, reason: `OAuth token request failed: ${(e as Error).message}` };
      }
    }
    return { ok: true, authorization: null, dispatcher, oauth: false };
  }

  private async token(endpointId: string, cfg: OAuthConfig, nowMs: () => number, rejected: string | null): Promise<string> {
    const key = printOf(cfg, () => cfg);
    const cached = this.tokens.get(endpointId);
    const fresh = cached && cached.key === key && (cached.refreshAt === null || nowMs() < cached.refreshAt);
    // After a 401, a token other than the rejected one (fetched meanwhile for a concurrent attempt) is used as it is.
    if (fresh && cached.token !== rejected) return cached.token;
    // Concurrent attempts to one endpoint share one token request.
    let p = this.fetching.get(endpointId);
    if (!p) {
      p = this.fetchToken(cfg, key, nowMs).finally(() => this.fetching.delete(endpointId));
      this.fetching.set(endpointId, p);
    }
    const got = await p;
    this.tokens.set(endpointId, got);
    return got.token;
  }

  private async fetchToken(cfg: OAuthConfig, key: string, nowMs: () => number): Promise<CachedToken> {
    const refused = this.o.guard.urlRefusal(cfg.tokenUrl);
    if (refused) throw new TokenError(`Refused: ${refused}`);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (cfg.scopes?.length) form.set('scope', cfg.scopes.join(' '));
    if (cfg.audience) form.set('audience', cfg.audience);
    for (const [k, v] of Object.entries(cfg.extraParams ?? {})) form.set(k, v);
    const headers: Record<string, string> = {
      ...(cfg.extraHeaders ?? {}),
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      'user-agent': this.o.userAgent,
    };
    if (cfg.authMethod === 'clientSecretBasic') {
      // RFC 6749 §2.3.1: each part form-encoded before the Basic encoding.
      const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
      headers.authorization = `Basic ${Buffer.from(`${enc(cfg.clientId)}:${enc(cfg.clientSecret ?? '')}`).toString('base64')}`;
    } else {
      form.set('client_id', cfg.clientId);
      if (cfg.clientSecret !== null) form.set('client_secret', cfg.clientSecret);
    }
    this.tokenRequests++;
    const startedAt = nowMs();
    let status: number;
    let text: string;
    try {
      const res = await request(cfg.tokenUrl, {
        method: 'POST',
        body: form.toString(),
        headers,
        dispatcher: this.o.agent(),
        signal: AbortSignal.timeout(this.o.tokenTimeoutMs),
        headersTimeout: this.o.tokenTimeoutMs,
        bodyTimeout: this.o.tokenTimeoutMs,
      });
      status = res.statusCode;
      text = (await res.body.text()).slice(0, TOKEN_BODY_MAX);
    } catch (e) {
      const err = e as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
      if (err.code === 'ESSRF' || err.cause?.code === 'ESSRF') throw new TokenError((err.code === 'ESSRF' ? err.message : err.cause!.message) ?? 'Refused');
      if (err.name === 'TimeoutError' || err.code === 'UND_ERR_HEADERS_TIMEOUT')
        throw new TokenError(`the token URL did not answer within ${this.o.tokenTimeoutMs} ms`);
      throw new TokenError(`could not reach the token URL: ${err.code ?? err.name ?? 'error'}: ${err.message ?? ''}`);
    }
    let body: Record<string, unknown> | null = null;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = null;
    }
    if (status < 200 || status >= 300) {
      // RFC 6749 §5.2: `error` and `error_description` say why; never echo anything else (it could hold secrets).
      const why =
        body && typeof body.error === 'string'
          ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description.slice(0, 200)}` : ''}`
          : 'no OAuth error in the answer';
      throw new TokenError(`the token URL answered ${status} (${why})`);
    }
    const token = body?.access_token;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a token with control characters cannot be sent as a header
    if (typeof token !== 'string' || token === '' || /[\x00-\x1f\x7f]/.test(token)) {
      throw new TokenError(`the token URL answered ${status} without a usable access_token`);
    }
    const expiresIn = Number(body?.expires_in);
    const lifetimeMs = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : TOKEN_DEFAULT_TTL_MS;
    // Refresh shortly before expiry: a tenth of the lifetime early, at most a minute.
    return { key, token, refreshAt: startedAt + lifetimeMs - Math.min(60_000, lifetimeMs / 10) };
  }

  /** The Agent for the endpoint's TLS identity, or null when it has none (the sender's own then). */
  private dispatcherFor(t: AuthTarget): Dispatcher | null {
    const { mtls, ca } = t.auth;
    const now = Date.now();
    this.closeIdle(now);
    if (!mtls && !ca) {
      this.release(t.endpointId, null);
      return null;
    }
    const id = printOf(t.auth, () => [mtls?.identity ?? null, ca ?? null]);
    this.release(t.endpointId, id);
    let pooled = this.agents.get(id);
    if (!pooled) {
      // The identity PEM holds the certificate (chain) and the key; Node takes both from it.
      const tls = {
        ...(mtls ? { cert: mtls.identity, key: mtls.identity } : {}),
        ...(caFor(ca, this.o.extraCaCerts) ? { ca: caFor(ca, this.o.extraCaCerts)! } : {}),
      };
      const egress = this.o.egress ? egressConnector({ egress: this.o.egress, guard: this.o.guard, connectTimeoutMs: this.o.connectTimeoutMs, tls }) : null;
      const agent = new Agent({
        keepAliveTimeout: 30_000,
        connections: null,
        connect: egress?.connect ?? { timeout: this.o.connectTimeoutMs, lookup: this.o.guard.lookup as never, ...tls },
      });
      pooled = {
        agent,
        usedAt: now,
        close: async () => {
          await agent.close();
          await egress?.close();
        },
      };
      this.agents.set(id, pooled);
    }
    pooled.usedAt = now;
    return pooled.agent;
  }

  /** Record the endpoint's identity; close its previous one when no other endpoint uses it. */
  private release(endpointId: string, next: string | null): void {
    const prev = this.identityOf.get(endpointId);
    if (prev === next) return;
    if (next === null) this.identityOf.delete(endpointId);
    else this.identityOf.set(endpointId, next);
    if (prev !== undefined && ![...this.identityOf.values()].includes(prev)) {
      const pooled = this.agents.get(prev);
      this.agents.delete(prev);
      void pooled?.close().catch(() => undefined);
    }
  }

  private closeIdle(now: number): void {
    for (const [id, pooled] of this.agents) {
      if (now - pooled.usedAt < AGENT_IDLE_MS) continue;
      this.agents.delete(id);
      for (const [ep, used] of this.identityOf) if (used === id) this.identityOf.delete(ep);
      void pooled.close().catch(() => undefined);
    }
  }

  /** How many TLS identities have an open Agent. */
  get agentCount(): number {
    return this.agents.size;
  }

  async close(): Promise<void> {
    const all = [...this.agents.values()];
    this.agents.clear();
    this.identityOf.clear();
    await Promise.all(all.map((p) => p.close()));
  }
}
