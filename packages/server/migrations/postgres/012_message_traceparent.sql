-- The W3C traceparent of the span that accepted a message, when OpenTelemetry tracing is on: each
-- delivery attempt's span continues that trace, whichever process runs it and however much later.
-- NULL for messages accepted with tracing off.
ALTER TABLE message ADD COLUMN traceparent TEXT;
