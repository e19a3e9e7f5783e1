// An endpoint's transformation, with Svix's routes and shape: GET and PATCH
// …/endpoint/{endpoint_id}/transformation (`{code, enabled}`), and POST …/transformation/simulate
// to try code on a sample payload without saving it. Code is checked in the sandbox before it is
// saved (422 with the syntax error); the rules are in domain/transformation.ts.
import { invalidBody } from '../../domain/errors.js';
import { patchTransformation, transformed, webhookInput } from '../../domain/transformation.js';
import { SENSITIVE_HEADERS } from '../../domain/validation.js';
import { route, type Ctx } from '../route.js';

/** Runs `code` in the sandbox and answers its failure as a 422 on `code`. */
async function checked(c: Ctx, code: string): Promise<void> {
  const a = await c.deps.transforms.check(code);
  if (!a.ok) throw invalidBody(['code'], `the code does not run: ${a.error}`, 'value_error.transformation');
}

export const transformationRoutes = [
  route({
    method: 'GET',
    operationId: 'v1.endpoint.transformation-get',
    access: 'view',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      const t = c.endpoint!.transformation ?? null;
      return {
        status: 200,
        body: { code: t?.code ?? null, enabled: t?.enabled ?? false, updatedAt: t ? new Date(t.updatedAt).toISOString() : null },
      };
    },
  }),
  route({
    method: 'PATCH',
    operationId: 'v1.endpoint.patch-transformation',
    access: 'manage',
    app: 'required',
    endpoint: 'required',
    async handler(c) {
      if (c.body.variables !== undefined && c.body.variables !== null && Object.keys(c.body.variables).length > 0)
        throw invalidBody(['variables'], 'Herald does not support transformation variables; write the values into the code');
      const current = c.endpoint!.transformation ?? null;
      const next = patchTransformation(current, c.body, c.now);
      if (next.code !== null && next.code !== current?.code) await checked(c, next.code);
      await c.deps.store.updateEndpoint({ ...c.endpoint!, transformation: next, updatedAt: c.now });
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.endpoint.transformation-simulate',
    access: 'manage',
    app: 'required',
    endpoint: 'required',
    opaque: ['payload'],
    async handler(c) {
      const { code, eventType, payload } = c.body as { code: string; eventType: string; payload: unknown };
      // Credential-bearing custom headers stay out, as GET …/headers leaves them out.
      const headers = Object.fromEntries(Object.entries(c.endpoint!.headers).filter(([k]) => !SENSITIVE_HEADERS.has(k.toLowerCase())));
      const input = webhookInput(c.endpoint!.url, eventType, JSON.stringify(payload ?? {}), headers);
      const a = await c.deps.transforms.run(code, input);
      if (!a.ok) throw invalidBody(['code'], `the transformation failed: ${a.error}`, 'value_error.transformation');
      const t = transformed(a.output, input);
      if (t.kind === 'invalid') throw invalidBody(['code'], `the handler's result cannot be sent: ${t.error}`, 'value_error.transformation');
      if (t.kind === 'cancel') return { status: 200, body: { cancel: true, method: null, url: null, payload: null, headers: null } };
      return { status: 200, body: { cancel: false, method: t.method, url: t.url, payload: t.body, headers: t.headers } };
    },
  }),
];
