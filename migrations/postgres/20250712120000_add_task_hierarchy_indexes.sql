-- Indexes for walking the task hierarchy: the roots of an execution, and parent -> children joins.

-- +goose Up
CREATE INDEX IF NOT EXISTS idx_task_states_workflow_exec_id_parent_null
    ON task_states (workflow_exec_id)
    WHERE parent_state_id IS NULL;
CREATE INDEX IF NOT EXISTS idx_task_states_parent_state_id_workflow_exec_id
    ON task_states (parent_state_id, workflow_exec_id);

-- +goose Down
DROP INDEX IF EXISTS idx_task_states_parent_state_id_workflow_exec_id;
DROP INDEX IF EXISTS idx_task_states_workflow_exec_id_parent_null;
