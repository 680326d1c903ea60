package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/vector"
	vfactory "compozy.dev/setup/core/vector/factory"
	"compozy.dev/setup/docs"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/doctor/checks"
	"compozy.dev/setup/tui/doctorpane"
)

type doctorOptions struct {
	json    bool
	strict  bool
	only    []string
	skip    []string
	timeout time.Duration
	fix     bool
	dryRun  bool
	yes     bool
	deep    bool
	// terminate and replicas are --terminate's and --replicas' (see doctor_guard.go).
	terminate bool
	replicas  replicasFlag
	// timeoutSet is set when --timeout was given: then it bounds --deep's checks too.
	timeoutSet bool
	// report is --report's FILE, "-" for standard output, "" without --report.
	report string
	// watch, interval and count are --watch's (see doctor_watch.go).
	watch    bool
	interval time.Duration
	count    int
}

func newDoctorCmd(f *Factory) *cobra.Command {
	opts := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the configuration, the database and the vector databases, and say how to fix what is wrong",
		Long: `Run every check in parallel, each with a timeout, and report pass, warn, fail, skip or
error for each, with the fix for anything that did not pass. Checks only read: nothing is
changed unless --fix is given.

On a terminal the report is a live pane (plain text under TERM=dumb or on a terminal that
cannot move its cursor); piped, it is plain text; --json prints a document for machines
(schema_version 1). Secrets are redacted in all three.

With no compozy.yaml and no database setting from the environment or a flag there is nothing
to check: the doctor says so and suggests compozy quickstart or compozy init.

The default run costs the same at any size of the data: SQLite's quick_check, which reads
every page, is left to --deep on a database above 24 MB (the check says so, with the size
and the time it would take). --deep runs it on any size, with a progress line on a terminal,
and without a time limit unless --timeout is given.

Exit codes: 0 nothing failed (warnings allowed, unless --strict), 1 a check failed,
2 usage error, unreadable configuration or nothing configured, 3 a check timed out or crashed.`,
		Example: `  compozy doctor
  compozy doctor --json | jq '.checks[] | select(.status != "pass")'
  compozy doctor --only sqlite,migrations --timeout 10s
  compozy doctor --deep
  compozy doctor --fix --dry-run
  compozy doctor --fix --yes
  compozy doctor list
  compozy doctor explain sqlite.lock
  compozy doctor --report support.md
  compozy doctor --watch`,
		Args: doctorArgs(opts),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.timeoutSet = cmd.Flags().Changed("timeout")
			return runDoctor(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.json, "json", false, "print a JSON document for machines")
	fl.BoolVar(&opts.strict, "strict", false, "exit 1 on warnings too")
	fl.StringSliceVar(&opts.only, "only", nil, "run only these check `IDs or groups` (comma-separated)")
	fl.StringSliceVar(&opts.skip, "skip", nil, "leave out these check `IDs or groups` (comma-separated)")
	fl.DurationVar(&opts.timeout, "timeout", doctor.DefaultTimeout, "time limit of each check (with --deep: only when given)")
	fl.BoolVar(&opts.deep, "deep", false, "also run the checks whose time grows with the data: SQLite's quick_check of every page, at any size")
	fl.BoolVar(&opts.fix, "fix", false, "apply the fixes that can be applied (asks for each on a terminal), then check again")
	fl.BoolVar(&opts.dryRun, "dry-run", false, "with --fix: print each planned change and change nothing")
	fl.BoolVar(&opts.yes, "yes", false, "with --fix: apply every fix without asking")
	declareFleetFlags(fl, opts)
	declareReportWatchFlags(fl, opts)
	cmd.AddCommand(newDoctorListCmd(f), newDoctorExplainCmd(f))
	return cmd
}

func newDoctorListCmd(f *Factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every check ID, its group and title",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if asJSON {
				return writeJSON(f.IO.Out, doctor.Registry())
			}
			return doctor.WriteList(f.IO.Out, doctor.Registry())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the registry as JSON (with the explain texts)")
	return cmd
}

func newDoctorExplainCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "explain ID",
		Short:   "Explain a check: the symptom, the cause and the fix",
		Example: "  compozy doctor explain postgres.privileges",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("compozy doctor explain takes one check ID; run 'compozy doctor list' for them")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			in, ok := doctor.Lookup(args[0])
			if !ok {
				return usageErrorf("unknown check %q; run 'compozy doctor list' for the IDs", args[0])
			}
			if err := doctor.WriteExplain(f.IO.Out, in); err != nil {
				return err
			}
			if p, h, ok := docs.CheckSection(in.ID); ok {
				_, err := fmt.Fprintf(f.IO.Out, "\nDocs: %s, section %s\n  compozy docs %s#%s\n", "docs/"+p.File(), strings.Trim(h.Text, "`"), p.Name, h.Anchor)
				return err
			}
			return nil
		},
	}
}

// buildChecks builds the doctor's checks for cfg, handing them the one door (core/storage/
// factory) and the vector factory: the checks open nothing themselves. getenv reads the
// environment (the Qdrant API key); deep adds what grows with the data (--deep).
func buildChecks(cfg *config.Config, loadErr error, getenv func(string) string, deep bool) *checks.Set {
	var vs checks.VectorSource
	if cfg != nil {
		vs = vectorSource{opts: vfactory.Options{Database: cfg.Database, Getenv: getenv}}
	}
	return checks.Build(cfg, loadErr, checks.Inputs{Door: door{}, Vector: vs, Deep: deep, Replicas: replicas(getenv)})
}

// door is checks.Opener: the one door.
type door struct{}

func (door) Open(ctx context.Context, db config.Database, mode factory.Mode) (*factory.Handle, error) {
	return factory.Open(ctx, db, mode)
}

func (door) MemoryCopy(ctx context.Context, h *factory.Handle) (*factory.Handle, error) {
	return factory.MemoryCopy(ctx, h)
}

// vectorSource is checks.VectorSource: the vector factory, with what an entry alone does not say.
type vectorSource struct{ opts vfactory.Options }

func (v vectorSource) Checks(ctx context.Context, entry config.VectorDB) ([]vector.Check, func() error) {
	return vfactory.Checks(ctx, entry, v.opts)
}

func (v vectorSource) Open(ctx context.Context, entry config.VectorDB) (vector.Store, error) {
	return vfactory.Open(ctx, entry, v.opts)
}

// doctorRun is one pass of the checks.
type doctorRun struct {
	set    *checks.Set
	sel    doctor.Selection
	report doctor.Report
	// unconfigured is set when nothing names a database (see Unconfigured); dir is the folder
	// where compozy.yaml was looked for.
	unconfigured bool
	dir          string
	// cfg is the configuration the checks were built from (nil when it could not be loaded).
	cfg *config.Config
}

// Unconfigured reports whether cfg names no database at all: no config file was read, and
// every database key has its default value (none came from the environment or a flag). The
// doctor then has nothing of the user's to check: the default postgres://postgres@localhost is
// not a setup anyone made.
func Unconfigured(cfg *config.Config) bool {
	if cfg == nil || cfg.File != "" {
		return false
	}
	for k, src := range cfg.Sources {
		if strings.HasPrefix(k, "database.") && src.Kind != config.SourceDefault {
			return false
		}
	}
	return true
}

// nothingConfigured says that there is nothing to check and how to set compozy up (exit 2).
func nothingConfigured(f *Factory, dir string) error {
	where := "here"
	if dir != "" {
		where = "in " + dir
	}
	fmt.Fprintf(f.IO.ErrOut, `Nothing is configured: there is no compozy.yaml %s, and no database setting comes from the
environment (COMPOZY_DB_*, DB_*) or a flag (--db-*). Set compozy up first:
  compozy quickstart   # a local SQLite database, ready in a second
  compozy init         # choose the database and vector DB for your setup
or point the doctor at a config file: compozy doctor --config PATH
`, where)
	return &ExitError{Code: ExitUsage, Err: errors.New("doctor: nothing is configured"), Silent: true}
}

// prepareDoctor loads the configuration and builds and selects the checks.
func prepareDoctor(ctx context.Context, f *Factory, opts *doctorOptions) (*doctorRun, error) {
	cfg, err := f.LoadConfig(ctx)
	var cfgErr *config.Error
	if err != nil && !errors.As(err, &cfgErr) {
		return nil, err
	}
	getenv, gerr := checkFleetFlags(opts, f.IO.Getenv)
	if gerr != nil {
		return nil, gerr
	}
	set := buildChecks(cfg, err, getenv, opts.deep)
	sel, serr := doctor.Select(set.Checks, opts.only, opts.skip)
	if serr != nil {
		set.Close()
		return nil, &UsageError{Err: serr}
	}
	d := &doctorRun{set: set, sel: sel, report: doctor.Report{Target: set.Target, Strict: opts.strict, ConfigInvalid: cfg == nil},
		unconfigured: Unconfigured(cfg), cfg: cfg}
	if cfg != nil {
		d.dir = cfg.Dir
	}
	return d, nil
}

// checkTimeout is the runner's per-check limit: --timeout when given; otherwise 0, the
// default limit for every check except --deep's, which then run as long as they need.
func (o *doctorOptions) checkTimeout() time.Duration {
	if o.timeoutSet {
		return o.timeout
	}
	return 0
}

// run runs the selected checks and fills the report. progress, when set, gets what a long
// check reports as it goes.
func (d *doctorRun) run(ctx context.Context, timeout time.Duration, progress func(i int, text string)) {
	start := time.Now()
	results := doctor.Run(ctx, d.sel.Checks, doctor.RunOptions{Timeout: timeout, OnProgress: progress})
	d.report.Results = d.sel.Visible(results)
	d.report.Duration = time.Since(start)
}

// progressLine redraws, on w (a terminal), the progress a long check reports, as one line;
// clear removes it.
func progressLine(w io.Writer, checks []doctor.Check) (progress func(i int, text string), clear func()) {
	var mu sync.Mutex
	drawn := false
	progress = func(i int, text string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "\r\033[K%s: %s", checks[i].ID, text)
		drawn = true
	}
	clear = func() {
		mu.Lock()
		defer mu.Unlock()
		if drawn {
			fmt.Fprint(w, "\r\033[K")
		}
	}
	return progress, clear
}

func runDoctor(ctx context.Context, f *Factory, opts *doctorOptions) error {
	if (opts.dryRun || opts.yes) && !opts.fix {
		return usageErrorf("--dry-run and --yes go with --fix")
	}
	if opts.timeout <= 0 {
		return usageErrorf("--timeout must be positive, got %s", opts.timeout)
	}
	if err := opts.checkModes(); err != nil {
		return err
	}
	d, err := prepareDoctor(ctx, f, opts)
	if err != nil {
		return err
	}
	defer func() { d.set.Close() }()
	if d.unconfigured {
		return nothingConfigured(f, d.dir)
	}
	switch {
	case opts.report != "":
		return runDoctorReport(ctx, f, opts, d)
	case opts.watch:
		return runDoctorWatch(ctx, f, opts, d)
	}

	if !opts.json && !opts.fix && f.IO.CanPrompt() && doctorpane.CanDraw(f.IO.Getenv("TERM")) {
		return runDoctorPane(ctx, f, opts, d)
	}
	// A progress line is for a person watching a terminal: never in a pipe or a log.
	var progress func(int, string)
	clear := func() {}
	if f.IO.IsStderrTTY() {
		progress, clear = progressLine(f.IO.ErrOut, d.sel.Checks)
	}
	d.run(ctx, opts.checkTimeout(), progress)
	clear()
	if opts.fix {
		d, err = fixDoctor(ctx, f, opts, d)
		if err != nil {
			return err
		}
	}
	if opts.json {
		if err := doctor.WriteJSON(f.IO.Out, d.report); err != nil {
			return err
		}
	} else if err := doctor.WritePlain(f.IO.Out, d.report); err != nil {
		return err
	}
	return doctorExit(d.report)
}

// runDoctorPane shows the live pane; after it closes, the last run is printed as plain text so
// that it stays in the terminal's scrollback.
func runDoctorPane(ctx context.Context, f *Factory, opts *doctorOptions, first *doctorRun) error {
	firstUsed := false
	prepare := func(ctx context.Context) (*doctorpane.Session, error) {
		d := first
		if firstUsed {
			var err error
			if d, err = prepareDoctor(ctx, f, opts); err != nil {
				return nil, err
			}
		} else {
			// The first session's checks are closed by runDoctor.
			firstUsed = true
			return &doctorpane.Session{Target: d.set.Target, Checks: d.sel.Checks, Shown: d.sel.Shown,
				ConfigInvalid: d.report.ConfigInvalid}, nil
		}
		return &doctorpane.Session{Target: d.set.Target, Checks: d.sel.Checks, Shown: d.sel.Shown, Close: d.set.Close,
			ConfigInvalid: d.report.ConfigInvalid}, nil
	}
	res, err := doctorpane.Run(ctx, doctorpane.Options{Prepare: prepare, Timeout: opts.checkTimeout(), Strict: opts.strict},
		f.IO.In, f.IO.Out, f.IO.ColorEnabled())
	if err != nil {
		return err
	}
	if res.Aborted {
		return ErrAborted
	}
	if err := doctor.WritePlain(f.IO.Out, res.Report); err != nil {
		return err
	}
	return doctorExit(res.Report)
}

// doctorExit turns a report into the command's result: nil, or a silent exit code.
func doctorExit(r doctor.Report) error {
	if code := r.ExitCode(); code != ExitOK {
		return &ExitError{Code: code, Err: fmt.Errorf("doctor: exit %d", code), Silent: true}
	}
	return nil
}

// fixDoctor applies the fixes of d's results (or prints them with --dry-run), then runs the
// checks again and returns the new run.
func fixDoctor(ctx context.Context, f *Factory, opts *doctorOptions, d *doctorRun) (*doctorRun, error) {
	out := f.IO.Out
	if opts.json {
		out = f.IO.ErrOut // stdout carries the JSON document only
	}
	byKey := map[string]doctor.Check{}
	for _, c := range d.sel.Checks {
		byKey[c.ID+"@"+c.Entry] = c
	}
	var fixable []doctor.Result
	for _, r := range d.report.Results {
		if r.Fixable {
			fixable = append(fixable, r)
		}
	}
	printNotFixable(out, d.report.Results)
	if len(fixable) == 0 {
		fmt.Fprintln(out, "Nothing to fix automatically.")
		return d, nil
	}
	if opts.dryRun {
		fmt.Fprintf(out, "Dry run: %d fix(es) would be applied (nothing was changed):\n", len(fixable))
		for _, r := range fixable {
			c := byKey[r.ID+"@"+r.Entry]
			fmt.Fprintf(out, "  %s: %s\n", label(r), c.Repair.Plan(r))
		}
		return d, nil
	}
	in := bufio.NewReader(f.IO.In)
	applied, seen := 0, map[string]bool{}
	for _, r := range fixable {
		c := byKey[r.ID+"@"+r.Entry]
		plan := c.Repair.Plan(r)
		if seen[plan] {
			continue // e.g. migrations.tables and migrations.pending share "migrate up"
		}
		seen[plan] = true
		if flag := c.Repair.Flag; flag != "" {
			ok, err := confirmGuarded(r, flag, plan, opts, f.IO.CanPrompt(), in, out)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		} else if !opts.yes {
			if !f.IO.CanPrompt() {
				fmt.Fprintf(out, "Skipped %s: %s (not a terminal; pass --yes to apply)\n", label(r), plan)
				continue
			}
			ok, err := confirm(in, out, fmt.Sprintf("Fix %s: %s? [y/N] ", label(r), plan))
			if err != nil {
				return nil, err
			}
			if !ok {
				fmt.Fprintf(out, "Skipped %s.\n", label(r))
				continue
			}
		}
		fctx, cancel := context.WithTimeout(ctx, max(opts.timeout, 30*time.Second))
		err := c.Repair.Apply(fctx, r)
		cancel()
		if err != nil {
			fmt.Fprintf(out, "FAILED %s: %s: %v\n", label(r), plan, config.Redact(err.Error()))
			continue
		}
		applied++
		fmt.Fprintf(out, "Fixed %s: %s\n", label(r), plan)
	}
	fmt.Fprintf(out, "Applied %d fix(es); checking again.\n", applied)
	d.set.Close()
	nd, err := prepareDoctor(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	nd.run(ctx, opts.checkTimeout(), nil)
	d.set = nd.set
	return nd, nil
}

// printNotFixable says which fixes --fix leaves alone though it repairs other outcomes of
// their checks, why, and what to run instead ("compozy migrate up refuses to run through
// PgBouncer ...: run ..."). Checks that share one reason and fix are named on one line.
func printNotFixable(out io.Writer, results []doctor.Result) {
	var order []string
	ids := map[string][]string{}
	for _, r := range results {
		if r.NotFixable == "" {
			continue
		}
		key := r.NotFixable
		if len(r.Fix.Commands) > 0 {
			key += "; run instead:\n    $ " + strings.Join(r.Fix.Commands, "\n    $ ")
		} else if r.Fix.Text != "" {
			key += "; instead, " + r.Fix.Text
		}
		if _, ok := ids[key]; !ok {
			order = append(order, key)
		}
		ids[key] = append(ids[key], label(r))
	}
	for _, key := range order {
		fmt.Fprintf(out, "Skipped %s: %s\n", strings.Join(ids[key], ", "), key)
	}
}

func label(r doctor.Result) string {
	if r.Entry != "" {
		return r.ID + " [" + r.Entry + "]"
	}
	return r.ID
}

func confirm(in *bufio.Reader, out io.Writer, q string) (bool, error) {
	fmt.Fprint(out, q)
	line, err := in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read answer: %w", err)
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}
