// The window of an endpoint's health chart: whole UTC hours or days, the first bucket the one
// holding `since`, the last the one holding the instant before `until`. Decided here, once, so
// both stores only count what falls in [sinceMs, untilMs) per bucket of bucketMs.
import { ValidationError } from './errors.js';

export type TimeseriesBucket = 'hour' | 'day';

export const BUCKET_MS: Record<TimeseriesBucket, number> = { hour: 3_600_000, day: 86_400_000 };
/** With no `since`: the last 24 hours by the hour, the last 14 days by the day. */
export const DEFAULT_BUCKETS: Record<TimeseriesBucket, number> = { hour: 24, day: 14 };
/** At most this many buckets per answer (14 days by the hour is 336). */
export const MAX_BUCKETS = 400;

export interface TimeseriesWindow {
  /** The first bucket's start (a multiple of bucketMs). */
  sinceMs: number;
  /** Exclusive end of the window. */
  untilMs: number;
  bucketMs: number;
}

const bad = (field: string, msg: string) => new ValidationError([{ loc: ['query', field], msg, type: 'value_error' }]);

export function timeseriesWindow(now: number, bucket: TimeseriesBucket, since?: number, until?: number): TimeseriesWindow {
  const size = BUCKET_MS[bucket];
  const end = until ?? now;
  if (since !== undefined && since >= end) throw bad('since', '`since` must be before `until`');
  const lastStart = Math.floor((end - 1) / size) * size;
  const first = since === undefined ? lastStart - (DEFAULT_BUCKETS[bucket] - 1) * size : Math.floor(since / size) * size;
  const count = (lastStart - first) / size + 1;
  if (count > MAX_BUCKETS) {
    throw bad('since', `The window holds ${count} ${bucket} buckets; at most ${MAX_BUCKETS} are allowed (shorten it or use a larger bucket)`);
  }
  return { sinceMs: first, untilMs: end, bucketMs: size };
}
