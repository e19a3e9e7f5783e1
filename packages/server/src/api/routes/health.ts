// Health: no authentication, so load balancers can probe. `GET /api/v1/health` is liveness: the
// process answers (204, no body, nothing asked of the store). `GET /api/v1/health/ready` is
// readiness: 200 while the store takes writes, 503 (or 507 for a full store) with the reason when
// it does not, so a load balancer sends traffic elsewhere instead of into errors.
import { StoreUnavailableError } from '../../store/errors.js';
import { route } from '../route.js';

const alive = async () => ({ status: 204 });

export const healthRoutes = [
  route({ method: 'GET', operationId: 'v1.health.get', access: 'public', handler: alive }),
  route({ method: 'HEAD', operationId: 'v1.health.get', access: 'public', handler: alive }),
  route({ method: 'GET', operationId: 'get:/api/v1/health/ping', access: 'public', handler: alive }),
  route({ method: 'HEAD', operationId: 'head:/api/v1/health/ping', access: 'public', handler: alive }),
  route({
    method: 'GET',
    operationId: 'v1.health.ready',
    access: 'public',
    async handler(c) {
      const why = await c.deps.storeHealth.notReady();
      if (why === null) return { status: 200, body: { status: 'ready', store: c.deps.store.kind } };
      // Readiness is a yes or no: a full store is as unready as an absent one, so both answer 503.
      const retry = why instanceof StoreUnavailableError ? why.retryAfterSeconds : 30;
      return { status: 503, body: { code: why.code, detail: why.detail }, headers: { 'retry-after': String(retry) } };
    },
  }),
];
