// The audit log of management changes: who changed what, and when. An entry names the caller (the
// operator, or a portal session and its application), the operation, the ids it touched, the
// method, path and answer status. It never holds a request or response body, so no secret (a
// signing secret, a header value, a portal token) can end up in it.

export interface AuditEntry {
  id: string;
  /** Epoch ms. */
  at: number;
  actor: 'operator' | 'portal';
  /** The portal session, when a portal token made the call. */
  sessionId: string | null;
  /** The application the portal session is scoped to. */
  actorAppId: string | null;
  operationId: string;
  method: string;
  /** The request path, without its query string. */
  path: string;
  status: number;
  appId: string | null;
  endpointId: string | null;
  msgId: string | null;
}

export interface AuditListQuery {
  limit: number;
  after: string | null;
  before: string | null;
  order: 'ascending' | 'descending';
  /** Only entries about this application (by id). */
  appId: string | null;
}

/**
 * Which requests are audited: changes (POST, PUT, PATCH, DELETE) that succeeded, and those that a
 * valid token was refused (403), which is what an attempt to reach beyond one's scope looks like.
 * Message ingest is data, not management: at thousands per second it would drown the log and
 * double the writes on the hot path, and every message has its own record already.
 */
export const UNAUDITED_OPERATIONS: ReadonlySet<string> = new Set([
  'v1.message.create',
  // The Engage producer routes: changes in the Engage data that become messages.
  'v1.engage.contact.upsert',
  'v1.engage.contact.delete',
  'v1.engage.point-transaction.create',
  'v1.engage.point-balance.set',
  'v1.engage.reward-voucher.create',
  'v1.engage.promotion-assignment.create',
  // A polling endpoint's reader: its reported deliveries are attempts (data, one per message) and
  // its seeks move its own position, not the application's configuration.
  'v1.destination.report-attempt',
  'v1.message.poller.consumer-seek',
  // Trying a transformation on a sample payload changes nothing.
  'v1.endpoint.transformation-simulate',
]);

export function isAudited(method: string, operationId: string, status: number): boolean {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false;
  if (UNAUDITED_OPERATIONS.has(operationId)) return false;
  return (status >= 200 && status < 300) || status === 403;
}

/** The ids a created resource brings (from the answer's `id`), by prefix. */
export function createdIds(body: unknown): { appId?: string; endpointId?: string; msgId?: string } {
  const id = typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined;
  if (typeof id !== 'string') return {};
  if (id.startsWith('app_')) return { appId: id };
  if (id.startsWith('ep_')) return { endpointId: id };
  if (id.startsWith('msg_')) return { msgId: id };
  return {};
}
