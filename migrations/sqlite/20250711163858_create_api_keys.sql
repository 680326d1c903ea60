-- API keys of users. Unlike PostgreSQL, the fingerprint column is part of the table from the
-- start (as in Compozy's own SQLite migrations), so 20250711173300 is a no-op here.

-- +goose Up
-- +goose StatementBegin
-- Kept from Compozy's file. Inside goose's transaction SQLite ignores it; the connection
-- enables foreign keys in its DSN.
PRAGMA foreign_keys = ON;

CREATE TABLE IF NOT EXISTS api_keys (
    id          TEXT NOT NULL PRIMARY KEY,
    user_id     TEXT NOT NULL,
    hash        BLOB NOT NULL,
    fingerprint BLOB NOT NULL,
    prefix      TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL DEFAULT (datetime('now')),
    last_used   TEXT,
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_api_keys_hash ON api_keys (hash);
CREATE INDEX IF NOT EXISTS idx_api_keys_user_id ON api_keys (user_id);
CREATE INDEX IF NOT EXISTS idx_api_keys_created_at ON api_keys (created_at);
CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_fingerprint ON api_keys (fingerprint);
CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_prefix ON api_keys (prefix);
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DROP TABLE IF EXISTS api_keys;
-- +goose StatementEnd
