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
    const forwarder = startForwarder({
      inbox,
      destinations: new Map([['mem', mem]]),
      retry: { initialDelayMs: 10, maxDelayMs: 10, maxAttempts: 5 },
      concurrency: 3,
    });
    await waitFor('all done', () => inbox.deliveries().every((d) => d.status === 'done'));
    await forwarder.stop();
    expect(mem.sent.map((m) => m.webhookId).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`).sort());
    inbox.close();
  });

  it('a delivery to a destination no longer configured still gets its attempts and fails for good, beside the others', async () => {
    const inbox = openInbox(join(dir, `${uniqueName('f')}.db`));
    await inbox.accept({ webhookId: 'gone', eventType: 'x', body: '{}', destinations: ['removed'] });
    await inbox.accept({ webhookId: 'kept', eventType: 'x', body: '{}', destinations: ['mem'] });
    const mem = memoryDestination();
    const forwarder = startForwarder({
      inbox,
      destinations: new Map([['mem', mem]]),
      retry: { initialDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 },
      concurrency: 2,
    });
    await waitFor('both finished', () => inbox.deliveries().every((d) => d.status !== 'pending'));
    await forwarder.stop();
    const rows = Object.fromEntries(inbox.deliveries().map((d) => [d.destination, d]));
    expect(rows.mem).toMatchObject({ status: 'done', attempts: 1 });
    expect(rows.removed).toMatchObject({ status: 'failed', attempts: 2 });
    expect(rows.removed.lastError).toMatch(/no destination named "removed"/);
    inbox.close();
  });

  it('runs at most a destination’s own concurrency at once, whatever the default', async () => {
    const inbox = openInbox(join(dir, `${uniqueName('f')}.db`));
    for (let i = 0; i < 12; i++) await inbox.accept({ webhookId: `m${i}`, eventType: 'x', body: '{}', destinations: ['slow'] });
    let running = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const slow: Destination = {
      name: 'slow',
      send: () => {
        running++;
        most = Math.max(most, running);
        return new Promise<void>((resolve) =>
          gates.push(() => {
            running--;
            resolve();
          }),
        );
      },
      close: async () => undefined,
    };
    const forwarder = startForwarder({
      inbox,
      destinations: new Map([['slow', slow]]),
      retry: { initialDelayMs: 10, maxDelayMs: 10, maxAttempts: 5 },
      concurrency: 8,
      destinationConcurrency: { slow: 2 },
    });
    // Release attempts one at a time; at every moment no more than two were in flight.
    while (inbox.deliveries().some((d) => d.status === 'pending')) {
      await waitFor('an attempt in flight', () => gates.length > 0 || inbox.deliveries().every((d) => d.status !== 'pending'));
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await forwarder.stop();
    expect(most).toBe(2);
    expect(inbox.deliveries().every((d) => d.status === 'done')).toBe(true);
    inbox.close();
  });
});
