// The request each attempt sent, beside its response: the attempt answers carry `requestHeaders`,
// Herald's own headers as sent (the signature verifies against the body), custom endpoint headers
// and Authorization by name with the value masked, and the value is in neither the answer nor the
// attempt row. Real Herald in-process, real loopback receiver, SQLite and PostgreSQL.
import { verify } from '@herald/receiver';
import { describe, expect, it } from 'vitest';
import { HEADER_MASK } from '../../src/domain/request-headers.js';
import { rawRows, rawRun } from '../helpers/rows.js';
import { attemptsOf, createApp, createEndpoint, deliverySuite, getSecret, sendMessage, settled } from './harness.js';

const CUSTOM_SECRET = 'custom-SECRET-4f1a9c';
const BEARER_SECRET = 'bearer-SECRET-77e2d0';

describe("an attempt's request headers", () => {
  const s = deliverySuite();

  it("records Herald's headers as sent and custom headers and Authorization by name only, in the answers and the row", async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/rq', { headers: { 'X-Api-Key': CUSTOM_SECRET } });
    await s.h.call('PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}/auth`, 204, { type: 'bearer', token: BEARER_SECRET });
    const msg = await sendMessage(s.h, app.id);
    const [got] = await s.rx.waitForCount(1, { path: '/rq' });
    expect(got!.headers['x-api-key']).toBe(CUSTOM_SECRET);
    await settled(s.h, msg.id, ep.id);

    const [a] = await attemptsOf(s.h, app.id, msg.id, ep.id);
    const sent = a.requestHeaders as Record<string, string>;
    // Herald's own, exactly as the receiver got them: the recorded signature verifies the body.
    for (const name of ['svix-id', 'svix-timestamp', 'svix-signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type', 'user-agent'])
      expect(sent[name], name).toBe(got!.headers[name]);
    expect(sent['svix-id']).toBe(msg.id);
    expect(verify(got!.body, sent, await getSecret(s.h, app.id, ep.id))).toBeTruthy();
    // Credentials by name only.
    expect(sent['X-Api-Key']).toBe(HEADER_MASK);
    expect(sent.authorization).toBe(HEADER_MASK);
    // The same answer from every attempt route.
    const byEndpoint = await s.h.call('GET', `/api/v1/app/${app.id}/attempt/endpoint/${ep.id}`, 200);
    expect(byEndpoint.data[0].requestHeaders).toEqual(sent);
    const one = await s.h.call('GET', `/api/v1/app/${app.id}/msg/${msg.id}/attempt/${a.id}`, 200);
    expect(one.requestHeaders).toEqual(sent);

    for (const text of [JSON.stringify(a), JSON.stringify(byEndpoint), JSON.stringify(one)]) {
      expect(text).not.toContain(CUSTOM_SECRET);
      expect(text).not.toContain(BEARER_SECRET);
    }
    const rows = await rawRows<Record<string, unknown>>(s.h, 'SELECT * FROM attempt WHERE msg_id = ?', [msg.id]);
    expect(rows).toHaveLength(1);
    expect(String(rows[0]!.request_headers)).toContain('svix-signature');
    expect(JSON.stringify(rows[0])).not.toContain(CUSTOM_SECRET);
    expect(JSON.stringify(rows[0])).not.toContain(BEARER_SECRET);
  });

  it('an attempt recorded before headers were kept answers null', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/old');
    const msg = await sendMessage(s.h, app.id);
    await settled(s.h, msg.id, ep.id);
    await rawRun(s.h, 'UPDATE attempt SET request_headers = NULL WHERE msg_id = ?', [msg.id]);
    const [a] = await attemptsOf(s.h, app.id, msg.id, ep.id);
    expect(a.requestHeaders).toBeNull();
  });
});
