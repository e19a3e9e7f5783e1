// The broker sender's connections, seen from the real local Redis (CLIENT LIST names each
// connection `herald:<destination id>`): one per destination, kept between deliveries, replaced
// when the destination changes, closed once idle and on close. No store: the sender takes the
// destination's settings from the loader it is given, as the dispatcher gives it the store's.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { BrokerSender, IDLE_CLOSE_MS } from '../../src/delivery/brokers.js';
import type { DeliveryRequest } from '../../src/delivery/send.js';
import { parsedSecret } from '../../src/delivery/send.js';
import type { BrokerKind, Endpoint } from '../../src/domain/types.js';
import { SsrfGuard } from '../../src/security/ssrf.js';
import { unique } from '../helpers/fixtures.js';
import { endpoint } from '../store/records.js';
import { until } from '../helpers/wait.js';

const redis = new Redis('redis://127.0.0.1:6379');
const streams: string[] = [];
afterAll(async () => {
  if (streams.length) await redis.del(...streams);
  redis.disconnect();
});

/** The names of Herald's connections to Redis for these destination ids. */
async function connections(ids: string[]): Promise<string[]> {
  const list = (await redis.client('LIST')) as string;
  return [...list.matchAll(/ name=herald:(\S+)/g)].map((m) => m[1]!).filter((id) => ids.includes(id));
}

function destination(id: string, updatedAt: number): Endpoint & { kind: BrokerKind } {
  const kind: BrokerKind = 'redisStream';
  return { ...endpoint('app_1', { id, url: 'redis://127.0.0.1:6379', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', createdAt: 0, updatedAt }), kind };
}

const request = (msgId: string): DeliveryRequest => ({
  url: 'redis://127.0.0.1:6379',
  msgId,
  body: '{"n":1}',
  secrets: [parsedSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')],
  headers: {},
  timestampSeconds: 1_800_000_000,
});

describe('broker sender connections', () => {
  it('keeps one connection per destination, replaces it when the destination changes, closes it when idle and on close', async () => {
    let t = 0;
    const configs = new Map<string, Record<string, unknown>>();
    const sender = new BrokerSender({
      headerPrefixes: ['webhook'],
      guard: new SsrfGuard(['127.0.0.0/8']),
      timeoutMs: 5000,
      configOf: async (_app, id) => configs.get(id) ?? null,
      clock: () => t,
    });
    const [a, b] = [unique('dest_a'), unique('dest_b')];
    for (const id of [a, b]) {
      const stream = unique('herald-pool');
      streams.push(stream);
      configs.set(id, { uri: 'redis://127.0.0.1:6379', stream });
    }

    for (const n of [1, 2, 3]) expect((await sender.send(request(`msg_${n}`), destination(a, 1))).outcome.kind).toBe('success');
    expect(await connections([a, b])).toEqual([a]);

    // A changed destination (a newer row) gets a new publisher; the old connection closes.
    expect((await sender.send(request('msg_4'), destination(a, 2))).outcome.kind).toBe('success');
    await until('one connection for a', async () => (await connections([a])).length === 1);

    // Idle past the limit: the next delivery (to another destination) closes a's connection.
    t += IDLE_CLOSE_MS + 1;
    expect((await sender.send(request('msg_5'), destination(b, 1))).outcome.kind).toBe('success');
    await until("a's connection closed, b's open", async () => JSON.stringify(await connections([a, b])) === JSON.stringify([b]));

    // A destination that is gone is a failed attempt, not a crash.
    const gone = await sender.send(request('msg_6'), destination(unique('dest_gone'), 1));
    expect(gone).toMatchObject({ outcome: { kind: 'retry' }, statusCode: 0 });
    expect(gone.response).toMatch(/gone/);

    await sender.close();
    await until('no connection left', async () => (await connections([a, b])).length === 0);
  });
});
