-- A SHA-256 fingerprint of each key's hash, for constant-time lookup. Existing keys are
-- backfilled from their hash before the column becomes NOT NULL.

-- +goose Up
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS fingerprint bytea;
UPDATE api_keys SET fingerprint = sha256(hash) WHERE fingerprint IS NULL;
ALTER TABLE api_keys ALTER COLUMN fingerprint SET NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_fingerprint ON api_keys (fingerprint);
COMMENT ON COLUMN api_keys.fingerprint IS 'SHA-256 hash of the bcrypt hash of the API key for O(1) lookups before bcrypt comparison';

-- +goose Down
DROP INDEX IF EXISTS idx_api_keys_fingerprint;
ALTER TABLE api_keys DROP COLUMN IF EXISTS fingerprint;
