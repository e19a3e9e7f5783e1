-- The stored answer to an idempotent message create names its message (msg_id) instead of holding
-- a sealed copy of it (body is then ''): a replay renders the message as it is now. So expunging a
-- payload leaves no copy of it here, and the answer costs no second serialization and no seal.
ALTER TABLE idempotency ADD COLUMN msg_id TEXT;
