// Endpoints: a tenant's URLs, their filters, signing secrets, custom headers and throttle rate.
import { badRequest, forbidden, invalidBody, notFound } from '../../domain/errors.js';
import { isIdOf } from '../../domain/ids.js';
import { timeseriesWindow, type TimeseriesBucket } from '../../domain/timeseries.js';
import type { Endpoint } from '../../domain/types.js';
import { checkFilter } from '../../domain/content-filter.js';
import { assertHeadersLeaveAuthorization } from '../../domain/endpoint-auth.js';
import { checkPolicy, patchPolicy } from '../../domain/policy.js';
import { checkEndpointUrl, checkHeaders, checkMetadata, checkUid, SENSITIVE_HEADERS } from '../../domain/validation.js';
import { generateSigningSecret, normalizeSigningSecret, revealableSecret } from '../../security/secrets.js';
import { route, type Ctx } from '../route.js';

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
import { backgroundTaskOut, endpointOut } from '../serialize.js';
import { instant, mapPage, pageOf, requireEventTypes, requireFilterable, requireModuleForPortal, throttleOf, timeParam } from './common.js';

/**
 * What a tenant is told when the SSRF guard refuses a URL. The guard's own reason names the
 * operator's allowlist setting, which only the operator can change; a portal session gets this.
 */
export const TENANT_SSRF_REFUSAL = 'This address is private or internal (not reachable from the internet), so webhooks cannot be sent to it. Use a public URL.';

/** A valid http(s) URL whose target, when it is an IP literal, the SSRF guard lets through. */
function checkUrl(c: Ctx, url: string): void {
  checkEndpointUrl(url);
  const refused = c.deps.ssrf.urlRefusal(url);
  if (refused) throw invalidBody(['url'], c.principal.kind === 'portal' ? TENANT_SSRF_REFUSAL : refused, 'value_error.url.ssrf');
}

/** `[]` and null both mean "no filter". */
const listOrNull = (v: string[] | null | undefined) => (v?.length ? v : null);

async function newEndpoint(c: Ctx, b: Record<string, any>, uidFallback?: string): Promise<Endpoint> {
  const uid = (b.uid as string | null | undefined) ?? uidFallback ?? null;
  checkUid('endpoint', uid);
  checkMetadata(b.metadata);
  // Choosing the signing secret is handling it: a portal session needs 'secrets' for that too.
  if (b.secret && c.principal.kind === 'portal' && !c.principal.permissions.includes('secrets')) {
    throw forbidden("This token lacks the 'secrets' permission needed to choose the signing secret.");
  }
  checkUrl(c, b.url);
  const eventTypes = listOrNull(b.eventTypes ?? b.filterTypes);
  await requireEventTypes(c, eventTypes);
  const headers = (b.headers ?? {}) as Record<string, string>;
  checkHeaders(headers);
  const filter = checkFilter(b.filter);
  await requireFilterable(c, filter);
  return {
    id: c.deps.ids.next('endpoint', c.now),
    appId: c.app!.id,
    uid,
    url: b.url,
    description: b.description ?? '',
    throttleRate: throttleOf(b) ?? null,
    disabled: b.disabled ?? false,
    disabledReason: null,
    eventTypes,
    channels: listOrNull(b.channels),
    metadata: b.metadata ?? {},
    headers,
    secret: b.secret ? normalizeSigningSecret(b.secret) : generateSigningSecret(),
    previousSecrets: [],
    ordering: b.ordering ?? 'none',
    deliveryPolicy: checkPolicy(b),
    filter,
    createdAt: c.now,
    updatedAt: c.now,
  };
}

/** Header names are case-insensitive: find the stored spelling of `name`, if any. */
function headerKey(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(headers).find((k) => k.toLowerCase() === lower);
}

const MAX_RECOVER_WINDOW_MS = 14 * 24 * 3600 * 1000 + 5 * 60 * 1000;
const MAX_STATS_WINDOW_MS = 28 * 24 * 3600 * 1000 + 5 * 60 * 1000;

export const endpointRoutes = [
  route({
    method: 'GET',
    operationId: 'v1.endpoint.list',
    access: 'view',
    app: 'required',
    async handler(c) {
      const page = await c.deps.store.listEndpoints(c.app!.id, pageOf(c, 'descending'));
      return { status: 200, body: mapPage(page, endpointOut) };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.endpoint.create',
    access: 'manage',
    app: 'required',
    async handler(c) {
      const ep = await c.deps.store.createEndpoint(await newEndpoint(c, c.body), c.idem(201, endpointOut));
      c.deps.operational.endpointChanged('endpoint.created', c.app!, ep);
      return { status: 201, body: endpointOut(ep) };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.endpoint.get',
    access: 'view',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      return { status: 200, body: endpointOut(c.endpoint!) };
    },
  }),
  route({
    method: 'PUT',
    operationId: 'v1.endpoint.update',
    access: 'manage',
    app: 'required',
    endpoint: 'optional',
    async handler(c) {
      const b = c.body;
      if (!c.endpoint) {
        if (isIdOf('endpoint', c.params.endpoint_id!)) throw notFound('Endpoint');
        const ep = await c.deps.store.createEndpoint(await newEndpoint(c, { ...b, headers: undefined, secret: undefined }, c.params.endpoint_id));
        c.deps.operational.endpointChanged('endpoint.created', c.app!, ep);
        return { status: 201, body: endpointOut(ep) };
      }
      checkUid('endpoint', b.uid);
      checkMetadata(b.metadata);
      checkUrl(c, b.url);
      const eventTypes = listOrNull(b.eventTypes ?? b.filterTypes);
      await requireEventTypes(c, eventTypes);
      // Herald's fields survive a Svix client's PUT that does not know them; null clears one.
      const filter = b.filter === undefined ? c.endpoint.filter : checkFilter(b.filter);
      if (b.filter !== undefined) await requireFilterable(c, filter);
      const disabled = b.disabled ?? false;
      const ep = await c.deps.store.updateEndpoint({
        ...c.endpoint,
        uid: b.uid ?? null,
        url: b.url,
        description: b.description ?? '',
        throttleRate: throttleOf(b) ?? null,
        disabled,
        disabledReason: disabled ? c.endpoint.disabledReason : null,
        eventTypes,
        channels: listOrNull(b.channels),
        metadata: b.metadata ?? {},
        // Herald's extension: left out, it keeps its value (a Svix client never sends it).
        ordering: b.ordering ?? c.endpoint.ordering,
        deliveryPolicy: patchPolicy(c.endpoint.deliveryPolicy, b),
        filter,
        updatedAt: c.now,
      });
      c.deps.operational.endpointChanged('endpoint.updated', c.app!, ep);
      return { status: 200, body: endpointOut(ep) };
    },
  }),
  route({
    method: 'PATCH',
    operationId: 'patch_endpoint',
    access: 'manage',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      const b = c.body;
      const ep = c.endpoint!;
      checkUid('endpoint', b.uid);
      checkMetadata(b.metadata);
      if (b.url !== undefined) checkUrl(c, b.url);
      const types = b.eventTypes !== undefined ? b.eventTypes : b.filterTypes;
      if (types !== undefined) await requireEventTypes(c, types);
      const throttle = throttleOf(b);
      if (throttle === 0) throw invalidBody(['throttleRate'], 'ensure this value is greater than or equal to 1');
      const filter = b.filter === undefined ? ep.filter : checkFilter(b.filter);
      if (b.filter !== undefined) await requireFilterable(c, filter);
      const disabled = b.disabled ?? ep.disabled;
      const updated = await c.deps.store.updateEndpoint({
        ...ep,
        uid: b.uid === undefined ? ep.uid : b.uid,
        url: b.url ?? ep.url,
        description: b.description ?? ep.description,
        throttleRate: throttle === undefined ? ep.throttleRate : throttle,
        disabled,
        disabledReason: disabled ? ep.disabledReason : null,
        eventTypes: types === undefined ? ep.eventTypes : listOrNull(types),
        channels: b.channels === undefined ? ep.channels : listOrNull(b.channels),
        metadata: b.metadata ?? ep.metadata,
        ordering: b.ordering ?? ep.ordering,
        deliveryPolicy: patchPolicy(ep.deliveryPolicy, b),
        filter,
        updatedAt: c.now,
      });
      c.deps.operational.endpointChanged('endpoint.updated', c.app!, updated);
      return { status: 200, body: endpointOut(updated) };
    },
  }),
  route({
    method: 'DELETE',
    operationId: 'v1.endpoint.delete',
    access: 'manage',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      await c.deps.store.deleteEndpoint(c.app!.id, c.endpoint!.id, c.now);
      c.deps.operational.endpointChanged('endpoint.deleted', c.app!, c.endpoint!);
      return { status: 204 };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.endpoint.get-secret',
    access: 'secrets',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      return { status: 200, body: { key: revealableSecret(c.endpoint!.secret) } };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.endpoint.rotate-secret',
    access: 'secrets',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      const ep = c.endpoint!;
      const graceMs = (c.body.gracePeriodSeconds ?? 86400) * 1000;
      const next = c.body.key ? normalizeSigningSecret(c.body.key, ['key']) : generateSigningSecret();
      // The old secret keeps signing beside the new one until the grace period ends.
      const previous = ep.previousSecrets.filter((s) => s.expiresAt > c.now);
      if (graceMs > 0) previous.push({ key: ep.secret, expiresAt: c.now + graceMs });
      const updated = await c.deps.store.updateEndpoint({ ...ep, secret: next, previousSecrets: previous, updatedAt: c.now });
      c.deps.operational.endpointChanged('endpoint.updated', c.app!, updated);
      return { status: 204 };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.endpoint.get-headers',
    access: 'view',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      const headers: Record<string, string> = {};
      const sensitive: string[] = [];
      for (const [k, v] of Object.entries(c.endpoint!.headers)) {
        if (SENSITIVE_HEADERS.has(k.toLowerCase())) sensitive.push(k);
        else headers[k] = v;
      }
      return { status: 200, body: { headers, sensitive } };
    },
  }),
  route({
    method: 'PUT',
    operationId: 'v1.endpoint.update-headers',
    access: 'manage',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      const headers = c.body.headers as Record<string, string>;
      checkHeaders(headers);
      assertHeadersLeaveAuthorization(headers, c.endpoint!.auth ?? null);
      await c.deps.store.updateEndpoint({ ...c.endpoint!, headers, updatedAt: c.now });
      return { status: 204 };
    },
  }),
  route({
    method: 'PATCH',
    operationId: 'v1.endpoint.patch-headers',
    access: 'manage',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      const patch = c.body.headers as Record<string, string | null>;
      checkHeaders(patch);
      assertHeadersLeaveAuthorization(Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== null)), c.endpoint!.auth ?? null);
      const headers = { ...c.endpoint!.headers };
      for (const [name, value] of Object.entries(patch)) {
        const existing = headerKey(headers, name);
        if (existing !== undefined) delete headers[existing];
        if (value !== null) headers[name] = value;
      }
      for (const name of (c.body.deleteHeaders as string[] | undefined) ?? []) {
        const existing = headerKey(headers, name);
        if (existing !== undefined) delete headers[existing];
      }
      await c.deps.store.updateEndpoint({ ...c.endpoint!, headers, updatedAt: c.now });
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.endpoint.recover',
    access: 'manage',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      await requireModuleForPortal(c);
      const since = instant(c.body.since, ['body', 'since']);
      const until = c.body.until ? instant(c.body.until, ['body', 'until']) : c.now;
      if (until < since) throw invalidBody(['until'], '`until` must not be before `since`');
      if (until - since > MAX_RECOVER_WINDOW_MS) throw invalidBody(['since'], 'Cannot recover more than 14 days of messages');
      const task = await c.deps.store.createBackgroundTask({
        id: c.deps.ids.next('task', c.now),
        appId: c.app!.id,
        kind: 'endpoint.recover',
        status: 'running',
        data: { endpointId: c.endpoint!.id, since: c.body.since, until: c.body.until ?? null },
        createdAt: c.now,
        updatedAt: c.now,
      });
      // The work runs after the answer, as a background task whose outcome is kept on its row.
      const { store } = c.deps;
      const finish = (status: 'finished' | 'failed', extra: Record<string, unknown>) =>
        store.updateBackgroundTask({ ...task, status, data: { ...task.data, ...extra }, updatedAt: c.deps.now() });
      void store
        .recoverEndpoint(c.app!.id, c.endpoint!.id, since, until, c.now)
        .then((messagesSent) => finish('finished', { messagesSent }))
        .catch((e: unknown) => finish('failed', { error: e instanceof Error ? e.message : String(e) }))
        .catch(() => undefined);
      return { status: 202, body: backgroundTaskOut(task) };
    },
  }),
  route({
    // The operator reads any task; a portal token (`view`) only its own application's, and another
    // application's task answers exactly like one that does not exist, so ids leak nothing.
    method: 'GET',
    operationId: 'v1.background-task.get',
    access: 'view',
    async handler(c) {
      const t = await c.deps.store.getBackgroundTask(c.params.task_id!);
      if (!t || (c.principal.kind === 'portal' && t.appId !== c.principal.appId)) throw notFound('Background task');
      return { status: 200, body: backgroundTaskOut(t) };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.endpoint.get-stats',
    access: 'view',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      const until = timeParam(c, 'until') ?? c.now;
      const since = timeParam(c, 'since') ?? until - 28 * 24 * 3600 * 1000;
      if (until > c.now + 5 * 60 * 1000) throw badRequest('`until` cannot be in the future', 'invalid_range');
      if (since > until) throw badRequest('`since` must be before `until`', 'invalid_range');
      if (until - since > MAX_STATS_WINDOW_MS) throw badRequest('The window between `since` and `until` is at most 28 days', 'invalid_range');
      const stats = await c.deps.store.endpointStats(c.app!.id, c.endpoint!.id, since, until);
      return { status: 200, body: stats };
    },
  }),
  route({
    // Herald: the endpoint's circuit (stored, the same for every process) and this process's own
    // view of its deliveries in flight and adaptive concurrency limit.
    method: 'GET',
    operationId: 'v1.endpoint.get-health',
    access: 'view',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      const circuit = await c.deps.store.getCircuit(c.endpoint!.id);
      const load = c.deps.endpointLoad?.(c.endpoint!.id) ?? { inFlight: 0, concurrencyLimit: c.deps.config.delivery.perEndpointConcurrency };
      const on = c.deps.config.delivery.circuit.failures > 0;
      return {
        status: 200,
        body: {
          circuit: on ? circuit.state : 'closed',
          since: isoOrNull(circuit.since),
          consecutiveFailures: circuit.consecutiveFailures,
          nextProbeAt: on && circuit.state !== 'closed' ? isoOrNull(circuit.state === 'open' ? circuit.nextProbeAt : circuit.probeUntil) : null,
          inFlight: load.inFlight,
          concurrencyLimit: load.concurrencyLimit,
        },
      };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.endpoint.get-stats-timeseries',
    access: 'view',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      const w = timeseriesWindow(c.now, (c.query.bucket as TimeseriesBucket | undefined) ?? 'hour', timeParam(c, 'since'), timeParam(c, 'until'));
      const buckets = await c.deps.store.endpointTimeseries(c.app!.id, c.endpoint!.id, w.sinceMs, w.untilMs, w.bucketMs);
      return { status: 200, body: { buckets: buckets.map((b) => ({ ...b, start: new Date(b.start).toISOString() })) } };
    },
  }),
];
