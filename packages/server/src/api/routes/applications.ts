// Applications (tenants).
import { invalidBody, notFound } from '../../domain/errors.js';
import { isIdOf } from '../../domain/ids.js';
import type { Application } from '../../domain/types.js';
import { checkPolicy, patchPolicy } from '../../domain/policy.js';
import { checkMetadata, checkUid } from '../../domain/validation.js';
import { route, type Ctx } from '../route.js';
import { applicationOut } from '../serialize.js';
import { mapPage, pageOf, throttleOf } from './common.js';

/** Build a new application from an ApplicationIn body (validated by the contract). */
export function newApplication(c: Ctx, body: Record<string, any>, uidFallback?: string): Application {
  const uid = (body.uid as string | null | undefined) ?? uidFallback ?? null;
  checkUid('application', uid);
  checkMetadata(body.metadata);
  return {
    id: c.deps.ids.next('application', c.now),
    uid,
    name: body.name,
    throttleRate: throttleOf(body) ?? null,
    metadata: body.metadata ?? {},
    deliveryPolicy: checkPolicy(body),
    createdAt: c.now,
    updatedAt: c.now,
  };
}

/** Creating the operational application is the operator's opt-in: its event types appear then. */
async function operationalOptIn(c: Ctx, app: Application): Promise<void> {
  if (app.uid !== null && app.uid === c.deps.config.operationalAppUid) await c.deps.operational.installEventTypes();
}

export const applicationRoutes = [
  route({
    method: 'GET',
    operationId: 'v1.application.list',
    access: 'org',
    async handler(c) {
      const page = await c.deps.store.listApplications(pageOf(c, 'ascending'));
      return { status: 200, body: mapPage(page, applicationOut) };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.application.create',
    access: 'org',
    async handler(c) {
      if (c.query.get_if_exists === true && c.body.uid) {
        const existing = await c.deps.store.getApplication(c.body.uid);
        if (existing) return { status: 200, body: applicationOut(existing) };
      }
      const app = await c.deps.store.createApplication(newApplication(c, c.body), c.idem(201, applicationOut));
      await operationalOptIn(c, app);
      return { status: 201, body: applicationOut(app) };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.application.get',
    access: 'view',
    app: 'required',
    async handler(c) {
      return { status: 200, body: applicationOut(c.app!) };
    },
  }),
  route({
    method: 'PUT',
    operationId: 'v1.application.update',
    access: 'org',
    app: 'optional',
    async handler(c) {
      const b = c.body;
      if (!c.app) {
        // Upsert: an unknown uid creates the application under it; an unknown id is just missing.
        if (isIdOf('application', c.params.app_id!)) throw notFound('Application');
        if (b.uid && b.uid !== c.params.app_id) throw invalidBody(['uid'], 'uid must match the application uid in the path', 'application_uid_mismatch');
        const app = await c.deps.store.createApplication(newApplication(c, b, c.params.app_id));
        await operationalOptIn(c, app);
        return { status: 201, body: applicationOut(app) };
      }
      checkUid('application', b.uid);
      checkMetadata(b.metadata);
      const app = await c.deps.store.updateApplication({
        ...c.app,
        name: b.name,
        // PUT replaces the whole resource, as in Svix: a uid left out is removed.
        uid: b.uid ?? null,
        throttleRate: throttleOf(b) ?? null,
        metadata: b.metadata ?? {},
        // Herald's fields survive a Svix client's PUT that does not know them; null clears one.
        deliveryPolicy: patchPolicy(c.app.deliveryPolicy, b),
        updatedAt: c.now,
      });
      return { status: 200, body: applicationOut(app) };
    },
  }),
  route({
    method: 'PATCH',
    operationId: 'patch_application',
    access: 'org',
    app: 'required',
    async handler(c) {
      const b = c.body;
      checkUid('application', b.uid);
      checkMetadata(b.metadata);
      if (b.name !== undefined && b.name.length === 0) throw invalidBody(['name'], 'ensure this value has at least 1 characters');
      const throttle = throttleOf(b);
      if (throttle === 0) throw invalidBody(['throttleRate'], 'ensure this value is greater than or equal to 1');
      const app = await c.deps.store.updateApplication({
        ...c.app!,
        name: b.name ?? c.app!.name,
        uid: b.uid === undefined ? c.app!.uid : b.uid,
        throttleRate: throttle === undefined ? c.app!.throttleRate : throttle,
        metadata: b.metadata ?? c.app!.metadata,
        deliveryPolicy: patchPolicy(c.app!.deliveryPolicy, b),
        updatedAt: c.now,
      });
      return { status: 200, body: applicationOut(app) };
    },
  }),
  route({
    method: 'DELETE',
    operationId: 'v1.application.delete',
    access: 'org',
    app: 'required',
    async handler(c) {
      await c.deps.store.deleteApplication(c.app!.id, c.now);
      return { status: 204 };
    },
  }),
];
