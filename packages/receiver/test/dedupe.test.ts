import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryDedupeStore, openFileDedupeStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-dedupe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `log-${++n}.jsonl`);

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('memory dedupe store', () => {
  it('remembers ids until their TTL passes', () => {
    const c = clock();
    const store = createMemoryDedupeStore({ ttlMs: 1000, now: c.now });
    expect(store.has('a')).toBe(false);
    store.add('a');
    expect(store.has('a')).toBe(true);
    c.advance(999);
    expect(store.has('a')).toBe(true);
    c.advance(1);
    expect(store.has('a')).toBe(false);
  });

  it('is bounded: the oldest ids go first', () => {
    const store = createMemoryDedupeStore({ maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd']) store.add(id);
    expect(store.size).toBe(3);
    expect(store.has('a')).toBe(false);
    expect(['b', 'c', 'd'].every((id) => store.has(id))).toBe(true);
  });

  it('re-adding refreshes an id, so it is evicted last', () => {
    const c = clock();
    const store = createMemoryDedupeStore({ maxEntries: 2, ttlMs: 1000, now: c.now });
    store.add('a');
    store.add('b');
    c.advance(500);
    store.add('a');
    store.add('c');
    expect(store.has('a')).toBe(true);
    expect(store.has('b')).toBe(false);
    c.advance(600);
    expect(store.has('a')).toBe(true); // refreshed at +500, expires at +1500
  });

  it('drops expired entries when adding, so stale ids do not hold capacity', () => {
    const c = clock();
    const store = createMemoryDedupeStore({ ttlMs: 100, now: c.now });
    for (let i = 0; i < 10; i++) store.add(`old${i}`);
    c.advance(100);
    store.add('new');
    expect(store.size).toBe(1);
  });

  it('refuses nonsense limits', () => {
    expect(() => createMemoryDedupeStore({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => createMemoryDedupeStore({ ttlMs: 0 })).toThrow(RangeError);
  });
});

describe('file dedupe store', () => {
  it('survives a reopen', async () => {
    const path = freshPath();
    const a = await openFileDedupeStore({ path });
    expect(a.has('msg_1')).toBe(false);
    await a.add('msg_1');
    expect(a.has('msg_1')).toBe(true);
    await a.close();
    const b = await openFileDedupeStore({ path });
    expect(b.has('msg_1')).toBe(true);
    expect(b.has('msg_2')).toBe(false);
    await b.close();
  });

  it('does not load ids whose TTL has passed', async () => {
    const path = freshPath();
    const c = clock();
    const a = await openFileDedupeStore({ path, ttlMs: 1000, now: c.now });
    await a.add('old');
    c.advance(500);
    await a.add('young');
    await a.close();
    c.advance(600);
    const b = await openFileDedupeStore({ path, ttlMs: 1000, now: c.now });
    expect(b.has('old')).toBe(false);
    expect(b.has('young')).toBe(true);
    await b.close();
  });

  it('skips a torn last line and keeps ids with awkward characters intact', async () => {
    const path = freshPath();
    const a = await openFileDedupeStore({ path });
    const odd = 'msg "quoted"\nnewline\u2028';
    await a.add(odd);
    await a.close();
    appendFileSync(path, '{"id":"torn","ex');
    const b = await openFileDedupeStore({ path });
    expect(b.has(odd)).toBe(true);
    expect(b.has('torn')).toBe(false);
    await b.close();
  });

  it('batches concurrent adds and persists them all', async () => {
    const path = freshPath();
    const a = await openFileDedupeStore({ path });
    const ids = Array.from({ length: 200 }, (_, i) => `msg_${i}`);
    await Promise.all(ids.map((id) => a.add(id)));
    await a.close();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(200);
    const b = await openFileDedupeStore({ path });
    expect(ids.every((id) => b.has(id))).toBe(true);
    await b.close();
  });

  it('compacts a log that is mostly expired when opening', async () => {
    const path = freshPath();
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: `dead${i}`, exp: 1 })).join('\n');
    writeFileSync(path, `${lines}\n${JSON.stringify({ id: 'live', exp: Date.now() + 60_000 })}\n`);
    const a = await openFileDedupeStore({ path });
    expect(a.has('live')).toBe(true);
    await a.close();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toEqual([expect.stringContaining('"live"')]);
  });

  it('stays bounded while running: the log is rewritten with the live ids, none lost', async () => {
    const path = freshPath();
    const c = clock();
    const store = await openFileDedupeStore({ path, ttlMs: 1000, now: c.now });
    const lineCount = () =>
      readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '').length;
    let most = 0;
    let round: string[] = [];
    for (let r = 0; r < 10; r++) {
      round = Array.from({ length: 500 }, (_, i) => `msg_${r}_${i}`);
      await Promise.all(round.map((id) => store.add(id)));
      most = Math.max(most, lineCount());
      // The previous rounds expire; the one just added is live.
      c.advance(2000);
    }
    // 5,000 adds; without compaction the log would hold them all.
    expect(most).toBeLessThanOrEqual(1500);
    // Ids still live when a rewrite ran are kept: the last round survives a reopen.
    c.advance(-1500);
    await store.close();
    const reopened = await openFileDedupeStore({ path, ttlMs: 1000, now: c.now });
    expect(round.every((id) => reopened.has(id))).toBe(true);
    expect(reopened.has('msg_0_0')).toBe(false);
    await reopened.close();
  });

  it('keeps every live id across a rewrite that happens while adds are in flight', async () => {
    const path = freshPath();
    const store = await openFileDedupeStore({ path });
    // 3,000 live ids in waves of 100: rewrites run between waves (live ids are never dropped).
    const ids = Array.from({ length: 3000 }, (_, i) => `live_${i}`);
    for (let i = 0; i < ids.length; i += 100) await Promise.all(ids.slice(i, i + 100).map((id) => store.add(id)));
    await store.close();
    const reopened = await openFileDedupeStore({ path });
    expect(ids.filter((id) => !reopened.has(id))).toEqual([]);
    await reopened.close();
  });

  it('an add that resolved survives SIGKILL of the process', async () => {
    const path = freshPath();
    const script = `
      import { openFileDedupeStore } from ${JSON.stringify(new URL('../src/dedupe.ts', import.meta.url).pathname)};
      const store = await openFileDedupeStore({ path: ${JSON.stringify(path)} });
      await store.add('msg_before_kill');
      process.stdout.write('added\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('added')) child.kill('SIGKILL');
    });
    const [, signal] = await once(child, 'exit');
    expect(signal).toBe('SIGKILL');
    expect(out).toContain('added');
    const store = await openFileDedupeStore({ path });
    expect(store.has('msg_before_kill')).toBe(true);
    await store.close();
  });
});
