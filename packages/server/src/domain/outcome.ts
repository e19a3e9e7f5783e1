// The outcome of one attempt: what happens to the delivery and to its endpoint. Pure; the
// dispatcher records what this returns (Store.completeAttempt) and the stores apply it as told.
import { isManual } from './manual.js';
import { nextStep, type Next, type Outcome } from './retry.js';
import { MessageStatus, type MessageStatusCode } from './types.js';

/**
 * Endpoint bookkeeping that goes with an attempt: clear the failure streak; start one (or go on
 * with it) and disable the endpoint if it began at or before `disableIfFailingSince`, giving
 * `reason(streakStart)`; or disable it now for `reason`.
 */
export type EndpointChange =
  | { kind: 'success' }
  | { kind: 'exhausted'; disableIfFailingSince: number; reason: (failingSince: number) => string }
  | { kind: 'disable'; reason: string };

/** The auto-disable rule: an endpoint whose deliveries keep exhausting for `afterMs`, with no success, is disabled. */
export function exhausted(nowMs: number, afterMs: number): EndpointChange {
  const days = Math.round(afterMs / 864e5);
  return {
    kind: 'exhausted',
    disableIfFailingSince: nowMs - afterMs,
    reason: (since) => `Every delivery failed for ${days} days in a row since ${new Date(since).toISOString()}`,
  };
}

export interface Settlement {
  /** What the retry policy decided. */
  next: Next;
  /** The attempt's own status. */
  attemptStatus: MessageStatusCode;
  /** The delivery's new state: due again at `nextAttemptAt`, or finished. */
  task: { status: MessageStatusCode; nextAttemptAt: number | null };
  endpoint?: EndpointChange;
}

export interface SettlePolicy {
  retryScheduleMs: readonly number[];
  autoDisableAfterMs: number;
  /** In [0, 1), for the retry jitter. */
  random: number;
  /** Whether this attempt's answer said the endpoint is overloaded (429, timeout): a longer retry delay. */
  overloaded?: boolean;
}

/**
 * Settle attempt `attemptCount + 1` of a delivery (claimed with `triggerType`) that ended with
 * `outcome` at `nowMs`. A success ends the streak; a manual attempt never retries and never starts
 * or extends a failure streak; a scheduled delivery out of retries does.
 */
export function settle(outcome: Outcome, task: { attemptCount: number; triggerType: number }, nowMs: number, policy: SettlePolicy): Settlement {
  const manual = isManual(task.triggerType);
  const next = nextStep(outcome, task.attemptCount + 1, nowMs, policy.retryScheduleMs, policy.random, manual, policy.overloaded ?? false);
  const attemptStatus = outcome.kind === 'success' ? MessageStatus.success : outcome.kind === 'cancel' ? MessageStatus.canceled : MessageStatus.fail;
  switch (next.kind) {
    case 'done':
      return { next, attemptStatus, task: { status: MessageStatus.success, nextAttemptAt: null }, endpoint: { kind: 'success' } };
    case 'retry':
      return { next, attemptStatus, task: { status: MessageStatus.pending, nextAttemptAt: next.atMs } };
    case 'disable':
      return { next, attemptStatus, task: { status: MessageStatus.fail, nextAttemptAt: null }, endpoint: { kind: 'disable', reason: next.reason } };
    case 'exhausted':
      return {
        next,
        attemptStatus,
        task: { status: MessageStatus.fail, nextAttemptAt: null },
        endpoint: manual ? undefined : exhausted(nowMs, policy.autoDisableAfterMs),
      };
    case 'abort':
      return { next, attemptStatus, task: { status: MessageStatus.fail, nextAttemptAt: null } };
    case 'canceled':
      // Canceled by the endpoint's transformation: ended, neither a success nor a failure, so the
      // endpoint's failure streak is left as it is.
      return { next, attemptStatus, task: { status: MessageStatus.canceled, nextAttemptAt: null } };
  }
}
