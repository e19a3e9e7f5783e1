// Manual attempts (resend, recover): single shots outside the retry budget. This is every rule
// about them; the retry policy (retry.ts) asks `isManual`, the dispatcher numbers attempts with
// `attemptNumber`, and the stores ask `resumesSchedule` when they record the outcome.
import { MessageStatus, TriggerType, type MessageStatusCode, type TriggerTypeCode } from './types.js';

/** A delivery claimed for a manual attempt (a resend, a recover) rather than by its schedule. */
export const isManual = (triggerType: number): boolean => triggerType === TriggerType.manual;

/** How an attempt is triggered, as recorded and listed. */
export const attemptTrigger = (triggerType: number): TriggerTypeCode => (isManual(triggerType) ? TriggerType.manual : TriggerType.scheduled);

/**
 * The number an attempt is recorded under: 1-based within the retry schedule, or -1 for a manual
 * attempt, which the schedule does not count.
 */
export const attemptNumber = (task: { triggerType: number; attemptCount: number }): number => (isManual(task.triggerType) ? -1 : task.attemptCount + 1);

/**
 * Whether a finished attempt hands its delivery back to the scheduled retry it jumped ahead of (if
 * one was waiting when the resend was asked for, the store kept it as `resume_at`): a manual
 * attempt that failed does; a success, or any scheduled attempt, settles the delivery itself.
 */
export const resumesSchedule = (triggerType: number, attemptStatus: MessageStatusCode): boolean =>
  isManual(triggerType) && attemptStatus !== MessageStatus.success;

/**
 * What a resend keeps (the requeue's predicate, written by the stores in SQL as this): a delivery
 * still pending with a retry due later than the manual attempt keeps that retry time to resume at;
 * any other delivery (finished, or due now) gets a single shot.
 */
export const keptRetry = (status: MessageStatusCode, nextAttemptAt: number | null, manualAt: number): number | null =>
  status === MessageStatus.pending && nextAttemptAt !== null && nextAttemptAt > manualAt ? nextAttemptAt : null;
