// Health: no authentication, so load balancers can probe.
import { route } from '../route.js';

async function health(c: Parameters<ReturnType<typeof route>['handler']>[0]) {
  try {
    await c.deps.store.ping();
    return { status: 204 };
  } catch {
    return { status: 500, body: { database: { status: 'error' } } };
  }
}

export const healthRoutes = [
  route({ method: 'GET', operationId: 'v1.health.get', access: 'public', handler: health }),
  route({ method: 'HEAD', operationId: 'v1.health.get', access: 'public', handler: health }),
  route({ method: 'GET', operationId: 'get:/api/v1/health/ping', access: 'public', handler: async () => ({ status: 204 }) }),
  route({ method: 'HEAD', operationId: 'head:/api/v1/health/ping', access: 'public', handler: async () => ({ status: 204 }) }),
];
