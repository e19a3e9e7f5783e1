-- Delivery bookkeeping. first_failure_at marks the start of an unbroken run of exhausted
-- deliveries for an endpoint (cleared by any success); auto-disable reads it. The attempt's
-- attempt_number is 1-based per delivery, or -1 for a manual resend (Svix's convention).
ALTER TABLE endpoint ADD COLUMN first_failure_at INTEGER;
ALTER TABLE attempt ADD COLUMN attempt_number INTEGER NOT NULL DEFAULT 1;
