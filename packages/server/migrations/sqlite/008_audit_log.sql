-- The audit log of management changes: who (the operator, or a portal session and its
-- application), what (the operation, the ids it touched, method, path and answer status) and
-- when. No request bodies are kept, so no secret can end up here. Ids are time-sortable, so the
-- primary key is also the listing order; app_id serves the per-application filter.
CREATE TABLE audit_log (
  id           TEXT PRIMARY KEY,
  at           INTEGER NOT NULL,
  actor        TEXT NOT NULL,
  session_id   TEXT,
  actor_app_id TEXT,
  operation_id TEXT NOT NULL,
  method       TEXT NOT NULL,
  path         TEXT NOT NULL,
  status       INTEGER NOT NULL,
  app_id       TEXT,
  endpoint_id  TEXT,
  msg_id       TEXT
) WITHOUT ROWID;
CREATE INDEX audit_log_app ON audit_log (app_id, id);
