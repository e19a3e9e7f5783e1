-- Ordered delivery per key. A message may carry an ordering key; an endpoint with ordering 'key'
-- delivers the messages of one key in the order they were accepted.
ALTER TABLE message ADD COLUMN ordering_key TEXT;
ALTER TABLE endpoint ADD COLUMN ordering TEXT NOT NULL DEFAULT 'none';
-- ordering_seq: the delivery's place in its (endpoint, key), from 1, sent as herald-sequence.
-- waiting_for: while parked (next_attempt_at NULL, status pending), the message ahead of it in its
-- key; the delivery is released (due, waiting_for NULL) when that one ends.
ALTER TABLE delivery_task ADD COLUMN ordering_seq INTEGER;
ALTER TABLE delivery_task ADD COLUMN waiting_for TEXT;
CREATE INDEX delivery_task_waiting ON delivery_task (endpoint_id, waiting_for) WHERE waiting_for IS NOT NULL;
-- One row per (endpoint, key) ever used: the last sequence number given, the message it went to,
-- and whether that delivery is still unfinished (a new one then waits for it). prev_msg_id is
-- written by each acceptance for its own RETURNING: the message the new one waits for, or NULL.
CREATE TABLE delivery_order (
  endpoint_id  TEXT NOT NULL,
  ordering_key TEXT NOT NULL,
  last_seq     INTEGER NOT NULL,
  last_msg_id  TEXT NOT NULL,
  last_open    INTEGER NOT NULL,
  prev_msg_id  TEXT,
  PRIMARY KEY (endpoint_id, ordering_key)
) WITHOUT ROWID;
