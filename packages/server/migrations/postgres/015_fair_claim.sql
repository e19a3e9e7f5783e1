-- The fair claim (domain/fairness.ts): the claim visits each (application, endpoint) with waiting
-- tasks once, skipping from one to the next through this index (a loose index scan), and takes
-- each one's oldest due tasks from it, so its cost follows the number of endpoints with waiting
-- work, not the number of tasks. Partial like delivery_task_due: finished deliveries are not in it.
CREATE INDEX delivery_task_fair ON delivery_task (app_id, endpoint_id, next_attempt_at, msg_id) WHERE next_attempt_at IS NOT NULL;
