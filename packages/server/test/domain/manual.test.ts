// Manual-attempt accounting as pure rules.
import { describe, expect, it } from 'vitest';
import { attemptNumber, attemptTrigger, keptRetry, resumesSchedule } from '../../src/domain/manual.js';
import { MessageStatus, TriggerType } from '../../src/domain/types.js';

describe('domain: manual attempts', () => {
  it('a manual attempt is recorded as -1 and as manual; a scheduled one by its place in the schedule', () => {
    expect(attemptNumber({ triggerType: TriggerType.manual, attemptCount: 4 })).toBe(-1);
    expect(attemptNumber({ triggerType: TriggerType.scheduled, attemptCount: 4 })).toBe(5);
    expect(attemptTrigger(TriggerType.manual)).toBe(TriggerType.manual);
    expect(attemptTrigger(7)).toBe(TriggerType.scheduled);
  });

  it('only a failed manual attempt hands the delivery back to the retry it jumped ahead of', () => {
    expect(resumesSchedule(TriggerType.manual, MessageStatus.fail)).toBe(true);
    expect(resumesSchedule(TriggerType.manual, MessageStatus.success)).toBe(false);
    expect(resumesSchedule(TriggerType.scheduled, MessageStatus.fail)).toBe(false);
  });

  it('a resend keeps a later pending retry to resume at, and nothing else', () => {
    expect(keptRetry(MessageStatus.pending, 5_000, 1_000)).toBe(5_000);
    expect(keptRetry(MessageStatus.pending, 1_000, 1_000)).toBeNull();
    expect(keptRetry(MessageStatus.fail, null, 1_000)).toBeNull();
    expect(keptRetry(MessageStatus.sending, 9_000, 1_000)).toBeNull();
  });
});
