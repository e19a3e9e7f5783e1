-- Herald's first schema. Times are epoch milliseconds. Soft-deleted rows keep their id but
-- release their uid, so a uid can be reused at once.

CREATE TABLE application (
  id            TEXT PRIMARY KEY,
  uid           TEXT,
  name          TEXT NOT NULL,
  throttle_rate INTEGER,
  metadata      TEXT NOT NULL DEFAULT '{}',
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  deleted_at    INTEGER
) WITHOUT ROWID;
CREATE UNIQUE INDEX application_uid ON application (uid) WHERE uid IS NOT NULL;

CREATE TABLE event_type (
  name         TEXT PRIMARY KEY,
  description  TEXT NOT NULL,
  archived     INTEGER NOT NULL DEFAULT 0,
  deprecated   INTEGER NOT NULL DEFAULT 0,
  schemas      TEXT,
  feature_flag TEXT,
  group_name   TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE endpoint (
  id               TEXT PRIMARY KEY,
  app_id           TEXT NOT NULL,
  uid              TEXT,
  url              TEXT NOT NULL,
  description      TEXT NOT NULL DEFAULT '',
  throttle_rate    INTEGER,
  disabled         INTEGER NOT NULL DEFAULT 0,
  disabled_reason  TEXT,
  event_types      TEXT,
  channels         TEXT,
  metadata         TEXT NOT NULL DEFAULT '{}',
  headers_sealed   TEXT NOT NULL,
  secret_sealed    TEXT NOT NULL,
  previous_secrets_sealed TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  deleted_at       INTEGER
) WITHOUT ROWID;
CREATE INDEX endpoint_app ON endpoint (app_id, id);
CREATE UNIQUE INDEX endpoint_uid ON endpoint (app_id, uid) WHERE uid IS NOT NULL;

CREATE TABLE message (
  id          TEXT NOT NULL,
  app_id      TEXT NOT NULL,
  uid         TEXT,
  event_type  TEXT NOT NULL,
  channels    TEXT,
  payload     TEXT,
  expires_at  INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  -- Every look-up names the application, so the key leads with it and no second index is needed.
  PRIMARY KEY (app_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX message_uid ON message (app_id, uid) WHERE uid IS NOT NULL;
CREATE INDEX message_expiry ON message (expires_at) WHERE payload IS NOT NULL;

-- One row per (message, endpoint) the message matched when accepted. next_attempt_at is set
-- while the delivery is due; the dispatcher claims rows by it, under a lease with a fencing token.
CREATE TABLE delivery_task (
  msg_id           TEXT NOT NULL,
  endpoint_id      TEXT NOT NULL,
  app_id           TEXT NOT NULL,
  status           INTEGER NOT NULL,
  attempt_count    INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,
  trigger_type     INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  fence            INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  PRIMARY KEY (msg_id, endpoint_id)
) WITHOUT ROWID;
CREATE INDEX delivery_task_endpoint ON delivery_task (endpoint_id, msg_id);
CREATE INDEX delivery_task_due ON delivery_task (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

CREATE TABLE attempt (
  id                   TEXT PRIMARY KEY,
  msg_id               TEXT NOT NULL,
  endpoint_id          TEXT NOT NULL,
  app_id               TEXT NOT NULL,
  url                  TEXT NOT NULL,
  response             TEXT NOT NULL,
  response_status_code INTEGER NOT NULL,
  response_duration_ms INTEGER NOT NULL,
  status               INTEGER NOT NULL,
  trigger_type         INTEGER NOT NULL,
  created_at           INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX attempt_endpoint ON attempt (endpoint_id, id);
CREATE INDEX attempt_msg ON attempt (msg_id, id);

CREATE TABLE idempotency (
  key        TEXT PRIMARY KEY,
  status     INTEGER NOT NULL,
  body       TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_age ON idempotency (created_at);

CREATE TABLE portal_session (
  id            TEXT PRIMARY KEY,
  app_id        TEXT NOT NULL,
  permissions   TEXT NOT NULL,
  feature_flags TEXT NOT NULL DEFAULT '[]',
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  revoked_at    INTEGER
) WITHOUT ROWID;

CREATE TABLE background_task (
  id         TEXT PRIMARY KEY,
  kind       TEXT NOT NULL,
  status     TEXT NOT NULL,
  data       TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
