-- Held deliveries and endpoint circuits (domain/hold.ts).
--
-- delivery_task.held_by: why a pending delivery was put back without an attempt ('module': the
-- application's Engage webhooks module is off; 'circuit': its endpoint's circuit is open), or NULL.
-- A claim clears it. The index finds an application's or an endpoint's held deliveries when the
-- module is switched on or the circuit closes, and holds only held rows.
ALTER TABLE delivery_task ADD COLUMN held_by TEXT;
CREATE INDEX delivery_task_held ON delivery_task (held_by, app_id, endpoint_id) WHERE held_by IS NOT NULL;

-- endpoint_circuit: one row per endpoint that has ever failed; no row means closed with no
-- failures. Every worker process reads and writes the same row; `version` rises on every write
-- and is the compare-and-set token for claiming the single half-open probe.
CREATE TABLE endpoint_circuit (
  endpoint_id          TEXT PRIMARY KEY,
  state                TEXT NOT NULL,
  consecutive_failures INTEGER NOT NULL,
  since                INTEGER,
  next_probe_at        INTEGER,
  probe_until          INTEGER,
  cooldown_ms          INTEGER NOT NULL,
  version              INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL
) WITHOUT ROWID;
