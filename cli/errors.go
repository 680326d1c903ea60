package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/internal/exitcode"
)

// Exit codes: the names cli uses for the one table, internal/exitcode (DESIGN.md section 2).
const (
	ExitOK            = exitcode.OK
	ExitFailed        = exitcode.Failed
	ExitUsage         = exitcode.Usage
	ExitCouldNotRun   = exitcode.CouldNotRun
	ExitPending       = exitcode.Pending
	ExitDrift         = exitcode.Drift
	ExitDatabaseNewer = exitcode.DatabaseNewer
	ExitAborted       = exitcode.Aborted
)

// verdictExit is the exit code of `migrate status --check` for a verdict.
func verdictExit(v migrate.Verdict) int {
	switch v {
	case migrate.VerdictPending:
		return ExitPending
	case migrate.VerdictUnknownVersion:
		return ExitDatabaseNewer
	case migrate.VerdictProblem:
		return ExitFailed
	}
	return ExitOK
}

// UsageError is a problem with the command line: a missing or wrong flag or argument.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usageErrorf returns a UsageError with a formatted message: the command line itself is wrong
// (a flag's value, a missing flag or argument). It exits 2 and points at the command's help.
func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// refusef returns an error that exits 2 like a usage error, for a command line that is well
// formed but refused in this situation (the configuration names another driver, a file exists):
// the message says what to do, and no pointer to --help is printed.
func refusef(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
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
	var pooled *migrate.PoolerError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &exitErr):
		return exitErr.Code
	case errors.As(err, &pooled): // refused before any change, like refusef
		return ExitUsage
	case errors.Is(err, ErrAborted), errors.Is(err, context.Canceled):
		return ExitAborted
	case errors.As(err, &usage), errors.As(err, &cfgErr):
		return ExitUsage
	default:
		return ExitFailed
	}
}

// printError writes err for the user, once, unless the command already did.
func printError(w io.Writer, err error) { printErrorFor(w, err, "") }

// printErrorFor is printError; after a usage error it names the help of cmdPath, the command
// that ran ("compozy migrate up --help").
func printErrorFor(w io.Writer, err error, cmdPath string) {
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
		if cmdPath == "" {
			cmdPath = "compozy"
		}
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmdPath)
	}
}
