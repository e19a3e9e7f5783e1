-- The audit log of management changes, as SQLite migration 008: who, what and when, never a
-- request body (so never a secret). Ids are time-sortable; app_id serves the per-application filter.
CREATE TABLE audit_log (
  id           TEXT COLLATE "C" PRIMARY KEY,
  at           BIGINT NOT NULL,
  actor        TEXT NOT NULL,
  session_id   TEXT COLLATE "C",
  actor_app_id TEXT COLLATE "C",
  operation_id TEXT NOT NULL,
  method       TEXT NOT NULL,
  path         TEXT NOT NULL,
  status       INTEGER NOT NULL,
  app_id       TEXT COLLATE "C",
  endpoint_id  TEXT COLLATE "C",
  msg_id       TEXT COLLATE "C"
);
CREATE INDEX audit_log_app ON audit_log (app_id, id);
