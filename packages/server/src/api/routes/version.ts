// Version: which Herald answers, and the database schema it runs on, so an operator can see where
// a rolling upgrade stands. Operator token only: the exact version is of no use to a tenant and of
// some use to an attacker.
import { route } from '../route.js';

type Schema = Record<string, any>;

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

/** The operation's entry in the OpenAPI document (a Herald addition to the contract). */
export function addVersionOperation(doc: Schema): void {
  (doc.components.schemas as Schema).VersionOut = {
    type: 'object',
    required: ['version', 'schemaVersion'],
    properties: {
      version: { type: 'string', example: '0.1.0', description: "This Herald's version." },
      schemaVersion: { type: 'integer', example: 10, description: 'The database schema version it runs on (its latest migration).' },
    },
  };
  const err = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/HttpErrorOut' } } } });
  doc.paths['/api/v1/version'] = {
    get: {
      operationId: 'v1.version.get',
      summary: 'Get the version',
      description: "Herald: this process's version and the schema version of its database, e.g. to follow a rolling upgrade. Operator token only.",
      tags: ['Health'],
      responses: {
        '200': { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/VersionOut' } } } },
        '401': err('Unauthorized'),
        '403': err('Forbidden'),
      },
      security: [{ HTTPBearer: [] }],
    },
  };
}
