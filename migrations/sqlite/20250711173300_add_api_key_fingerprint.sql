-- No-op on SQLite, kept so both dialects carry the same versions (a test keeps them equal).
-- api_keys.fingerprint (and its unique index) is created by 20250711163858_create_api_keys here, as in Compozy's own SQLite schema; PostgreSQL adds it in this version with a sha256(hash) backfill.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
