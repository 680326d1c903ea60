-- No-op on SQLite, kept so both dialects carry the same versions (a test keeps them equal).
-- pgvector is a PostgreSQL extension; SQLite has no vector search, so knowledge bases use an external vector DB (qdrant, redis or filesystem).

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
