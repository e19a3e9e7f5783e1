// The transformation sandbox against hostile code: QuickJS in worker threads, with a CPU limit,
// a memory limit, a fresh runtime per run, and nothing of Node within reach.
import { afterAll, describe, expect, it } from 'vitest';
import type { WebhookInput } from '../../src/domain/transformation.js';
import { TransformPool } from '../../src/transform/pool.js';
import { cpuLimitCheck } from '../../src/transform/sandbox.js';

const input: WebhookInput = {
  method: 'POST',
  url: 'https://example.com/hook',
  eventType: 'contact.updated',
  payload: { id: 'c1', country: 'SE' },
  headers: { 'x-tenant': 't1' },
};

const pools: TransformPool[] = [];
function pool(size = 2, limits?: ConstructorParameters<typeof TransformPool>[0]['limits']): TransformPool {
  const p = new TransformPool({ size, limits });
  pools.push(p);
  return p;
}
afterAll(async () => {
  for (const p of pools) await p.close();
});

/** Run `body` as the handler's body and return what it returned. */
async function returned(p: TransformPool, body: string): Promise<any> {
  const a = await p.run(`function handler(webhook) { ${body} }`, input);
  if (!a.ok) throw new Error(`${a.kind}: ${a.error}`);
  return a.output === undefined ? undefined : JSON.parse(a.output);
}

describe('transformation sandbox', () => {
  it('runs the handler on the webhook and returns what it made of it', async () => {
    const p = pool();
    const a = await p.run(
      `function handler(webhook) {
        webhook.payload = { wrapped: webhook.payload, type: webhook.eventType };
        webhook.url = webhook.url + '?tenant=' + webhook.headers['x-tenant'];
        webhook.headers['x-extra'] = 'yes';
        return webhook;
      }`,
      input,
    );
    expect(a).toEqual({ ok: true, output: expect.any(String) });
    expect(JSON.parse((a as { output: string }).output)).toEqual({
      method: 'POST',
      url: 'https://example.com/hook?tenant=t1',
      eventType: 'contact.updated',
      payload: { wrapped: { id: 'c1', country: 'SE' }, type: 'contact.updated' },
      headers: { 'x-tenant': 't1', 'x-extra': 'yes' },
    });
  });

  it('checks that code compiles and declares handler, naming the syntax error', async () => {
    const p = pool();
    expect(await p.check('function handler(webhook) { return webhook; }')).toEqual({ ok: true });
    const bad = await p.check('function handler(webhook { return webhook; }');
    expect(bad).toMatchObject({ ok: false, kind: 'error', error: expect.stringMatching(/^SyntaxError: /) });
    expect(await p.check('const x = 1;')).toMatchObject({ ok: false, error: 'the code must declare function handler(webhook)' });
    // A module's static import is not even syntax in a script.
    expect(await p.check('import fs from "node:fs"; function handler(w) { return w; }')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/SyntaxError/),
    });
  });

  it('stops an infinite loop at its CPU limit, even one that catches the interruption', async () => {
    const p = pool();
    expect(await p.run('function handler(w) { for (;;) {} }', input)).toEqual({ ok: false, kind: 'timeout', error: 'ran longer than 50 ms of CPU' });
    expect(await p.run('function handler(w) { for (;;) { try { for (;;) {} } catch (e) {} } }', input)).toMatchObject({ ok: false, kind: 'timeout' });
    // A loop at the top level, outside handler, is stopped too.
    expect(await p.check('for (;;) {} function handler(w) { return w; }')).toMatchObject({ ok: false, kind: 'timeout' });
    // The pool goes on serving afterwards.
    expect(await returned(p, 'return 1;')).toBe(1);
  });

  it('a looping script holds one worker: another tenant’s run finishes while it still runs', async () => {
    // A limit far beyond the test's length, so the loop is certainly still running when the other
    // run answers; closing the pool then ends it.
    const p = new TransformPool({ size: 2, limits: { cpuMs: 600_000 } });
    let loopDone = false;
    const loop = p.run('function handler(w) { for (;;) {} }', input).then((a) => {
      loopDone = true;
      return a;
    });
    expect(await returned(p, 'return webhook.payload.country;')).toBe('SE');
    expect(loopDone).toBe(false);
    await p.close();
    expect(await loop).toMatchObject({ ok: false, error: 'the transformation pool is closed' });
  });

  it('stops a huge allocation at the memory limit', async () => {
    const p = pool();
    expect(await p.run('function handler(w) { return "x".repeat(50 * 1024 * 1024); }', input)).toEqual({
      ok: false,
      kind: 'memory',
      error: 'used more than 16 MB of memory',
    });
    expect(await p.run('function handler(w) { return new Array(1e8).fill(0).length; }', input)).toMatchObject({ ok: false, kind: 'memory' });
    // Growing step by step towards the limit thrashes QuickJS's garbage collector, which checks no
    // interrupt: the memory limit, the CPU limit or the pool's watchdog stops it.
    const growing = await p.run('function handler(w) { const a = []; for (;;) a.push(new Array(100000).fill(1)); }', input);
    expect(growing).toMatchObject({ ok: false });
    expect(['memory', 'timeout']).toContain((growing as { kind: string }).kind);
    // A smaller allocation in the next run works: the limit is per run.
    expect(await returned(p, 'return "y".repeat(4 * 1024 * 1024).length;')).toBe(4 * 1024 * 1024);
  });

  it('survives runaway recursion and replaces a worker whose QuickJS broke', async () => {
    const p = pool(1);
    const a = await p.run('function handler(w) { return f(0); } function f(n) { return f(n + 1) + 1; }', input);
    expect(a).toMatchObject({ ok: false, kind: 'error', error: expect.stringMatching(/stack overflow/) });
    expect(await returned(p, 'return 2;')).toBe(2);
  });

  it('leaks no prototype change or global from one run into the next, on the same worker', async () => {
    const p = pool(1);
    expect(
      await returned(
        p,
        'Object.prototype.polluted = "yes"; Array.prototype.push = null; JSON.parse = () => ({ evil: 1 }); globalThis.leak = 1; return ({}).polluted;',
      ),
    ).toBe('yes');
    expect(await returned(p, 'return [({}).polluted, typeof globalThis.leak, typeof Array.prototype.push, webhook.payload];')).toEqual([
      null,
      'undefined',
      'function',
      { id: 'c1', country: 'SE' },
    ]);
    expect(p.started).toBe(1);
  });

  it('offers no process, require, fetch, timers, module loading or host objects', async () => {
    const p = pool();
    const seen = await returned(
      p,
      `return {
        process: typeof process, require: typeof require, module: typeof module, fetch: typeof globalThis.fetch,
        setTimeout: typeof setTimeout, setInterval: typeof setInterval, queueMicrotask: typeof queueMicrotask,
        std: typeof std, os: typeof os, Deno: typeof Deno, Buffer: typeof Buffer, WebAssembly: typeof WebAssembly,
        XMLHttpRequest: typeof XMLHttpRequest, importScripts: typeof importScripts,
        viaFunction: (() => { try { return typeof Function('return this')().process; } catch (e) { return String(e); } })(),
        viaConstructor: (() => { try { return String(webhook.constructor.constructor('return typeof process')()); } catch (e) { return String(e); } })(),
      };`,
    );
    expect(seen).toEqual({
      process: 'undefined',
      require: 'undefined',
      module: 'undefined',
      fetch: 'undefined',
      setTimeout: 'undefined',
      setInterval: 'undefined',
      queueMicrotask: 'undefined',
      std: 'undefined',
      os: 'undefined',
      Deno: 'undefined',
      Buffer: 'undefined',
      WebAssembly: 'undefined',
      XMLHttpRequest: 'undefined',
      importScripts: 'undefined',
      viaFunction: 'undefined',
      viaConstructor: 'undefined',
    });
    // Calling them fails as in any script without them.
    expect(await p.run('function handler(w) { return process.env; }', input)).toMatchObject({ ok: false, error: "ReferenceError: 'process' is not defined" });
    expect(await p.run('function handler(w) { return require("fs"); }', input)).toMatchObject({ ok: false, error: "ReferenceError: 'require' is not defined" });
    // Dynamic import() finds no loader: the promise is rejected, never a module.
    const imported = await returned(
      p,
      `let state = 'pending';
       const q = import('node:fs').then(() => { state = 'loaded'; }, (e) => { state = 'refused'; });
       return { state, isPromise: q instanceof Promise };`,
    );
    expect(imported.state).not.toBe('loaded');
    expect(imported.isPromise).toBe(true);
  });

  it('names what a throwing handler threw', async () => {
    const p = pool();
    expect(await p.run('function handler(w) { throw new Error("no customer id"); }', input)).toEqual({
      ok: false,
      kind: 'error',
      error: 'Error: no customer id',
    });
    expect(await p.run('function handler(w) { throw "plain"; }', input)).toEqual({ ok: false, kind: 'error', error: 'uncaught "plain"' });
    expect(await p.run('async function handler(w) { return w; }', input)).toEqual({
      ok: false,
      kind: 'error',
      error: 'TypeError: handler must return the webhook, not a promise: it cannot be async',
    });
  });
});

describe('the CPU limit', () => {
  it('counts the thread’s CPU time, not the time it waited for a CPU', () => {
    let wall = 1000;
    let cpu = 7;
    let cpuReads = 0;
    const stop = cpuLimitCheck(
      50,
      () => wall,
      () => {
        cpuReads++;
        return cpu;
      },
    );
    cpuReads = 0;
    // Within the limit's worth of wall time, the CPU clock is not even read.
    wall = 1049;
    expect(stop()).toBe(false);
    expect(cpuReads).toBe(0);
    // A busy host kept the thread waiting: 60 ms passed, 10 ms of them on the CPU.
    wall = 1060;
    cpu = 17;
    expect(stop()).toBe(false);
    expect(cpuReads).toBe(1);
    // The next look is when the remaining 40 ms could have been used at the soonest.
    wall = 1099;
    cpu = 56;
    expect(stop()).toBe(false);
    expect(cpuReads).toBe(1);
    wall = 1101;
    cpu = 58;
    expect(stop()).toBe(true);
    // Once stopped, always stopped.
    expect(stop()).toBe(true);
  });

  it('falls back to wall time without a CPU clock', () => {
    let wall = 0;
    const stop = cpuLimitCheck(50, () => wall, null);
    wall = 50;
    expect(stop()).toBe(false);
    wall = 51;
    expect(stop()).toBe(true);
  });
});
