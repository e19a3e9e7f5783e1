// Mirrors the Svix JS SDK's own end-to-end "kitchen sink" test:
//   svix/svix-webhooks, javascript/src/KitchenSink.test.ts
//   (also shipped in the npm package as node_modules/svix/src/KitchenSink.test.ts, 2.5.0)
// That test runs against a live server named by SVIX_TOKEN and SVIX_SERVER_URL. Its scenario:
//   1. create an application named "App";
//   2. create event types "event.started" and "event.ended", where 409 is the only acceptable
//      failure (the types survive from one run to the next on a long-lived server);
//   3. create an endpoint on https://example.svix.com/ with channels ch0 and ch1 and check the
//      channels come back and no event-type filter is set;
//   4. patch the endpoint's event types to both names and check that the channels are kept and
//      the event types are set (older SDK versions call the field `filterTypes`; 2.x `eventTypes`);
//   5. delete the endpoint, which must not trip the SDK over an empty 204 body.
// This is our own test of the same steps (vitest instead of node:test). If SVIX_TOKEN and
// SVIX_SERVER_URL are already set it runs against that server; otherwise it starts a Herald and
// points both variables at it. The scenario runs twice, so the second run takes the 409 branch
// for event types the way the upstream test does on a server that has seen a previous run.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiException, Svix } from 'svix';
import { startHerald, type HeraldProcess } from './helpers/herald-process.js';

let herald: HeraldProcess | undefined;
let savedEnv: { token?: string; url?: string } | undefined;

/** Built from the environment only, like the upstream test's client. */
function clientFromEnv(): Svix {
  const token = process.env.SVIX_TOKEN;
  const serverUrl = process.env.SVIX_SERVER_URL;
  if (!token || !serverUrl) throw new Error('SVIX_TOKEN and SVIX_SERVER_URL must be set');
  return new Svix(token, { serverUrl });
}

/** Create an event type; an existing one (409) is fine, any other failure is not. */
async function ensureEventType(svix: Svix, name: string, description: string): Promise<'created' | 'existed'> {
  try {
    const out = await svix.eventType.create({ name, description });
    expect(out.name).toBe(name);
    return 'created';
  } catch (err) {
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<unknown>).code, JSON.stringify((err as ApiException<unknown>).body)).toBe(409);
    return 'existed';
  }
}

async function endpointScenario(svix: Svix): Promise<Array<'created' | 'existed'>> {
  const app = await svix.application.create({ name: 'App' });
  expect(app.name).toBe('App');

  const outcomes = [await ensureEventType(svix, 'event.started', 'Something started'), await ensureEventType(svix, 'event.ended', 'Something ended')];

  const ep = await svix.endpoint.create(app.id, {
    url: 'https://example.svix.com/',
    channels: ['ch0', 'ch1'],
  });
  expect([...(ep.channels ?? [])].sort()).toEqual(['ch0', 'ch1']);
  expect(ep.eventTypes ?? []).toEqual([]);

  const patched = await svix.endpoint.patch(app.id, ep.id, {
    eventTypes: ['event.started', 'event.ended'],
  });
  expect([...(patched.channels ?? [])].sort()).toEqual(['ch0', 'ch1']);
  expect([...(patched.eventTypes ?? [])].sort()).toEqual(['event.ended', 'event.started']);

  // The SDK must not choke on the empty 204 body.
  await expect(svix.endpoint.delete(app.id, ep.id)).resolves.toBeUndefined();
  return outcomes;
}

describe('svix JS SDK kitchen sink (e2e)', () => {
  beforeAll(async () => {
    if (process.env.SVIX_TOKEN && process.env.SVIX_SERVER_URL) return;
    savedEnv = { token: process.env.SVIX_TOKEN, url: process.env.SVIX_SERVER_URL };
    herald = await startHerald();
    process.env.SVIX_TOKEN = herald.token;
    process.env.SVIX_SERVER_URL = herald.url;
  });

  afterAll(async () => {
    if (savedEnv !== undefined) {
      if (savedEnv.token === undefined) delete process.env.SVIX_TOKEN;
      else process.env.SVIX_TOKEN = savedEnv.token;
      if (savedEnv.url === undefined) delete process.env.SVIX_SERVER_URL;
      else process.env.SVIX_SERVER_URL = savedEnv.url;
    }
    await herald?.stop();
  });

  it('endpoint crud', async () => {
    const svix = clientFromEnv();
    const first = await endpointScenario(svix);
    // Against a server we started ourselves, the first run really creates the event types.
    if (herald !== undefined) expect(first).toEqual(['created', 'created']);

    // A second run, as on a long-lived server: the event types now conflict with 409.
    expect(await endpointScenario(svix)).toEqual(['existed', 'existed']);
  });
});
