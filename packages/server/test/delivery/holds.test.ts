// Held deliveries (domain/hold.ts), end to end against a loopback receiver on either store:
// switching an application's Engage webhooks module off holds its queued deliveries (no attempt, no
// retry used up, shown as held) and switching it on releases them. Time moves through an injected
// clock; "not attempted" is shown by the store's rows and by a later delivery that did arrive.

import { describe, expect, it } from 'vitest';
import { MODULE_RECHECK_MS } from '../../src/domain/hold.js';
import { Clock } from '../helpers/inproc.js';
import { Receiver } from '../helpers/receiver.js';
import { rawRow } from '../helpers/rows.js';
import {
  attemptRecorded,
  createApp,
  createEndpoint,
  deliverySuite,
  destination,
  sendMessage,
  settled,
  taskRow,
  until,
  type DeliveryHerald,
} from './harness.js';

const S = 1000;

async function heldBy(h: DeliveryHerald, msgId: string, endpointId: string): Promise<string | null> {
  return (await rawRow<{ held_by: string | null }>(h, 'SELECT held_by FROM delivery_task WHERE msg_id = ? AND endpoint_id = ?', [msgId, endpointId]))!.held_by;
}

const moduleSwitch = (h: DeliveryHerald, appId: string, enabled: boolean) => h.call('PUT', `/api/v1/app/${appId}/engage/module`, 200, { enabled });

describe('the Engage webhooks module holds an application’s deliveries while it is off', () => {
  const clock = new Clock();

  const s = deliverySuite({ now: clock.now, env: { HERALD_RETRY_SCHEDULE: '10s,10s' } });

  it('a queued retry is held while the module is off, uses no attempt, shows as held, and goes out when it is switched on', async () => {
    const app = await createApp(s.h);
    await moduleSwitch(s.h, app.id, true);
    s.rx.on('/retry', Receiver.sequence({ status: 500 }, { status: 200 }));
    const ep = await createEndpoint(s.h, app.id, s.rx, '/retry');
    const msg = await sendMessage(s.h, app.id);
    const first = await attemptRecorded(s.h, msg.id, ep.id, 1);
    expect(first.status).toBe(1);

    // Switched off with the retry queued; the retry falls due.
    await moduleSwitch(s.h, app.id, false);
    clock.t = first.next_attempt_at!;
    s.h.wake();
    await until('the retry to be held', async () => (await heldBy(s.h, msg.id, ep.id)) === 'module');
    const held = (await taskRow(s.h, msg.id, ep.id))!;
    expect(held).toMatchObject({ status: 1, attempt_count: 1, lease_owner: null });
    expect(held.next_attempt_at).toBe(clock.t + MODULE_RECHECK_MS);
    expect(s.rx.received('/retry')).toHaveLength(1);
    expect((await destination(s.h, app.id, msg.id, ep.id)).heldBy).toBe('module');
    // The endpoint's own message list (the dashboard's log) says so too.
    const listed = await s.h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}/msg`, 200);
    expect(listed.data.find((m: any) => m.id === msg.id)).toMatchObject({ status: 1, heldBy: 'module' });

    // Later still: nothing is due, however long the module stays off (short of the re-check).
    clock.t += MODULE_RECHECK_MS - S;
    expect((await taskRow(s.h, msg.id, ep.id))!.attempt_count).toBe(1);

    // Switched on: due at once, delivered, with the retry it had left.
    await moduleSwitch(s.h, app.id, true);
    const done = await settled(s.h, msg.id, ep.id);
    expect(done).toMatchObject({ status: 0, attempt_count: 2 });
    expect(s.rx.received('/retry')).toHaveLength(2);
    expect((await destination(s.h, app.id, msg.id, ep.id)).heldBy).toBeNull();
  });

  it('a message accepted while the module is off is held from its first attempt and delivered once it is on', async () => {
    const app = await createApp(s.h);
    await moduleSwitch(s.h, app.id, false);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/fresh');
    const msg = await sendMessage(s.h, app.id);
    await until('the first attempt to be held', async () => (await heldBy(s.h, msg.id, ep.id)) === 'module');
    expect((await taskRow(s.h, msg.id, ep.id))!.attempt_count).toBe(0);

    // A plain application (no Engage settings) sharing the receiver is delivered meanwhile: the marker.
    const plain = await createApp(s.h);
    const pep = await createEndpoint(s.h, plain.id, s.rx, '/plain');
    const pm = await sendMessage(s.h, plain.id);
    expect((await settled(s.h, pm.id, pep.id)).status).toBe(0);
    expect(s.rx.received('/fresh')).toHaveLength(0);
    expect(await heldBy(s.h, pm.id, pep.id)).toBeNull();

    await moduleSwitch(s.h, app.id, true);
    expect((await settled(s.h, msg.id, ep.id)).status).toBe(0);
    expect(s.rx.forMessage('/fresh', msg.id)).toHaveLength(1);
  });
});
