-- State that several processes on one database must share, kept in the same shape on
-- both stores so one mechanism serves both.
-- endpoint_throttle: per rate-limited endpoint, the earliest time its next send may go out (the
-- GCRA theoretical arrival time). Taking a slot is one atomic upsert, so workers in several
-- processes together keep the endpoint under its throttleRate.
CREATE TABLE endpoint_throttle (
  endpoint_id  TEXT PRIMARY KEY,
  next_free_at INTEGER NOT NULL
) WITHOUT ROWID;
-- A task put back until its throttle slot keeps that slot here, so whichever worker claims it next
-- sends in that slot instead of reserving a second one.
ALTER TABLE delivery_task ADD COLUMN throttle_slot INTEGER;
-- idempotency_lock: a key being answered right now, held until locked_until (a crashed holder
-- frees it then). The first request to insert the row does the work; concurrent ones with the
-- same key, in any process, wait for its stored answer.
CREATE TABLE idempotency_lock (
  key          TEXT PRIMARY KEY,
  locked_until INTEGER NOT NULL
) WITHOUT ROWID;
