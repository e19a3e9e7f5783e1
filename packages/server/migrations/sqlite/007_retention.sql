-- Retention: the purger deletes stored idempotent answers older than their 12 hours in
-- small batches by age. Migration 003 rebuilt the table without this index (PostgreSQL has had it
-- from the start); without it every purge pass would scan the whole table.
CREATE INDEX idempotency_age ON idempotency (created_at);
