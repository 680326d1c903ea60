// Package storage is Compozy's state domain: the workflow, task, user and API-key records, the
// repository contracts every database driver implements, and the errors those contracts return.
//
// It imports no database driver and no database/sql. The implementations live in
// core/storage/sqlite and core/storage/postgres; core/storage/factory opens one of them from the
// configuration; core/storage/storagetest holds the conformance suite both must pass.
package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Status is the state of a workflow or task execution. Compozy stores it as upper-case text; the
// type stays a string so that statuses written by newer Compozy versions round-trip unchanged.
type Status string

// The statuses Compozy uses.
const (
	StatusPending  Status = "PENDING"
	StatusRunning  Status = "RUNNING"
	StatusSuccess  Status = "SUCCESS"
	StatusFailed   Status = "FAILED"
	StatusCanceled Status = "CANCELED"
	StatusTimedOut Status = "TIMED_OUT"
	StatusWaiting  Status = "WAITING"
	StatusPaused   Status = "PAUSED"
)

// Component is the kind of component a task state belongs to.
type Component string

// The components Compozy records task states for.
const (
	ComponentWorkflow Component = "workflow"
	ComponentTask     Component = "task"
	ComponentAgent    Component = "agent"
	ComponentTool     Component = "tool"
)

// ExecutionType is how a task executes. The schema ties it to which of AgentID, ActionID and
// ToolID may be set (see TaskState).
type ExecutionType string

// The execution types every schema version accepts.
const (
	ExecutionBasic      ExecutionType = "basic"
	ExecutionRouter     ExecutionType = "router"
	ExecutionParallel   ExecutionType = "parallel"
	ExecutionCollection ExecutionType = "collection"
	ExecutionComposite  ExecutionType = "composite"
)

// Role is a user's role.
type Role string

// The roles the schema accepts.
const (
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
)

// WorkflowState is one execution of a workflow (table workflow_states).
//
// JSON columns are raw JSON: nil means SQL NULL. Usage, when set, must be a JSON array. The
// drivers may normalise JSON (PostgreSQL stores jsonb, which reorders keys and drops
// whitespace), so compare decoded values, not bytes.
type WorkflowState struct {
	WorkflowExecID string
	WorkflowID     string
	Status         Status
	Usage          json.RawMessage
	Input          json.RawMessage
	Output         json.RawMessage
	Error          json.RawMessage
	// CreatedAt and UpdatedAt are in UTC when read. Create sets both to the current time when
	// they are zero; UpdateStatus sets UpdatedAt.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TaskState is one execution of a task inside a workflow execution (table task_states).
//
// Optional identifiers (AgentID, ToolID, ActionID, ParentStateID) are "" for SQL NULL. The
// schema allows, for ExecutionBasic, either AgentID with ActionID, or ToolID alone, or none; for
// ExecutionRouter none of them. JSON fields follow the WorkflowState rules.
type TaskState struct {
	Component      Component
	Status         Status
	TaskExecID     string
	TaskID         string
	WorkflowExecID string
	WorkflowID     string
	// ExecutionType defaults to ExecutionBasic when empty.
	ExecutionType ExecutionType
	Usage         json.RawMessage
	AgentID       string
	ToolID        string
	ActionID      string
	ParentStateID string
	Input         json.RawMessage
	Output        json.RawMessage
	Error         json.RawMessage
	// CreatedAt and UpdatedAt are in UTC when read. Create sets both to the current time when
	// they are zero. On SQLite a trigger maintains UpdatedAt with one-second precision.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// User is an account of the Compozy API (table users). Email is unique regardless of case.
type User struct {
	ID    string
	Email string
	Role  Role
	// CreatedAt is set to the current time by Create when zero.
	CreatedAt time.Time
}

// APIKey is an API key of a user (table api_keys). Hash and Fingerprint are binary; Prefix and
// Fingerprint are unique.
type APIKey struct {
	ID          string
	UserID      string
	Hash        []byte
	Fingerprint []byte
	Prefix      string
	// CreatedAt is set to the current time by Create when zero.
	CreatedAt time.Time
	// LastUsed is nil until the key is used.
	LastUsed *time.Time
}

// StatusUpdate is the change UpdateStatus applies. A nil Output or Error leaves that column as it
// is; a non-nil one replaces it.
type StatusUpdate struct {
	Status Status
	Output json.RawMessage
	Error  json.RawMessage
}

// WorkflowRepo stores workflow states.
type WorkflowRepo interface {
	// Create inserts w, setting CreatedAt and UpdatedAt to now when they are zero. It returns
	// ErrConflict when the WorkflowExecID exists and ErrInvalid when a value breaks a constraint
	// (invalid JSON, a Usage that is not an array, an empty required field).
	Create(ctx context.Context, w *WorkflowState) error
	// Get returns the workflow execution, or ErrNotFound.
	Get(ctx context.Context, workflowExecID string) (*WorkflowState, error)
	// ListByStatus returns the executions with the status, oldest first (ties by
	// WorkflowExecID); at most limit of them when limit > 0. No match is an empty slice, not an
	// error.
	ListByStatus(ctx context.Context, status Status, limit int) ([]*WorkflowState, error)
	// UpdateStatus applies u and sets UpdatedAt to now. It returns ErrNotFound when the
	// execution does not exist and ErrInvalid when Output or Error is not valid JSON.
	UpdateStatus(ctx context.Context, workflowExecID string, u StatusUpdate) error
	// Delete removes the execution and, by cascade, its task states. It returns ErrNotFound when
	// the execution does not exist.
	Delete(ctx context.Context, workflowExecID string) error
}

// TaskRepo stores task states.
type TaskRepo interface {
	// Create inserts t, setting CreatedAt and UpdatedAt to now when they are zero. It returns
	// ErrConflict when the TaskExecID exists and ErrInvalid when a value breaks a constraint (an
	// unknown WorkflowExecID or ParentStateID, an inconsistent AgentID/ActionID/ToolID
	// combination, invalid JSON).
	Create(ctx context.Context, t *TaskState) error
	// Get returns the task execution, or ErrNotFound.
	Get(ctx context.Context, taskExecID string) (*TaskState, error)
	// ListByWorkflow returns the task states of a workflow execution, oldest first (ties by
	// TaskExecID). An unknown or empty workflow execution is an empty slice, not an error.
	ListByWorkflow(ctx context.Context, workflowExecID string) ([]*TaskState, error)
	// ListByStatus returns the task states with the status, oldest first (ties by TaskExecID);
	// at most limit of them when limit > 0.
	ListByStatus(ctx context.Context, status Status, limit int) ([]*TaskState, error)
	// UpdateStatus applies u and refreshes UpdatedAt. It returns ErrNotFound when the task
	// execution does not exist and ErrInvalid when Output or Error is not valid JSON.
	UpdateStatus(ctx context.Context, taskExecID string, u StatusUpdate) error
	// Delete removes the task execution and, by cascade, its child tasks. It returns ErrNotFound
	// when the task execution does not exist.
	Delete(ctx context.Context, taskExecID string) error
}

// UserRepo stores users.
type UserRepo interface {
	// Create inserts u, setting CreatedAt to now when it is zero. It returns ErrConflict when
	// the ID exists or the email exists in any letter case, and ErrInvalid for an unknown role.
	Create(ctx context.Context, u *User) error
	// Get returns the user, or ErrNotFound.
	Get(ctx context.Context, id string) (*User, error)
	// FindByEmail returns the user whose email equals email regardless of letter case, or
	// ErrNotFound.
	FindByEmail(ctx context.Context, email string) (*User, error)
	// Delete removes the user and, by cascade, the user's API keys. It returns ErrNotFound when
	// the user does not exist.
	Delete(ctx context.Context, id string) error
}

// APIKeyRepo stores API keys.
type APIKeyRepo interface {
	// Create inserts k, setting CreatedAt to now when it is zero. It returns ErrConflict when the
	// ID, Prefix or Fingerprint exists, and ErrInvalid when the user does not exist or Hash or
	// Fingerprint is missing.
	Create(ctx context.Context, k *APIKey) error
	// FindByPrefix returns the key with the prefix, or ErrNotFound.
	FindByPrefix(ctx context.Context, prefix string) (*APIKey, error)
	// TouchLastUsed records that the key was used at at (now when at is zero). LastUsed never
	// moves backwards: an older at leaves it unchanged. It returns ErrNotFound when the key does
	// not exist.
	TouchLastUsed(ctx context.Context, id string, at time.Time) error
}

// Repos gives access to the four repositories. Inside Store.InTx every call runs in the one
// transaction.
type Repos interface {
	Workflows() WorkflowRepo
	Tasks() TaskRepo
	Users() UserRepo
	APIKeys() APIKeyRepo
}

// Store is an open database holding Compozy's state.
type Store interface {
	Repos
	// InTx runs fn in one read-write transaction and commits when fn returns nil. When fn returns
	// an error or panics, the transaction is rolled back and the error is returned as it is (the
	// panic continues). A failure to begin or commit is returned wrapped. fn must use tx, not
	// the Store: on SQLite the Store's own writes wait for the writer that fn holds.
	InTx(ctx context.Context, fn func(tx Repos) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the connections. The Store must not be used afterwards.
	Close() error
}

// Validate checks the fields Create needs: the identifiers and status are set and the JSON
// columns are valid. It returns an error wrapping ErrInvalid.
func (w *WorkflowState) Validate() error {
	switch {
	case w.WorkflowExecID == "":
		return fmt.Errorf("workflow_exec_id is required: %w", ErrInvalid)
	case w.WorkflowID == "":
		return fmt.Errorf("workflow_id is required: %w", ErrInvalid)
	case w.Status == "":
		return fmt.Errorf("status is required: %w", ErrInvalid)
	}
	return checkJSONFields(w.Usage, w.Input, w.Output, w.Error)
}

// Validate checks the fields Create needs: the identifiers, component and status are set and the
// JSON columns are valid. The execution-type rules are left to the schema, which differs between
// dialects. It returns an error wrapping ErrInvalid.
func (t *TaskState) Validate() error {
	switch {
	case t.TaskExecID == "":
		return fmt.Errorf("task_exec_id is required: %w", ErrInvalid)
	case t.TaskID == "":
		return fmt.Errorf("task_id is required: %w", ErrInvalid)
	case t.WorkflowExecID == "":
		return fmt.Errorf("workflow_exec_id is required: %w", ErrInvalid)
	case t.WorkflowID == "":
		return fmt.Errorf("workflow_id is required: %w", ErrInvalid)
	case t.Component == "":
		return fmt.Errorf("component is required: %w", ErrInvalid)
	case t.Status == "":
		return fmt.Errorf("status is required: %w", ErrInvalid)
	}
	return checkJSONFields(t.Usage, t.Input, t.Output, t.Error)
}

// Validate checks that the ID and email are set and the role is known. It returns an error
// wrapping ErrInvalid.
func (u *User) Validate() error {
	switch {
	case u.ID == "":
		return fmt.Errorf("user id is required: %w", ErrInvalid)
	case u.Email == "":
		return fmt.Errorf("email is required: %w", ErrInvalid)
	case u.Role != RoleAdmin && u.Role != RoleUser:
		return fmt.Errorf("role %q is not %q or %q: %w", u.Role, RoleAdmin, RoleUser, ErrInvalid)
	}
	return nil
}

// Validate checks that the identifiers, prefix, hash and fingerprint are set. It returns an error
// wrapping ErrInvalid.
func (k *APIKey) Validate() error {
	switch {
	case k.ID == "":
		return fmt.Errorf("api key id is required: %w", ErrInvalid)
	case k.UserID == "":
		return fmt.Errorf("user_id is required: %w", ErrInvalid)
	case k.Prefix == "":
		return fmt.Errorf("prefix is required: %w", ErrInvalid)
	case len(k.Hash) == 0:
		return fmt.Errorf("hash is required: %w", ErrInvalid)
	case len(k.Fingerprint) == 0:
		return fmt.Errorf("fingerprint is required: %w", ErrInvalid)
	}
	return nil
}

// Validate checks that the status is set and Output and Error are nil or valid JSON. It returns
// an error wrapping ErrInvalid.
func (u StatusUpdate) Validate() error {
	if u.Status == "" {
		return fmt.Errorf("status is required: %w", ErrInvalid)
	}
	if err := checkJSON("output", u.Output); err != nil {
		return err
	}
	return checkJSON("error", u.Error)
}

func checkJSONFields(usage, input, output, errJSON json.RawMessage) error {
	if err := checkUsage("usage", usage); err != nil {
		return err
	}
	if err := checkJSON("input", input); err != nil {
		return err
	}
	if err := checkJSON("output", output); err != nil {
		return err
	}
	return checkJSON("error", errJSON)
}
