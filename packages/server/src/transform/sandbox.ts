// What runs inside a transformation worker thread: QuickJS compiled to WebAssembly
// (quickjs-emscripten), never Node's own VM. Each run gets a fresh QuickJS context (its own global
// object and intrinsics), so nothing a script does (Object.prototype, globals) outlives its run or
// reaches another tenant's; the runtime has a memory limit, a stack limit and an interrupt handler
// that stops it at its CPU deadline. QuickJS as built here has no filesystem, network, timers, process or module loader:
// a script sees only the language's own globals.
//
// `sandboxWorker` is sent to the worker as its source text (Function.prototype.toString), like the
// SQLite read worker's source, so one file serves dist/ and the TypeScript sources the tests run:
// it must use nothing from outside its own body.
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';

export interface SandboxLimits {
  /** CPU time a run may take, timed on the worker's own thread (which does nothing else meanwhile). */
  cpuMs: number;
  memoryBytes: number;
  stackBytes: number;
}

/** One job: `check` compiles the code and runs its top level (it must define `handler`); `run` also calls it with `input` (JSON text). */
export interface SandboxJob {
  id: number;
  mode: 'check' | 'run';
  code: string;
  input?: string;
}

export type SandboxFailure = 'error' | 'timeout' | 'memory';

/** A run's answer: the handler's result as JSON text (undefined when it returned nothing JSON can hold), or why it failed. */
export type SandboxAnswer = { ok: true; output?: string } | { ok: false; kind: SandboxFailure; error: string };

/**
 * The CPU limit as an interrupt handler (true: stop). The limit is CPU time: a busy host can keep
 * the thread off the CPU, and a script must not fail for that. Cheap checks against the wall clock
 * until as much wall time as the limit has passed; then the thread's own CPU time decides (read
 * only then), and the next look is when the rest of the limit could at the soonest have been
 * used. Without a CPU clock, wall time. Once it says stop it always does, so a script that catches
 * the interruption cannot go on. Sent to the worker as source text too: self-contained.
 */
export function cpuLimitCheck(limitMs: number, wallMs: () => number, threadCpuMs: (() => number) | null): () => boolean {
  const cpu0 = threadCpuMs ? threadCpuMs() : 0;
  let deadline = wallMs() + limitMs;
  let stopped = false;
  return () => {
    if (stopped) return true;
    const now = wallMs();
    if (now <= deadline) return false;
    const used = threadCpuMs ? threadCpuMs() - cpu0 : limitMs;
    if (used >= limitMs) return (stopped = true);
    deadline = now + (limitMs - used);
    return false;
  };
}

interface Port {
  on(event: 'message', f: (job: SandboxJob) => void): void;
  postMessage(m: SandboxAnswer & { id: number; retiring?: true }): void;
}

interface Core {
  newQuickJSWASMModuleFromVariant(variant: unknown): Promise<QuickJSWASMModule>;
}

/**
 * The worker's main loop. When QuickJS itself breaks (a WebAssembly trap, an assertion while freeing
 * a runtime after a stack overflow), the answer already made is sent and the worker exits: the pool
 * starts a fresh one, so no damaged module serves another run.
 */
export async function sandboxWorker(
  core: Core,
  variant: unknown,
  port: Port,
  limits: SandboxLimits,
  exit: (code: number) => void,
  threadCpuMs: (() => number) | null,
  cpuLimit: typeof cpuLimitCheck,
): Promise<void> {
  const mod = await core.newQuickJSWASMModuleFromVariant(variant);
  const CALL = `(function (input) {
    if (typeof handler !== 'function') throw new TypeError('the code must declare function handler(webhook)');
    const out = handler(JSON.parse(input));
    if (out instanceof Promise) throw new TypeError('handler must return the webhook, not a promise: it cannot be async');
    return JSON.stringify(out);
  })(globalThis.__heraldInput)`;

  function describe(ctx: QuickJSContext, h: QuickJSHandle, interrupted: boolean): SandboxAnswer {
    if (interrupted) return { ok: false, kind: 'timeout', error: `ran longer than ${limits.cpuMs} ms of CPU` };
    let e: unknown;
    try {
      e = ctx.dump(h);
    } catch {
      e = 'an error that could not be read';
    }
    const err = e as { name?: unknown; message?: unknown } | null;
    const name = err && typeof err === 'object' && typeof err.name === 'string' ? err.name : '';
    const message = err && typeof err === 'object' && typeof err.message === 'string' ? err.message : String(JSON.stringify(e) ?? e);
    if (name === 'InternalError' && message === 'out of memory')
      return { ok: false, kind: 'memory', error: `used more than ${Math.round(limits.memoryBytes / 1048576)} MB of memory` };
    const text = name ? `${name}: ${message}` : `uncaught ${message}`;
    return { ok: false, kind: 'error', error: text.length > 2000 ? `${text.slice(0, 2000)}…` : text };
  }

  function evaluate(ctx: QuickJSContext, job: SandboxJob, interrupted: () => boolean): SandboxAnswer {
    const top = ctx.evalCode(job.code, 'transformation.js', { type: 'global' });
    if (top.error) {
      const answer = describe(ctx, top.error, interrupted());
      top.error.dispose();
      return answer;
    }
    top.value.dispose();
    if (job.mode === 'check') {
      const kind = ctx.evalCode('typeof handler', 'check.js');
      const ok = !kind.error && ctx.getString(kind.value) === 'function';
      (kind.error ?? kind.value).dispose();
      return ok ? { ok: true } : { ok: false, kind: 'error', error: 'the code must declare function handler(webhook)' };
    }
    const input = ctx.newString(job.input ?? 'null');
    ctx.setProp(ctx.global, '__heraldInput', input);
    input.dispose();
    const r = ctx.evalCode(CALL, 'call.js');
    if (r.error) {
      const answer = describe(ctx, r.error, interrupted());
      r.error.dispose();
      return answer;
    }
    const answer: SandboxAnswer = ctx.typeof(r.value) === 'string' ? { ok: true, output: ctx.getString(r.value) } : { ok: true };
    r.value.dispose();
    return answer;
  }

  // A runtime serves successive runs, each in a context of its own (its own global object and
  // intrinsics, so nothing a script changes is seen by the next): making a runtime costs about a
  // third of a run. It is replaced after any run that failed, that left promise jobs queued (they
  // would keep its context alive), and every RUNTIME_RUNS runs, so nothing a run left behind
  // accumulates in it; only one context lives in it at a time, so its memory limit is per run.
  const RUNTIME_RUNS = 500;
  let shared: QuickJSRuntime | null = null;
  let runs = 0;

  function runOne(job: SandboxJob): { answer: SandboxAnswer; broken: boolean } {
    const rt = (shared ??= mod.newRuntime());
    let ctx: QuickJSContext | null = null;
    let interrupted = false;
    let answer: SandboxAnswer;
    let broken = false;
    try {
      rt.setMemoryLimit(limits.memoryBytes);
      rt.setMaxStackSize(limits.stackBytes);
      const stop = cpuLimit(limits.cpuMs, () => performance.now(), threadCpuMs);
      rt.setInterruptHandler(() => (interrupted = stop()));
      ctx = rt.newContext();
      answer = evaluate(ctx, job, () => interrupted);
    } catch (e) {
      // The interpreter itself failed (not the script): answer, and start afresh.
      answer = { ok: false, kind: interrupted ? 'timeout' : 'error', error: `the sandbox failed: ${(e as Error)?.message ?? e}` };
      broken = true;
    }
    try {
      ctx?.dispose();
      if (broken || !answer.ok || rt.hasPendingJob() || ++runs >= RUNTIME_RUNS) {
        shared = null;
        runs = 0;
        rt.dispose();
      }
    } catch {
      // Freeing after some failures (a stack overflow) trips an assertion that aborts the module:
      // the answer stands, and the worker is retired.
      broken = true;
    }
    return { answer, broken };
  }

  port.on('message', (job) => {
    const { answer, broken } = runOne(job);
    port.postMessage({ id: job.id, ...answer, ...(broken ? { retiring: true as const } : {}) });
    if (broken) exit(1);
  });
}
