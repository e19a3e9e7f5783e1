// Version: which Herald answers, and the database schema it runs on, so an operator can see where
// a rolling upgrade stands. Operator token only: the exact version is of no use to a tenant and of
// some use to an attacker.
import { route } from '../route.js';

export const versionRoutes = [
  route({
    method: 'GET',
    operationId: 'v1.version.get',
    access: 'org',
    async handler(c) {
      return { status: 200, body: { version: c.deps.version, schemaVersion: c.deps.schemaVersion } };
    },
  }),
];
