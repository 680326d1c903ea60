package bench_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/bench"
)

// fakeMeter answers every measurement from rates (by variant name and workers, one per round)
// and records the calls.
type fakeMeter struct {
	rates    map[string][]float64 // "name N=n" -> workflows/s of round 1, 2, ...
	failed   map[string]int64     // "name N=n" -> failed workflows
	calls    []string
	ceilings []string
	windows  []time.Duration
	err      error
	ceilErr  error
}

func (m *fakeMeter) Measure(_ context.Context, v bench.Variant, o bench.Options) (*bench.Result, error) {
	key := fmt.Sprintf("%s N=%d", v.Name, o.Workers)
	m.calls = append(m.calls, key)
	if m.err != nil {
		return nil, m.err
	}
	round := 0
	for _, c := range m.calls {
		if c == key {
			round++
		}
	}
	if o.Progress != nil {
		o.Progress(bench.Progress{Workflows: 1})
	}
	r := &bench.Result{Workers: o.Workers, WorkflowsPerSec: m.rates[key][round-1], FailedWorkflows: m.failed[key], CompletedAll: 10,
		WriteP99MS: 2}
	if r.FailedWorkflows > 0 {
		r.Errors = map[string]int64{bench.KindLocked: r.FailedWorkflows}
		r.FirstError = "database is locked"
	}
	return r, nil
}

func (m *fakeMeter) Ceiling(_ context.Context, db config.Database, d time.Duration) (float64, error) {
	m.ceilings = append(m.ceilings, db.Synchronous)
	m.windows = append(m.windows, d)
	return 1000, m.ceilErr
}

func sqliteVariants() []bench.Variant {
	db := config.Database{Driver: config.DriverSQLite, Path: "/data/compozy.db", Synchronous: "normal"}
	full := db
	full.Synchronous = "FULL"
	pg := config.Database{Driver: config.DriverPostgres, Host: "127.0.0.1", Port: 5432, User: "u", Name: "n"}
	// Names that say nothing of the kind: routing goes by Naive and Compare only.
	return []bench.Variant{
		{Name: "mine", DB: db},
		{Name: "plain", DB: db, Naive: true},
		{Name: "durable", DB: full},
		{Name: "other", DB: pg, Compare: true},
	}
}

var matrix = bench.Matrix{Band: func(d string) string { return map[string]string{"sqlite": "1-100", "postgres": "100+"}[d] }, SQLiteMeasuredSafe: 200}

func TestSuiteRun(t *testing.T) {
	m := &fakeMeter{rates: map[string][]float64{
		"mine N=1": {10, 30, 20}, "mine N=10": {100, 90, 80},
		"plain N=1": {5, 5, 5}, "plain N=10": {1, 2, 3},
		"durable N=1": {4, 4, 4}, "durable N=10": {40, 40, 40},
		"other N=1": {2, 2, 2}, "other N=10": {20, 20, 20},
	}, failed: map[string]int64{"plain N=10": 7}}
	var events []string
	s := bench.Suite{Variants: sqliteVariants(), Levels: []int{1, 10}, Rounds: 3, Duration: 10 * time.Second, Matrix: matrix, Meter: m,
		Progress: func(ev bench.Event) {
			switch {
			case ev.Ceiling != "" && !ev.Done:
				events = append(events, "ceiling "+ev.Ceiling)
			case ev.Done:
				events = append(events, "done")
			default:
				events = append(events, fmt.Sprintf("%s N=%d %d/%d", ev.Variant.Name, ev.Workers, ev.Round, ev.Rounds))
			}
		}}
	rep, err := s.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Every variant at one level back to back; the rounds go over all levels again.
	if got := strings.Join(m.calls[:8], ","); got != "mine N=1,plain N=1,durable N=1,other N=1,mine N=10,plain N=10,durable N=10,other N=10" {
		t.Errorf("order %s", got)
	}
	if len(m.calls) != 24 {
		t.Errorf("%d measurements, want 2 levels x 4 variants x 3 rounds", len(m.calls))
	}
	var rows []string
	for _, r := range rep.Rows {
		rows = append(rows, fmt.Sprintf("%s N=%d %.0f %v", r.Variant, r.Workers, r.WorkflowsPerSec, r.Runs))
	}
	want := []string{"mine N=1 20 [10 30 20]", "mine N=10 90 [100 90 80]", "plain N=1 5 [5 5 5]", "plain N=10 2 [1 2 3]",
		"durable N=1 4 [4 4 4]", "durable N=10 40 [40 40 40]", "other N=1 2 [2 2 2]", "other N=10 20 [20 20 20]"}
	if !slices.Equal(rows, want) {
		t.Errorf("rows\n got %q\nwant %q", rows, want)
	}
	// One ceiling per synchronous setting of the SQLite variants, not the naive one, not
	// PostgreSQL; each bounded to 3s.
	if !slices.Equal(m.ceilings, []string{"normal", "FULL"}) || m.windows[0] != 3*time.Second {
		t.Errorf("ceilings %v windows %v", m.ceilings, m.windows)
	}
	if len(rep.Ceilings) != 2 || rep.Ceilings[0].Synchronous != "NORMAL" || rep.Ceilings[1].Synchronous != "FULL" {
		t.Errorf("ceilings %+v", rep.Ceilings)
	}
	// Ratios: every variant but the naive one over the Compare one, at each level.
	var ratios []string
	for _, r := range rep.Ratios {
		ratios = append(ratios, fmt.Sprintf("N=%d %s/%s=%.1f", r.Workers, r.Of, r.To, r.Ratio))
	}
	if want := []string{"N=1 mine/other=10.0", "N=1 durable/other=2.0", "N=10 mine/other=4.5", "N=10 durable/other=2.0"}; !slices.Equal(ratios, want) {
		t.Errorf("ratios\n got %q\nwant %q", ratios, want)
	}
	if !strings.Contains(rep.Verdict, "SQLite as configured ran 10 concurrent workflows with no errors at 90 workflows/s") ||
		!strings.Contains(rep.Verdict, "recommends SQLite for 1-100 concurrent workflows in one process; 200 were measured safe") ||
		!strings.Contains(rep.Verdict, "The naive SQLite setup (default pool, plain BEGIN) lost 7 of 17 workflows at N=10 (locked 7)") {
		t.Errorf("verdict: %s", rep.Verdict)
	}
	if events[0] != "mine N=1 1/3" || events[1] != "done" || !slices.Contains(events, "ceiling NORMAL") || events[len(events)-1] != "done" {
		t.Errorf("events %v", events)
	}
}

func TestSuiteErrorsNameThePoint(t *testing.T) {
	_, err := bench.Suite{Variants: sqliteVariants()[:1], Levels: []int{5}, Duration: time.Second, Meter: &fakeMeter{err: errors.New("disk full")}}.Run(t.Context())
	if err == nil || err.Error() != "bench mine N=5: disk full" {
		t.Errorf("measure error: %v", err)
	}
	m := &fakeMeter{rates: map[string][]float64{"mine N=5": {1}}, ceilErr: errors.New("no scratch file")}
	_, err = bench.Suite{Variants: sqliteVariants()[:1], Levels: []int{5}, Duration: time.Second, Meter: m}.Run(t.Context())
	if err == nil || err.Error() != "bench ceiling: no scratch file" || m.windows[0] != time.Second {
		t.Errorf("ceiling error: %v (window %v)", err, m.windows)
	}
	if _, err := (bench.Suite{Levels: []int{1}}).Run(t.Context()); err == nil {
		t.Error("a suite with no variant ran")
	}
}

func TestVerdict(t *testing.T) {
	pg := bench.Row{Variant: "postgres (as configured)"}
	pg.Workers, pg.WorkflowsPerSec, pg.WriteP99MS = 100, 1500, 12.34
	if v := bench.Verdict(config.DriverPostgres, []bench.Row{pg}, matrix); !strings.Contains(v, "PostgreSQL as configured ran 100 concurrent workflows with no errors at 1500 workflows/s (write p99 12.3 ms)") ||
		!strings.Contains(v, "recommends PostgreSQL for 100+ concurrent workflows") {
		t.Errorf("postgres: %s", v)
	}
	bad := bench.Row{Variant: "sqlite (as configured)"}
	bad.Workers, bad.FailedWorkflows, bad.FirstError = 10, 3, "database is locked"
	if v := bench.Verdict(config.DriverSQLite, []bench.Row{bad}, matrix); v != "sqlite (as configured) failed workflows at every level tested (first error: database is locked); fix the setup before relying on it." {
		t.Errorf("failing: %s", v)
	}
	// A row named "naive" that is not the naive variant says nothing about it.
	named := bench.Row{Variant: "naive-looking name"}
	named.Workers, named.FailedWorkflows = 10, 5
	ok := bench.Row{Variant: "sqlite"}
	ok.Workers = 10
	if v := bench.Verdict(config.DriverSQLite, []bench.Row{ok, named}, matrix); strings.Contains(v, "naive SQLite setup") {
		t.Errorf("routed by name: %s", v)
	}
	if v := bench.Verdict(config.DriverSQLite, nil, matrix); v == "" {
		t.Error("no verdict for no rows")
	}
}

func TestMedianRowAndErrorSummary(t *testing.T) {
	v := bench.Variant{Name: "x", DB: config.Database{Driver: config.DriverSQLite, Path: "/d/x.db"}}
	rs := []*bench.Result{{WorkflowsPerSec: 4}, {WorkflowsPerSec: 1}, {WorkflowsPerSec: 3}, {WorkflowsPerSec: 2}}
	row := bench.MedianRow(v, rs)
	if row.WorkflowsPerSec != 2 || !slices.Equal(row.Runs, []float64{4, 1, 3, 2}) || row.Target != "sqlite /d/x.db" || row.Setup.Name != "x" {
		t.Errorf("median of an even count: %+v", row)
	}
	if got := bench.ErrorSummary(map[string]int64{"timeout": 1, "locked": 3}); got != "locked 3, timeout 1" {
		t.Errorf("%q", got)
	}
	if got := bench.ErrorSummary(nil); got != "0" {
		t.Errorf("%q", got)
	}
}
