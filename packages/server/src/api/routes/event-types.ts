// Event types: global names with optional JSON Schemas (and their examples). Deleting archives;
// `expunge=true` removes for good. Creating an archived name brings it back.
import { Ajv } from 'ajv';
import { conflict, invalidBody, notFound } from '../../domain/errors.js';
import type { EventType } from '../../domain/types.js';
import { route, type Ctx } from '../route.js';
import { enforcementProblem, enforcerOf, latestSchema } from '../schema-enforcement.js';
import { eventTypeOut } from '../serialize.js';
import { mapPage, pageOf } from './common.js';

const schemaChecker = new Ajv({ strict: false, validateSchema: true });

/** Every version's schema must itself be a valid JSON Schema, so examples and validation work later. */
function checkSchemas(schemas: Record<string, unknown> | null | undefined): void {
  if (!schemas) return;
  for (const [version, schema] of Object.entries(schemas)) {
    if (!schemaChecker.validateSchema(schema as object)) {
      const why = schemaChecker.errorsText(schemaChecker.errors, { dataVar: 'schema' });
      throw invalidBody(['schemas', version], `not a valid JSON Schema: ${why}`);
    }
  }
}

function fromBody(c: Ctx, name: string, b: Record<string, any>, prior: EventType | null): EventType {
  checkSchemas(b.schemas);
  return {
    name,
    description: b.description,
    archived: b.archived ?? false,
    deprecated: b.deprecated ?? false,
    schemas: b.schemas ?? null,
    featureFlag: b.featureFlag ?? null,
    groupName: b.groupName ?? prior?.groupName ?? null,
    // Herald's own setting survives a Svix client's PUT that does not know it.
    schemaEnforcement: b.schemaEnforcement ?? prior?.schemaEnforcement ?? 'off',
    createdAt: prior?.createdAt ?? c.now,
    updatedAt: c.now,
  };
}

/** Write an event type; this process's schema enforcement reads it again from the next message on. */
async function put(c: Ctx, et: EventType, idem?: Parameters<Ctx['deps']['store']['putEventType']>[1]): Promise<EventType> {
  if (et.schemaEnforcement && et.schemaEnforcement !== 'off') {
    const why = enforcementProblem(et.schemas);
    if (why) {
      const version = Object.keys(et.schemas ?? {}).find((k) => et.schemas![k] === latestSchema(et.schemas)) ?? '';
      throw invalidBody(['schemas', version], `this schema cannot be enforced (${why}); set schemaEnforcement to "off" or fix the schema`);
    }
  }
  const out = await c.deps.store.putEventType(et, idem);
  enforcerOf(c.deps.store).forget(et.name);
  return out;
}

async function required(c: Ctx): Promise<EventType> {
  const et = await c.deps.store.getEventType(c.params.event_type_name!);
  if (!et) throw notFound('Event type');
  return et;
}

const out = (withContent: boolean) => (e: EventType) => {
  const o = eventTypeOut(e, withContent);
  if (!withContent) delete (o as { schemas?: unknown }).schemas;
  return o;
};

export const eventTypeRoutes = [
  route({
    method: 'GET',
    operationId: 'v1.event-type.list',
    access: 'view',
    async handler(c) {
      const page = await c.deps.store.listEventTypes(pageOf(c, 'ascending'), c.query.include_archived === true);
      return { status: 200, body: mapPage(page, out(c.query.with_content === true)) };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.event-type.create',
    access: 'org',
    async handler(c) {
      const prior = await c.deps.store.getEventType(c.body.name);
      if (prior && !prior.archived) throw conflict('An event type with this name already exists', 'event_type_exists');
      const et = await put(c, fromBody(c, c.body.name, c.body, prior), c.idem(201, out(true)));
      return { status: 201, body: out(true)(et) };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.event-type.get',
    access: 'view',
    async handler(c) {
      return { status: 200, body: out(true)(await required(c)) };
    },
  }),
  route({
    method: 'PUT',
    operationId: 'v1.event-type.update',
    access: 'org',
    async handler(c) {
      const name = c.params.event_type_name!;
      if (!/^[a-zA-Z0-9\-_.]{1,256}$/.test(name)) throw invalidBody(['name'], 'event type names match ^[a-zA-Z0-9\\-_.]+$ (1..256 characters)');
      const prior = await c.deps.store.getEventType(name);
      const et = await put(c, fromBody(c, name, c.body, prior));
      return { status: prior ? 200 : 201, body: out(true)(et) };
    },
  }),
  route({
    method: 'PATCH',
    operationId: 'patch_event_type',
    access: 'org',
    async handler(c) {
      const prior = await required(c);
      const b = c.body;
      checkSchemas(b.schemas);
      const et = await put(c, {
        ...prior,
        description: b.description ?? prior.description,
        archived: b.archived ?? prior.archived,
        deprecated: b.deprecated ?? prior.deprecated,
        schemas: b.schemas === undefined ? prior.schemas : b.schemas,
        featureFlag: b.featureFlag === undefined ? prior.featureFlag : b.featureFlag,
        groupName: b.groupName === undefined ? prior.groupName : b.groupName,
        schemaEnforcement: b.schemaEnforcement ?? prior.schemaEnforcement ?? 'off',
        updatedAt: c.now,
      });
      return { status: 200, body: out(true)(et) };
    },
  }),
  route({
    method: 'DELETE',
    operationId: 'v1.event-type.delete',
    access: 'org',
    async handler(c) {
      const prior = await required(c);
      if (c.query.expunge === true) await c.deps.store.expungeEventType(prior.name);
      else await c.deps.store.putEventType({ ...prior, archived: true, updatedAt: c.now });
      enforcerOf(c.deps.store).forget(prior.name);
      return { status: 204 };
    },
  }),
];
