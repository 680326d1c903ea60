package storage

import "errors"

// Domain errors. The drivers return them wrapped with context (for example
// "create workflow wf-1: conflict"), so test with errors.Is.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a record with the same primary key or unique value exists.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means a value breaks a constraint of the schema: a check, a foreign key, a
	// required column, or invalid JSON.
	ErrInvalid = errors.New("invalid")
)
