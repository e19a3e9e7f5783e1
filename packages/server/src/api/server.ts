// api: the HTTP layer. Builds the Fastify instance, registers every route from the contract, and
// maps errors once to Svix's wire bodies.
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { HttpError, notFound, forbidden, payloadTooLarge, ValidationError } from '../domain/errors.js';
import type { Application } from '../domain/types.js';
import { StoreError, StoreUnavailableError, storeErrorStatus } from '../store/errors.js';
import type { Principal } from './auth.js';
import type { StoreHealth } from './store-health.js';
import { coerceQuery, validateBody, type Operation } from './contract.js';
import { serviceRoutes } from './service-routes.js';
import { decodeLook } from './portal-look.js';
import { portalRoutes } from './portal.js';
import { idempotencyKey, IdempotencyGuard } from './idempotency.js';
import { ApiRateLimits, RateLimited } from './rate-limit.js';
import { createdIds, isAudited } from '../domain/audit.js';
import { toJson } from './serialize.js';
import { corsHeaders, corsHook, registerPreflight } from './cors.js';
import { checkJsonDepth, MAX_JSON_DEPTH } from '../domain/validation.js';
import { checkInputText, pathIdUsable } from './input.js';
import type { ApiDeps, Ctx, Result, RouteDef } from './route.js';
import { allRoutes } from './routes/index.js';
import { connectionOptions, watchConnections } from './connections.js';

/**
 * The one place errors become answers. `health` offers an error that would otherwise be a 500 to
 * the store's classifier first, so a driver's "disk full" or "connection refused" is answered as
 * the store error it means (507, or 503 with Retry-After).
 */
function sendError(reply: FastifyReply, err: unknown, health?: StoreHealth): FastifyReply {
  corsHeaders(reply);
  if (err instanceof ValidationError) return reply.code(422).send({ detail: err.issues });
  if (err instanceof RateLimited) reply.header('retry-after', String(err.retryAfterSeconds));
  if (err instanceof HttpError) return reply.code(err.status).send({ code: err.code, detail: err.detail });
  if (err instanceof StoreError) {
    if (err instanceof StoreUnavailableError) reply.header('retry-after', String(err.retryAfterSeconds));
    if (err.kind === 'unavailable' || err.kind === 'full') {
      health?.observe(err);
      reply.log.error({ err: err.cause ?? err }, err.detail);
    }
    return reply.code(storeErrorStatus(err)).send({ code: err.code, detail: err.detail });
  }
  const e = err as { code?: string; statusCode?: number; message?: string };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendError(reply, payloadTooLarge());
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply.code(415).send({ code: 'unsupported_media_type', detail: 'Request bodies must be JSON: send Content-Type: application/json' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply.code(422).send({ detail: [{ loc: ['body'], msg: 'a JSON body is required', type: 'value_error.missing' }] });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return reply.code(422).send({ detail: [{ loc: ['body'], msg: `invalid JSON: ${e.message}`, type: 'value_error.jsondecode' }] });
    // Router errors (found by the hostile-input suite): without this they answered Fastify's own
    // {error, code, message} shape, echoing the whole URL back.
    case 'FST_ERR_BAD_URL':
      return reply.code(400).send({ code: 'generic_error', detail: 'The URL is malformed (invalid percent-encoding or UTF-8 in the path)' });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return reply.code(414).send({ code: 'uri_too_long', detail: 'A path parameter is longer than 512 characters' });
  }
  if (e instanceof SyntaxError || (e.statusCode === 400 && /JSON/i.test(e.message ?? ''))) {
    return reply.code(422).send({ detail: [{ loc: ['body'], msg: `invalid JSON: ${e.message}`, type: 'value_error.jsondecode' }] });
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return reply.code(e.statusCode).send({ code: 'generic_error', detail: e.message ?? 'Bad request' });
  }
  const storeError = health?.observe(err);
  if (storeError) return sendError(reply, storeError, health);
  reply.log.error({ err, method: reply.request.method, url: reply.request.url.split('?')[0] }, 'unhandled error');
  return reply.code(500).send({ code: 'server_error', detail: 'Internal server error' });
}

export interface BuildApiOptions {
  /** Log to stdout (the CLI) or not (tests). */
  logger?: boolean;
}

export async function buildApi(deps: ApiDeps, opts: BuildApiOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ? { level: deps.config.logLevel, redact: ['req.headers.authorization'] } : false,
    // Per-request logs would dominate the hot path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child logger either: building one (pino serialises its bindings) cost about
    // 1% of the ingest thread, for a request id that nothing outside the log could match. The two
    // errors logged per request name the route instead.
    childLoggerFactory: (logger) => logger,
    bodyLimit: deps.config.maxPayloadBytes + 64 * 1024,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    frameworkErrors: (err, _req, reply) => sendError(reply, err, deps.storeHealth),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    ...connectionOptions(deps.config.http),
  });
  watchConnections(app.server);
  registerPreflight(app);
  app.setErrorHandler((err, _req, reply) => sendError(reply, err, deps.storeHealth));
  // An empty body with a JSON content type is no body (curl scripts send that on DELETE and
  // body-less POSTs). Any valid JSON parses, `__proto__` keys included: JSON.parse makes them own
  // properties and never touches a prototype. Herald's own fields then refuse such keys with a
  // 422 naming the field (api/input.ts), while a message payload keeps them, byte for byte.
  const parseJson = app.getDefaultJsonParser('ignore', 'ignore');
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    // Kept for routes that must store a member byte for byte (a message's payload).
    (req as FastifyRequest & { rawBody?: string }).rawBody = body as string;
    return parseJson(req, body as string, (err, parsed) => {
      if (err) return done(err);
      // Nesting deeper than MAX_JSON_DEPTH needs at least that many brackets: small bodies skip the walk.
      if ((body as string).length > 2 * MAX_JSON_DEPTH) {
        try {
          checkJsonDepth(parsed);
        } catch (e) {
          return done(e as Error);
        }
      }
      return done(null, parsed);
    });
  });
  app.setNotFoundHandler((req, reply) => {
    corsHeaders(reply);
    return reply.code(404).send({ code: 'not_found', detail: `No route for ${req.method} ${req.url.split('?')[0]}` });
  });

  const guard = new IdempotencyGuard(deps.store);
  const limits = new ApiRateLimits(deps.config.apiRateLimit);
  const registered = new Set<string>();
  for (const def of allRoutes) {
    const op = deps.contract.operation(def.method, def.operationId);
    registered.add(`${op.method} ${op.path}`);
    app.route({
      method: def.method,
      url: op.routePath,
      // Who is calling is known from the headers: a caller is admitted before its body is read, so
      // an unauthenticated client holds no body bytes (only on routes that take a body: the hook
      // runner costs, and a GET has nothing to read).
      preParsing:
        def.access !== 'public' && BODY_METHODS.has(def.method)
          ? (req, reply, payload, done) => {
              admit(deps, limits, def, req).then(
                () => done(null, payload),
                (err: unknown) => {
                  // The body is left unread: close the connection rather than drain it.
                  if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) reply.header('connection', 'close');
                  done(err as Error);
                },
              );
            }
          : undefined,
      handler: (req, reply) => handle(deps, guard, limits, def, op, req, reply),
    });
  }
  // Routes outside the contract get CORS from a hook, in a scope of their own (see cors.ts).
  await app.register(async (scope) => {
    scope.addHook('onRequest', corsHook);
    serviceRoutes(scope, deps);
    await portalRoutes(scope, { frameAncestors: deps.config.portalFrameAncestors, look: (p) => decodeLook(p, deps.auth.verifyLook) });
  });
  const missing = deps.contract.operations.filter((o) => !registered.has(`${o.method} ${o.path}`));
  if (missing.length) throw new Error(`contract operations without a route: ${missing.map((o) => `${o.method} ${o.path}`).join(', ')}`);
  return app;
}

async function resolveApp(deps: ApiDeps, def: RouteDef, principal: Principal, idOrUid: string): Promise<Application | null> {
  // An id no store could hold names nothing: the store is not asked (PostgreSQL would refuse NUL).
  const app = pathIdUsable(idOrUid) ? await deps.store.getApplication(idOrUid) : null;
  if (principal.kind === 'portal' && (!app || app.id !== principal.appId)) {
    // A portal token learns nothing about other applications, not even whether they exist.
    throw forbidden('This token is scoped to another application.');
  }
  if (!app && def.app === 'required') throw notFound('Application');
  return app;
}

/** What each path parameter names, for the 404 an unusable id answers. */
const PATH_THINGS: Record<string, string> = {
  app_id: 'Application',
  endpoint_id: 'Endpoint',
  msg_id: 'Message',
  attempt_id: 'Attempt',
  event_type_name: 'Event type',
  task_id: 'Task',
  contact_id: 'Contact',
};

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const PUBLIC: Principal = Object.freeze({ kind: 'operator' });
const admitted = new WeakMap<FastifyRequest, Principal>();

/** The caller, authenticated from the headers and counted against its rate limit, once per request. */
async function admit(deps: ApiDeps, limits: ApiRateLimits, def: RouteDef, req: FastifyRequest): Promise<Principal> {
  if (def.access === 'public') return PUBLIC;
  const known = admitted.get(req);
  if (known) return known;
  const principal = await deps.auth.authenticate(req.headers.authorization, req.raw.socket);
  // Every authenticated request counts, refused ones included, so probing is limited too.
  limits.take(principal, deps.now());
  admitted.set(req, principal);
  return principal;
}

async function handle(deps: ApiDeps, guard: IdempotencyGuard, limits: ApiRateLimits, def: RouteDef, op: Operation, req: FastifyRequest, reply: FastifyReply) {
  corsHeaders(reply);
  let caller: Principal | undefined;
  try {
    const principal = await admit(deps, limits, def, req);
    caller = principal;
    if (principal.kind === 'portal') {
      if (def.access === 'org') throw forbidden();
      if (def.access !== 'public' && !principal.permissions.includes(def.access)) {
        throw forbidden(`This token lacks the '${def.access}' permission.`);
      }
    }
    const params = req.params as Record<string, string>;
    // Scope before content: a token learns nothing about another tenant, not even validation errors.
    const app = params.app_id !== undefined ? await resolveApp(deps, def, principal, params.app_id) : null;
    for (const [name, value] of Object.entries(params)) {
      if (!pathIdUsable(value)) throw notFound(PATH_THINGS[name] ?? 'Entity');
    }
    // A missing body is an empty object, so optional-only bodies (rotate, portal access) may be omitted.
    const body: unknown = req.body === undefined ? {} : req.body;
    checkInputText(req.query as Record<string, unknown>, op.queryNames, body, def.opaque);
    const query = coerceQuery(op, req.query as Record<string, unknown>);
    if (op.validateBody) validateBody(op, body);
    const now = deps.now();
    let endpoint = null;
    if (params.endpoint_id !== undefined && app) {
      endpoint = await deps.store.getEndpoint(app.id, params.endpoint_id);
      // A broker destination's endpoint row is reached through the destination routes only, and a
      // resend, which takes the destination's id in the endpoint's place.
      if (endpoint?.kind && def.operationId !== 'v1.message-attempt.resend') endpoint = null;
      if (!endpoint && def.endpoint === 'required') throw notFound('Endpoint');
    }
    let message = null;
    if (params.msg_id !== undefined && app) {
      message = await deps.store.getMessage(app.id, params.msg_id);
      if (!message) throw notFound('Message');
    }

    const rawKey = def.method === 'POST' ? req.headers['idempotency-key'] : undefined;
    const key = typeof rawKey === 'string' && rawKey !== '' ? idempotencyKey(req.headers.authorization ?? '', rawKey, req.method, req.url) : null;
    let stored = false;
    /** The answer as serialized for the store, sent as it is rather than serialized twice. */
    let storedBody: string | undefined;
    const ctx: Ctx = {
      deps,
      op,
      principal,
      params,
      query,
      body,
      app,
      endpoint,
      message,
      now,
      headers: req.headers,
      rawBody: (req as FastifyRequest & { rawBody?: string }).rawBody,
      idem: (status, out, msgId) => {
        if (!key) return undefined;
        if (msgId && !def.replay) throw new Error(`${def.operationId} stores message answers but cannot replay them`);
        stored = true;
        return { key, status, now, body: (r) => (storedBody = toJson(out(r))), msgId };
      },
    };
    const audited = async (r: Result) => {
      // Most requests (message ingest, reads) are not audited: skip the id lookup for them.
      if (!isAudited(def.method, def.operationId, r.status)) return;
      const made = createdIds(r.body);
      await audit(deps, def, req, principal, r.status, {
        appId: app?.id ?? made.appId ?? null,
        endpointId: endpoint?.id ?? made.endpointId ?? null,
        msgId: message?.id ?? made.msgId ?? null,
      });
    };
    if (!key) {
      const r = await def.handler(ctx);
      await audited(r);
      return sendResult(reply, r);
    }
    const outcome = await guard.run(key, now, async () => {
      const r = await def.handler(ctx);
      return { status: r.status, body: storedBody ?? (r.body === undefined ? '' : toJson(r.body)), stored, result: r };
    });
    if ('replayed' in outcome) {
      // A replay changes nothing; the first answer was audited.
      const { status, body: text, msgId } = outcome.replayed;
      reply.header('idempotent-replayed', 'true');
      return sendRaw(reply, status, msgId !== undefined && def.replay ? toJson(await def.replay(ctx, msgId)) : text);
    }
    await audited(outcome.fresh.result);
    return sendRaw(reply, outcome.fresh.status, outcome.fresh.body, outcome.fresh.result.headers);
  } catch (err) {
    if (caller && err instanceof HttpError && err.status === 403) {
      const p = req.params as Record<string, string>;
      // Refused, so nothing was resolved: the ids are as the caller wrote them.
      await audit(deps, def, req, caller, 403, { appId: p.app_id ?? null, endpointId: p.endpoint_id ?? null, msgId: p.msg_id ?? null });
    }
    return sendError(reply, err, deps.storeHealth);
  }
}

/**
 * Append the request to the audit log, if it is one that is audited (domain/audit.ts). Written
 * before the answer goes out. The change it records is already committed, so a failed audit write
 * does not turn it into an error answer (a retry would repeat the change); it is logged instead.
 */
async function audit(
  deps: ApiDeps,
  def: RouteDef,
  req: FastifyRequest,
  principal: Principal,
  status: number,
  ids: { appId: string | null; endpointId: string | null; msgId: string | null },
): Promise<void> {
  if (!isAudited(def.method, def.operationId, status)) return;
  const at = deps.now();
  const path = req.url.split('?')[0]!;
  try {
    await deps.store.appendAudit({
      id: deps.ids.next('audit', at),
      at,
      actor: principal.kind,
      sessionId: principal.kind === 'portal' ? principal.sessionId : null,
      actorAppId: principal.kind === 'portal' ? principal.appId : null,
      operationId: def.operationId,
      method: def.method,
      path: path.length > 2048 ? `${path.slice(0, 2048)}…` : path,
      status,
      ...ids,
    });
  } catch (err) {
    req.log.error({ err, operationId: def.operationId, status }, 'could not write the audit log entry');
  }
}

function sendResult(reply: FastifyReply, r: Result): FastifyReply {
  if (r.headers) reply.headers(r.headers);
  if (r.body === undefined) return reply.code(r.status).send();
  return reply.code(r.status).type('application/json').send(toJson(r.body));
}

function sendRaw(reply: FastifyReply, status: number, body: string, headers?: Record<string, string>): FastifyReply {
  if (headers) reply.headers(headers);
  if (body === '') return reply.code(status).send();
  return reply.code(status).type('application/json').send(body);
}
