// The dashboard talks to Herald's API like any other client: bearer token, JSON, Svix's shapes.
// The token comes from the portal link's fragment (`#key=…`) and is kept in sessionStorage, so a
// reload keeps the session and closing the tab ends it.

export type Permission = 'view' | 'manage' | 'secrets';

export interface Session {
  appId: string;
  permissions: Permission[];
  expiresAt: string;
}

export interface Application {
  id: string;
  uid: string | null;
  name: string;
}

export interface Endpoint {
  id: string;
  url: string;
  description: string;
  disabled: boolean;
  disabledReason?: string | null;
  filterTypes?: string[] | null;
  eventTypes?: string[] | null;
  throttleRate?: number | null;
  rateLimit?: number | null;
  /** Herald: its own retry delays ("30s", "5m"); null inherits; [] is a single attempt. */
  retrySchedule?: string[] | null;
  /** Herald: its own request timeout in seconds; null inherits. */
  timeout?: number | null;
  /** Herald: only messages whose payload matches go to it. */
  filter?: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
}

export interface EndpointStats {
  success: number;
  pending: number;
  sending: number;
  fail: number;
  canceled?: number;
}

/** An endpoint's transformation (Svix's shape). */
export interface TransformationOut {
  code: string | null;
  enabled: boolean;
  updatedAt: string | null;
}

/** What a transformation would send (`…/transformation/simulate`). */
export interface SimulationOut {
  cancel: boolean;
  method: 'POST' | 'PUT' | null;
  url: string | null;
  payload: string | null;
  headers: Record<string, string> | null;
}

/** 0 success, 1 pending, 2 fail, 3 sending, 4 canceled (Svix's MessageStatus). */
export type Status = 0 | 1 | 2 | 3 | 4;

export interface Attempt {
  id: string;
  msgId: string;
  endpointId: string;
  url: string;
  status: Status;
  response: string;
  responseStatusCode: number;
  responseDurationMs: number;
  /** Herald: the request's headers (credentials masked); null for attempts recorded before. */
  requestHeaders?: Record<string, string> | null;
  timestamp: string;
  triggerType: 0 | 1;
}

export interface EndpointMessage {
  id: string;
  eventType: string;
  eventId?: string | null;
  status: Status;
  nextAttempt?: string | null;
  timestamp: string;
  /** Herald: why this pending delivery is held without attempts. */
  heldBy?: 'circuit' | 'module' | null;
  /** The message ahead of this one in its ordering key, while this one waits for its turn. */
  waitingFor?: string | null;
}

/** Herald: an endpoint's circuit breaker and this server's view of its load. */
export interface EndpointHealth {
  circuit: 'closed' | 'open' | 'half-open';
  since: string | null;
  consecutiveFailures: number;
  nextProbeAt: string | null;
  inFlight: number;
  concurrencyLimit: number;
}

/** A broker destination (Svix's destination API; `rabbitMq`, and Herald's `redisStream` and `natsJetStream`). */
export type BrokerType = 'rabbitMq' | 'redisStream' | 'natsJetStream';
export interface Destination {
  id: string;
  type: BrokerType | 'pollingEndpoint';
  status: 'enabled' | 'disabled';
  eventTypes?: string[] | null;
  /** As the server shows it: URIs without credentials, `credentialsSet` for NATS credentials. */
  config: { uri?: string; routingKey?: string; stream?: string; maxLen?: number; servers?: string[]; subject?: string; credentialsSet?: boolean };
  createdAt: string;
}

export interface EventType {
  name: string;
  description: string;
  archived?: boolean;
  deprecated?: boolean;
  groupName?: string | null;
  schemas?: Record<string, { examples?: unknown[]; [k: string]: unknown }> | null;
}

export interface EngageSettings {
  moduleEnabled: boolean;
  encryptionEnabled: boolean;
  keySetAt: string | null;
}

export interface Page<T> {
  data: T[];
  iterator: string | null;
  done: boolean;
}

/** An API error, with the field errors of a 422 keyed by field name (`url`, `eventTypes`, …). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'herald.portal.token';

/** How the host product wants the portal to look (its link's `look`, which the server signed and checked). */
export interface Look {
  displayName?: string;
  logoUrl?: string;
  accentColor?: string;
  locale?: 'en' | 'sv';
}

export function readLook(): Look {
  const param = new URLSearchParams(window.location.search).get('look');
  if (!param) return {};
  try {
    const b64 = param.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Look;
  } catch {
    return {};
  }
}

/**
 * This tab's storage, or null where the browser denies it (a portal framed by another site, with
 * third-party storage blocked): the token then lives only in memory, and a reload needs the link.
 */
function tabStorage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** Take the token from `#key=…` (then drop it from the address bar), or from this tab's storage. */
export function takeToken(): string | null {
  const m = /(?:^#|&)key=([^&]+)/.exec(window.location.hash);
  if (m) {
    const token = decodeURIComponent(m[1]!);
    tabStorage()?.setItem(TOKEN_KEY, token);
    history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/endpoints`);
    return token;
  }
  return tabStorage()?.getItem(TOKEN_KEY) ?? null;
}

export function forgetToken(): void {
  tabStorage()?.removeItem(TOKEN_KEY);
}

export class Api {
  constructor(private readonly token: string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const json: any = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      if (res.status === 422 && Array.isArray(json?.detail)) {
        const fields: Record<string, string> = {};
        for (const d of json.detail as { loc: (string | number)[]; msg: string }[]) {
          const field = String(d.loc.filter((p) => p !== 'body')[0] ?? 'body');
          fields[field] = fields[field] ? `${fields[field]}; ${d.msg}` : d.msg;
        }
        throw new ApiError(422, Object.values(fields).join('; '), fields);
      }
      throw new ApiError(res.status, typeof json?.detail === 'string' ? json.detail : `HTTP ${res.status}`);
    }
    return json as T;
  }

  get = <T>(path: string) => this.call<T>('GET', path);
}

/** `/api/v1/app/{app}` + rest, with the app id encoded. */
export const appPath = (appId: string, rest = '') => `/api/v1/app/${encodeURIComponent(appId)}${rest}`;
export const enc = encodeURIComponent;

export const filterOf = (e: Endpoint): string[] => e.filterTypes ?? e.eventTypes ?? [];
export const throttleOf = (e: Endpoint): number | null => e.throttleRate ?? e.rateLimit ?? null;

/** All pages of a list (the catalog is small; capped so a huge one cannot hang the page). */
export async function listAll<T>(api: Api, path: string, maxPages = 20): Promise<T[]> {
  const out: T[] = [];
  let iterator: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page: Page<T> = await api.get(`${path}${sep}limit=250${iterator ? `&iterator=${enc(iterator)}` : ''}`);
    out.push(...page.data);
    if (page.done || !page.iterator) break;
    iterator = page.iterator;
  }
  return out;
}
