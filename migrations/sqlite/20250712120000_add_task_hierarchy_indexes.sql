-- No-op on SQLite, kept so both dialects carry the same versions (a test keeps them equal).
-- Compozy's SQLite schema has only the five task_states indexes of 20250603124915; these PostgreSQL-only hierarchy indexes are not part of it.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
