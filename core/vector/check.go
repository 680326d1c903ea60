package vector

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Status is the outcome of a check.
type Status string

// The outcomes a check can have. The doctor adds its own (error for a crash or time-out).
const (
	StatusPass Status = "pass"
	StatusWarn Status = "warn"
	StatusFail Status = "fail"
	// StatusSkip means the check does not apply (for example no index for a store that scans).
	StatusSkip Status = "skip"
)

// Fix says how to repair what a check found.
type Fix struct {
	// Text is the advice in one or two sentences.
	Text string `json:"text,omitempty"`
	// Commands are exact shell commands or SQL statements to run, in order.
	Commands []string `json:"commands,omitempty"`
}

// IsZero reports whether the fix says nothing.
func (f Fix) IsZero() bool { return f.Text == "" && len(f.Commands) == 0 }

// Result is what a check found.
type Result struct {
	Status Status `json:"status"`
	// Summary is one line: "qdrant 1.17.0 answers at 127.0.0.1:6334".
	Summary string `json:"summary"`
	// Detail is more lines of facts or the full error.
	Detail string `json:"detail,omitempty"`
	Fix    Fix    `json:"fix,omitzero"`
	// Fixable says whether the check's Repair can apply the fix (only for checks that have one).
	Fixable bool `json:"fixable,omitempty"`
	// Err is the error the result reports (FailResult sets it), so that callers route by its
	// kind (errors.Is(r.Err, ErrDimension)), never by the wording of Summary or Detail. It is
	// not encoded: Summary and Detail are what people read.
	Err error `json:"-"`
}

// Repair is a change `compozy doctor --fix` can make for what a check found: the provider's
// own, for repairs that only it knows how to make safely (rewriting a damaged log).
type Repair struct {
	// Plan describes the change in one line, with what it keeps and what it loses; it only
	// reads.
	Plan func(ctx context.Context) string
	// Apply makes the change.
	Apply func(ctx context.Context) error
}

// Check is one named check a provider exports for the doctor. The doctor runs Run with its
// own deadline in ctx; Run only reads and never panics on a down server.
type Check struct {
	// ID is stable across releases: "vector.qdrant.reachable", "vector.dimension". Several
	// vector DBs export checks with the same ID; Entry tells them apart.
	ID string
	// Entry is the knowledge.vector_dbs id the check belongs to.
	Entry string
	// Title is a short label: "Qdrant reachable".
	Title string
	// DependsOn lists IDs (of the same entry) that must pass or warn before this one runs.
	DependsOn []string
	// Server marks a check of the server alone (it answers; it has the module or extension
	// the provider needs), which can pass before any collection exists: the wizard's
	// connection test runs only these.
	Server bool
	// Run performs the check.
	Run func(ctx context.Context) Result
	// Repair, when set, applies the fix of a result whose Fixable is set.
	Repair *Repair
}

// Check IDs shared by every provider.
const (
	// CheckProvider: the provider is known and valid for the database driver.
	CheckProvider = "vector.provider"
	// CheckDimension: the collection's dimension matches the configured one.
	CheckDimension = "vector.dimension"
	// CheckMetric: the collection's metric matches the configured one.
	CheckMetric = "vector.metric"
)

// Pass returns a passing result.
func Pass(summary string) Result { return Result{Status: StatusPass, Summary: summary} }

// FailResult turns an error into a failing result: the summary is the error's message
// (without the cause), the detail the whole error, the fix the *Error's fix, and Err the error
// itself. A deadline
// or cancellation is a failure that says so.
func FailResult(err error) Result {
	r := Result{Status: StatusFail, Summary: firstLine(err.Error()), Detail: err.Error(), Err: err}
	var e *Error
	if errors.As(err, &e) {
		r.Fix = e.Fix
		r.Summary = e.summary()
	}
	if errors.Is(err, context.DeadlineExceeded) && !strings.Contains(r.Summary, "deadline") {
		r.Summary += " (no answer before the deadline)"
	}
	return r
}

// summary is the error without its cause: "redis: module list at 127.0.0.1:6379: MSG".
func (e *Error) summary() string {
	if e.Msg == "" {
		return firstLine(e.Error())
	}
	s := e.Provider + ": " + e.Op
	if e.Target != "" {
		s += " at " + e.Target
	}
	return s + ": " + firstLine(e.Msg)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// ShapeChecks returns the vector.dimension and vector.metric checks of a store: Describe, then
// compare with the configured dimension and metric. dropFix is how to recreate the collection
// (the provider's exact commands, and what they are: where they run), shown when the dimension
// differs; its Text follows the advice. dependsOn is the ID of
// the provider's "collection exists" check.
func ShapeChecks(s Store, entry string, dim int, metric Metric, dropFix Fix, dependsOn ...string) []Check {
	return []Check{
		{
			ID: CheckDimension, Entry: entry, Title: "Vector dimension matches the config", DependsOn: dependsOn,
			Run: func(ctx context.Context) Result {
				info, err := s.Describe(ctx)
				if err != nil {
					return FailResult(err)
				}
				switch {
				case info.Dimension == 0:
					return Result{Status: StatusWarn,
						Summary: fmt.Sprintf("%s %q does not report its dimension; the config says %d", s.Provider(), info.Name, dim),
						Detail:  "queries fail at run time if the stored vectors have another length"}
				case info.Dimension != dim:
					fix := dropFix
					fix.Text = fmt.Sprintf("either set dimension: %d in compozy.yaml (if the embedding model produces %d values), "+
						"or recreate %q with dimension %d and re-index the documents", info.Dimension, info.Dimension, info.Name, dim)
					if dropFix.Text != "" {
						fix.Text += "; " + dropFix.Text
					}
					return Result{Status: StatusFail,
						Summary: fmt.Sprintf("%s %q holds %d-dimension vectors but the config says %d", s.Provider(), info.Name, info.Dimension, dim),
						Detail:  "every upsert and query of the configured embedding model would be refused",
						Fix:     fix}
				}
				return Pass(fmt.Sprintf("%s %q holds %d-dimension vectors, as configured (%s stored)", s.Provider(), info.Name, info.Dimension, info.CountText()))
			},
		},
		{
			ID: CheckMetric, Entry: entry, Title: "Distance metric matches the config", DependsOn: dependsOn,
			Run: func(ctx context.Context) Result {
				info, err := s.Describe(ctx)
				if err != nil {
					return FailResult(err)
				}
				switch {
				case info.Metric == "":
					return Result{Status: StatusSkip, Summary: fmt.Sprintf("%s %q does not report its metric", s.Provider(), info.Name)}
				case info.Metric != metric:
					return Result{Status: StatusWarn,
						Summary: fmt.Sprintf("%s %q uses metric %s but the config says %s", s.Provider(), info.Name, info.Metric, metric),
						Detail:  "the store ranks results by its own metric; scores will not mean what the config says",
						Fix:     Fix{Text: fmt.Sprintf("set metric: %s in compozy.yaml, or recreate %q with metric %s", info.Metric, info.Name, metric)}}
				}
				return Pass(fmt.Sprintf("%s %q uses metric %s", s.Provider(), info.Name, info.Metric))
			},
		},
	}
}
