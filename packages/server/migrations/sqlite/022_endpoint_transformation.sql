-- An endpoint's transformation: JavaScript run in a sandbox before each delivery is signed, as one
-- JSON value {"code": "...", "enabled": true, "updatedAt": <epoch ms>} (NULL: none ever set).
ALTER TABLE endpoint ADD COLUMN transformation TEXT;
