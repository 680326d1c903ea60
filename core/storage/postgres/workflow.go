package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"compozy.dev/setup/core/storage"
)

const workflowCols = `workflow_exec_id, workflow_id, status, usage, input, output, error, created_at, updated_at`

const (
	qWorkflowInsert = `INSERT INTO workflow_states (` + workflowCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	qWorkflowGet    = `SELECT ` + workflowCols + ` FROM workflow_states WHERE workflow_exec_id = $1`
	qWorkflowList   = `SELECT ` + workflowCols + ` FROM workflow_states WHERE status = $1
		ORDER BY created_at, workflow_exec_id LIMIT $2`
	qWorkflowUpdate = `UPDATE workflow_states
		SET status = $2, output = coalesce($3, output), error = coalesce($4, error), updated_at = $5
		WHERE workflow_exec_id = $1`
	qWorkflowDelete = `DELETE FROM workflow_states WHERE workflow_exec_id = $1`
)

type workflowRepo struct{ r runner }

var _ storage.WorkflowRepo = workflowRepo{}

func (x workflowRepo) Create(ctx context.Context, w *storage.WorkflowState) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("create workflow %s: %w", w.WorkflowExecID, err)
	}
	now := x.r.now()
	w.CreatedAt, w.UpdatedAt = orNow(w.CreatedAt, now), orNow(w.UpdatedAt, now)
	_, err := x.r.q.Exec(ctx, qWorkflowInsert,
		w.WorkflowExecID, w.WorkflowID, string(w.Status),
		jsonArg(w.Usage), jsonArg(w.Input), jsonArg(w.Output), jsonArg(w.Error),
		w.CreatedAt, w.UpdatedAt)
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
	rows, err := x.r.q.Query(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	ws := []*storage.WorkflowState{}
	for rows.Next() {
		var (
			w                            storage.WorkflowState
			usage, input, output, errCol []byte
		)
		if err := rows.Scan(&w.WorkflowExecID, &w.WorkflowID, &w.Status,
			&usage, &input, &output, &errCol, &w.CreatedAt, &w.UpdatedAt); err != nil {
			return nil, err
		}
		w.Usage, w.Input, w.Output, w.Error = raw(usage), raw(input), raw(output), raw(errCol)
		w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
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
	tag, err := x.r.q.Exec(ctx, qWorkflowUpdate, id, string(u.Status), jsonArg(u.Output), jsonArg(u.Error), x.r.now())
	if err == nil && tag.RowsAffected() == 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("update workflow %s: %w", id, mapErr(err))
	}
	return nil
}

func (x workflowRepo) Delete(ctx context.Context, id string) error {
	tag, err := x.r.q.Exec(ctx, qWorkflowDelete, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete workflow %s: %w", id, mapErr(err))
	}
	return nil
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// jsonArg binds raw JSON as jsonb text, nil as NULL.
func jsonArg(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

// textArg binds "" as NULL.
func textArg(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// limitArg is the LIMIT for limit <= 0: NULL, which PostgreSQL reads as no limit.
func limitArg(limit int) any {
	if limit <= 0 {
		return nil
	}
	return limit
}

// raw is a scanned jsonb column: nil for NULL.
func raw(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}

// text is a scanned nullable text column: "" for NULL.
func text(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
