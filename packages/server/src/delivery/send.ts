// delivery: one attempt. Build the request, sign it, send it with undici, classify the answer.
// Knows nothing of the store: it takes values and returns values.
import { parseSecret, sign, type ParsedSecret } from '@herald/receiver';
import { Agent, request } from 'undici';
import { recordedRequestHeaders } from '../domain/request-headers.js';
import { parseRetryAfter, type Outcome } from '../domain/retry.js';
import type { EgressConfig } from '../config/index.js';
import type { SsrfGuard } from '../security/ssrf.js';
import { caFor, EndpointAuthenticator, type AuthTarget } from './auth.js';
import { egressConnector } from './egress.js';

/** What is kept of a response body in the attempt log. */
export const RESPONSE_KEEP_BYTES = 20 * 1024;

export interface DeliveryRequest {
  url: string;
  /** POST unless the endpoint's transformation chose PUT. */
  method?: 'POST' | 'PUT';
  msgId: string;
  /** The exact bytes to send. */
  body: string;
  /** Current secret first, then those still in their grace period. */
  secrets: readonly ParsedSecret[];
  /** Endpoint custom headers. */
  headers: Record<string, string>;
  timestampSeconds: number;
  /** This request's total deadline (the endpoint's or application's policy); the sender's own by default. */
  timeoutMs?: number;
  /** How to authenticate to the endpoint beyond the signature (delivery/auth.ts); none by default. */
  auth?: AuthTarget;
  /** The W3C traceparent of the attempt's span, when tracing is on. */
  traceparent?: string;
}

export interface DeliveryResult {
  outcome: Outcome;
  statusCode: number;
  /** The first 20 kB of the response body, or why there was none. */
  response: string;
  durationMs: number;
  /** No answer within the delivery timeout. */
  timedOut?: boolean;
  /** The request's headers as the attempt records them (domain/request-headers.ts); absent when none was sent. */
  requestHeaders?: string | null;
  /** Nothing was sent because the endpoint's transformation canceled the delivery or failed: says nothing of the endpoint's health. */
  notSent?: boolean;
}

export interface SenderOptions {
  timeoutMs: number;
  /** Header families to sign with: `svix-*`, `webhook-*` or both. */
  headerPrefixes: readonly ('svix' | 'webhook')[];
  userAgent: string;
  /** Refuses non-global targets; its lookup is what the sockets resolve names with. */
  guard: SsrfGuard;
  /** Fixed source addresses and/or a proxy (see egress.ts); none by default. */
  egress?: Pick<EgressConfig, 'addresses' | 'proxy' | 'noProxy'>;
  /** CA certificates receivers' certificates may also chain to (HERALD_EXTRA_CA_CERTS), PEM. */
  extraCaCerts?: string | null;
  /** Injectable for tests; a keep-alive pool by default. */
  dispatcher?: Agent;
}

const secretCache = new Map<string, ParsedSecret>();
/** Parse (and memoise) a stored secret; parsing an ed25519 key is far dearer than signing. */
export function parsedSecret(secret: string): ParsedSecret {
  let p = secretCache.get(secret);
  if (!p) {
    if (secretCache.size > 50_000) secretCache.clear();
    p = parseSecret(secret);
    secretCache.set(secret, p);
  }
  return p;
}

/**
 * The total deadline of each request in flight. They all have the same length, so they fall due in
 * the order they started, and one timer serves them all. `AbortSignal.timeout` per request kept a
 * timer alive for the whole timeout after the request had finished: at 4,000 deliveries/s and 15 s
 * that is 60,000 timers and signals, old enough to be promoted, which grew the old generation and
 * the process's resident memory with garbage. Endpoints may set their own timeout (whole seconds,
 * 1 to 60): each length gets its own instance, so the order still holds within each.
 */
class Deadlines {
  private readonly live = new Set<{ at: number; ctl: AbortController }>();
  private timer: NodeJS.Timeout | null = null;
  /** How late a deadline may fire: a tenth of the timeout, between 10 ms and 1 s. */
  private readonly tickMs: number;

  constructor(private readonly ms: number) {
    this.tickMs = Math.max(10, Math.min(1000, Math.floor(ms / 10)));
  }

  start(): { signal: AbortSignal; done: () => void } {
    const entry = { at: performance.now() + this.ms, ctl: new AbortController() };
    this.live.add(entry);
    this.timer ??= setInterval(() => this.sweep(), this.tickMs).unref();
    return {
      signal: entry.ctl.signal,
      done: () => {
        this.live.delete(entry);
        this.idle();
      },
    };
  }

  private sweep(): void {
    const now = performance.now();
    for (const e of this.live) {
      if (e.at > now) break;
      this.live.delete(e);
      e.ctl.abort(new DOMException(`The request took longer than ${this.ms} ms`, 'TimeoutError'));
    }
    this.idle();
  }

  private idle(): void {
    if (this.live.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

export class Sender {
  readonly agent: Agent;
  private readonly deadlines = new Map<number, Deadlines>();
  private readonly egress: ReturnType<typeof egressConnector>;
  /** Basic, bearer and OAuth credentials, and the Agents of endpoints with their own TLS identity. */
  readonly auth: EndpointAuthenticator;
  constructor(private readonly opts: SenderOptions) {
    const connectTimeoutMs = Math.min(opts.timeoutMs, 10_000);
    const ca = caFor(undefined, opts.extraCaCerts);
    const tls = ca ? { ca } : {};
    this.egress = opts.egress ? egressConnector({ egress: opts.egress, guard: opts.guard, connectTimeoutMs, tls }) : null;
    this.agent =
      opts.dispatcher ??
      // No per-origin connection cap: endpoints sharing a host (several paths of one API, or many
      // tenants on one integration platform) must not queue behind a slow neighbour. The
      // dispatcher's per-endpoint concurrency is what bounds connections.
      new Agent({
        keepAliveTimeout: 30_000,
        connections: null,
        connect: this.egress?.connect ?? { timeout: connectTimeoutMs, lookup: opts.guard.lookup as never, ...tls },
      });
    this.auth = new EndpointAuthenticator({
      guard: opts.guard,
      egress: opts.egress,
      extraCaCerts: opts.extraCaCerts,
      connectTimeoutMs,
      // A token request runs inside the attempt's deadline, except the one after a 401: at most half
      // the default timeout keeps the attempt well inside its lease (at least twice the timeout).
      tokenTimeoutMs: Math.min(Math.floor(opts.timeoutMs / 2), 10_000),
      userAgent: opts.userAgent,
      agent: () => this.agent,
    });
  }

  /** `authorization`: the endpoint's credential (delivery/auth.ts), set over the custom headers. */
  headersFor(req: DeliveryRequest, authorization: string | null = null): Record<string, string> {
    // @herald/receiver's `sign` is the one implementation of the scheme (one entry per secret).
    const signature = sign({ id: req.msgId, timestamp: req.timestampSeconds, body: req.body, secrets: req.secrets });
    // Custom headers first, so Herald's own always win (the API also refuses reserved names).
    const h: Record<string, string> = { ...req.headers, 'content-type': 'application/json', 'user-agent': this.opts.userAgent };
    if (authorization !== null) h.authorization = authorization;
    for (const p of this.opts.headerPrefixes) {
      h[`${p}-id`] = req.msgId;
      h[`${p}-timestamp`] = String(req.timestampSeconds);
      h[`${p}-signature`] = signature;
    }
    if (req.traceparent) {
      // Herald's trace context replaces a custom header of the same name, whatever its case.
      for (const k of Object.keys(h)) if (/^trace(parent|state)$/i.test(k)) delete h[k];
      h.traceparent = req.traceparent;
    }
    return h;
  }

  async send(req: DeliveryRequest, nowMs: () => number): Promise<DeliveryResult> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    // Names are checked as they resolve (in the socket's lookup); IP literals here.
    const refused = this.opts.guard.urlRefusal(req.url);
    if (refused) return { outcome: { kind: 'retry' }, statusCode: 0, response: `Refused: ${refused}`, durationMs: took() };
    const timeoutMs = req.timeoutMs ?? this.opts.timeoutMs;
    let deadlines = this.deadlines.get(timeoutMs);
    if (!deadlines) this.deadlines.set(timeoutMs, (deadlines = new Deadlines(timeoutMs)));
    const deadline = deadlines.start();
    // The headers of the last request made, recorded (credentials masked) with the attempt.
    let sent: Record<string, string> | null = null;
    const requestHeaders = () => (sent === null ? null : recordedRequestHeaders(sent, this.opts.headerPrefixes));
    try {
      let auth = req.auth ? await this.auth.prepare(req.auth, nowMs) : null;
      if (auth && !auth.ok) return { outcome: { kind: 'retry' }, statusCode: 0, response: auth.reason, durationMs: took() };
      const post = (a: typeof auth) =>
        request(req.url, {
          method: req.method ?? 'POST',
          body: req.body,
          headers: (sent = this.headersFor(req, a?.ok ? a.authorization : null)),
          dispatcher: (a?.ok && a.dispatcher) || this.agent,
          signal: deadline.signal,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
      let res = await post(auth);
      // An OAuth token the endpoint no longer takes: fetch a new one and try again, once, within this attempt.
      if (res.statusCode === 401 && auth?.ok && auth.oauth) {
        await res.body.dump();
        auth = await this.auth.prepare(req.auth!, nowMs, auth.authorization);
        if (!auth.ok)
          return {
            outcome: { kind: 'retry' },
            statusCode: 401,
            response: `The endpoint answered 401; ${auth.reason}`,
            durationMs: took(),
            requestHeaders: requestHeaders(),
          };
        res = await post(auth);
      }
      const response = await readCapped(res.body);
      const statusCode = res.statusCode;
      const header = (name: string) => {
        const v = res.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      return { outcome: classify(statusCode, header, nowMs()), statusCode, response, durationMs: took(), requestHeaders: requestHeaders() };
    } catch (e) {
      const err = e as { name?: string; code?: string; message?: string };
      const timedOut = err.name === 'TimeoutError' || err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT';
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = timedOut
        ? `Timed out after ${timeoutMs} ms`
        : err.code === 'ESSRF' || cause?.code === 'ESSRF'
          ? ((err.code === 'ESSRF' ? err.message : cause!.message) ?? 'Refused')
          : `Connection failed: ${err.code ?? err.name ?? 'error'}: ${err.message ?? ''}`;
      return {
        outcome: { kind: 'retry' },
        statusCode: 0,
        response: why,
        durationMs: took(),
        requestHeaders: requestHeaders(),
        ...(timedOut ? { timedOut } : {}),
      };
    } finally {
      deadline.done();
    }
  }

  async close(): Promise<void> {
    await this.auth.close();
    await this.agent.close();
    await this.egress?.close();
  }
}

/** Success is a 2xx; redirects are never followed and count as failures. */
export function classify(statusCode: number, header: (name: string) => string | undefined, nowMs: number): Outcome {
  const directive = header('webhook-delivery')?.trim().toLowerCase();
  if (statusCode >= 200 && statusCode < 300) return { kind: 'success' };
  if (statusCode === 410) return { kind: 'disable', reason: 'The endpoint answered 410 Gone' };
  if (directive === 'disable') return { kind: 'disable', reason: 'The endpoint asked to be disabled (webhook-delivery: disable)' };
  if (directive === 'abort-message') return { kind: 'abort' };
  // Retry-After is honoured on any failed response (as Svix does), within the policy's bounds.
  return { kind: 'retry', retryAfterMs: parseRetryAfter(header('retry-after'), nowMs) };
}

async function readCapped(body: AsyncIterable<Buffer> & { dump?: (o?: { limit: number }) => Promise<void> }): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    if (n < RESPONSE_KEEP_BYTES) chunks.push(chunk);
    n += chunk.length;
    // Past the cap, keep draining (so the connection can be reused) but keep nothing.
    if (n > 1024 * 1024) break;
  }
  const text = Buffer.concat(chunks).subarray(0, RESPONSE_KEEP_BYTES).toString('utf8');
  return text;
}
