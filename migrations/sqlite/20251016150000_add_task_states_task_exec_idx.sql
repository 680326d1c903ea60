-- No-op on SQLite, kept so both dialects carry the same versions (a test keeps them equal).
-- On SQLite task_exec_id is the primary key of task_states, which already gives the lookup index (PostgreSQL adds a separate one in this version).

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
