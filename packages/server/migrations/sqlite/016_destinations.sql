-- Destinations: where an application's messages go besides its HTTP endpoints, one row per
-- destination whatever its type. `type` names the kind (pollingEndpoint: the messages are read
-- through the poller routes); `config_sealed` holds the type's settings as JSON sealed under the
-- master key (a polling endpoint's signing secret; a broker's credentials), so a new type needs no
-- new columns. A temporary destination (`herald listen`) has a lease: `expires_at` moves forward
-- while it is read, and once it passes the destination is removed. A consumer's position in a
-- polling endpoint is the id of the last message it has been given.
CREATE TABLE destination (
  id             TEXT PRIMARY KEY,
  app_id         TEXT NOT NULL,
  uid            TEXT,
  type           TEXT NOT NULL,
  status         TEXT NOT NULL,
  event_types    TEXT,
  channels       TEXT,
  metadata       TEXT NOT NULL DEFAULT '{}',
  batch_size     INTEGER NOT NULL DEFAULT 0,
  max_wait_secs  INTEGER NOT NULL DEFAULT 0,
  config_sealed  TEXT NOT NULL,
  lease_ms       INTEGER,
  expires_at     INTEGER,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  deleted_at     INTEGER
) WITHOUT ROWID;
CREATE INDEX destination_app ON destination (app_id, id);
CREATE UNIQUE INDEX destination_uid ON destination (app_id, uid) WHERE uid IS NOT NULL;
CREATE INDEX destination_expiry ON destination (expires_at) WHERE expires_at IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE destination_consumer (
  destination_id TEXT NOT NULL,
  consumer_id    TEXT NOT NULL,
  position       TEXT NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (destination_id, consumer_id)
) WITHOUT ROWID;
