-- Index on task_states.task_exec_id for joins in workflow usage summaries. Built concurrently so
-- a live database keeps accepting writes; CONCURRENTLY cannot run inside a transaction.
--
-- An interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index behind, and IF NOT EXISTS
-- would then skip it and record the version as applied with a useless index. So an invalid
-- leftover is dropped first (a quick catalog change: the index holds no usable data).

-- +goose NO TRANSACTION

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (
        SELECT 1
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = 'idx_task_states_task_exec_id'
          AND n.nspname = current_schema()
          AND NOT i.indisvalid
    ) THEN
        DROP INDEX idx_task_states_task_exec_id;
    END IF;
END
$$;
-- +goose StatementEnd

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_task_states_task_exec_id ON task_states (task_exec_id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS idx_task_states_task_exec_id;
