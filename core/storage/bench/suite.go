package bench

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"compozy.dev/setup/core/config"
)

// Suite is one `compozy db bench` run: every variant at every level of concurrency, Rounds
// times, then SQLite's one-row-per-commit ceilings; Run sums it up in a Report.
type Suite struct {
	// Variants are the setups to measure, in report order. The first is the one the verdict
	// is about (the configured database); one may be the Compare database.
	Variants []Variant
	// Levels are the numbers of concurrent workflow runners, in report order.
	Levels []int
	// Rounds measures every point this many times (the median run is reported). Default 1.
	Rounds int
	// Warmup and Duration are each point's unmeasured warm-up and measurement window.
	Warmup, Duration time.Duration
	// Matrix is what the decision matrix says, for the verdict.
	Matrix Matrix
	// Meter measures; nil means Scratch (scratch databases beside the configured ones).
	Meter Meter
	// Progress, when set, is told what is being measured, from the goroutine of Run.
	Progress func(Event)
}

// Matrix is what the decision matrix (package wizard, which core does not import) says, as the
// verdict quotes it.
type Matrix struct {
	// Band is the concurrency the matrix recommends driver for, as the docs print it: "1-100",
	// "100+".
	Band func(driver string) string
	// SQLiteMeasuredSafe is the concurrency measured safe for SQLite in one process.
	SQLiteMeasuredSafe int
}

// Meter takes the measurements of a Suite.
type Meter interface {
	// Measure runs the workload on v with o (see Measure).
	Measure(ctx context.Context, v Variant, o Options) (*Result, error)
	// Ceiling is the one-row-per-commit rate of a SQLite database configured as db, measured
	// for d (see Ceiling).
	Ceiling(ctx context.Context, db config.Database, d time.Duration) (float64, error)
}

// Scratch is the Meter of Measure and Ceiling: scratch databases beside the configured one,
// dropped afterwards.
type Scratch struct{}

// Measure is Measure.
func (Scratch) Measure(ctx context.Context, v Variant, o Options) (*Result, error) {
	return Measure(ctx, v, o)
}

// Ceiling is Ceiling.
func (Scratch) Ceiling(ctx context.Context, db config.Database, d time.Duration) (float64, error) {
	return Ceiling(ctx, db, d)
}

// Event tells Suite.Progress what is being measured.
type Event struct {
	// Variant and Workers are the point measured, in round Round of Rounds.
	Variant       Variant
	Workers       int
	Round, Rounds int
	// Progress is the point's progress so far.
	Progress Progress
	// Ceiling, when set, is the synchronous setting whose commit ceiling is being measured
	// (Variant, Workers and Progress are then zero).
	Ceiling string
	// Done is set once, when the point or ceiling has been measured.
	Done bool
}

// Report is what a Suite measured.
type Report struct {
	// Rows are the points, by variant then level: the median run of each.
	Rows []Row
	// Ceilings are SQLite's one-row-per-commit rates, one per synchronous setting measured.
	Ceilings []CeilingRate
	// Ratios compare, at each level, each variant but the naive one with the Compare database.
	Ratios []Ratio
	// Verdict sums the run up against the decision matrix.
	Verdict string
}

// Row is one point: a variant at one level, the run with the median workflows/s.
type Row struct {
	// Variant is the variant's Name.
	Variant string `json:"variant"`
	// Target is the database the variant is measured beside, secrets redacted.
	Target string `json:"target"`
	// Result is the run with the median workflows/s (the lower middle one for an even count).
	Result
	// Runs are the workflows/s of every run, in order.
	Runs []float64 `json:"runs_workflows_per_sec"`
	// Setup is the variant measured: routing (naive, compare) goes by it, not by the name.
	Setup Variant `json:"-"`
}

// CeilingRate is a SQLite one-row-per-commit rate.
type CeilingRate struct {
	CommitsPerSec float64 `json:"commits_per_sec"`
	Synchronous   string  `json:"synchronous"`
}

// Ratio is the workflows/s of one variant over the Compare database's, at one level.
type Ratio struct {
	Workers int     `json:"workers"`
	Of      string  `json:"of"`
	To      string  `json:"to"`
	Ratio   float64 `json:"ratio"`
}

// ceilingMax bounds each ceiling measurement.
const ceilingMax = 3 * time.Second

// Run measures every point, then the ceilings, and returns the report. Every variant at one
// level runs back to back, so that the comparison at a level comes from the same minutes of the
// machine; the rounds go over all levels again. An error names the point that failed.
func (s Suite) Run(ctx context.Context) (*Report, error) {
	if len(s.Variants) == 0 || len(s.Levels) == 0 {
		return nil, fmt.Errorf("bench: nothing to measure (%d variants, %d levels)", len(s.Variants), len(s.Levels))
	}
	meter := s.Meter
	if meter == nil {
		meter = Scratch{}
	}
	rounds := max(s.Rounds, 1)
	runs := make(map[[2]int][]*Result)
	for round := 1; round <= rounds; round++ {
		for li, n := range s.Levels {
			for vi, v := range s.Variants {
				o := Options{Workers: n, Warmup: s.Warmup, Duration: s.Duration}
				ev := Event{Variant: v, Workers: n, Round: round, Rounds: rounds}
				if s.Progress != nil {
					o.Progress = func(p Progress) { ev.Progress = p; s.Progress(ev) }
				}
				res, err := meter.Measure(ctx, v, o)
				s.done(ev)
				if err != nil {
					return nil, fmt.Errorf("bench %s N=%d: %w", v.Name, n, err)
				}
				runs[[2]int{vi, li}] = append(runs[[2]int{vi, li}], res)
			}
		}
	}
	rep := &Report{}
	for vi, v := range s.Variants {
		for li := range s.Levels {
			rep.Rows = append(rep.Rows, MedianRow(v, runs[[2]int{vi, li}]))
		}
	}
	seen := map[string]bool{}
	for _, v := range s.Variants {
		if v.DB.Driver != config.DriverSQLite || v.Naive {
			continue
		}
		sync := v.Synchronous()
		if seen[sync] {
			continue
		}
		seen[sync] = true
		if s.Progress != nil {
			s.Progress(Event{Ceiling: sync})
		}
		c, err := meter.Ceiling(ctx, v.DB, min(s.Duration, ceilingMax))
		s.done(Event{Ceiling: sync})
		if err != nil {
			return nil, fmt.Errorf("bench ceiling: %w", err)
		}
		rep.Ceilings = append(rep.Ceilings, CeilingRate{CommitsPerSec: c, Synchronous: sync})
	}
	rep.Ratios = Ratios(rep.Rows)
	rep.Verdict = Verdict(s.Variants[0].DB.Driver, rep.Rows, s.Matrix)
	return rep, nil
}

func (s Suite) done(ev Event) {
	if s.Progress != nil {
		ev.Done = true
		s.Progress(ev)
	}
}

// Synchronous is the synchronous setting a SQLite variant runs with, upper case (NORMAL when
// the configuration leaves it out).
func (v Variant) Synchronous() string {
	if v.DB.Synchronous == "" {
		return "NORMAL"
	}
	return strings.ToUpper(v.DB.Synchronous)
}

// MedianRow is the row of a point measured len(rs) times: the run with the median workflows/s
// (the lower middle one for an even count), and every run's figure in order.
func MedianRow(v Variant, rs []*Result) Row {
	row := Row{Variant: v.Name, Target: v.Target(), Setup: v}
	if len(rs) == 0 {
		return row
	}
	sorted := slices.Clone(rs)
	slices.SortStableFunc(sorted, func(a, b *Result) int { return cmp.Compare(a.WorkflowsPerSec, b.WorkflowsPerSec) })
	row.Result = *sorted[(len(sorted)-1)/2]
	for _, r := range rs {
		row.Runs = append(row.Runs, r.WorkflowsPerSec)
	}
	return row
}

// Ratios compares, at each level, every variant but the naive one with the Compare database.
func Ratios(rows []Row) []Ratio {
	var out []Ratio
	for _, other := range rows {
		if !other.Setup.Compare {
			continue
		}
		for _, r := range rows {
			if r.Workers != other.Workers || r.Setup.Compare || r.Setup.Naive || other.WorkflowsPerSec == 0 {
				continue
			}
			out = append(out, Ratio{Workers: r.Workers, Of: r.Variant, To: other.Variant, Ratio: r.WorkflowsPerSec / other.WorkflowsPerSec})
		}
	}
	return out
}

// Verdict sums rows up against the decision matrix: the highest level at which the first
// variant (the configured database, of driver) lost no workflow, and what the matrix
// recommends that driver for; then what the naive SQLite setup lost, when it lost any.
func Verdict(driver string, rows []Row, m Matrix) string {
	if len(rows) == 0 {
		return "nothing was measured."
	}
	band := m.Band
	if band == nil {
		band = func(string) string { return "some" }
	}
	var b strings.Builder
	first := rows[0]
	best := first
	clean := 0
	for _, r := range rows {
		if r.Variant != first.Variant {
			continue
		}
		if r.FailedWorkflows == 0 && r.Workers > clean {
			clean = r.Workers
			best = r
		}
	}
	switch {
	case clean == 0:
		fmt.Fprintf(&b, "%s failed workflows at every level tested (first error: %s); fix the setup before relying on it.", first.Variant, first.FirstError)
	case driver == config.DriverSQLite:
		fmt.Fprintf(&b, "SQLite as configured ran %d concurrent workflows with no errors at %.0f workflows/s (write p99 %.1f ms) on this machine "+
			"(the decision matrix recommends SQLite for %s concurrent workflows in one process; %d were measured safe). It suits one Compozy process with up to that many concurrent workflows; "+
			"choose PostgreSQL when several engine processes or hosts share the state, or for pgvector, not for concurrency.",
			clean, best.WorkflowsPerSec, best.WriteP99MS, band(config.DriverSQLite), m.SQLiteMeasuredSafe)
	default:
		fmt.Fprintf(&b, "PostgreSQL as configured ran %d concurrent workflows with no errors at %.0f workflows/s (write p99 %.1f ms) on this machine "+
			"(the decision matrix recommends PostgreSQL for %s concurrent workflows); it also serves several engine processes or hosts.",
			clean, best.WorkflowsPerSec, best.WriteP99MS, band(config.DriverPostgres))
	}
	for _, r := range rows {
		if r.Setup.Naive && r.FailedWorkflows > 0 {
			fmt.Fprintf(&b, " The naive SQLite setup (default pool, plain BEGIN) lost %d of %d workflows at N=%d (%s): keep the configured one.",
				r.FailedWorkflows, r.FailedWorkflows+r.CompletedAll, r.Workers, ErrorSummary(r.Errors))
			break
		}
	}
	return b.String()
}

// ErrorSummary is errors by kind in one line, kinds sorted: "locked 3, timeout 1"; "0" for none.
func ErrorSummary(errs map[string]int64) string {
	if len(errs) == 0 {
		return "0"
	}
	kinds := make([]string, 0, len(errs))
	for k := range errs {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, errs[k])
	}
	return strings.Join(parts, ", ")
}
