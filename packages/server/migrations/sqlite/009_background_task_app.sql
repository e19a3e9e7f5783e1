-- A background task (an endpoint recover) records the application it belongs to, so a
-- portal token may read its own application's tasks and no other. NULL on rows from before.
ALTER TABLE background_task ADD COLUMN app_id TEXT;
