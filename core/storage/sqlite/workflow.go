package sqlite

import (
	"context"
	"fmt"

	"compozy.dev/setup/core/storage"
)

const workflowCols = `workflow_exec_id, workflow_id, status, usage, input, output, error, created_at, updated_at`

const (
	qWorkflowInsert = `INSERT INTO workflow_states (` + workflowCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qWorkflowGet    = `SELECT ` + workflowCols + ` FROM workflow_states WHERE workflow_exec_id = ?`
	qWorkflowList   = `SELECT ` + workflowCols + ` FROM workflow_states WHERE status = ?
		ORDER BY created_at, workflow_exec_id LIMIT ?`
	qWorkflowUpdate = `UPDATE workflow_states
		SET status = ?, output = coalesce(?, output), error = coalesce(?, error), updated_at = ?
		WHERE workflow_exec_id = ?`
	qWorkflowDelete = `DELETE FROM workflow_states WHERE workflow_exec_id = ?`
)

type workflowRepo struct{ r runner }

var _ storage.WorkflowRepo = workflowRepo{}

func (x workflowRepo) Create(ctx context.Context, w *storage.WorkflowState) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("create workflow %s: %w", w.WorkflowExecID, err)
	}
	now := x.r.now()
	w.CreatedAt, w.UpdatedAt = orNow(w.CreatedAt, now), orNow(w.UpdatedAt, now)
	_, err := x.r.exec(ctx, qWorkflowInsert,
		w.WorkflowExecID, w.WorkflowID, string(w.Status),
		jsonArg(w.Usage), jsonArg(w.Input), jsonArg(w.Output), jsonArg(w.Error),
		formatTime(w.CreatedAt), formatTime(w.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create workflow %s: %w", w.WorkflowExecID, mapErr(err))
	}
	return nil
}

func (x workflowRepo) Get(ctx context.Context, id string) (*storage.WorkflowState, error) {
	ws, err := x.list(ctx, qWorkflowGet, id)
	if err != nil {
		return nil, fmt.Errorf("get workflow %s: %w", id, err)
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("get workflow %s: %w", id, storage.ErrNotFound)
	}
	return ws[0], nil
}

func (x workflowRepo) ListByStatus(ctx context.Context, status storage.Status, limit int) ([]*storage.WorkflowState, error) {
	ws, err := x.list(ctx, qWorkflowList, string(status), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list workflows with status %s: %w", status, err)
	}
	return ws, nil
}

func (x workflowRepo) list(ctx context.Context, q string, args ...any) ([]*storage.WorkflowState, error) {
	rows, err := x.r.query(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	ws := []*storage.WorkflowState{}
	for rows.Next() {
		var w storage.WorkflowState
		if err := rows.Scan(&w.WorkflowExecID, &w.WorkflowID, &w.Status,
			jsonCol{&w.Usage}, jsonCol{&w.Input}, jsonCol{&w.Output}, jsonCol{&w.Error},
			timeCol{v: &w.CreatedAt}, timeCol{v: &w.UpdatedAt}); err != nil {
			return nil, err
		}
		ws = append(ws, &w)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	return ws, nil
}

func (x workflowRepo) UpdateStatus(ctx context.Context, id string, u storage.StatusUpdate) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("update workflow %s: %w", id, err)
	}
	res, err := x.r.exec(ctx, qWorkflowUpdate,
		string(u.Status), jsonArg(u.Output), jsonArg(u.Error), formatTime(x.r.now()), id)
	if err == nil {
		err = rowsAffected(res)
	}
	if err != nil {
		return fmt.Errorf("update workflow %s: %w", id, mapErr(err))
	}
	return nil
}

func (x workflowRepo) Delete(ctx context.Context, id string) error {
	res, err := x.r.exec(ctx, qWorkflowDelete, id)
	if err == nil {
		err = rowsAffected(res)
	}
	if err != nil {
		return fmt.Errorf("delete workflow %s: %w", id, mapErr(err))
	}
	return nil
}
