// Endpoint transformations through the official `svix` SDK against a real Herald (child process,
// real HTTP): `endpoint.transformation.get/patch` and the older `transformationPartialUpdate` work
// unchanged; code that does not compile is a 422 naming the error; Svix's own updates keep it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiException, Svix } from 'svix';
import { startHerald, type HeraldProcess } from './helpers/herald-process.js';

let herald: HeraldProcess;
let svix: Svix;

beforeAll(async () => {
  herald = await startHerald();
  svix = new Svix(herald.token, { serverUrl: herald.url });
});

afterAll(async () => {
  await herald?.stop();
});

const CODE = 'function handler(webhook) {\n  webhook.payload = { wrapped: webhook.payload };\n  return webhook;\n}';

async function refusal(p: Promise<unknown>): Promise<{ code: number; body: any }> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ApiException);
  const a = e as ApiException<any>;
  return { code: a.code, body: a.body };
}

describe('svix SDK: endpoint transformations', () => {
  it('gets, sets, turns off and removes an endpoint transformation', async () => {
    const app = await svix.application.create({ name: 'transforming' });
    const ep = await svix.endpoint.create(app.id, { url: 'https://example.com/hook' });
    expect(await svix.endpoint.transformation.get(app.id, ep.id)).toEqual({ code: null, enabled: false, variables: undefined, updatedAt: null });

    await svix.endpoint.transformation.patch(app.id, ep.id, { code: CODE, enabled: true });
    const set = await svix.endpoint.transformation.get(app.id, ep.id);
    expect(set).toMatchObject({ code: CODE, enabled: true });
    expect(set.updatedAt).toBeInstanceOf(Date);

    // Turning it off keeps the code; Svix's own endpoint updates keep both.
    await svix.endpoint.transformation.patch(app.id, ep.id, { enabled: false });
    expect(await svix.endpoint.transformation.get(app.id, ep.id)).toMatchObject({ code: CODE, enabled: false });
    await svix.endpoint.upsert(app.id, ep.id, { url: 'https://example.com/moved' });
    await svix.endpoint.patch(app.id, ep.id, { description: 'patched' });
    expect(await svix.endpoint.transformation.get(app.id, ep.id)).toMatchObject({ code: CODE, enabled: false });

    // The older call the SDK still carries.
    await svix.endpoint.transformationPartialUpdate(app.id, ep.id, { enabled: true });
    expect(await svix.endpoint.transformation.get(app.id, ep.id)).toMatchObject({ code: CODE, enabled: true });

    await svix.endpoint.transformation.patch(app.id, ep.id, { code: null, enabled: false });
    expect(await svix.endpoint.transformation.get(app.id, ep.id)).toMatchObject({ code: null, enabled: false });
  });

  it('refuses code that does not compile, does not declare handler, or is too large, and keeps what was there', async () => {
    const app = await svix.application.create({ name: 'bad code' });
    const ep = await svix.endpoint.create(app.id, { url: 'https://example.com/hook' });
    await svix.endpoint.transformation.patch(app.id, ep.id, { code: CODE, enabled: true });

    const syntax = await refusal(svix.endpoint.transformation.patch(app.id, ep.id, { code: 'function handler(webhook { return webhook }' }));
    expect(syntax.code).toBe(422);
    expect(syntax.body.detail[0]).toMatchObject({ loc: ['body', 'code'], msg: expect.stringMatching(/SyntaxError/) });

    const none = await refusal(svix.endpoint.transformation.patch(app.id, ep.id, { code: 'const x = 1;' }));
    expect(none.body.detail[0].msg).toMatch(/must declare function handler\(webhook\)/);

    const loops = await refusal(svix.endpoint.transformation.patch(app.id, ep.id, { code: 'while (true) {} function handler(w) { return w; }' }));
    expect(loops.body.detail[0].msg).toMatch(/ms of CPU/);

    const big = await refusal(svix.endpoint.transformation.patch(app.id, ep.id, { code: `// ${'€'.repeat(22_000)}\nfunction handler(w) { return w; }` }));
    expect(big.code).toBe(422);
    expect(JSON.stringify(big.body.detail)).toMatch(/65536 bytes/);

    const variables = await refusal(svix.endpoint.transformation.patch(app.id, ep.id, { variables: { key: 'value' } }));
    expect(variables.code).toBe(422);

    expect(await svix.endpoint.transformation.get(app.id, ep.id)).toMatchObject({ code: CODE, enabled: true });
  });

  it("simulates code on a sample payload with the endpoint's URL and headers, saving nothing", async () => {
    const app = await svix.application.create({ name: 'simulating' });
    const ep = await svix.endpoint.create(app.id, { url: 'https://example.com/hook' });
    await svix.endpoint.setHeaders(app.id, ep.id, { headers: { 'x-tenant': 'acme', authorization: 'Bearer hunter2' } });
    const simulate = (code: string) =>
      fetch(`${herald.url}/api/v1/app/${app.id}/endpoint/${ep.id}/transformation/simulate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${herald.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ code, eventType: 'order.paid', payload: { amount: 12 } }),
      });
    const r = await simulate(
      'function handler(w) { w.url = w.url + "?t=" + w.headers["x-tenant"]; w.payload = { type: w.eventType, cents: w.payload.amount * 100, auth: w.headers.authorization || null }; w.method = "PUT"; return w; }',
    );
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      cancel: false,
      method: 'PUT',
      url: 'https://example.com/hook?t=acme',
      payload: '{"type":"order.paid","cents":1200,"auth":null}',
      headers: { 'x-tenant': 'acme' },
    });
    const canceled = await simulate('function handler(w) { w.cancel = true; return w; }');
    expect(await canceled.json()).toMatchObject({ cancel: true });
    const failed = await simulate('function handler(w) { throw new Error("no amount"); }');
    expect(failed.status).toBe(422);
    expect(((await failed.json()) as { detail: { msg: string }[] }).detail[0]!.msg).toBe('the transformation failed: Error: no amount');
    expect(await svix.endpoint.transformation.get(app.id, ep.id)).toMatchObject({ code: null });
  });

  it("a portal token reaches only its own application's transformations", async () => {
    const mine = await svix.application.create({ name: 'mine' });
    const theirs = await svix.application.create({ name: 'theirs' });
    const theirEp = await svix.endpoint.create(theirs.id, { url: 'https://example.com/theirs' });
    await svix.endpoint.transformation.patch(theirs.id, theirEp.id, { code: CODE, enabled: true });
    const { token } = await svix.authentication.appPortalAccess(mine.id, {});
    const portal = new Svix(token, { serverUrl: herald.url });
    for (const call of [
      () => portal.endpoint.transformation.get(theirs.id, theirEp.id),
      () => portal.endpoint.transformation.patch(theirs.id, theirEp.id, { enabled: false }),
    ]) {
      const { code } = await refusal(call());
      expect([403, 404]).toContain(code);
    }
    expect(await svix.endpoint.transformation.get(theirs.id, theirEp.id)).toMatchObject({ code: CODE, enabled: true });
  });
});
