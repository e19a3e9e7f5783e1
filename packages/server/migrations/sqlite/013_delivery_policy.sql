-- Per-tenant delivery rules, all optional (NULL inherits): an application's and an endpoint's
-- retry schedule and request timeout ({"retrySchedule": ["5s", ...], "timeout": 10}), an
-- endpoint's content filter over the payload, an event type's schema enforcement
-- ('off' | 'warn' | 'reject') and the schema violations recorded on a message accepted under 'warn'.
ALTER TABLE application ADD COLUMN delivery_policy TEXT;
ALTER TABLE endpoint ADD COLUMN delivery_policy TEXT;
ALTER TABLE endpoint ADD COLUMN content_filter TEXT;
ALTER TABLE event_type ADD COLUMN schema_enforcement TEXT NOT NULL DEFAULT 'off';
ALTER TABLE message ADD COLUMN schema_violations TEXT;
