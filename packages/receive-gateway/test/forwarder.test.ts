// The forwarder over a real inbox file, with a destination in memory and a fault injected into the
// inbox's result writes.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Destination, ForwardMessage } from '../src/destinations/types.js';
import { startForwarder } from '../src/forwarder.js';
import { openInbox, type Inbox } from '../src/inbox.js';
import { tempDir, uniqueName, waitFor } from './helpers.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function memoryDestination(): Destination & { sent: ForwardMessage[] } {
  const sent: ForwardMessage[] = [];
  return { name: 'mem', sent, send: async (m) => void sent.push(m), close: async () => undefined };
}

describe('forwarder', () => {
  it('when a result cannot be written, sends again: nothing lost, one repeat per failed write', async () => {
    const real = openInbox(join(dir, `${uniqueName('f')}.db`));
    let failures = 1;
    const inbox: Inbox = {
      ...real,
      batch(fn) {
        if (failures-- > 0) throw new Error('disk I/O error (injected)');
        real.batch(fn);
      },
    };
    await real.accept({ webhookId: 'm1', eventType: 'x', body: '{"n":1}', destinations: ['mem'] });
    const mem = memoryDestination();
    const logs: Record<string, unknown>[] = [];
    const forwarder = startForwarder({
      inbox,
      destinations: new Map([['mem', mem]]),
      retry: { initialDelayMs: 10, maxDelayMs: 10, maxAttempts: 5 },
      concurrency: 4,
      log: (e) => logs.push(e),
    });
    await waitFor('done', () => real.deliveries()[0].status === 'done');
    await forwarder.stop();
    // Once before the failed write and once after it: not lost, and repeated only for that write.
    expect(mem.sent.map((m) => m.webhookId)).toEqual(['m1', 'm1']);
    expect(logs.some((e) => e.msg === 'inbox write failed')).toBe(true);
    expect(real.deliveries()[0]).toMatchObject({ status: 'done', attempts: 1 });
    real.close();
  });

  it('sends each due delivery once and marks it done', async () => {
    const inbox = openInbox(join(dir, `${uniqueName('f')}.db`));
    for (let i = 0; i < 50; i++) await inbox.accept({ webhookId: `m${i}`, eventType: 'x', body: '{}', destinations: ['mem'] });
    const mem = memoryDestination();
    const forwarder = startForwarder({ inbox, destinations: new Map([['mem', mem]]), retry: { initialDelayMs: 10, maxDelayMs: 10, maxAttempts: 5 }, concurrency: 3 });
    await waitFor('all done', () => inbox.deliveries().every((d) => d.status === 'done'));
    await forwarder.stop();
    expect(mem.sent.map((m) => m.webhookId).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`).sort());
    inbox.close();
  });
});
