-- pgvector for knowledge bases. This version never fails: Compozy runs on a PostgreSQL without
-- pgvector when knowledge bases use another vector DB (qdrant, redis, filesystem). The extension
-- is created only when the server offers it (pg_available_extensions) and this role may create
-- it; otherwise nothing happens and `compozy doctor` reports that pgvector is missing.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        RAISE NOTICE 'pgvector is not available on this server; skipping CREATE EXTENSION vector';
        RETURN;
    END IF;
    BEGIN
        CREATE EXTENSION IF NOT EXISTS vector;
    EXCEPTION
        WHEN insufficient_privilege THEN
            RAISE NOTICE 'no privilege to create extension vector; skipping (%)', SQLERRM;
        WHEN undefined_file OR feature_not_supported THEN
            RAISE NOTICE 'extension vector cannot be created here; skipping (%)', SQLERRM;
    END;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Never fails either: dropping is skipped when the extension is absent, when objects still use
-- it (vector columns of knowledge bases), or when this role may not drop it.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
        RETURN;
    END IF;
    BEGIN
        DROP EXTENSION IF EXISTS vector;
    EXCEPTION
        WHEN insufficient_privilege OR dependent_objects_still_exist THEN
            RAISE NOTICE 'extension vector kept (%)', SQLERRM;
    END;
END
$$;
-- +goose StatementEnd
