-- API keys of users. The fingerprint column comes in 20250711173300, as in Compozy's schema.

-- +goose Up
CREATE TABLE IF NOT EXISTS api_keys (
    id         text NOT NULL PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       bytea NOT NULL,
    prefix     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Update with GREATEST(last_used, now()) so concurrent uses never move it backwards.
    last_used  timestamptz
);

CREATE INDEX IF NOT EXISTS idx_api_keys_hash ON api_keys (hash);
CREATE INDEX IF NOT EXISTS idx_api_keys_user_id ON api_keys (user_id);
CREATE INDEX IF NOT EXISTS idx_api_keys_created_at ON api_keys (created_at);
CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_prefix ON api_keys (prefix);

-- +goose Down
DROP INDEX IF EXISTS idx_api_keys_prefix;
DROP INDEX IF EXISTS idx_api_keys_created_at;
DROP INDEX IF EXISTS idx_api_keys_user_id;
DROP INDEX IF EXISTS idx_api_keys_hash;
DROP TABLE IF EXISTS api_keys;
