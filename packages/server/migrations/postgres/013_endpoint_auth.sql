-- How Herald authenticates to an endpoint beyond the signature: Basic or bearer credentials, an
-- OAuth 2.0 client-credentials configuration, an mTLS identity and a CA bundle, as one JSON value
-- sealed under the master key (NULL: none). Re-sealed by rotate-master-key like the secrets.
ALTER TABLE endpoint ADD COLUMN auth_sealed TEXT;
