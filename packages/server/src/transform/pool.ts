// transform: runs endpoints' transformations off the event loop, in a pool of worker threads, each
// running one script at a time in QuickJS compiled to WebAssembly (sandbox.ts). A slow script
// holds one worker for at most its CPU limit; deliveries without a transformation never wait for
// the pool, and other tenants' transformations run on the other workers meanwhile.
//
// A watchdog per run terminates a worker that has not answered well past the limit (QuickJS
// stopped checking its interrupt handler, say) and starts another; so does a worker whose
// QuickJS module broke. Workers start on first use and do not keep the process alive.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { TRANSFORMATION_CPU_MS, TRANSFORMATION_MEMORY_BYTES, type WebhookInput } from '../domain/transformation.js';
import { cpuLimitCheck, sandboxWorker, type SandboxAnswer, type SandboxJob, type SandboxLimits } from './sandbox.js';

export type { SandboxAnswer } from './sandbox.js';

// The thread's own CPU time, from Linux's per-thread scheduler statistics (nanoseconds on the
// CPU; the file descriptor belongs to the thread that opened it); null elsewhere, where the
// sandbox falls back to wall time.
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const core = require(workerData.core);
const variant = require(workerData.variant).default;
let threadCpuMs = null;
try {
  const fd = fs.openSync('/proc/thread-self/schedstat', 'r');
  const buf = Buffer.alloc(128);
  const read = () => Number(buf.toString('latin1', 0, fs.readSync(fd, buf, 0, 128, 0)).split(' ')[0]) / 1e6;
  if (Number.isFinite(read())) threadCpuMs = read;
} catch {}
(${sandboxWorker.toString()})(core, variant, parentPort, workerData.limits, (code) => process.exit(code), threadCpuMs, ${cpuLimitCheck.toString()});
`;

/**
 * How long past its CPU limit a run may go unanswered before its worker is terminated: QuickJS does
 * not check its interrupt handler inside everything (a garbage collection thrashing near the memory
 * limit, say). A fresh worker first loads QuickJS, so its first run gets longer.
 */
const WATCHDOG_MS = 1500;
const FIRST_RUN_WATCHDOG_MS = 10_000;

export interface TransformPoolOptions {
  /** Worker threads at most (HERALD_TRANSFORM_WORKERS). */
  size: number;
  /** Per run; 50 ms of CPU, 16 MB of memory and a 256 KiB stack by default. */
  limits?: Partial<SandboxLimits>;
}

interface Pending {
  job: SandboxJob;
  resolve: (a: SandboxAnswer) => void;
}

interface Slot {
  worker: Worker;
  current: Pending | null;
  timer: NodeJS.Timeout | null;
  /** It has answered a run: QuickJS is loaded. */
  warm: boolean;
}

export class TransformPool {
  private readonly limits: SandboxLimits;
  private readonly slots = new Set<Slot>();
  private readonly idle: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;
  /** Workers started so far (a broken or stuck one is replaced): for tests and diagnostics. */
  started = 0;

  constructor(private readonly o: TransformPoolOptions) {
    this.limits = { cpuMs: TRANSFORMATION_CPU_MS, memoryBytes: TRANSFORMATION_MEMORY_BYTES, stackBytes: 256 * 1024, ...o.limits };
  }

  get size(): number {
    return this.o.size;
  }

  /** Run `code`'s handler on `input`. */
  run(code: string, input: WebhookInput): Promise<SandboxAnswer> {
    return this.submit({ id: this.nextId++, mode: 'run', code, input: JSON.stringify(input) });
  }

  /** Whether `code` compiles and declares `handler` (its top level runs, under the same limits). */
  check(code: string): Promise<SandboxAnswer> {
    return this.submit({ id: this.nextId++, mode: 'check', code });
  }

  private submit(job: SandboxJob): Promise<SandboxAnswer> {
    if (this.closed) return Promise.resolve({ ok: false, kind: 'error', error: 'the transformation pool is closed' });
    return new Promise((resolve) => {
      this.queue.push({ job, resolve });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.idle.pop() ?? (this.slots.size < this.o.size ? this.spawn() : null);
      if (!slot) return;
      this.give(slot, this.queue.shift()!);
    }
  }

  private give(slot: Slot, p: Pending): void {
    slot.current = p;
    const ms = this.limits.cpuMs + (slot.warm ? WATCHDOG_MS : FIRST_RUN_WATCHDOG_MS);
    slot.timer = setTimeout(() => {
      this.finish(slot, { ok: false, kind: 'timeout', error: `did not finish within ${ms} ms; its worker was stopped` });
      this.retire(slot);
    }, ms);
    slot.timer.unref();
    slot.worker.ref();
    slot.worker.postMessage(p.job);
  }

  /** Answer the slot's current run, once. */
  private finish(slot: Slot, a: SandboxAnswer): void {
    const p = slot.current;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.current = null;
    p?.resolve(a);
  }

  private retire(slot: Slot): void {
    if (!this.slots.delete(slot)) return;
    const i = this.idle.indexOf(slot);
    if (i >= 0) this.idle.splice(i, 1);
    void slot.worker.terminate();
    this.pump();
  }

  private spawn(): Slot {
    const require = createRequire(import.meta.url);
    const worker = new Worker(SOURCE, {
      eval: true,
      workerData: { core: require.resolve('quickjs-emscripten-core'), variant: require.resolve('@jitl/quickjs-wasmfile-release-sync'), limits: this.limits },
      // The scripts' memory is QuickJS's, inside WebAssembly memory; the thread's own heap stays small.
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 },
      stdout: true,
      stderr: true,
    });
    this.started++;
    const slot: Slot = { worker, current: null, timer: null, warm: false };
    worker.unref();
    // What QuickJS prints when it aborts is not the operator's business: the answer says it.
    worker.stdout.resume();
    worker.stderr.resume();
    worker.on('message', (m: SandboxAnswer & { id: number; retiring?: true }) => {
      if (slot.current?.job.id !== m.id) return;
      const { id: _, retiring, ...answer } = m;
      slot.warm = true;
      this.finish(slot, answer);
      if (retiring) this.retire(slot);
      else if (this.slots.has(slot)) {
        worker.unref();
        this.idle.push(slot);
        this.pump();
      }
    });
    const gone = (why: string) => {
      this.finish(slot, { ok: false, kind: 'error', error: `the sandbox stopped: ${why}` });
      this.retire(slot);
    };
    worker.on('error', (e) => gone(e.message));
    worker.on('exit', (code) => gone(`exit code ${code}`));
    this.slots.add(slot);
    return slot;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.resolve({ ok: false, kind: 'error', error: 'the transformation pool is closed' });
    const slots = [...this.slots];
    this.slots.clear();
    this.idle.length = 0;
    for (const s of slots) this.finish(s, { ok: false, kind: 'error', error: 'the transformation pool is closed' });
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
