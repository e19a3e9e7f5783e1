// Per-tenant delivery policy: an application's and an endpoint's own retry schedule and request
// timeout. The endpoint's setting wins, then its application's, then the server's
// (HERALD_RETRY_SCHEDULE, HERALD_DELIVERY_TIMEOUT). Each field inherits on its own: an endpoint
// may set only a timeout and keep its application's schedule.
import { ValidationError, type ValidationIssue } from './errors.js';
import { parseSchedule } from './retry.js';

/** As stored and answered: duration strings as the tenant wrote them; null or absent inherits. */
export interface DeliveryPolicy {
  /** At most 20 durations (`"5s"`, `"30m"`, `"2h"`), each 1 s to 24 h; `[]` means a single attempt. */
  retrySchedule?: string[] | null;
  /** Whole seconds, 1 to 60. */
  timeout?: number | null;
}

export const POLICY_MAX_RETRIES = 20;
export const POLICY_MIN_DELAY_MS = 1000;
export const POLICY_MAX_DELAY_MS = 24 * 3600 * 1000;
export const POLICY_MIN_TIMEOUT_S = 1;
export const POLICY_MAX_TIMEOUT_S = 60;

/** The server's own settings, and the longest request a lease allows (half of it). */
export interface ServerPolicy {
  retryScheduleMs: readonly number[];
  timeoutMs: number;
  /** A timeout above this is capped to it, so a lease never lapses while its attempt runs. */
  maxTimeoutMs: number;
}

/** What one delivery attempt runs with. */
export interface EffectivePolicy {
  retryScheduleMs: readonly number[];
  timeoutMs: number;
}

const parsed = new Map<string, readonly number[]>();

/** The schedule in ms, memoised by its text: deliveries resolve it on every attempt. */
function scheduleMs(schedule: readonly string[]): readonly number[] {
  if (schedule.length === 0) return [];
  const key = schedule.join(',');
  let ms = parsed.get(key);
  if (!ms) {
    if (parsed.size > 10_000) parsed.clear();
    ms = parseSchedule(key);
    parsed.set(key, ms);
  }
  return ms;
}

/** The policy one attempt runs with: the endpoint's field, else the application's, else the server's. */
export function effectivePolicy(endpoint: DeliveryPolicy | null | undefined, app: DeliveryPolicy | null | undefined, server: ServerPolicy): EffectivePolicy {
  const schedule = endpoint?.retrySchedule ?? app?.retrySchedule;
  const timeoutS = endpoint?.timeout ?? app?.timeout;
  return {
    retryScheduleMs: schedule ? scheduleMs(schedule) : server.retryScheduleMs,
    timeoutMs: timeoutS ? Math.min(timeoutS * 1000, server.maxTimeoutMs) : server.timeoutMs,
  };
}

/**
 * The issues (422 items) of a policy in a request body: each duration in HERALD_RETRY_SCHEDULE's
 * syntax and within 1 s to 24 h, at most 20 of them, and a whole-second timeout of 1 to 60.
 * The contract's schema checks the JSON types first; this says what it cannot.
 */
export function policyIssues(p: { retrySchedule?: unknown; timeout?: unknown }): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const s = p.retrySchedule;
  if (s !== undefined && s !== null) {
    if (!Array.isArray(s)) issues.push({ loc: ['body', 'retrySchedule'], msg: 'value is not a valid list', type: 'type_error.list' });
    else {
      if (s.length > POLICY_MAX_RETRIES) {
        issues.push({ loc: ['body', 'retrySchedule'], msg: `at most ${POLICY_MAX_RETRIES} retries`, type: 'value_error.list.max_items' });
      }
      s.forEach((d, i) => {
        const loc = ['body', 'retrySchedule', i];
        let ms: number | undefined;
        try {
          if (typeof d !== 'string' || d.includes(',')) throw new Error();
          ms = parseSchedule(d)[0];
        } catch {
          issues.push({ loc, msg: `'${String(d)}' is not a duration such as "5s", "30m" or "2h"`, type: 'value_error.duration' });
          return;
        }
        if (ms! < POLICY_MIN_DELAY_MS || ms! > POLICY_MAX_DELAY_MS) {
          issues.push({ loc, msg: `'${d}' is outside 1s to 24h`, type: 'value_error.duration.range' });
        }
      });
    }
  }
  const t = p.timeout;
  if (t !== undefined && t !== null) {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < POLICY_MIN_TIMEOUT_S || t > POLICY_MAX_TIMEOUT_S) {
      issues.push({
        loc: ['body', 'timeout'],
        msg: `the timeout is whole seconds from ${POLICY_MIN_TIMEOUT_S} to ${POLICY_MAX_TIMEOUT_S}`,
        type: 'value_error.timeout',
      });
    }
  }
  return issues;
}

/** A 422 naming each bad field, else the policy (null when it sets nothing, so it inherits whole). */
export function checkPolicy(p: { retrySchedule?: unknown; timeout?: unknown }): DeliveryPolicy | null {
  const issues = policyIssues(p);
  if (issues.length) throw new ValidationError(issues);
  return policyOrNull({ retrySchedule: p.retrySchedule as string[] | null | undefined, timeout: p.timeout as number | null | undefined });
}

/** Only the fields that are set; null when none is. */
export function policyOrNull(p: DeliveryPolicy | null | undefined): DeliveryPolicy | null {
  if (!p) return null;
  const out: DeliveryPolicy = {};
  if (p.retrySchedule) out.retrySchedule = [...p.retrySchedule];
  if (p.timeout) out.timeout = p.timeout;
  return out.retrySchedule || out.timeout ? out : null;
}

/**
 * A PATCH: fields the body names replace (null clears one, so it inherits again); fields it
 * leaves out stay as they were.
 */
export function patchPolicy(prior: DeliveryPolicy | null | undefined, body: { retrySchedule?: unknown; timeout?: unknown }): DeliveryPolicy | null {
  const next = checkPolicy({
    retrySchedule: body.retrySchedule === undefined ? prior?.retrySchedule : body.retrySchedule,
    timeout: body.timeout === undefined ? prior?.timeout : body.timeout,
  });
  return next;
}
