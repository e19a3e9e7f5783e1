// Source IPs: the addresses deliveries come from, published so tenants can allowlist
// them. Any valid token may read them (operator, or a portal token with `view`): they are the
// same for every tenant. 404 when the operator has configured none (deliveries then leave from
// whatever address the machine picks, which is nothing a tenant can rely on).
import { HttpError } from '../../domain/errors.js';
import { route } from '../route.js';

export const sourceIpRoutes = [
  route({
    method: 'GET',
    operationId: 'v1.source-ips.get',
    access: 'view',
    async handler(c) {
      const addresses = c.deps.config.egress.publishedSourceIps;
      if (addresses.length === 0) {
        throw new HttpError(404, 'not_found', 'No fixed source addresses are configured (HERALD_EGRESS_ADDRESSES or HERALD_PUBLISHED_SOURCE_IPS)');
      }
      return { status: 200, body: { addresses } };
    },
  }),
];
