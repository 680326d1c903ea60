package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
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

// benchDoc is the `db bench --json` document.
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
	Ceilings []benchLimit `json:"sqlite_commit_ceilings,omitempty"`
	Ratios   []benchRate  `json:"ratios,omitempty"`
	Verdict  string       `json:"verdict"`
}

type benchHost struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	// LoadAvg is /proc/loadavg's 1-minute figure at the start, when known.
	LoadAvg string `json:"load_avg,omitempty"`
}

type benchRow struct {
	Variant string `json:"variant"`
	Target  string `json:"target"`
	// Result is the run with the median workflows/s.
	bench.Result
	// Runs are the workflows/s of every run (--repeat), in order.
	Runs []float64 `json:"runs_workflows_per_sec"`
}

// medianRow is the row of a point measured len(rs) times: the run with the median workflows/s
// (the lower middle one for an even count), and every run's figure.
func medianRow(v bench.Variant, rs []*bench.Result) benchRow {
	row := benchRow{Variant: v.Name, Target: factory.Target(v.DB)}
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b *bench.Result) int { return cmp.Compare(a.WorkflowsPerSec, b.WorkflowsPerSec) })
	row.Result = *sorted[(len(sorted)-1)/2]
	for _, r := range rs {
		row.Runs = append(row.Runs, r.WorkflowsPerSec)
	}
	return row
}

type benchLimit struct {
	CommitsPerSec float64 `json:"commits_per_sec"`
	Synchronous   string  `json:"synchronous"`
}

type benchRate struct {
	Workers int     `json:"workers"`
	Of      string  `json:"of"`
	To      string  `json:"to"`
	Ratio   float64 `json:"ratio"`
}

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
		variants = append(variants, bench.Variant{Name: db.Driver + " (--compare)", DB: db})
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

	progress := f.IO.IsStderrTTY() && !opts.json
	// Every variant at one level runs back to back, so that the comparison at a level comes
	// from the same minutes of the machine; with --repeat the rounds go over all levels again.
	runs := make(map[[2]int][]*bench.Result)
	for round := 1; round <= opts.repeat; round++ {
		for li, n := range levels {
			for vi, v := range variants {
				o := bench.Options{Workers: n, Warmup: opts.warmup, Duration: opts.duration}
				if progress {
					label := fmt.Sprintf("%s N=%d", v.Name, n)
					if opts.repeat > 1 {
						label += fmt.Sprintf(" (run %d/%d)", round, opts.repeat)
					}
					o.Progress = func(p bench.Progress) { drawBenchProgress(errOut, label, p) }
				}
				res, err := bench.Measure(ctx, v, o)
				if progress {
					fmt.Fprint(errOut, "\r\033[K")
				}
				if err != nil {
					return fmt.Errorf("bench %s N=%d: %w", v.Name, n, err)
				}
				runs[[2]int{vi, li}] = append(runs[[2]int{vi, li}], res)
			}
		}
	}
	for vi, v := range variants {
		for li := range levels {
			doc.Results = append(doc.Results, medianRow(v, runs[[2]int{vi, li}]))
		}
	}
	seen := map[string]bool{}
	for _, v := range variants {
		if v.DB.Driver != config.DriverSQLite || v.Naive {
			continue
		}
		sync := strings.ToUpper(benchOr(v.DB.Synchronous, "NORMAL"))
		if seen[sync] {
			continue
		}
		seen[sync] = true
		if progress {
			fmt.Fprintf(errOut, "measuring the one-row-per-commit ceiling (synchronous=%s)...", sync)
		}
		c, err := bench.Ceiling(ctx, v.DB, min(opts.duration, 3*time.Second))
		if progress {
			fmt.Fprint(errOut, "\r\033[K")
		}
		if err != nil {
			return fmt.Errorf("bench ceiling: %w", err)
		}
		doc.Ceilings = append(doc.Ceilings, benchLimit{CommitsPerSec: c, Synchronous: sync})
	}
	doc.Ratios = benchRatios(doc.Results)
	doc.Verdict = benchVerdict(doc)
	if opts.json {
		return writeDBJSON(out, doc)
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

// benchRatios compares, at each level, SQLite as configured and with synchronous=FULL to the
// --compare database.
func benchRatios(rows []benchRow) []benchRate {
	var out []benchRate
	for _, other := range rows {
		if !strings.HasSuffix(other.Variant, "(--compare)") {
			continue
		}
		for _, r := range rows {
			if r.Workers != other.Workers || r.Variant == other.Variant || r.Naive() || other.WorkflowsPerSec == 0 {
				continue
			}
			out = append(out, benchRate{Workers: r.Workers, Of: r.Variant, To: other.Variant,
				Ratio: r.WorkflowsPerSec / other.WorkflowsPerSec})
		}
	}
	return out
}

// Naive reports whether the row is the naive SQLite variant.
func (r benchRow) Naive() bool { return strings.Contains(r.Variant, "naive") }

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

// benchVerdict sums the run up against the decision matrix.
func benchVerdict(doc benchDoc) string {
	var b strings.Builder
	first := doc.Results[0]
	best := first
	clean := 0
	for _, r := range doc.Results {
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
	case doc.Driver == config.DriverSQLite:
		fmt.Fprintf(&b, "SQLite as configured ran %d concurrent workflows with no errors at %.0f workflows/s (write p99 %.1f ms) on this machine "+
			"(the decision matrix recommends SQLite for %s concurrent workflows in one process; %d were measured safe). It suits one Compozy process with up to that many concurrent workflows; "+
			"choose PostgreSQL when several engine processes or hosts share the state, or for pgvector, not for concurrency.",
			clean, best.WorkflowsPerSec, best.WriteP99MS, matrixBand(config.DriverSQLite), wizard.SQLiteMeasuredSafe)
	default:
		fmt.Fprintf(&b, "PostgreSQL as configured ran %d concurrent workflows with no errors at %.0f workflows/s (write p99 %.1f ms) on this machine "+
			"(the decision matrix recommends PostgreSQL for %s concurrent workflows); it also serves several engine processes or hosts.",
			clean, best.WorkflowsPerSec, best.WriteP99MS, matrixBand(config.DriverPostgres))
	}
	for _, r := range doc.Results {
		if r.Naive() && r.FailedWorkflows > 0 {
			fmt.Fprintf(&b, " The naive SQLite setup (default pool, plain BEGIN) lost %d of %d workflows at N=%d (%s): keep the configured one.",
				r.FailedWorkflows, r.FailedWorkflows+r.CompletedAll, r.Workers, benchErrors(r.Errors))
			break
		}
	}
	return b.String()
}

func printBenchTable(w io.Writer, doc benchDoc) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIANT\tN\tWF/S\tTRANSITIONS/S\tWRITE P50\tWRITE P99\tREAD P50\tREAD P99\tFAILED WF\tERRORS")
	for _, r := range doc.Results {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.2f ms\t%.2f ms\t%.2f ms\t%.2f ms\t%d\t%s\n", r.Variant, r.Workers,
			r.WorkflowsPerSec, r.TransitionsPerSec, r.WriteP50MS, r.WriteP99MS, r.ReadP50MS, r.ReadP99MS,
			r.FailedWorkflows, benchErrors(r.Errors))
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

func benchErrors(errs map[string]int64) string {
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

func drawBenchProgress(w io.Writer, label string, p bench.Progress) {
	phase := "measuring"
	if p.Warmup {
		phase = "warm-up"
	}
	fmt.Fprintf(w, "\r\033[K%s  %s %.1fs/%.1fs  %d workflows  %d transitions  %d errors",
		label, phase, p.Elapsed.Seconds(), p.Total.Seconds(), p.Workflows, p.Transitions, p.Errors)
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
