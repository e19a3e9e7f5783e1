-- As SQLite migration 009: the application a background task belongs to (NULL on older rows), so a
-- portal token may read its own application's tasks and no other.
ALTER TABLE background_task ADD COLUMN app_id TEXT COLLATE "C";
