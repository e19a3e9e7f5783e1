-- A manual resend is one extra attempt beside the delivery's own schedule, not a replacement for
-- it. manual_next marks that the next attempt is the manual one; resume_at keeps the scheduled
-- retry it jumped ahead of, restored if the manual attempt fails.
ALTER TABLE delivery_task ADD COLUMN manual_next INTEGER NOT NULL DEFAULT 0;
ALTER TABLE delivery_task ADD COLUMN resume_at INTEGER;
