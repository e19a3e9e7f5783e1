// dispatch: claims due delivery tasks under a lease, runs attempts concurrently, throttles per
// endpoint, records each outcome with the task's fencing token, and stops gracefully.
import { randomBytes } from 'node:crypto';
import type { IdGenerator } from '../domain/ids.js';
import { AUTO_DISABLE_AFTER_MS, nextStep } from '../domain/retry.js';
import { MessageStatus, TriggerType, type Attempt, type Endpoint } from '../domain/types.js';
import { parsedSecret, Sender, type DeliveryResult } from '../delivery/send.js';
import type { ClaimedTask, DeliveryContext, Store } from '../store/store.js';

export interface DispatcherOptions {
  store: Store;
  ids: IdGenerator;
  sender: Sender;
  now: () => number;
  retryScheduleMs: readonly number[];
  /** Attempts in flight at once, across all endpoints. */
  concurrency: number;
  /** Attempts in flight at once to one endpoint, so a slow endpoint cannot take every worker. */
  perEndpointConcurrency: number;
  leaseMs: number;
  /** The longest one attempt can take (the delivery timeout). */
  attemptTimeoutMs: number;
  /** Polling is the guarantee; wake-ups after commits only make it prompt. */
  pollMs: number;
  random?: () => number;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Observers for metrics and operational events. */
  onAttempt?: (e: {
    task: ClaimedTask;
    endpoint: Endpoint;
    attempt: Attempt;
    attemptNumber: number;
    msgEventId: string | null;
    result: DeliveryResult;
    next: string;
  }) => void;
  onEndpointDisabled?: (e: { appId: string; endpointId: string; failSince: number | null }) => void;
}

/** A throttled task within this much of its slot waits in memory instead of going back to the store. */
const HOLD_MS = 1000;

export class Dispatcher {
  readonly owner = `disp_${randomBytes(6).toString('hex')}`;
  private running = false;
  private inFlight = 0;
  private readonly perEndpoint = new Map<string, number>();
  private wakeUp: (() => void) | null = null;
  private listening = false;
  private claimFailures = 0;
  private stopPause: (() => void) | null = null;
  private woken = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly idle = new Set<() => void>();

  constructor(private readonly o: DispatcherOptions) {
    o.store.onTasksDue(() => this.wake());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Commits in other processes (API processes, other workers) wake this loop early, too.
    if (!this.listening) {
      this.listening = true;
      this.o.store.onTasksDueElsewhere(() => this.wake(), this.o.log);
    }
    this.loopDone = this.loop();
  }

  /**
   * Stop claiming, let attempts in flight finish (by default for as long as one attempt may take),
   * then release leases. An attempt still running after that is repeated later: its lease lapses.
   */
  async stop(graceMs = this.o.attemptTimeoutMs + 1000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    this.stopPause?.();
    await this.loopDone;
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise<void>((r) => this.idle.add(r) && setTimeout(r, 50));
    await this.o.store.releaseLeases(this.owner, this.o.now());
    await this.o.sender.close();
  }

  wake(): void {
    this.woken = true;
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  get activeAttempts(): number {
    return this.inFlight;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.woken = false;
      const free = this.o.concurrency - this.inFlight;
      let claimed = 0;
      if (free > 0) {
        try {
          const tasks = await this.o.store.claimDueTasks(this.owner, this.o.now(), this.o.leaseMs, Math.min(free, 128));
          claimed = tasks.length;
          if (claimed > 0) {
            // If this read fails the tasks stay leased and come back when their leases lapse.
            const loaded = await this.o.store.loadDeliveries(tasks);
            tasks.forEach((t, i) => void this.run(t, loaded[i]!));
          }
          if (claimed === Math.min(free, 128)) continue;
        } catch (e) {
          // The store is unreachable (a database restart, say): back off, doubling up to 5 s, and
          // do not let wake-ups from finishing attempts turn the retries into a tight loop.
          this.claimFailures++;
          if (this.claimFailures === 1 || this.claimFailures % 20 === 0) {
            this.o.log?.error({ err: e, failures: this.claimFailures }, 'claiming due tasks failed; retrying with backoff');
          }
          await this.pause(Math.min(5000, Math.max(this.o.pollMs, 100 * 2 ** Math.min(this.claimFailures - 1, 6))));
          continue;
        }
        if (this.claimFailures > 0) {
          this.o.log?.warn({ failures: this.claimFailures }, 'claiming due tasks works again');
          this.claimFailures = 0;
        }
      }
      if (this.woken && free > claimed) continue;
      await this.sleep(await this.sleepMs());
    }
  }

  private async sleepMs(): Promise<number> {
    if (this.inFlight >= this.o.concurrency) return this.o.pollMs;
    try {
      const next = await this.o.store.nextDueAt();
      if (next === null) return this.o.pollMs;
      return Math.max(0, Math.min(this.o.pollMs, next - this.o.now()));
    } catch {
      return this.o.pollMs;
    }
  }

  /** Wait `ms` whatever wakes arrive; only stop() cuts it short. */
  private pause(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.stopPause = null;
        resolve();
      }, ms);
      this.stopPause = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(task: ClaimedTask, ctx: DeliveryContext): Promise<void> {
    this.inFlight++;
    try {
      await this.attempt(task, ctx);
    } catch (e) {
      // The lease runs out and the task is retried: nothing is lost, at worst repeated.
      this.o.log?.error({ err: e, msgId: task.msgId, endpointId: task.endpointId }, 'delivery attempt failed unexpectedly');
    } finally {
      this.inFlight--;
      for (const r of this.idle) r();
      this.idle.clear();
      this.wake();
    }
  }

  private async attempt(task: ClaimedTask, { endpoint, message, throttleRate: rate }: DeliveryContext): Promise<void> {
    const { store, now } = this.o;
    if (!endpoint || endpoint.disabled || !message || message.payload === null) {
      // Gone, disabled or expired: nothing to send, and nothing to retry.
      await store.cancelTask(task, now());
      return;
    }
    // The endpoint's schedule lives in the store, so every worker process sharing it takes slots
    // from one schedule and the rate holds cluster-wide. A task put back until its slot keeps
    // that slot (in the task row), whichever worker claims it next.
    let slot: number | null = null;
    if (rate) {
      const t = now();
      slot = task.throttleSlot ?? (await store.reserveThrottleSlot(endpoint.id, rate, t));
      if (slot - t > HOLD_MS) {
        await store.deferTask(task, slot, slot);
        return;
      }
      if (slot > t) await new Promise((r) => setTimeout(r, slot! - t));
    }
    const busy = this.perEndpoint.get(endpoint.id) ?? 0;
    if (busy >= this.o.perEndpointConcurrency) {
      await store.deferTask(task, now() + 100, slot);
      return;
    }
    this.perEndpoint.set(endpoint.id, busy + 1);
    let result: DeliveryResult;
    const startedAt = now();
    try {
      const secrets = [endpoint.secret, ...endpoint.previousSecrets.filter((s) => s.expiresAt > startedAt).map((s) => s.key)];
      result = await this.o.sender.send(
        {
          url: endpoint.url,
          msgId: message.id,
          body: message.payload,
          secrets: secrets.map(parsedSecret),
          headers: endpoint.headers,
          timestampSeconds: Math.floor(startedAt / 1000),
        },
        now,
      );
    } finally {
      const n = (this.perEndpoint.get(endpoint.id) ?? 1) - 1;
      if (n <= 0) this.perEndpoint.delete(endpoint.id);
      else this.perEndpoint.set(endpoint.id, n);
    }
    const manual = task.triggerType === TriggerType.manual;
    const attemptNo = task.attemptCount + 1;
    const next = nextStep(result.outcome, attemptNo, now(), this.o.retryScheduleMs, (this.o.random ?? Math.random)(), manual);
    const success = result.outcome.kind === 'success';
    const attempt: Attempt = {
      id: this.o.ids.next('attempt', startedAt),
      msgId: message.id,
      endpointId: endpoint.id,
      appId: task.appId,
      url: endpoint.url,
      response: result.response,
      responseStatusCode: result.statusCode,
      responseDurationMs: result.durationMs,
      status: success ? MessageStatus.success : MessageStatus.fail,
      triggerType: manual ? TriggerType.manual : TriggerType.scheduled,
      createdAt: startedAt,
    };
    const taskState =
      next.kind === 'done'
        ? { status: MessageStatus.success, nextAttemptAt: null }
        : next.kind === 'retry'
          ? { status: MessageStatus.pending, nextAttemptAt: next.atMs }
          : { status: MessageStatus.fail, nextAttemptAt: null };
    const endpointChange =
      next.kind === 'done'
        ? ({ kind: 'success' } as const)
        : next.kind === 'disable'
          ? ({ kind: 'disable', reason: next.reason } as const)
          : next.kind === 'exhausted' && !manual
            ? ({ kind: 'exhausted', autoDisableAfterMs: AUTO_DISABLE_AFTER_MS } as const)
            : undefined;
    const done = await store.completeAttempt(task, { attempt, task: taskState, endpoint: endpointChange }, now());
    if (!done.fenced) this.o.log?.warn({ msgId: task.msgId, endpointId: task.endpointId }, 'lease lost during the attempt; a newer owner decides');
    this.o.onAttempt?.({ task, endpoint, attempt, attemptNumber: manual ? -1 : attemptNo, msgEventId: message.eventId, result, next: next.kind });
    if (done.disabled) this.o.onEndpointDisabled?.({ appId: task.appId, endpointId: endpoint.id, failSince: done.failSince });
  }
}
