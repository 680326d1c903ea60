package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"compozy.dev/setup/core/config"
)

// Exit codes, in one place (DESIGN.md section 2).
const (
	ExitOK            = 0
	ExitFailed        = 1  // a check or operation failed
	ExitUsage         = 2  // usage or config error
	ExitCouldNotRun   = 3  // a check crashed or timed out
	ExitPending       = 10 // migrate status --check: migrations are pending
	ExitDatabaseNewer = 13 // migrate status --check: the database is newer than this binary
	ExitAborted       = 130
)

// UsageError is a problem with the command line: a missing or wrong flag or argument.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usageErrorf returns a UsageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitError ends the command with a given exit code. When Silent is set, the command has already
// printed everything the user needs, and main prints nothing more.
type ExitError struct {
	Code   int
	Err    error
	Silent bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// ErrAborted is returned when the user cancels an interactive command.
var ErrAborted = errors.New("aborted")

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	var exitErr *ExitError
	var usage *UsageError
	var cfgErr *config.Error
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &exitErr):
		return exitErr.Code
	case errors.Is(err, ErrAborted), errors.Is(err, context.Canceled):
		return ExitAborted
	case errors.As(err, &usage), errors.As(err, &cfgErr):
		return ExitUsage
	default:
		return ExitFailed
	}
}

// printError writes err for the user, once, unless the command already did.
func printError(w io.Writer, err error) {
	var exitErr *ExitError
	if errors.As(err, &exitErr) && (exitErr.Silent || exitErr.Err == nil) {
		return
	}
	if errors.Is(err, ErrAborted) || errors.Is(err, context.Canceled) {
		fmt.Fprintln(w, "Aborted.")
		return
	}
	var usage *UsageError
	fmt.Fprintf(w, "Error: %v\n", err)
	if errors.As(err, &usage) {
		fmt.Fprintln(w, "Run 'compozy --help' for usage.")
	}
}
