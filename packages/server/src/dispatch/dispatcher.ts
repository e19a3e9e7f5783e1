// dispatch: claims due delivery tasks under a lease, runs attempts concurrently, throttles per
// endpoint, records each outcome with the task's fencing token, and stops gracefully.
//
// Each delivery goes through four phases, each a method below:
//   claim   (loop)    take due tasks under a lease and read what they need, a whole claim at once
//   prepare           nothing to send? cancel. Held (module off, circuit open)? put back. Throttle slot,
//                     per-endpoint adaptive concurrency, signed request
//   send              the endpoint's transformation, if it has one (transform/), then the HTTP request (delivery/send.ts)
//   settle            the outcome (domain/outcome.ts), recorded under the lease's fence
import { randomBytes } from 'node:crypto';
import type { IdGenerator } from '../domain/ids.js';
import { nextLimit, placesFor } from '../domain/concurrency.js';
import { endpointRoom, type ClaimRoom } from '../domain/fairness.js';
import { afterAttempt, CLOSED_CIRCUIT, countsAgainst, gate, overloaded, pristine, type Circuit, type CircuitPolicy } from '../domain/hold.js';
import { attemptNumber, attemptTrigger } from '../domain/manual.js';
import { orderingHeaders } from '../domain/ordering.js';
import { settle } from '../domain/outcome.js';
import { effectivePolicy, type EffectivePolicy } from '../domain/policy.js';
import { AUTO_DISABLE_AFTER_MS } from '../domain/retry.js';
import { slotInterval, throttleDecision } from '../domain/throttle.js';
import { CANCELED_BY_TRANSFORMATION, transformationFailure, transformationOf, transformed, webhookInput, type WebhookInput } from '../domain/transformation.js';
import type { Attempt, Endpoint, Message } from '../domain/types.js';
import { parsedSecret, type Sender, type DeliveryRequest, type DeliveryResult } from '../delivery/send.js';
import type { BrokerSender } from '../delivery/brokers.js';
import { tooOldMessage, type SchemaVerdict } from '../store/migrate.js';
import type { ClaimedTask, DeliveryContext, Store } from '../store/store.js';
import type { Tracing } from '../telemetry/tracing.js';
import type { TransformPool } from '../transform/pool.js';

export interface DispatcherOptions {
  store: Store;
  ids: IdGenerator;
  sender: Sender;
  /** Publishes to broker destinations (endpoint rows with a `kind`); absent, their deliveries fail and retry. */
  brokers?: BrokerSender;
  now: () => number;
  retryScheduleMs: readonly number[];
  /** Attempts in flight at once, across all endpoints. */
  concurrency: number;
  /**
   * Attempts in flight at once to one endpoint, so a slow endpoint cannot take every worker: the cap
   * of the endpoint's adaptive limit (domain/concurrency.ts).
   */
  perEndpointConcurrency: number;
  /** The circuit breaker per endpoint (domain/hold.ts); off (failures 0) when absent. */
  circuit?: CircuitPolicy;
  leaseMs: number;
  /** The longest one attempt can take (the delivery timeout). */
  attemptTimeoutMs: number;
  /** Polling is the guarantee; wake-ups after commits only make it prompt. */
  pollMs: number;
  /**
   * How often a running dispatcher reads the migration ledger to learn whether a newer Herald has
   * migrated the schema past what this one may run on (default 30 s; also after a failed claim).
   */
  schemaCheckMs?: number;
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
  /** An endpoint's circuit opened (from closed) or closed; told by the process whose write changed it. */
  onCircuit?: (e: { appId: string; endpointId: string; change: 'opened' | 'closed'; circuit: Circuit; failures: number }) => void;
  /** OpenTelemetry traces: a span around each attempt's send and settle; absent when tracing is off. */
  tracing?: Tracing | null;
  /** Runs endpoints' transformations (transform/pool.ts); without it, a delivery that needs one fails and is retried. */
  transforms?: TransformPool;
}

const CIRCUIT_OFF: CircuitPolicy = { failures: 0, cooldownMs: 0, maxCooldownMs: 0 };
/** How long past the attempt's timeout a probe may take to be recorded before another may go. */
const PROBE_MARGIN_MS = 5000;

/** An ordered delivery carries its key and its place in the key's order (domain/ordering.ts), the same on every attempt. */
function withOrdering(headers: Record<string, string>, task: ClaimedTask, message: Message): Record<string, string> {
  if (task.orderingSeq == null || !message.orderingKey) return headers;
  return { ...headers, ...orderingHeaders(message.orderingKey, task.orderingSeq) };
}

/** How often the ordered-delivery recovery sweep runs (store.sweepOrder), and how many it releases at most per run. */
const ORDER_SWEEP_MS = 30_000;
const ORDER_SWEEP_LIMIT = 1000;

/** While endpoints are full, places freed are gathered this long, or until this many, before the next claim (attemptEnded). */
const GATHER_MS = 5;
const GATHER_PLACES = 16;
/** While endpoints are full and nothing wakes the loop, it claims again after this long (sleepMs). */
const ROOM_RECHECK_MS = 100;

/** A throttled task within this much of its slot waits in memory instead of going back to the store. */
const HOLD_MS = 1000;

/** A delivery ready to go out: its endpoint's concurrency place is taken until `send` ends. */
interface Prepared {
  task: ClaimedTask;
  endpoint: Endpoint;
  message: Message;
  request: DeliveryRequest;
  startedAt: number;
  /** The circuit as this delivery saw it; `probe` when it is the half-open probe. */
  circuit: Circuit;
  probe: boolean;
  /** The retry schedule and timeout this delivery runs with (domain/policy.ts). */
  policy: EffectivePolicy;
}

export class Dispatcher {
  readonly owner = `disp_${randomBytes(6).toString('hex')}`;
  private running = false;
  private inFlight = 0;
  private readonly perEndpoint = new Map<string, number>();
  /** Deliveries claimed whose messages and endpoints are still being read (load), per endpoint. */
  private readonly loading = new Map<string, number>();
  /** Each endpoint's adaptive concurrency limit (domain/concurrency.ts); absent: the cap. */
  private readonly limits = new Map<string, number>();
  /** The newest circuit this process has seen per endpoint (by version), fresher than a claim's read. */
  private readonly circuits = new Map<string, Circuit>();
  private wakeUp: (() => void) | null = null;
  private listening = false;
  private claimFailures = 0;
  private stopPause: (() => void) | null = null;
  private woken = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly idle = new Set<() => void>();
  /** When the ledger is read next (see schemaHolds); at once on start. */
  private schemaCheckAt = -Infinity;
  private schemaTooOld = false;
  /** When the ordered-delivery sweep runs next; at once on start. */
  private orderSweepAt = -Infinity;
  private loopTurns = 0;
  /** The last claim left due deliveries for want of room at their endpoints (attemptEnded). */
  private roomBound = false;
  private freedWhileBound = 0;
  private gather: NodeJS.Timeout | null = null;
  /** The policy of a delivery that has none of its own (policyOf). */
  private serverPolicy: EffectivePolicy | null = null;

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
    await this.o.brokers?.close();
  }

  wake(): void {
    this.woken = true;
    if (this.gather) {
      clearTimeout(this.gather);
      this.gather = null;
    }
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  get activeAttempts(): number {
    return this.inFlight;
  }

  /** Turns of the claim loop so far: a marker for tests and diagnostics that the loop has moved on. */
  get turns(): number {
    return this.loopTurns;
  }

  /** This process's view of an endpoint: attempts in flight and its adaptive concurrency limit. */
  endpointLoad(endpointId: string): { inFlight: number; concurrencyLimit: number } {
    return { inFlight: this.perEndpoint.get(endpointId) ?? 0, concurrencyLimit: placesFor(this.limitOf(endpointId)) };
  }

  private limitOf(endpointId: string): number {
    return this.limits.get(endpointId) ?? this.o.perEndpointConcurrency;
  }

  /** The newer of a stored circuit just read and the one this process last wrote or saw. */
  private freshest(endpointId: string, c: Circuit): Circuit {
    const mine = this.circuits.get(endpointId);
    if (mine && mine.version >= c.version) return mine;
    if (c.version > 0) this.circuits.set(endpointId, c);
    return c;
  }

  /** True while the schema needs a newer Herald than this one: nothing is claimed. */
  get stoppedBySchema(): boolean {
    return this.schemaTooOld;
  }

  /**
   * Whether the schema keeps this process from claiming: a newer Herald ran a migration that
   * older ones cannot run on (store/migrate.ts). Read from the ledger at most every
   * `schemaCheckMs`, so claims cost no extra statement; said once in the log when it starts and
   * once when it ends (the schema restored, say), instead of failing on every statement.
   */
  private async schemaHolds(): Promise<boolean> {
    const t = this.o.now();
    if (t < this.schemaCheckAt) return this.schemaTooOld;
    this.schemaCheckAt = t + (this.o.schemaCheckMs ?? 30_000);
    let verdict: SchemaVerdict;
    try {
      verdict = await this.o.store.checkSchema();
    } catch {
      return this.schemaTooOld; // the store is unreachable: the claim's own backoff deals with that
    }
    if (!verdict.ok && !this.schemaTooOld) this.o.log?.error({ requires: verdict.requires, running: verdict.running }, tooOldMessage(verdict));
    if (verdict.ok && this.schemaTooOld) this.o.log?.warn({}, 'the database schema allows this Herald again; claiming deliveries');
    this.schemaTooOld = !verdict.ok;
    return this.schemaTooOld;
  }

  /**
   * Ordered delivery's recovery sweep (store.sweepOrder), at start and then every 30 s: a delivery
   * parked behind one that has ended is released. Every end releases its successor in its own
   * commit, so this normally finds nothing; it covers ends recorded by an older Herald during a
   * rolling upgrade and a manual resend racing an end. A failure is left to the next run.
   */
  private async sweepOrder(): Promise<void> {
    const t = this.o.now();
    if (t < this.orderSweepAt) return;
    this.orderSweepAt = t + ORDER_SWEEP_MS;
    try {
      const n = await this.o.store.sweepOrder(t, ORDER_SWEEP_LIMIT);
      if (n > 0) this.o.log?.warn({ released: n }, 'released ordered deliveries whose predecessor had ended');
    } catch {
      // the store is unreachable: the claim's own backoff deals with that
    }
  }

  /** Phase 1, claim: take due tasks under a lease, read them, and start each delivery. */
  private async loop(): Promise<void> {
    while (this.running) {
      this.loopTurns++;
      this.woken = false;
      if (await this.schemaHolds()) {
        await this.sleep(this.o.pollMs);
        continue;
      }
      await this.sweepOrder();
      const free = this.o.concurrency - this.inFlight;
      let claimed = 0;
      let leftDue = false;
      let nextDue: number | null = null;
      const claimedAt = this.o.now();
      // While room-bound, the places freed from here on are gathered for the next claim (this one
      // has the room freed before it); the claim tells whether it still left due work behind.
      this.freedWhileBound = 0;
      if (free > 0) {
        try {
          const ask = Math.min(free, 128);
          const c = await this.o.store.claim(this.owner, claimedAt, this.o.leaseMs, ask, this.claimRoom());
          claimed = c.tasks.length;
          leftDue = c.leftDue;
          nextDue = c.nextDue;
          if (claimed > 0) {
            if (c.contexts) this.begin(c.tasks, c.contexts);
            else this.load(c.tasks);
          }
          if (claimed === ask) continue;
        } catch (e) {
          // The store is unreachable (a database restart, say): back off, doubling up to 5 s, and
          // do not let wake-ups from finishing attempts turn the retries into a tight loop.
          this.claimFailures++;
          this.schemaCheckAt = -Infinity; // a failed statement may mean a newer schema: look again
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
      await this.sleep(this.sleepMs(claimedAt, leftDue, nextDue));
    }
  }

  /** Start a claim's deliveries, each with what it needs (its context). */
  private begin(tasks: ClaimedTask[], contexts: DeliveryContext[]): void {
    tasks.forEach((t, i) => void this.run(t, contexts[i]!));
  }

  /**
   * For a store whose claim does not read its deliveries (Claim.contexts absent): read what they
   * need and start them, without holding up the loop: the next
   * claim may go while this read is out (a tenant's new message need not wait for the read of
   * another tenant's claim). Until then the deliveries count as in flight, and against their
   * endpoints' room (`loading`), so the next claim does not take their places; they pass from
   * `loading` to their endpoints' places in one synchronous step (run's prepare). If the read
   * fails, the tasks stay leased and come back when their leases lapse.
   */
  private load(tasks: ClaimedTask[]): void {
    this.inFlight += tasks.length;
    for (const t of tasks) this.loading.set(t.endpointId, (this.loading.get(t.endpointId) ?? 0) + 1);
    const loaded = () => {
      this.inFlight -= tasks.length;
      for (const t of tasks) {
        const n = (this.loading.get(t.endpointId) ?? 1) - 1;
        if (n <= 0) this.loading.delete(t.endpointId);
        else this.loading.set(t.endpointId, n);
      }
    };
    this.o.store.loadDeliveries(tasks).then(
      (contexts) => {
        loaded();
        this.begin(tasks, contexts);
      },
      (e) => {
        loaded();
        this.o.log?.error({ err: e, tasks: tasks.length }, 'reading claimed deliveries failed; they are retried when their leases lapse');
        this.attemptEnded();
      },
    );
  }

  /**
   * What each endpoint can still take (domain/fairness.ts): its places under its adaptive limit
   * less the deliveries in flight to it and those claimed and still being read. Only endpoints
   * with something in flight or a lowered limit are named; every other endpoint has the cap.
   */
  private claimRoom(): ClaimRoom {
    const below = new Map<string, number>();
    const busy = (id: string) => (this.perEndpoint.get(id) ?? 0) + (this.loading.get(id) ?? 0);
    for (const id of [...this.limits.keys(), ...this.perEndpoint.keys(), ...this.loading.keys()]) {
      below.set(id, endpointRoom(placesFor(this.limitOf(id)), busy(id)));
    }
    return { cap: placesFor(this.o.perEndpointConcurrency), below };
  }

  /**
   * An attempt ended: a place is free. While the last claim left due deliveries behind for want of
   * room at their endpoints, the places freed are gathered for a few milliseconds (or until
   * GATHER_PLACES of them) before the next claim, so a busy endpoint is refilled by claims of
   * several deliveries instead of one claim per delivery. New due work (onTasksDue) still wakes the
   * loop at once.
   */
  private attemptEnded(): void {
    if (!this.roomBound || !this.running || ++this.freedWhileBound >= GATHER_PLACES) {
      this.wake();
      return;
    }
    this.gather ??= setTimeout(() => {
      this.gather = null;
      this.wake();
    }, GATHER_MS);
  }

  /**
   * How long to sleep after a claim at `claimedAt` that took less than it asked for. A task that
   * was already due then and was not taken waits for room at its endpoint (or is another
   * process's): an attempt ending here wakes the loop, so sleep until then, or ROOM_RECHECK_MS.
   * The claim itself tells whether it saw such a task (`leftDue`), and otherwise when the next one
   * falls due (`nextDue`), so the loop sleeps without another statement.
   */
  private sleepMs(claimedAt: number, leftDue: boolean, nextDue: number | null): number {
    if (this.inFlight >= this.o.concurrency) return this.o.pollMs;
    // Another endpoint's delivery may fall due meanwhile without any wake: look again within
    // ROOM_RECHECK_MS (the put-back interval of a full endpoint before claims were capped).
    this.roomBound = leftDue || (nextDue !== null && nextDue <= claimedAt);
    if (this.roomBound) return Math.min(this.o.pollMs, ROOM_RECHECK_MS);
    if (nextDue === null) return this.o.pollMs;
    return Math.max(0, Math.min(this.o.pollMs, nextDue - this.o.now()));
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

  /** One claimed delivery through its phases: prepare, send, settle. */
  private async run(task: ClaimedTask, ctx: DeliveryContext): Promise<void> {
    this.inFlight++;
    try {
      const ready = await this.prepare(task, ctx);
      if (ready) {
        const { message: m, endpoint } = ready;
        const span = this.o.tracing?.attemptSpan(m.traceparent, { msgId: m.id, endpointId: endpoint.id, attemptNumber: attemptNumber(task) });
        if (span) ready.request.traceparent = span.traceparent;
        const result = await this.send(ready);
        let outcome = 'unsettled';
        try {
          outcome = await this.settle(ready, result);
        } finally {
          span?.end({ statusCode: result.statusCode, outcome, durationMs: result.durationMs });
        }
      }
    } catch (e) {
      // The lease runs out and the task is retried: nothing is lost, at worst repeated.
      this.o.log?.error({ err: e, msgId: task.msgId, endpointId: task.endpointId }, 'delivery attempt failed unexpectedly');
    } finally {
      this.inFlight--;
      for (const r of this.idle) r();
      this.idle.clear();
      this.attemptEnded();
    }
  }

  /**
   * Phase 2, prepare: cancel a delivery with nothing to send, put back a held one (domain/hold.ts:
   * the application's module is off, the endpoint's circuit is open; one delivery claims the probe
   * of an open circuit), wait for (or put back until) the endpoint's throttle slot, take one of the
   * endpoint's concurrency places (or put the task back briefly), and build the signed request.
   * Null when the delivery does not go out now.
   */
  private async prepare(task: ClaimedTask, ctx: DeliveryContext): Promise<Prepared | null> {
    const { endpoint, message, throttleRate: rate, appPolicy } = ctx;
    const { store, now } = this.o;
    if (!endpoint || endpoint.disabled || !message || message.payload === null) {
      // Gone, disabled or expired: nothing to send, and nothing to retry.
      await store.cancelTask(task, now());
      return null;
    }
    // Held: put back without an attempt, so no retry is used up. An open circuit past its
    // cool-down lets exactly one delivery through, across processes: the one whose
    // compare-and-set on the stored circuit wins.
    let circuit = this.freshest(endpoint.id, ctx.circuit ?? CLOSED_CIRCUIT);
    const policy = this.policyOf(endpoint, appPolicy);
    // A probe that has not reported by the end of its attempt's timeout (the endpoint's own, when
    // it has one, and a margin to record it) is given up, and another delivery may probe.
    const g = gate(ctx.moduleEnabled ?? null, circuit, now(), policy.timeoutMs + PROBE_MARGIN_MS, this.o.circuit ?? CIRCUIT_OFF);
    if (g.kind === 'hold') {
      await store.holdTask(task, g.by, g.until, now());
      return null;
    }
    let probe = false;
    if (g.kind === 'probe') {
      const won = await store.claimProbe(endpoint.id, circuit.version, g.until, now());
      if (!won) {
        // Another delivery probes: wait for its verdict (or its deadline).
        await store.holdTask(task, 'circuit', g.until, now());
        return null;
      }
      this.circuits.set(endpoint.id, (circuit = won));
      probe = true;
    }
    // The endpoint's schedule lives in the store, so every worker process sharing it takes slots
    // from one schedule and the rate holds cluster-wide. A task put back until its slot keeps
    // that slot (in the task row), whichever worker claims it next.
    let slot: number | null = null;
    if (rate) {
      const t = now();
      slot = task.throttleSlot ?? (await store.reserveThrottleSlot(endpoint.id, slotInterval(rate), t));
      const d = throttleDecision(slot, t, HOLD_MS);
      if (d.kind === 'defer') {
        await store.deferTask(task, d.until, slot);
        return null;
      }
      if (d.waitMs > 0) await new Promise((r) => setTimeout(r, d.waitMs));
    }
    const busy = this.perEndpoint.get(endpoint.id) ?? 0;
    if (busy >= placesFor(this.limitOf(endpoint.id)) && !probe) {
      await store.deferTask(task, now() + 100, slot);
      return null;
    }
    this.perEndpoint.set(endpoint.id, busy + 1);
    const startedAt = now();
    try {
      const secrets = [endpoint.secret, ...endpoint.previousSecrets.filter((s) => s.expiresAt > startedAt).map((s) => s.key)];
      const request: DeliveryRequest = {
        url: endpoint.url,
        msgId: message.id,
        body: message.payload,
        secrets: secrets.map(parsedSecret),
        headers: withOrdering(endpoint.headers, task, message),
        timestampSeconds: Math.floor(startedAt / 1000),
        timeoutMs: policy.timeoutMs,
        ...(endpoint.auth ? { auth: { endpointId: endpoint.id, auth: endpoint.auth } } : {}),
      };
      return { task, endpoint, message, request, startedAt, circuit, probe, policy };
    } catch (e) {
      this.leaveEndpoint(endpoint.id);
      throw e;
    }
  }

  /**
   * Phase 3, send: the endpoint's transformation when it has one switched on, then the HTTP request
   * (signed over the body as transformed), or, to a broker destination (which has no
   * transformation), the publish; then give the endpoint's concurrency place back.
   */
  private async send(p: Prepared): Promise<DeliveryResult> {
    try {
      const { kind } = p.endpoint;
      if (kind) return await this.publish(p, kind);
      const code = transformationOf(p.endpoint.transformation);
      const unsent = code === null ? null : await this.transform(p, code);
      return unsent ?? (await this.o.sender.send(p.request, this.o.now));
    } finally {
      this.leaveEndpoint(p.endpoint.id);
    }
  }

  /** A broker destination's delivery: the same signed request, published (delivery/brokers.ts). */
  private publish(p: Prepared, kind: NonNullable<Endpoint['kind']>): Promise<DeliveryResult> {
    if (!this.o.brokers) return Promise.resolve({ outcome: { kind: 'retry' }, statusCode: 0, response: 'This worker publishes to no broker', durationMs: 0 });
    return this.o.brokers.send(p.request, { ...p.endpoint, kind });
  }

  /**
   * Run the endpoint's transformation (domain/transformation.ts) in the sandbox's worker threads and
   * rewrite the request with what it returned: body, URL (the sender's SSRF guard checks it),
   * method and custom headers. Returns the result of a delivery that does not go out instead:
   * canceled by the code, or failed (it threw, ran out of time or memory, returned something that
   * cannot be sent), which is a failed attempt retried on the schedule, its response the error.
   */
  private async transform(p: Prepared, code: string): Promise<DeliveryResult | null> {
    const started = performance.now();
    const unsent = (outcome: DeliveryResult['outcome'], response: string): DeliveryResult => ({
      outcome,
      statusCode: 0,
      response,
      durationMs: Math.round(performance.now() - started),
      notSent: true,
    });
    if (!this.o.transforms) return unsent({ kind: 'retry' }, transformationFailure('this process runs no transformations'));
    let input: WebhookInput;
    try {
      input = webhookInput(p.request.url, p.message.eventType, p.request.body, p.endpoint.headers);
    } catch {
      return unsent({ kind: 'retry' }, transformationFailure('the payload is not JSON'));
    }
    const ran = await this.o.transforms.run(code, input);
    if (!ran.ok) return unsent({ kind: 'retry' }, transformationFailure(ran.error));
    const t = transformed(ran.output, input);
    if (t.kind === 'invalid') return unsent({ kind: 'retry' }, transformationFailure(`the handler's result cannot be sent: ${t.error}`));
    if (t.kind === 'cancel') return unsent({ kind: 'cancel' }, CANCELED_BY_TRANSFORMATION);
    p.request.url = t.url;
    p.request.body = t.body;
    p.request.method = t.method;
    p.request.headers = withOrdering(t.headers, p.task, p.message);
    return null;
  }

  /**
   * The endpoint's retry schedule and timeout, else its application's, else the server's; a
   * timeout is capped at half the lease, so no lease lapses while its attempt runs.
   */
  private policyOf(endpoint: Endpoint, appPolicy: DeliveryContext['appPolicy']): EffectivePolicy {
    const { retryScheduleMs, attemptTimeoutMs, leaseMs } = this.o;
    // Most deliveries have no policy of their own: they share one object.
    if (!endpoint.deliveryPolicy && !appPolicy) return (this.serverPolicy ??= { retryScheduleMs, timeoutMs: attemptTimeoutMs });
    return effectivePolicy(endpoint.deliveryPolicy, appPolicy, {
      retryScheduleMs,
      timeoutMs: attemptTimeoutMs,
      maxTimeoutMs: Math.max(attemptTimeoutMs, Math.floor(leaseMs / 2)),
    });
  }

  private leaveEndpoint(id: string): void {
    const n = (this.perEndpoint.get(id) ?? 1) - 1;
    if (n <= 0) this.perEndpoint.delete(id);
    else this.perEndpoint.set(id, n);
  }

  /**
   * Phase 4, settle: decide the outcome (domain/outcome.ts), record the attempt and the task's
   * next state under the lease's fence, and tell the observers. Returns the attempt's outcome as
   * the metrics name it: success, else what comes next (retry, exhausted, abort, disable, canceled).
   */
  private async settle({ task, endpoint, message, request, startedAt, circuit, probe, policy }: Prepared, result: DeliveryResult): Promise<string> {
    const settledAt = this.o.now();
    const overload = overloaded(result.statusCode, result.timedOut ?? false);
    const outcome = settle(result.outcome, task, settledAt, {
      retryScheduleMs: policy.retryScheduleMs,
      autoDisableAfterMs: AUTO_DISABLE_AFTER_MS,
      random: (this.o.random ?? Math.random)(),
      overloaded: overload,
    });
    const attempt: Attempt = {
      id: this.o.ids.next('attempt', startedAt),
      msgId: message.id,
      endpointId: endpoint.id,
      appId: task.appId,
      // Where it went: the endpoint's URL, or the one its transformation chose.
      url: request.url,
      response: result.response,
      responseStatusCode: result.statusCode,
      responseDurationMs: result.durationMs,
      requestHeaders: result.requestHeaders ?? null,
      status: outcome.attemptStatus,
      triggerType: attemptTrigger(task.triggerType),
      createdAt: startedAt,
    };
    // The circuit first: once the task is written back it may be claimed again (here or in another
    // process), and that claim must see the circuit this attempt left.
    // Only limits below the cap are kept: an endpoint at its cap (the usual case) costs no entry.
    const limit = nextLimit(this.limitOf(endpoint.id), overload, this.o.perEndpointConcurrency);
    if (limit >= this.o.perEndpointConcurrency) this.limits.delete(endpoint.id);
    else this.limits.set(endpoint.id, limit);
    await this.recordCircuit(task.appId, endpoint.id, circuit, countsAgainst(result.statusCode, !result.notSent), probe, settledAt);
    const done = await this.o.store.completeAttempt(task, { attempt, task: outcome.task, endpoint: outcome.endpoint }, settledAt);
    if (!done.fenced) this.o.log?.warn({ msgId: task.msgId, endpointId: task.endpointId }, 'lease lost during the attempt; a newer owner decides');
    this.o.onAttempt?.({ task, endpoint, attempt, attemptNumber: attemptNumber(task), msgEventId: message.eventId, result, next: outcome.next.kind });
    if (done.disabled) {
      this.o.onEndpointDisabled?.({ appId: task.appId, endpointId: endpoint.id, failSince: done.failSince });
      // What its circuit held is due now, to be cancelled as for any disabled endpoint.
      await this.o.store.releaseCircuitHolds(task.appId, endpoint.id, this.o.now());
    }
    return result.outcome.kind === 'success' ? 'success' : outcome.next.kind;
  }

  /**
   * The endpoint's circuit after an attempt (domain/hold.ts afterAttempt), applied by the store to
   * the stored circuit as it is then. A success against a circuit that was closed with no failures
   * (the usual case) writes nothing. When the circuit closes, the deliveries it held are due again
   * and this process's limit for the endpoint starts from 1: they go out at a rising rate.
   */
  private async recordCircuit(appId: string, endpointId: string, seen: Circuit, failed: boolean, probe: boolean, at: number): Promise<void> {
    const policy = this.o.circuit ?? CIRCUIT_OFF;
    if (policy.failures <= 0 || (!failed && pristine(this.freshest(endpointId, seen)))) return;
    const r = await this.o.store.updateCircuit(appId, endpointId, at, (c) => afterAttempt(c, failed, probe, at, policy));
    this.circuits.set(endpointId, r.circuit);
    if (r.change === 'closed') this.limits.set(endpointId, 1);
    if (r.change) this.o.onCircuit?.({ appId, endpointId, change: r.change, circuit: r.circuit, failures: r.failures ?? r.circuit.consecutiveFailures });
  }
}
