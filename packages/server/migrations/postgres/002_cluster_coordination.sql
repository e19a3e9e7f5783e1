-- State that several processes on one database must share, kept in the same shape as SQLite
-- migration 006 so one mechanism serves both stores.
-- endpoint_throttle: per rate-limited endpoint, the earliest time its next send may go out (the
-- GCRA theoretical arrival time). Taking a slot is one atomic upsert (the row lock serialises
-- workers in every process), so together they keep the endpoint under its throttleRate.
CREATE TABLE endpoint_throttle (
  endpoint_id  TEXT COLLATE "C" PRIMARY KEY,
  next_free_at BIGINT NOT NULL
);
-- A task put back until its throttle slot keeps that slot here, so whichever worker claims it next
-- sends in that slot instead of reserving a second one.
ALTER TABLE delivery_task ADD COLUMN throttle_slot BIGINT;
-- idempotency_lock: a key being answered right now, held until locked_until (a crashed holder
-- frees it then). The first request to insert the row does the work; concurrent ones with the
-- same key, in any process, wait for its stored answer.
CREATE TABLE idempotency_lock (
  key          TEXT COLLATE "C" PRIMARY KEY,
  locked_until BIGINT NOT NULL
);
