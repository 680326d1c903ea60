package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/bench"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/wizard"
)

type dbBenchOptions struct {
	workflows string
	duration  time.Duration
	warmup    time.Duration
	compare   string
	variants  string
	repeat    int
	json      bool
}

// Variant keys of --variants.
const (
	variantConfigured = "configured"
	variantNaive      = "naive"
	variantFull       = "full"
)

func newDBBenchCmd(f *Factory) *cobra.Command {
	opts := &dbBenchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure what the configured database sustains on this machine",
		Long: `Measure how many concurrent workflows the configured database sustains on this machine.

Each of N concurrent runners loops over workflow life cycles through Compozy's storage layer:
create a workflow (about 1 KB of JSON input) and 5 tasks, set each task RUNNING then SUCCESS
(about 1 KB of output each), read the workflow with its tasks, and complete it in a
read-then-write transaction: 17 write transactions ("transitions") and one read per workflow.
A failed step abandons the workflow, with no retry.

The run uses a scratch database, never your data: a temporary SQLite file next to the
configured one, or a temporary PostgreSQL database (a schema when you may not create
databases), dropped afterwards. Migrations are applied to it first.

For SQLite, three variants run by default (--variants): as configured; "naive" (database/sql's
default pool and a plain BEGIN, the setup the documentation warns about); and "full" (as
configured with synchronous=FULL, the durability PostgreSQL gives by default). The one-row-
per-commit rate of the same file is measured too, the ceiling of a store without group commit.
--compare adds another database (for example a local PostgreSQL) to the same run.`,
		Example: `  compozy db bench
  compozy db bench --workflows 1,10,100,200 --duration 5s
  compozy db bench --compare postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
  compozy db bench --db-driver postgres --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDBBench(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.workflows, "workflows", "1,10,100", "concurrent workflows: `N` or a list such as 1,10,100")
	fl.DurationVar(&opts.duration, "duration", 5*time.Second, "measurement window per point")
	fl.DurationVar(&opts.warmup, "warmup", time.Second, "unmeasured warm-up per point")
	fl.StringVar(&opts.compare, "compare", "", "also measure this `DATABASE` (config file, SQLite path or PostgreSQL URL) in the same run")
	fl.IntVar(&opts.repeat, "repeat", 1, "measure every point this many times and report the median run")
	fl.StringVar(&opts.variants, "variants", "configured,naive,full", "SQLite variants to run: configured, naive, full")
	fl.BoolVar(&opts.json, "json", false, "print JSON for machines")
	return cmd
}

// benchDoc is the `db bench --json` document: the suite's report and what it ran on.
type benchDoc struct {
	SchemaVersion int        `json:"schema_version"`
	Driver        string     `json:"driver"`
	Target        string     `json:"target"`
	Machine       benchHost  `json:"machine"`
	Workload      string     `json:"workload"`
	DurationSec   float64    `json:"duration_seconds"`
	WarmupSec     float64    `json:"warmup_seconds"`
	Repeat        int        `json:"repeat"`
	Results       []benchRow `json:"results"`
	// Ceilings are SQLite's one-row-per-commit rates, per synchronous setting measured.
	Ceilings []bench.CeilingRate `json:"sqlite_commit_ceilings,omitempty"`
	Ratios   []bench.Ratio       `json:"ratios,omitempty"`
	Verdict  string              `json:"verdict"`
}

type benchHost struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	// LoadAvg is /proc/loadavg's 1-minute figure at the start, when known.
	LoadAvg string `json:"load_avg,omitempty"`
}

// benchRow is one point of the report (bench.Row).
type benchRow = bench.Row

func runDBBench(ctx context.Context, f *Factory, opts *dbBenchOptions) error {
	levels, err := parseLevels(opts.workflows)
	if err != nil {
		return err
	}
	if opts.duration <= 0 {
		return usageErrorf("--duration must be positive")
	}
	if opts.warmup < 0 {
		return usageErrorf("--warmup must not be negative")
	}
	if opts.repeat < 1 || opts.repeat > 100 {
		return usageErrorf("--repeat must be between 1 and 100")
	}
	cfg, err := f.LoadConfig(ctx)
	if err != nil {
		return err
	}
	variants, err := benchVariants(cfg.Database, opts.variants)
	if err != nil {
		return err
	}
	if opts.compare != "" {
		db, err := resolveDBArg(ctx, f, "--compare", opts.compare)
		if err != nil {
			return err
		}
		variants = append(variants, bench.Variant{Name: db.Driver + " (--compare)", DB: db, Compare: true})
	}

	out, errOut := f.IO.Out, f.IO.ErrOut
	doc := benchDoc{SchemaVersion: dbSchemaVersion, Driver: cfg.Database.Driver, Target: factory.Target(cfg.Database),
		Machine:     benchHost{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadAvg: benchLoadAvg()},
		Workload:    fmt.Sprintf("workflow life cycle: %d write transactions + 1 read per workflow, %d tasks", bench.TransitionsPerWorkflow, bench.TasksPerWorkflow),
		DurationSec: opts.duration.Seconds(), WarmupSec: opts.warmup.Seconds(), Repeat: opts.repeat}
	if !opts.json {
		fmt.Fprintf(out, "Target: %s (measured on a scratch database beside it, dropped afterwards)\n", doc.Target)
		fmt.Fprintf(out, "Machine: %d CPUs, %s, load average %s\n", doc.Machine.CPUs, doc.Machine.GoVersion, benchOrDash(doc.Machine.LoadAvg))
		fmt.Fprintf(out, "Workload: %s; %s warm-up + %s window per point", doc.Workload, opts.warmup, opts.duration)
		if opts.repeat > 1 {
			fmt.Fprintf(out, ", %d runs per point (the median run is shown)", opts.repeat)
		}
		fmt.Fprint(out, "\n\n")
	}

	suite := bench.Suite{Variants: variants, Levels: levels, Rounds: opts.repeat, Warmup: opts.warmup, Duration: opts.duration,
		Matrix: benchMatrix()}
	if f.IO.IsStderrTTY() && !opts.json {
		// Progress is a redrawn line on a terminal only: never in a pipe or a log.
		suite.Progress = func(ev bench.Event) { drawBenchProgress(errOut, ev) }
	}
	rep, err := suite.Run(ctx)
	if err != nil {
		return err
	}
	doc.Results, doc.Ceilings, doc.Ratios, doc.Verdict = rep.Rows, rep.Ceilings, rep.Ratios, rep.Verdict
	if opts.json {
		return writeJSON(out, doc)
	}
	printBenchTable(out, doc)
	return nil
}

// parseLevels parses --workflows: positive integers separated by commas.
func parseLevels(s string) ([]int, error) {
	var levels []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n <= 0 || n > 100000 {
			return nil, usageErrorf("--workflows %q: %q is not a number of workflows between 1 and 100000", s, part)
		}
		levels = append(levels, n)
	}
	if len(levels) == 0 {
		return nil, usageErrorf("--workflows is empty: give N or a list such as 1,10,100")
	}
	return levels, nil
}

// benchVariants lists what to measure for the configured database.
func benchVariants(db config.Database, list string) ([]bench.Variant, error) {
	switch db.Driver {
	case config.DriverSQLite, config.DriverPostgres:
	case "":
		return nil, refusef("db bench: no database driver configured (want %q or %q)", config.DriverPostgres, config.DriverSQLite)
	default:
		return nil, refusef("db bench: unknown database driver %q (want %q or %q)", db.Driver, config.DriverPostgres, config.DriverSQLite)
	}
	if db.Driver == config.DriverPostgres {
		return []bench.Variant{{Name: "postgres (as configured)", DB: db}}, nil
	}
	var vs []bench.Variant
	for _, k := range strings.Split(list, ",") {
		switch strings.TrimSpace(k) {
		case variantConfigured:
			vs = append(vs, bench.Variant{Name: "sqlite (as configured)", DB: db})
		case variantNaive:
			vs = append(vs, bench.Variant{Name: "sqlite naive (default pool, plain BEGIN)", DB: db, Naive: true})
		case variantFull:
			full := db
			full.Synchronous = "FULL"
			vs = append(vs, bench.Variant{Name: "sqlite synchronous=FULL", DB: full})
		case "":
		default:
			return nil, usageErrorf("--variants: %q is not configured, naive or full", k)
		}
	}
	if len(vs) == 0 {
		return nil, usageErrorf("--variants is empty: give configured, naive or full")
	}
	return vs, nil
}

// matrixBand is the concurrency for which the decision matrix (wizard.Decide, the source of the
// docs' matrix table too) recommends driver when a server can be run: consecutive bands joined,
// as the docs print them ("1-100" for sqlite, "100+" for postgres).
func matrixBand(driver string) string {
	var bands []string
	for _, w := range wizard.WorkflowBands() {
		p, err := wizard.Decide(wizard.Answers{UseCase: wizard.UseSingleTenant, Workflows: w, Server: true})
		if err == nil && p.Driver == driver {
			bands = append(bands, string(w))
		}
	}
	switch {
	case len(bands) == 0:
		return "no"
	case len(bands) == len(wizard.WorkflowBands()):
		return "any number of"
	case len(bands) == 1:
		return bands[0]
	}
	first, _, _ := strings.Cut(bands[0], "-")
	if _, hi, ok := strings.Cut(bands[len(bands)-1], "-"); ok {
		return first + "-" + hi
	}
	return first + "+"
}

// benchMatrix is what the decision matrix (wizard.Decide) says, for the verdict: bench is in
// core, which does not import wizard.
func benchMatrix() bench.Matrix {
	return bench.Matrix{Band: matrixBand, SQLiteMeasuredSafe: wizard.SQLiteMeasuredSafe}
}

// benchVerdict is the verdict of doc's rows (bench.Verdict, with the wizard's matrix).
func benchVerdict(doc benchDoc) string { return bench.Verdict(doc.Driver, doc.Results, benchMatrix()) }

func printBenchTable(w io.Writer, doc benchDoc) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIANT\tN\tWF/S\tTRANSITIONS/S\tWRITE P50\tWRITE P99\tREAD P50\tREAD P99\tFAILED WF\tERRORS")
	for _, r := range doc.Results {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.2f ms\t%.2f ms\t%.2f ms\t%.2f ms\t%d\t%s\n", r.Variant, r.Workers,
			r.WorkflowsPerSec, r.TransitionsPerSec, r.WriteP50MS, r.WriteP99MS, r.ReadP50MS, r.ReadP99MS,
			r.FailedWorkflows, bench.ErrorSummary(r.Errors))
	}
	tw.Flush()
	if len(doc.Ceilings) > 0 {
		fmt.Fprintln(w)
	}
	for _, c := range doc.Ceilings {
		fmt.Fprintf(w, "Ceiling without group commit: one task row per commit, one connection, synchronous=%s: %.0f commits/s.\n",
			c.Synchronous, c.CommitsPerSec)
	}
	if len(doc.Ratios) > 0 {
		fmt.Fprintln(w)
		for _, r := range doc.Ratios {
			fmt.Fprintf(w, "N=%d: %s / %s = %.2fx workflows/s\n", r.Workers, r.Of, r.To, r.Ratio)
		}
	}
	fmt.Fprintf(w, "\nVerdict: %s\n", doc.Verdict)
	for _, r := range doc.Results {
		if r.FirstError != "" {
			fmt.Fprintf(w, "First error of %s N=%d: %s\n", r.Variant, r.Workers, r.FirstError)
		}
	}
}

// drawBenchProgress redraws the progress line of a running suite on w (a terminal), and clears
// it when a point or ceiling is done.
func drawBenchProgress(w io.Writer, ev bench.Event) {
	switch {
	case ev.Done:
		fmt.Fprint(w, "\r\033[K")
	case ev.Ceiling != "":
		fmt.Fprintf(w, "measuring the one-row-per-commit ceiling (synchronous=%s)...", ev.Ceiling)
	default:
		label := fmt.Sprintf("%s N=%d", ev.Variant.Name, ev.Workers)
		if ev.Rounds > 1 {
			label += fmt.Sprintf(" (run %d/%d)", ev.Round, ev.Rounds)
		}
		p := ev.Progress
		phase := "measuring"
		if p.Warmup {
			phase = "warm-up"
		}
		fmt.Fprintf(w, "\r\033[K%s  %s %.1fs/%.1fs  %d workflows  %d transitions  %d errors",
			label, phase, p.Elapsed.Seconds(), p.Total.Seconds(), p.Workflows, p.Transitions, p.Errors)
	}
}

// benchLoadAvg is the 1-minute load average, or "" where /proc/loadavg is missing.
func benchLoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return ""
	}
	return fields[0]
}

func benchOrDash(s string) string { return benchOr(s, "-") }

func benchOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
