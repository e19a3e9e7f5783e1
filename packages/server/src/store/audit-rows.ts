// The audit_log row mapper, shared by both stores (the columns read the same on both drivers:
// integers come back as numbers or numeric strings, hence Number()).
import type { AuditEntry } from '../domain/audit.js';

export function auditRow(r: Record<string, unknown>): AuditEntry {
  return {
    id: r.id as string,
    at: Number(r.at),
    actor: r.actor as AuditEntry['actor'],
    sessionId: (r.session_id as string | null) ?? null,
    actorAppId: (r.actor_app_id as string | null) ?? null,
    operationId: r.operation_id as string,
    method: r.method as string,
    path: r.path as string,
    status: Number(r.status),
    appId: (r.app_id as string | null) ?? null,
    endpointId: (r.endpoint_id as string | null) ?? null,
    msgId: (r.msg_id as string | null) ?? null,
  };
}
