-- Idempotency answers move to a rowid table: bodies append in insertion order and only a small
-- integer index (the first 8 bytes of the key's hash) takes random inserts. The WITHOUT ROWID
-- table kept each body inside a randomly ordered b-tree, touching a new page on almost every
-- write. The rows are a 12-hour cache, so nothing of value is dropped.
DROP TABLE idempotency;
CREATE TABLE idempotency (
  id         INTEGER PRIMARY KEY,
  key_hash   INTEGER NOT NULL,
  key        TEXT NOT NULL,
  status     INTEGER NOT NULL,
  body       TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX idempotency_key ON idempotency (key_hash);
