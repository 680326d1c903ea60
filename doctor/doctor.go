// Package doctor is the contract of compozy's checks, the runner that executes them in parallel
// with a timeout each, and the plain and JSON renderers. It knows no terminal and no Bubble Tea:
// package tui renders the same data live.
//
// A check is data (Info: ID, group, title, explain text, dependencies, whether --fix can repair
// it) plus a Run function. The registry of every check (Registry) is exported so that docs can
// be generated from it.
package doctor

import (
	"context"
	"time"
)

// Status is the outcome of one check.
type Status string

// The statuses, from best to worst. Error means the check could not finish: it timed out or
// crashed.
const (
	StatusPass  Status = "pass"
	StatusWarn  Status = "warn"
	StatusFail  Status = "fail"
	StatusSkip  Status = "skip"
	StatusError Status = "error"
)

// Fix says how to repair what a check found: advice and the exact commands.
type Fix struct {
	Text     string   `json:"text"`
	Commands []string `json:"commands"`
}

// IsZero reports whether the fix says nothing.
func (f Fix) IsZero() bool { return f.Text == "" && len(f.Commands) == 0 }

// Result is what one check found.
type Result struct {
	ID    string `json:"id"`
	Group string `json:"group"`
	Title string `json:"title"`
	// Entry is the knowledge.vector_dbs id a vector check belongs to; "" for the others.
	Entry   string `json:"entry,omitempty"`
	Status  Status `json:"status"`
	Summary string `json:"summary"`
	Detail  string `json:"detail"`
	Fix     Fix    `json:"fix"`
	// Fixable says whether `compozy doctor --fix` can apply the fix.
	Fixable bool `json:"fixable"`
	// NotFixable, set by a check whose other outcomes --fix can repair, says why --fix does
	// not apply this one's fix ("compozy migrate up refuses to run through PgBouncer ...").
	NotFixable string        `json:"not_fixable,omitempty"`
	Duration   time.Duration `json:"-"`
	// DurationMS is Duration in whole milliseconds (for JSON).
	DurationMS int64 `json:"duration_ms"`
}

// Explain is the `doctor explain ID` text of a check.
type Explain struct {
	Symptom string `json:"symptom"`
	Cause   string `json:"cause"`
	Fix     string `json:"fix"`
}

// Info describes a check without running it. Registry lists every Info.
type Info struct {
	ID    string `json:"id"`
	Group string `json:"group"`
	Title string `json:"title"`
	// DependsOn lists check IDs that must pass (or warn) before this check runs; otherwise it is
	// skipped, naming the dependency.
	DependsOn []string `json:"depends_on,omitempty"`
	// Fixable says whether --fix can repair what the check finds (in some of its outcomes).
	Fixable bool    `json:"fixable"`
	Explain Explain `json:"explain"`
}

// Check is one runnable check.
type Check struct {
	Info
	// Entry is the knowledge.vector_dbs id for vector checks (several entries share IDs).
	Entry string
	// Run performs the check. It must honour ctx, only read, and never print.
	Run func(ctx context.Context) Result
	// Repair, when set, applies the fix for the result Run returned (only for results whose
	// Fixable is set). It is called by --fix only.
	Repair *Repair
	// Unbounded marks a check whose cost grows with the data (a full integrity check, run by
	// doctor --deep): the default per-check timeout does not apply to it, only a timeout the
	// caller sets (RunOptions.Timeout).
	Unbounded bool
}

// Repair is a change --fix can make.
type Repair struct {
	// Plan describes the change in one line, for --fix --dry-run and the confirmation prompt.
	Plan func(r Result) string
	// Apply makes the change.
	Apply func(ctx context.Context, r Result) error
	// Flag, when set, is the flag the change needs besides --fix ("--terminate", for ending
	// another program's session): without it --fix only shows the plan. With it the change is
	// still asked on a terminal, even with --yes; without a terminal --yes confirms it.
	Flag string
}

// Pass returns a passing result with summary.
func Pass(summary string) Result { return Result{Status: StatusPass, Summary: summary} }

// Warn returns a warning with summary, detail and fix.
func Warn(summary, detail string, fix Fix) Result {
	return Result{Status: StatusWarn, Summary: summary, Detail: detail, Fix: fix}
}

// Fail returns a failure with summary, detail and fix.
func Fail(summary, detail string, fix Fix) Result {
	return Result{Status: StatusFail, Summary: summary, Detail: detail, Fix: fix}
}

// Skip returns a skipped result saying why.
func Skip(why string) Result { return Result{Status: StatusSkip, Summary: why} }

// Cmds is a Fix with text and commands.
func Cmds(text string, commands ...string) Fix { return Fix{Text: text, Commands: commands} }
