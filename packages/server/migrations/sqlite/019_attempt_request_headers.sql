-- The headers of the request each attempt sent, as JSON object text, so the log can show the
-- request beside the response. Custom endpoint headers and Authorization are kept by name only,
-- their values masked. NULL for attempts recorded before, and for attempts reported by readers of
-- polling endpoints (Herald sent no request).
ALTER TABLE attempt ADD COLUMN request_headers TEXT;
