package postgres

import (
	"context"
	"fmt"

	"compozy.dev/setup/core/storage"
)

const taskCols = `component, status, task_exec_id, task_id, workflow_exec_id, workflow_id, execution_type,
	usage, agent_id, tool_id, action_id, parent_state_id, input, output, error, created_at, updated_at`

const (
	qTaskInsert = `INSERT INTO task_states (` + taskCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`
	qTaskGet            = `SELECT ` + taskCols + ` FROM task_states WHERE task_exec_id = $1`
	qTaskListByWorkflow = `SELECT ` + taskCols + ` FROM task_states WHERE workflow_exec_id = $1
		ORDER BY created_at, task_exec_id`
	qTaskListByStatus = `SELECT ` + taskCols + ` FROM task_states WHERE status = $1
		ORDER BY created_at, task_exec_id LIMIT $2`
	// PostgreSQL has no updated_at trigger: the repository sets it.
	qTaskUpdate = `UPDATE task_states
		SET status = $2, output = coalesce($3, output), error = coalesce($4, error), updated_at = $5
		WHERE task_exec_id = $1`
	qTaskDelete = `DELETE FROM task_states WHERE task_exec_id = $1`
)

type taskRepo struct{ r runner }

var _ storage.TaskRepo = taskRepo{}

func (x taskRepo) Create(ctx context.Context, t *storage.TaskState) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create task %s: %w", t.TaskExecID, err)
	}
	if t.ExecutionType == "" {
		t.ExecutionType = storage.ExecutionBasic
	}
	now := x.r.now()
	t.CreatedAt, t.UpdatedAt = orNow(t.CreatedAt, now), orNow(t.UpdatedAt, now)
	_, err := x.r.q.Exec(ctx, qTaskInsert,
		string(t.Component), string(t.Status), t.TaskExecID, t.TaskID, t.WorkflowExecID, t.WorkflowID,
		string(t.ExecutionType), jsonArg(t.Usage),
		textArg(t.AgentID), textArg(t.ToolID), textArg(t.ActionID), textArg(t.ParentStateID),
		jsonArg(t.Input), jsonArg(t.Output), jsonArg(t.Error),
		t.CreatedAt, t.UpdatedAt)
	if err != nil {
		return fmt.Errorf("create task %s: %w", t.TaskExecID, mapErr(err))
	}
	return nil
}

func (x taskRepo) Get(ctx context.Context, id string) (*storage.TaskState, error) {
	ts, err := x.list(ctx, qTaskGet, id)
	if err != nil {
		return nil, fmt.Errorf("get task %s: %w", id, err)
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("get task %s: %w", id, storage.ErrNotFound)
	}
	return ts[0], nil
}

func (x taskRepo) ListByWorkflow(ctx context.Context, workflowExecID string) ([]*storage.TaskState, error) {
	ts, err := x.list(ctx, qTaskListByWorkflow, workflowExecID)
	if err != nil {
		return nil, fmt.Errorf("list tasks of workflow %s: %w", workflowExecID, err)
	}
	return ts, nil
}

func (x taskRepo) ListByStatus(ctx context.Context, status storage.Status, limit int) ([]*storage.TaskState, error) {
	ts, err := x.list(ctx, qTaskListByStatus, string(status), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list tasks with status %s: %w", status, err)
	}
	return ts, nil
}

func (x taskRepo) list(ctx context.Context, q string, args ...any) ([]*storage.TaskState, error) {
	rows, err := x.r.q.Query(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	ts := []*storage.TaskState{}
	for rows.Next() {
		var (
			t                                storage.TaskState
			usage, input, output, errCol     []byte
			agent, tool, action, parentState *string
		)
		if err := rows.Scan(&t.Component, &t.Status, &t.TaskExecID, &t.TaskID, &t.WorkflowExecID,
			&t.WorkflowID, &t.ExecutionType, &usage, &agent, &tool, &action, &parentState,
			&input, &output, &errCol, &t.CreatedAt, &t.UpdatedAt); err != nil {
			return nil, err
		}
		t.Usage, t.Input, t.Output, t.Error = raw(usage), raw(input), raw(output), raw(errCol)
		t.AgentID, t.ToolID, t.ActionID, t.ParentStateID = text(agent), text(tool), text(action), text(parentState)
		t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
		ts = append(ts, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	return ts, nil
}

func (x taskRepo) UpdateStatus(ctx context.Context, id string, u storage.StatusUpdate) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("update task %s: %w", id, err)
	}
	tag, err := x.r.q.Exec(ctx, qTaskUpdate, id, string(u.Status), jsonArg(u.Output), jsonArg(u.Error), x.r.now())
	if err == nil && tag.RowsAffected() == 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("update task %s: %w", id, mapErr(err))
	}
	return nil
}

func (x taskRepo) Delete(ctx context.Context, id string) error {
	tag, err := x.r.q.Exec(ctx, qTaskDelete, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete task %s: %w", id, mapErr(err))
	}
	return nil
}
