-- Herald's schema on PostgreSQL: the SQLite migrations 001-005 in one step (no PostgreSQL
-- database predates this file). Times are epoch milliseconds (BIGINT) passed in by the caller's
-- clock, never now(). Ids, uids and names are COLLATE "C" so that they sort byte-wise exactly
-- as on SQLite: cursors and the time-range filters compare KSUIDs as strings, and a linguistic
-- collation (en_US) would order 'a' before 'B'. JSON documents returned to users verbatim
-- (metadata, schemas, task data) are JSON, which keeps their key order; arrays that queries look
-- inside (channels) are JSONB. Soft-deleted rows keep their id but release their uid.

CREATE TABLE application (
  id            TEXT COLLATE "C" PRIMARY KEY,
  uid           TEXT COLLATE "C",
  name          TEXT NOT NULL,
  throttle_rate INTEGER,
  metadata      JSON NOT NULL DEFAULT '{}',
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  deleted_at    BIGINT
);
CREATE UNIQUE INDEX application_uid ON application (uid) WHERE uid IS NOT NULL;

CREATE TABLE event_type (
  name         TEXT COLLATE "C" PRIMARY KEY,
  description  TEXT NOT NULL,
  archived     BOOLEAN NOT NULL DEFAULT false,
  deprecated   BOOLEAN NOT NULL DEFAULT false,
  schemas      JSON,
  feature_flag TEXT,
  group_name   TEXT,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);

CREATE TABLE endpoint (
  id               TEXT COLLATE "C" PRIMARY KEY,
  app_id           TEXT COLLATE "C" NOT NULL,
  uid              TEXT COLLATE "C",
  url              TEXT NOT NULL,
  description      TEXT NOT NULL DEFAULT '',
  throttle_rate    INTEGER,
  disabled         BOOLEAN NOT NULL DEFAULT false,
  disabled_reason  TEXT,
  event_types      JSONB,
  channels         JSONB,
  metadata         JSON NOT NULL DEFAULT '{}',
  headers_sealed   TEXT NOT NULL,
  secret_sealed    TEXT NOT NULL,
  previous_secrets_sealed TEXT NOT NULL,
  -- Start of an unbroken run of exhausted deliveries (cleared by any success); auto-disable reads it.
  first_failure_at BIGINT,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  deleted_at       BIGINT
);
CREATE INDEX endpoint_app ON endpoint (app_id, id);
CREATE UNIQUE INDEX endpoint_uid ON endpoint (app_id, uid) WHERE uid IS NOT NULL;

CREATE TABLE message (
  id          TEXT COLLATE "C" NOT NULL,
  app_id      TEXT COLLATE "C" NOT NULL,
  uid         TEXT COLLATE "C",
  event_type  TEXT NOT NULL,
  channels    JSONB,
  -- The payload's JSON text byte for byte (JSON/JSONB would reformat it); NULL once purged.
  payload     TEXT,
  expires_at  BIGINT NOT NULL,
  created_at  BIGINT NOT NULL,
  PRIMARY KEY (app_id, id)
);
CREATE UNIQUE INDEX message_uid ON message (app_id, uid) WHERE uid IS NOT NULL;
CREATE INDEX message_expiry ON message (expires_at) WHERE payload IS NOT NULL;

-- One row per (message, endpoint) the message matched when accepted. next_attempt_at is set while
-- the delivery is due (or leased: then it is the lease's expiry); dispatchers claim rows by it
-- with FOR UPDATE SKIP LOCKED, under a lease with a fencing token. manual_next marks that the next
-- attempt is a manual resend; resume_at keeps the scheduled retry it jumped ahead of.
CREATE TABLE delivery_task (
  msg_id           TEXT COLLATE "C" NOT NULL,
  endpoint_id      TEXT COLLATE "C" NOT NULL,
  app_id           TEXT COLLATE "C" NOT NULL,
  status           SMALLINT NOT NULL,
  attempt_count    INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  BIGINT,
  trigger_type     SMALLINT NOT NULL DEFAULT 0,
  lease_owner      TEXT,
  lease_expires_at BIGINT,
  fence            BIGINT NOT NULL DEFAULT 0,
  manual_next      BOOLEAN NOT NULL DEFAULT false,
  resume_at        BIGINT,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  PRIMARY KEY (msg_id, endpoint_id)
);
CREATE INDEX delivery_task_endpoint ON delivery_task (endpoint_id, msg_id);
-- The claim's index: exactly the claim predicate, so finished deliveries (the bulk of the table)
-- are not in it and it stays as small as the queue.
CREATE INDEX delivery_task_due ON delivery_task (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
-- releaseLeases on a graceful stop finds a dispatcher's leases without scanning the table.
CREATE INDEX delivery_task_lease ON delivery_task (lease_owner) WHERE lease_owner IS NOT NULL;

CREATE TABLE attempt (
  id                   TEXT COLLATE "C" PRIMARY KEY,
  msg_id               TEXT COLLATE "C" NOT NULL,
  endpoint_id          TEXT COLLATE "C" NOT NULL,
  app_id               TEXT COLLATE "C" NOT NULL,
  url                  TEXT NOT NULL,
  response             TEXT NOT NULL,
  response_status_code INTEGER NOT NULL,
  response_duration_ms INTEGER NOT NULL,
  status               SMALLINT NOT NULL,
  trigger_type         SMALLINT NOT NULL,
  -- 1-based per delivery, or -1 for a manual resend (Svix's convention).
  attempt_number       INTEGER NOT NULL DEFAULT 1,
  created_at           BIGINT NOT NULL
);
CREATE INDEX attempt_endpoint ON attempt (endpoint_id, id);
CREATE INDEX attempt_msg ON attempt (msg_id, id);

-- Idempotent answers, a 12-hour cache: rows append in identity order, and only a small integer
-- index (the first 8 bytes of the key's hash) takes random inserts. A newer row for the same key
-- shadows an older one.
CREATE TABLE idempotency (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key_hash   BIGINT NOT NULL,
  key        TEXT NOT NULL,
  status     INTEGER NOT NULL,
  body       TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX idempotency_key ON idempotency (key_hash);
CREATE INDEX idempotency_age ON idempotency (created_at);

CREATE TABLE portal_session (
  id            TEXT COLLATE "C" PRIMARY KEY,
  app_id        TEXT COLLATE "C" NOT NULL,
  permissions   JSONB NOT NULL,
  feature_flags JSONB NOT NULL DEFAULT '[]',
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,
  revoked_at    BIGINT
);

CREATE TABLE background_task (
  id         TEXT COLLATE "C" PRIMARY KEY,
  kind       TEXT NOT NULL,
  status     TEXT NOT NULL,
  data       JSON NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- Engage producer side: per-tenant settings (module switch, payload key sealed under the
-- master key; no row means module off, no key) and the change detector's last known state, sealed.
-- `version` rises on every write and a deleted state keeps its row as a tombstone (state NULL), so
-- the compare-and-set on the version cannot be fooled by a delete and re-create (no ABA).
CREATE TABLE engage_tenant (
  app_id         TEXT COLLATE "C" PRIMARY KEY,
  module_enabled BOOLEAN NOT NULL DEFAULT false,
  key_sealed     TEXT,
  key_set_at     BIGINT,
  updated_at     BIGINT NOT NULL
);

CREATE TABLE engage_state (
  app_id       TEXT COLLATE "C" NOT NULL,
  kind         TEXT NOT NULL,
  key          TEXT NOT NULL,
  state_sealed TEXT,
  version      INTEGER NOT NULL,
  updated_at   BIGINT NOT NULL,
  PRIMARY KEY (app_id, kind, key)
);
