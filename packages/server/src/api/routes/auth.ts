// Portal access: the operator mints a token scoped to one application and a permission set.
import { badRequest, notFound } from '../../domain/errors.js';
import type { Permission, PortalSession } from '../../domain/types.js';
import { ALL_PERMISSIONS } from '../auth.js';
import { encodeLook, lookOf } from '../portal-look.js';
import { route } from '../route.js';
import { newApplication } from './applications.js';

const DEFAULT_EXPIRY_S = 7 * 24 * 3600;

export const authRoutes = [
  route({
    method: 'POST',
    operationId: 'v1.authentication.app-portal-access',
    access: 'org',
    app: 'optional',
    async handler(c) {
      const b = c.body;
      const look = lookOf(b.branding, b.locale);
      if (!c.app) {
        if (!b.application) throw notFound('Application');
        c.app = await c.deps.store.createApplication(newApplication(c, b.application, c.params.app_id));
      }
      const permissions: Permission[] = b.readOnly === true ? ['view'] : (b.permissions ?? ALL_PERMISSIONS);
      // Every session can at least read what it manages.
      if (!permissions.includes('view')) permissions.unshift('view');
      const session: PortalSession = {
        id: c.deps.ids.next('session', c.now),
        appId: c.app.id,
        permissions,
        featureFlags: b.featureFlags ?? [],
        createdAt: c.now,
        expiresAt: c.now + (b.expiry ?? DEFAULT_EXPIRY_S) * 1000,
        revokedAt: null,
      };
      const out = (s: PortalSession) => {
        const token = c.deps.auth.portalToken(s);
        const query = look ? `?look=${encodeLook(look, c.deps.auth.signLook)}` : '';
        return { url: `${c.deps.config.publicUrl}/portal/${query}#key=${token}`, token };
      };
      const s = await c.deps.store.createPortalSession(session, c.idem(200, out));
      return { status: 200, body: out(s) };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.authentication.session',
    access: 'view',
    async handler(c) {
      if (c.principal.kind !== 'portal') throw badRequest('The operator token has no portal session.');
      const s = await c.deps.store.getPortalSession(c.principal.sessionId);
      if (!s) throw notFound('Portal session');
      return { status: 200, body: { appId: s.appId, permissions: s.permissions, expiresAt: new Date(s.expiresAt).toISOString() } };
    },
  }),
  route({
    method: 'POST',
    operationId: 'logout_api_v1_auth_logout__post',
    access: 'view',
    async handler(c) {
      if (c.principal.kind !== 'portal') {
        throw badRequest('Only portal tokens can log out; the operator token is configured with HERALD_API_TOKEN.');
      }
      await c.deps.store.revokePortalSession(c.principal.sessionId, c.now);
      return { status: 204 };
    },
  }),
];
