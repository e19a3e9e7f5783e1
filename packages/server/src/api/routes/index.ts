import type { RouteDef } from '../route.js';
import { applicationRoutes } from './applications.js';
import { attemptRoutes } from './attempts.js';
import { authRoutes } from './auth.js';
import { auditRoutes } from './audit.js';
import { destinationRoutes } from './destinations.js';
import { endpointAuthRoutes } from './endpoint-auth.js';
import { endpointRoutes } from './endpoints.js';
import { engageRoutes } from './engage.js';
import { eventTypeRoutes } from './event-types.js';
import { healthRoutes } from './health.js';
import { messageRoutes } from './messages.js';
import { sourceIpRoutes } from './source-ips.js';
import { transformationRoutes } from './transformation.js';
import { versionRoutes } from './version.js';

export const allRoutes: RouteDef[] = [
  ...applicationRoutes,
  ...eventTypeRoutes,
  ...endpointRoutes,
  ...endpointAuthRoutes,
  ...transformationRoutes,
  ...destinationRoutes,
  ...messageRoutes,
  ...attemptRoutes,
  ...engageRoutes,
  ...authRoutes,
  ...healthRoutes,
  ...auditRoutes,
  ...sourceIpRoutes,
  ...versionRoutes,
];
