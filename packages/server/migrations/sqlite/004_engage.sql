-- Engage producer side. Per-tenant settings and the change detector's last known state.
-- Both are keyed by the application's id (never its uid, which can change or be released).
--
-- engage_tenant: the webhooks module switch (off until the operator turns it on) and the payload
-- encryption key, sealed under the master key like endpoint secrets. No row means the defaults:
-- module off, no key.
CREATE TABLE engage_tenant (
  app_id         TEXT PRIMARY KEY,
  module_enabled INTEGER NOT NULL DEFAULT 0,
  key_sealed     TEXT,
  key_set_at     INTEGER,
  updated_at     INTEGER NOT NULL
) WITHOUT ROWID;

-- engage_state: one row per contact, point account, voucher or promotion assignment. The state is
-- sealed (it holds contact attributes and consents: personal data, and for an encrypted tenant
-- the very plaintext its payloads hide). `version` rises on every write and a deleted contact
-- keeps its row as a tombstone (state NULL), so a compare-and-set on the version can never be
-- fooled by a delete and re-create in between (no ABA).
CREATE TABLE engage_state (
  app_id       TEXT NOT NULL,
  kind         TEXT NOT NULL,
  key          TEXT NOT NULL,
  state_sealed TEXT,
  version      INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (app_id, kind, key)
) WITHOUT ROWID;
