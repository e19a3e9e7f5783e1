// SQLite store, delivery queue: claims under a lease with a fencing token, completions, deferrals,
// resends and recovery. Decisions come from domain/ (outcome, manual attempts, throttle); this
// persists them atomically.
import { endIdFor, startIdFor } from '../../domain/ids.js';
import { attemptNumber, isManual, resumesSchedule } from '../../domain/manual.js';
import type { Circuit } from '../../domain/hold.js';
import { CLAIM_WALK, fairPick, OLDEST_DUE_PAIRS, roomOf, walkAfter, type ClaimRoom, type FairCandidate, type WalkPair } from '../../domain/fairness.js';
import { MessageStatus, type Message } from '../../domain/types.js';
import { turnEnds } from '../../domain/ordering.js';
import { CIRCUIT_COLS } from '../common/holds.js';
import { afterRecordWrites, passTurnWrites, recordedStateSql, sweepSql, tailSql } from '../common/ordering.js';
import { ATTEMPT_COLUMNS, attemptValues } from '../common/rows.js';
import type { AttemptResult, Claim, ClaimedTask, DeliveryContext, DeliveryQueue } from '../store.js';
import type { Row } from './base.js';
import { SqliteMessages } from './messages.js';

const ANY_DUE = 'SELECT 1 AS due FROM delivery_task WHERE next_attempt_at <= ? LIMIT 1';

// The fair claim's statements (see claimDueTasks), all on delivery_task_fair: the first (application,
// endpoint) with waiting tasks, the next endpoint of the same application, the next application
// (each with its earliest task's time), and one pair's oldest due tasks.
const PAIR_COLS = 'SELECT app_id, endpoint_id, next_attempt_at AS first FROM delivery_task';
const PAIR_ORDER = 'AND next_attempt_at IS NOT NULL ORDER BY app_id, endpoint_id, next_attempt_at LIMIT 1';
const FIRST_PAIR = `${PAIR_COLS} WHERE 1 ${PAIR_ORDER}`;
const NEXT_ENDPOINT = `${PAIR_COLS} WHERE app_id = ? AND endpoint_id > ? ${PAIR_ORDER}`;
const NEXT_APP = `${PAIR_COLS} WHERE app_id > ? ${PAIR_ORDER}`;
/** The pairs of the oldest due tasks, from delivery_task_due, whatever part of the walk they are in. */
const OLDEST_DUE = `SELECT app_id, endpoint_id, next_attempt_at AS first FROM delivery_task WHERE next_attempt_at <= ?
  ORDER BY next_attempt_at LIMIT ${OLDEST_DUE_PAIRS}`;
const PAIR_DUE = `SELECT msg_id, endpoint_id, app_id, next_attempt_at, throttle_slot FROM delivery_task
  WHERE app_id = ? AND endpoint_id = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, msg_id LIMIT ?`;
const CLAIM_PICKED = `UPDATE delivery_task SET lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?, fence = fence + 1, status = ?, updated_at = ?,
    throttle_slot = NULL, held_by = NULL
  WHERE (msg_id, endpoint_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))
  RETURNING msg_id, endpoint_id, attempt_count, trigger_type, manual_next, fence, ordering_seq`;

type Candidate = FairCandidate & { throttleSlot: number | null };

/** An application's Engage module switch (NULL: no settings row) and an endpoint's circuit (k_ columns, NULL: none), in one row. */
const HOLDS = `SELECT (SELECT module_enabled FROM engage_tenant WHERE app_id = ?) AS module_enabled, ${CIRCUIT_COLS.split(', ')
  .map((c) => `k.${c} AS k_${c}`)
  .join(', ')}
  FROM (SELECT ? AS id) x LEFT JOIN endpoint_circuit k ON k.endpoint_id = x.id`;

export abstract class SqliteQueue extends SqliteMessages implements DeliveryQueue {
  claimWalk = CLAIM_WALK;
  /** Where the next claim's walk starts: after this pair (null: at the first). */
  private walkFrom: WalkPair | null = null;

  requeueDelivery(msgId: string, endpointId: string, appId: string, now: number): Promise<void> {
    return this.notifyAfter(
      this.writes.run(() => {
        // One manual attempt, now. A delivery still waiting for a scheduled retry keeps that retry
        // (resume_at) in case the manual attempt fails; a finished one gets a single shot. A lease
        // in progress is fenced out (its attempt is still logged), so the resend is not lost to it.
        this.run(
          `INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, trigger_type, manual_next, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?)
         ON CONFLICT (msg_id, endpoint_id) DO UPDATE SET
           resume_at = CASE WHEN status = ${MessageStatus.pending} AND next_attempt_at > excluded.next_attempt_at THEN next_attempt_at ELSE NULL END,
           status = excluded.status, next_attempt_at = excluded.next_attempt_at, manual_next = 1,
           fence = CASE WHEN status = ${MessageStatus.sending} THEN fence + 1 ELSE fence END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = excluded.updated_at`,
          msgId,
          endpointId,
          appId,
          MessageStatus.pending,
          now,
          now,
          now,
        );
      }),
      () => true,
    );
  }

  recoverEndpoint(appId: string, endpointId: string, sinceMs: number, untilMs: number, now: number): Promise<number> {
    return this.notifyAfter(
      this.writes.run(() => {
        const res = this.run(
          `UPDATE delivery_task SET status = ?, next_attempt_at = ?, trigger_type = 1, updated_at = ?
         WHERE endpoint_id = ? AND app_id = ? AND status = ? AND msg_id >= ? AND msg_id <= ?`,
          MessageStatus.pending,
          now,
          now,
          endpointId,
          appId,
          MessageStatus.fail,
          startIdFor('message', sinceMs),
          endIdFor('message', untilMs),
        );
        return res.changes;
      }),
      (n) => n > 0,
    );
  }

  loadDeliveries(tasks: ClaimedTask[]): Promise<DeliveryContext[]> {
    // One task at a time: endpoints and applications come from memory, the message from the file,
    // read once however many of the claim's deliveries carry it (a fan-out claims them together).
    const messages = new Map<string, Promise<Message | null>>();
    const messageOf = (t: ClaimedTask) => {
      const k = `${t.appId} ${t.msgId}`;
      let m = messages.get(k);
      if (!m) messages.set(k, (m = this.getMessage(t.appId, t.msgId)));
      return m;
    };
    // The Engage module switch and the circuit, read together: one statement per endpoint of the
    // claim, as PostgreSQL reads them with the endpoint. Read at every claim, never cached, so a
    // circuit another process opened or a module switched off is seen at the next claim.
    const holds = new Map<string, { moduleEnabled: boolean | null; circuit: Circuit }>();
    const holdsOf = (t: ClaimedTask) => {
      const k = `${t.appId} ${t.endpointId}`;
      let h = holds.get(k);
      if (!h) {
        const r = this.get(HOLDS, t.appId, t.endpointId);
        holds.set(k, (h = { moduleEnabled: r?.module_enabled == null ? null : r.module_enabled === 1, circuit: this.rows.circuit(r, 'k_') }));
      }
      return h;
    };
    return Promise.all(
      tasks.map(async (t) => {
        const [endpoint, message] = await Promise.all([this.getEndpoint(t.appId, t.endpointId), messageOf(t)]);
        const usable = endpoint !== null && !endpoint.disabled;
        const app = usable ? await this.getApplication(t.appId) : null;
        const throttleRate = usable ? (endpoint.throttleRate ?? app?.throttleRate ?? null) : null;
        const { moduleEnabled, circuit } = holdsOf(t);
        return { endpoint, message, throttleRate, appPolicy: app?.deliveryPolicy ?? null, moduleEnabled, circuit };
      }),
    );
  }

  claimDueTasks(owner: string, now: number, leaseMs: number, limit: number, room?: ClaimRoom): Promise<ClaimedTask[]> {
    return this.claim(owner, now, leaseMs, limit, room).then((c) => c.tasks);
  }

  claim(owner: string, now: number, leaseMs: number, limit: number, room?: ClaimRoom): Promise<Claim> {
    // Nothing due is the usual answer at moderate load: the dispatcher claims again after every
    // attempt it finishes. A claim is a write transaction of its own there (BEGIN IMMEDIATE, its
    // statements, COMMIT), so a read that finds nothing due answers first. A task that becomes due
    // after this read wakes the dispatcher (onTasksDue, or the sleep until this claim's nextDue) and is claimed then.
    try {
      if (!this.get(ANY_DUE, now)) return Promise.resolve({ tasks: [], leftDue: false, nextDue: this.earliestDue() });
    } catch (e) {
      return Promise.reject(e);
    }
    const rooms = room ?? { cap: limit, below: new Map<string, number>() };
    return this.writes.run(
      () => {
        // While leased, a task's next_attempt_at is its lease expiry: if this dispatcher dies, the
        // task simply becomes due again then, and any dispatcher reclaims it (no separate reaper).
        const leaseUntil = now + leaseMs;
        // domain/fairness.ts: each (application, endpoint) with waiting tasks offers its oldest due
        // ones, up to its room, and fairPick orders them. The pairs are visited by skipping
        // through delivery_task_fair (the first entry of a pair is its earliest task, so whether
        // it has anything due is known from that entry alone); a pair's due tasks are read from
        // the same index, at most its room of them, however many are due.
        // At most claimWalk pairs are visited, from where the previous claim's walk stopped, and,
        // when that bound stopped it, the pairs of the oldest due tasks besides (domain/fairness.ts).
        const pairs = new Map<string, Row>();
        const visited: WalkPair[] = [];
        const next = (p: Row) => this.get(NEXT_ENDPOINT, p.app_id, p.endpoint_id) ?? this.get(NEXT_APP, p.app_id);
        const from = this.walkFrom;
        let p = from ? next({ app_id: from.appId, endpoint_id: from.endpointId }) : this.get(FIRST_PAIR);
        let wrapped = from === null;
        while (visited.length < this.claimWalk) {
          if (!p) {
            if (wrapped) break;
            wrapped = true;
            p = this.get(FIRST_PAIR);
            continue;
          }
          if (wrapped && from && (p.app_id > from.appId || (p.app_id === from.appId && p.endpoint_id > from.endpointId))) break;
          visited.push({ appId: p.app_id, endpointId: p.endpoint_id });
          if (p.first <= now) pairs.set(`${p.app_id} ${p.endpoint_id}`, p);
          p = next(p);
        }
        this.walkFrom = walkAfter(visited, this.claimWalk);
        // A walk that went round saw every pair, those of the oldest due tasks too.
        if (this.walkFrom) for (const o of this.all(OLDEST_DUE, now)) pairs.set(`${o.app_id} ${o.endpoint_id}`, o);
        const candidates: Candidate[] = [];
        // Due work is left behind when a due pair gives all its room (more may be due), or none.
        let leftDue = false;
        for (const pair of pairs.values()) {
          const n = Math.min(limit, roomOf(rooms, pair.endpoint_id));
          const due = n > 0 ? this.all(PAIR_DUE, pair.app_id, pair.endpoint_id, now, n) : [];
          if (due.length >= n) leftDue = true;
          for (const r of due) {
            candidates.push({ appId: r.app_id, endpointId: r.endpoint_id, msgId: r.msg_id, dueAt: r.next_attempt_at, throttleSlot: r.throttle_slot });
          }
        }
        const picked = fairPick(candidates, limit, rooms);
        if (picked.length < candidates.length) leftDue = true;
        if (picked.length === 0) return { tasks: [], leftDue, nextDue: leftDue ? null : this.earliestDue() };
        // One statement leases them all (their keys as one JSON array); a reserved throttle slot
        // goes to this claimer and leaves the row (the candidate has it).
        const keys = JSON.stringify(picked.map((c) => [c.msgId, c.endpointId]));
        const leased = new Map<string, Row>();
        for (const r of this.all(CLAIM_PICKED, owner, leaseUntil, leaseUntil, MessageStatus.sending, now, keys)) leased.set(`${r.msg_id} ${r.endpoint_id}`, r);
        const tasks = picked.map((c) => {
          const r = leased.get(`${c.msgId} ${c.endpointId}`)!;
          return {
            msgId: c.msgId,
            endpointId: c.endpointId,
            appId: c.appId,
            attemptCount: r.attempt_count,
            triggerType: r.manual_next === 1 ? 1 : r.trigger_type,
            fence: r.fence,
            leaseExpiresAt: leaseUntil,
            throttleSlot: c.throttleSlot,
            orderingSeq: r.ordering_seq,
          };
        });
        // Read after the leases were written: they are among the due times it sees.
        return { tasks, leftDue, nextDue: leftDue ? null : this.earliestDue() };
      },
      // A claim lost in a power cut only means the task is claimed again: no need to wait for disk.
      { durable: false },
    );
  }

  async nextDueAt(): Promise<number | null> {
    return this.earliestDue();
  }

  private earliestDue(): number | null {
    return this.get('SELECT MIN(next_attempt_at) AS t FROM delivery_task WHERE next_attempt_at IS NOT NULL')?.t ?? null;
  }

  completeAttempt(task: ClaimedTask, result: AttemptResult, now: number): Promise<{ fenced: boolean; disabled: boolean; failSince: number | null }> {
    return this.writes.run(() => {
      const a = result.attempt;
      this.run(`INSERT INTO attempt (${ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ...attemptValues(a, attemptNumber(task)));
      // A failed manual attempt that jumped ahead of a scheduled retry hands the delivery back to
      // that schedule (domain/manual.ts).
      const failedManual = resumesSchedule(task.triggerType, a.status) ? 1 : 0;
      const res = this.run(
        `UPDATE delivery_task SET
           status = CASE WHEN ? = 1 AND resume_at IS NOT NULL THEN ${MessageStatus.pending} ELSE ? END,
           next_attempt_at = CASE WHEN ? = 1 AND resume_at IS NOT NULL THEN resume_at ELSE ? END,
           attempt_count = attempt_count + CASE WHEN manual_next = 1 THEN 0 ELSE 1 END,
           manual_next = 0, resume_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
         WHERE msg_id = ? AND endpoint_id = ? AND fence = ?`,
        failedManual,
        result.task.status,
        failedManual,
        result.task.nextAttemptAt,
        now,
        task.msgId,
        task.endpointId,
        task.fence,
      );
      if (res.changes === 1 && task.orderingSeq != null) this.afterOrderedRecord(task, result.task.status, now);
      let disabled = false;
      let failSince: number | null = null;
      const ep = result.endpoint;
      if (ep?.kind === 'success') {
        this.run('UPDATE endpoint SET first_failure_at = NULL WHERE id = ? AND first_failure_at IS NOT NULL', task.endpointId);
      } else if (ep?.kind === 'exhausted') {
        this.run('UPDATE endpoint SET first_failure_at = COALESCE(first_failure_at, ?) WHERE id = ?', now, task.endpointId);
        const r = this.get('SELECT first_failure_at FROM endpoint WHERE id = ? AND disabled = 0 AND deleted_at IS NULL', task.endpointId);
        failSince = r?.first_failure_at ?? null;
        if (r && r.first_failure_at <= ep.disableIfFailingSince) {
          disabled = this.disableEndpoint(task.appId, task.endpointId, ep.reason(r.first_failure_at), now);
        }
      } else if (ep?.kind === 'disable') {
        disabled = this.disableEndpoint(task.appId, task.endpointId, ep.reason, now);
      }
      return { fenced: res.changes === 1, disabled, failSince };
    });
  }

  protected disableEndpoint(appId: string, id: string, reason: string, now: number): boolean {
    const res = this.run(
      'UPDATE endpoint SET disabled = 1, disabled_reason = ?, updated_at = ? WHERE id = ? AND disabled = 0 AND deleted_at IS NULL',
      reason,
      now,
      id,
    );
    this.matchCache.delete(appId);
    this.endpointCache.delete(id);
    return res.changes === 1;
  }

  deferTask(task: ClaimedTask, at: number, throttleSlot: number | null = null): Promise<boolean> {
    return this.writes.run(() => {
      const res = this.run(
        `UPDATE delivery_task SET status = ?, next_attempt_at = ?, lease_owner = NULL, lease_expires_at = NULL, throttle_slot = ?
         WHERE msg_id = ? AND endpoint_id = ? AND fence = ?`,
        MessageStatus.pending,
        at,
        throttleSlot,
        task.msgId,
        task.endpointId,
        task.fence,
      );
      return res.changes === 1;
    });
  }

  reserveThrottleSlot(endpointId: string, interval: number, now: number): Promise<number> {
    // domain/throttle.ts reserveSlot as one statement, as on PostgreSQL. A reservation lost in a
    // power cut only frees a slot: no need to wait for the disk.
    return this.writes.run(
      () => {
        const r = this.get(
          `INSERT INTO endpoint_throttle (endpoint_id, next_free_at) VALUES (?, ? + ?)
         ON CONFLICT (endpoint_id) DO UPDATE SET next_free_at = MAX(next_free_at, ?) + ?
         RETURNING next_free_at - ? AS at`,
          endpointId,
          now,
          interval,
          now,
          interval,
          interval,
        );
        return r!.at as number;
      },
      { durable: false },
    );
  }

  cancelTask(task: ClaimedTask, now: number): Promise<void> {
    return this.writes.run(() => {
      const res = this.run(
        `UPDATE delivery_task SET status = ?, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
         WHERE msg_id = ? AND endpoint_id = ? AND fence = ?`,
        MessageStatus.canceled,
        now,
        task.msgId,
        task.endpointId,
        task.fence,
      );
      if (res.changes === 1 && task.orderingSeq != null) this.afterOrderedRecord(task, MessageStatus.canceled, now);
    });
  }

  /**
   * An ordered delivery's outcome is recorded (or it was canceled): move its key's order on, in the
   * same commit (domain/ordering.ts afterRecord, passTurn).
   */
  private afterOrderedRecord(task: ClaimedTask, status: number, now: number): void {
    const ends = turnEnds(isManual(task.triggerType), status);
    if (ends === false) return;
    if (ends === null) {
      const st = recordedStateSql(this.dialect, task.msgId, task.endpointId);
      const after = afterRecordWrites(this.dialect, task, this.get(st.sql, ...st.values), now);
      for (const q of after.writes) this.run(q.sql, ...q.values);
      if (!after.pass) return;
    }
    const tq = tailSql(this.dialect, task.appId, task.msgId, task.endpointId);
    for (const q of passTurnWrites(this.dialect, task, this.get(tq.sql, ...tq.values), now).writes) this.run(q.sql, ...q.values);
  }

  sweepOrder(now: number, limit: number): Promise<number> {
    return this.notifyAfter(
      this.writes.run(() => {
        const q = sweepSql(this.dialect, now, limit);
        return this.run(q.sql, ...q.values).changes;
      }),
      (n) => n > 0,
    );
  }

  releaseLeases(owner: string, now: number): Promise<void> {
    return this.writes.run(() => {
      this.run(
        `UPDATE delivery_task SET status = ?, next_attempt_at = ?, lease_owner = NULL, lease_expires_at = NULL
         WHERE lease_owner = ? AND next_attempt_at IS NOT NULL`,
        MessageStatus.pending,
        now,
        owner,
      );
    });
  }

  async queueStats(now: number): Promise<{ waiting: number; due: number; oldestDueAgeMs: number }> {
    // Counts every waiting task: off the event loop (see read-worker.ts).
    const sql = `SELECT COUNT(*) AS waiting, SUM(next_attempt_at <= ?) AS due, MIN(next_attempt_at) AS oldest
       FROM delivery_task WHERE next_attempt_at IS NOT NULL`;
    const r = (await this.reads.get(sql, now)) as { waiting: number; due: number | null; oldest: number | null };
    return { waiting: r.waiting, due: r.due ?? 0, oldestDueAgeMs: r.oldest !== null && r.oldest <= now ? now - r.oldest : 0 };
  }
}
