// The audit log: management changes, who made them and when, for the operator only.
// Entries are written by the request pipeline (api/server.ts), never by the routes themselves.
import type { AuditEntry } from '../../domain/audit.js';
import { route } from '../route.js';
import { mapPage, pageOf } from './common.js';

function auditOut(e: AuditEntry) {
  return {
    id: e.id,
    timestamp: new Date(e.at).toISOString(),
    actor: e.actor === 'operator' ? { type: 'operator' } : { type: 'portal', sessionId: e.sessionId, appId: e.actorAppId },
    operationId: e.operationId,
    method: e.method,
    path: e.path,
    status: e.status,
    appId: e.appId,
    endpointId: e.endpointId,
    msgId: e.msgId,
  };
}

export const auditRoutes = [
  route({
    method: 'GET',
    operationId: 'v1.audit-log.list',
    access: 'org',
    async handler(c) {
      const p = pageOf(c, 'descending');
      let appId: string | null = (c.query.app_id as string | undefined) ?? null;
      if (appId !== null) {
        // A uid names a live application; an id also finds the entries of a deleted one.
        const app = await c.deps.store.getApplication(appId);
        if (app) appId = app.id;
      }
      const page = await c.deps.store.listAudit({ ...p, appId });
      return { status: 200, body: mapPage(page, auditOut) };
    },
  }),
];
