// Package exitcode is the one table of compozy's process exit codes (DESIGN.md section 2). cli
// maps a command's error to one of them; doctor puts the code of a run in its JSON summary.
// Both refer to these constants; neither keeps a copy.
package exitcode

const (
	// OK: the command did what it was asked.
	OK = 0
	// Failed: a check or an operation failed.
	Failed = 1
	// Usage: the command line or the configuration is wrong.
	Usage = 2
	// CouldNotRun: a check crashed or timed out, so the run could not decide.
	CouldNotRun = 3
	// Pending: `migrate status --check` found migrations to apply.
	Pending = 10
	// Drift: `migrate diff` found the schema differs from the one this binary's migrations make
	// at the database's version.
	Drift = 11
	// DatabaseNewer: `migrate status --check` found a database newer than this binary.
	DatabaseNewer = 13
	// Aborted: the user cancelled (Ctrl-C, Esc, SIGTERM).
	Aborted = 130
)
