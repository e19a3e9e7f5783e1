// Deliveries and attempts: what happened to each message at each endpoint.
import { badRequest, conflict, notFound } from '../../domain/errors.js';
import type { MessageStatusCode } from '../../domain/types.js';
import type { AttemptListQuery } from '../../store/store.js';
import { route, type Ctx } from '../route.js';
import { attemptOut, endpointMessageOut, messageEndpointOut } from '../serialize.js';
import { mapPage, pageOf, requireModuleForPortal, timeParam } from './common.js';

function attemptQuery(c: Ctx): AttemptListQuery {
  const iterating = Boolean(c.query.iterator);
  return {
    ...pageOf(c, 'descending'),
    status: c.query.status as MessageStatusCode | undefined,
    statusCodeClass: c.query.status_code_class as number | undefined,
    eventTypes: c.query.event_types,
    channel: c.query.channel,
    afterMs: iterating ? undefined : timeParam(c, 'after'),
    beforeMs: iterating ? undefined : timeParam(c, 'before'),
  };
}

export const attemptRoutes = [
  route({
    method: 'GET',
    operationId: 'v1.message-attempt.list-by-endpoint',
    access: 'view',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      const page = await c.deps.store.listAttemptsByEndpoint(c.app!.id, c.endpoint!.id, attemptQuery(c));
      const withContent = c.query.with_content !== false;
      return { status: 200, body: mapPage(page, (a) => attemptOut(a, withContent)) };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.message-attempt.list-by-msg',
    access: 'view',
    app: 'required',
    message: 'required',
    async handler(c) {
      const q = attemptQuery(c);
      if (c.query.endpoint_id !== undefined) {
        const ep = await c.deps.store.getEndpoint(c.app!.id, c.query.endpoint_id);
        if (!ep) throw notFound('Endpoint');
        q.endpointId = ep.id;
      }
      const page = await c.deps.store.listAttemptsByMessage(c.app!.id, c.message!.id, q);
      const withContent = c.query.with_content !== false;
      return { status: 200, body: mapPage(page, (a) => attemptOut(a, withContent)) };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.message-attempt.list-attempted-messages',
    access: 'view',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      const iterating = Boolean(c.query.iterator);
      const page = await c.deps.store.listEndpointMessages(c.app!.id, c.endpoint!.id, {
        ...pageOf(c, 'descending'),
        status: c.query.status as MessageStatusCode | undefined,
        eventTypes: c.query.event_types,
        channel: c.query.channel,
        afterMs: iterating ? undefined : timeParam(c, 'after'),
        beforeMs: iterating ? undefined : timeParam(c, 'before'),
      });
      const withContent = c.query.with_content !== false;
      // Herald: heldBy and waitingFor, as on a message's destinations (domain/hold.ts, domain/ordering.ts).
      return {
        status: 200,
        body: mapPage(page, (x) => ({
          ...endpointMessageOut(x.message, x.task, withContent),
          heldBy: x.task.heldBy ?? null,
          waitingFor: x.task.waitingFor ?? null,
        })),
      };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.message-attempt.list-attempted-destinations',
    access: 'view',
    app: 'required',
    message: 'required',
    async handler(c) {
      const page = await c.deps.store.listMessageDestinations(c.app!.id, c.message!.id, pageOf(c, 'descending'));
      // Herald: heldBy, why a pending delivery is being held without attempts (domain/hold.ts).
      return { status: 200, body: mapPage(page, (x) => ({ ...messageEndpointOut(x.endpoint, x.task), heldBy: x.task.heldBy ?? null })) };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.message-attempt.get',
    access: 'view',
    app: 'required',
    message: 'required',
    async handler(c) {
      const a = await c.deps.store.getAttempt(c.app!.id, c.message!.id, c.params.attempt_id!);
      if (!a) throw notFound('Message attempt');
      return { status: 200, body: attemptOut(a) };
    },
  }),
  route({
    method: 'DELETE',
    operationId: 'v1.message-attempt.expunge-content',
    access: 'org',
    app: 'required',
    message: 'required',
    async handler(c) {
      const a = await c.deps.store.getAttempt(c.app!.id, c.message!.id, c.params.attempt_id!);
      if (!a) throw notFound('Message attempt');
      await c.deps.store.expungeAttemptContent(c.app!.id, a.id);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.message-attempt.resend',
    access: 'manage',
    app: 'required',
    message: 'required',
    endpoint: 'required',
    async handler(c) {
      await requireModuleForPortal(c);
      if (c.endpoint!.disabled) throw conflict('The endpoint is disabled; enable it before resending', 'endpoint_disabled');
      if (c.message!.payload === null) throw badRequest('Unable to resend message. Payload is missing (probably expired).', 'missing_payload');
      await c.deps.store.requeueDelivery(c.message!.id, c.endpoint!.id, c.app!.id, c.now);
      return { status: 202, body: {} };
    },
  }),
];
