// The outcome of one attempt as a pure rule: the next task state and time, and the endpoint's fate.
import { describe, expect, it } from 'vitest';
import { exhausted, settle, type SettlePolicy } from '../../src/domain/outcome.js';
import { MessageStatus, TriggerType } from '../../src/domain/types.js';

const DAY = 864e5;
const policy: SettlePolicy = { retryScheduleMs: [5_000, 60_000], autoDisableAfterMs: 5 * DAY, random: 0.5 };
const scheduled = (attemptCount: number) => ({ attemptCount, triggerType: TriggerType.scheduled });
const manual = { attemptCount: 0, triggerType: TriggerType.manual };
const NOW = 1_700_000_000_000;

describe('domain: attempt outcome', () => {
  it('a success finishes the delivery and ends the failure streak', () => {
    const s = settle({ kind: 'success' }, scheduled(3), NOW, policy);
    expect(s.attemptStatus).toBe(MessageStatus.success);
    expect(s.task).toEqual({ status: MessageStatus.success, nextAttemptAt: null });
    expect(s.endpoint).toEqual({ kind: 'success' });
  });

  it('a retryable failure within the schedule is due again after the scheduled delay (jitter at its midpoint)', () => {
    const s = settle({ kind: 'retry' }, scheduled(1), NOW, policy);
    expect(s.attemptStatus).toBe(MessageStatus.fail);
    expect(s.task).toEqual({ status: MessageStatus.pending, nextAttemptAt: NOW + 60_000 });
    expect(s.endpoint).toBeUndefined();
  });

  it('the last scheduled failure exhausts the delivery and asks for the auto-disable check with a cutoff and a reason', () => {
    const s = settle({ kind: 'retry' }, scheduled(2), NOW, policy);
    expect(s.next.kind).toBe('exhausted');
    expect(s.task).toEqual({ status: MessageStatus.fail, nextAttemptAt: null });
    expect(s.endpoint?.kind).toBe('exhausted');
    if (s.endpoint?.kind !== 'exhausted') throw new Error('unreachable');
    expect(s.endpoint.disableIfFailingSince).toBe(NOW - 5 * DAY);
    expect(s.endpoint.reason(Date.UTC(2026, 0, 2))).toBe('Every delivery failed for 5 days in a row since 2026-01-02T00:00:00.000Z');
  });

  it('a failed manual attempt is never retried and never touches the failure streak', () => {
    const s = settle({ kind: 'retry' }, manual, NOW, policy);
    expect(s.next.kind).toBe('exhausted');
    expect(s.task).toEqual({ status: MessageStatus.fail, nextAttemptAt: null });
    expect(s.endpoint).toBeUndefined();
  });

  it('the receiver can abort the message or disable the endpoint, with its reason', () => {
    expect(settle({ kind: 'abort' }, scheduled(0), NOW, policy)).toMatchObject({ task: { status: MessageStatus.fail, nextAttemptAt: null } });
    expect(settle({ kind: 'abort' }, scheduled(0), NOW, policy).endpoint).toBeUndefined();
    expect(settle({ kind: 'disable', reason: 'gone (410)' }, manual, NOW, policy).endpoint).toEqual({ kind: 'disable', reason: 'gone (410)' });
  });

  it('the auto-disable cutoff is exactly the configured span before now', () => {
    const e = exhausted(NOW, 2 * DAY);
    expect(e).toMatchObject({ kind: 'exhausted', disableIfFailingSince: NOW - 2 * DAY });
    if (e.kind === 'exhausted') expect(e.reason(0)).toBe('Every delivery failed for 2 days in a row since 1970-01-01T00:00:00.000Z');
  });
});
