package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/migrations"
)

// migrateStatusSchemaVersion is the version of the `migrate status --json` document. Raise it
// when a field changes meaning or goes away; adding a field keeps it.
const migrateStatusSchemaVersion = 1

func newMigrateCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, revert and inspect the database schema migrations",
		Long: `Apply, revert and inspect Compozy's schema migrations on the configured database.

The migrations are embedded in this binary, one set per driver (postgres, sqlite), with
Compozy's own goose version numbers and goose's goose_db_version table, so databases that
Compozy created itself are recognised. Commands that write print the (redacted) target first,
and concurrent runs on the same database wait for each other. The whole command is bounded
by database.migration_timeout.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newMigrateUpCmd(f), newMigrateDownCmd(f), newMigrateStatusCmd(f), newMigrateVersionCmd(f))
	return cmd
}

type migrateUpOptions struct {
	to     string
	dryRun bool
}

func newMigrateUpCmd(f *Factory) *cobra.Command {
	opts := &migrateUpOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Apply pending migrations",
		Example: `  compozy migrate up
  compozy migrate up --dry-run
  compozy migrate up --to 20250711163858
  compozy migrate up --db-driver sqlite --db-path ./data/compozy.db`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrateUp(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.to, "to", "", "apply migrations up to and including `VERSION` (default: all)")
	cmd.Flags().BoolVar(&opts.dryRun, "dry-run", false, "list the migrations that would be applied and write nothing")
	return cmd
}

type migrateDownOptions struct {
	to     string
	dryRun bool
}

func newMigrateDownCmd(f *Factory) *cobra.Command {
	opts := &migrateDownOptions{}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Revert the last migration, or every migration above --to",
		Example: `  compozy migrate down
  compozy migrate down --to 20250711163858
  compozy migrate down --to 0 --dry-run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrateDown(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.to, "to", "", "revert every migration above `VERSION`, which stays applied (0 reverts all)")
	cmd.Flags().BoolVar(&opts.dryRun, "dry-run", false, "list the migrations that would be reverted and write nothing")
	return cmd
}

type migrateStatusOptions struct {
	json  bool
	check bool
}

func newMigrateStatusCmd(f *Factory) *cobra.Command {
	opts := &migrateStatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List every migration with its state and when it was applied",
		Long: `List every migration this binary knows, applied or pending, with the time it was applied,
and every version the database holds that this binary does not know.

With --check, print one line and exit 0 when the database is up to date, 10 when migrations
are pending, 13 when the database holds a version this binary does not know (migrated by a
newer or different Compozy), and 1 when it is in a broken state (such as an invalid index).`,
		Example: `  compozy migrate status
  compozy migrate status --json
  compozy migrate status --check || compozy migrate up`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrateStatus(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON for machines")
	cmd.Flags().BoolVar(&opts.check, "check", false, "exit 0 when up to date, 10 when migrations are pending, 13 when the database is newer than this binary")
	return cmd
}

type migrateVersionOptions struct {
	json bool
}

func newMigrateVersionCmd(f *Factory) *cobra.Command {
	opts := &migrateVersionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the database's schema version and the latest this binary knows",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrateVersion(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON for machines")
	return cmd
}

// migrateSession is what every migrate subcommand works with: the configuration, the known
// migrations, and, once opened, the database and its migrator.
type migrateSession struct {
	f      *Factory
	cfg    *config.Config
	known  []migrate.Migration
	target string
	handle *factory.Handle
	// readDB is the read-only SQLite handle of status and version (see openRead).
	readDB *sql.DB
	m      *migrate.Migrator
}

// startMigrate loads the configuration and bounds ctx by database.migration_timeout.
func startMigrate(ctx context.Context, f *Factory) (context.Context, context.CancelFunc, *migrateSession, error) {
	cfg, err := f.LoadConfig(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	known, err := migrate.Known(cfg.Database.Driver)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load migrations: %w", err)
	}
	cancel := context.CancelFunc(func() {})
	if t := cfg.Database.MigrationTimeout; t > 0 {
		ctx, cancel = context.WithTimeoutCause(ctx, t,
			fmt.Errorf("migration timed out after %s (database.migration_timeout)", t))
	}
	return ctx, cancel, &migrateSession{f: f, cfg: cfg, known: known, target: factory.Target(cfg.Database)}, nil
}

// sqliteMissing reports whether the configured database is a SQLite file that does not exist.
func (s *migrateSession) sqliteMissing() (bool, error) {
	db := s.cfg.Database
	if db.Driver != config.DriverSQLite || db.Path == "" || db.Path == config.MemoryPath {
		return false, nil
	}
	_, err := os.Stat(db.Path)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, os.ErrNotExist):
		return true, nil
	default:
		return false, fmt.Errorf("check database file %s: %w", db.Path, err)
	}
}

// open opens the database and builds the migrator.
func (s *migrateSession) open(ctx context.Context) error {
	h, err := factory.Open(ctx, s.cfg.Database)
	if err != nil {
		return fmt.Errorf("open database %s: %w", s.target, err)
	}
	m, err := migrate.New(h.SQL, h.Dialect, migrate.Options{Path: h.Path})
	if err != nil {
		h.Close()
		return fmt.Errorf("prepare migrations: %w", err)
	}
	s.handle, s.m = h, m
	return nil
}

// openRead opens the database for status and version, which change nothing: a SQLite file is
// opened read-only (no journal-mode switch, no -wal file created, no wait on a writer's lock);
// PostgreSQL reads through the ordinary pool.
func (s *migrateSession) openRead(ctx context.Context) error {
	db := s.cfg.Database
	if db.Driver != config.DriverSQLite || db.Path == config.MemoryPath {
		return s.open(ctx)
	}
	sqlDB, err := sqlite.OpenReadOnly(db.Path, db.BusyTimeout)
	if err != nil {
		return fmt.Errorf("open database %s: %w", s.target, err)
	}
	m, err := migrate.New(sqlDB, migrations.SQLite, migrate.Options{Path: db.Path})
	if err != nil {
		sqlDB.Close()
		return fmt.Errorf("prepare migrations: %w", err)
	}
	s.readDB, s.m = sqlDB, m
	return nil
}

func (s *migrateSession) close() {
	if s.readDB != nil {
		_ = s.readDB.Close()
	}
	if s.handle != nil {
		_ = s.handle.Close()
	}
}

func (s *migrateSession) printTarget(w io.Writer) {
	fmt.Fprintf(w, "Target: %s\n", s.target)
}

// parseTo validates a --to value: a number, and a version this binary knows (or 0 when
// allowZero). It is a usage error otherwise, naming the valid versions.
func parseTo(raw string, known []migrate.Migration, allowZero bool) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || v < 0 {
		return 0, usageErrorf("--to %q is not a migration version; %s", raw, validVersions(known, allowZero))
	}
	if v == 0 && allowZero {
		return 0, nil
	}
	for _, k := range known {
		if k.Version == v {
			return v, nil
		}
	}
	return 0, usageErrorf("--to %d is not a migration this binary knows; %s", v, validVersions(known, allowZero))
}

func validVersions(known []migrate.Migration, allowZero bool) string {
	var b strings.Builder
	b.WriteString("valid versions:")
	if allowZero {
		b.WriteString("\n  0 (revert everything)")
	}
	for _, k := range known {
		fmt.Fprintf(&b, "\n  %d (%s)", k.Version, k.Name)
	}
	return b.String()
}

// checkToSyntax rejects a malformed --to before any configuration is read.
func checkToSyntax(raw string, set bool) error {
	if !set {
		return nil
	}
	if v, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64); err != nil || v < 0 {
		return usageErrorf("--to %q is not a migration version (a number such as 20250603124835); run 'compozy migrate status' to list them", raw)
	}
	return nil
}

func runMigrateUp(ctx context.Context, f *Factory, opts *migrateUpOptions) error {
	toSet := opts.to != ""
	if err := checkToSyntax(opts.to, toSet); err != nil {
		return err
	}
	ctx, cancel, s, err := startMigrate(ctx, f)
	if err != nil {
		return err
	}
	defer cancel()
	var to int64
	if toSet {
		if to, err = parseTo(opts.to, s.known, false); err != nil {
			return err
		}
	}
	out := f.IO.Out
	s.printTarget(out)

	missing, err := s.sqliteMissing()
	if err != nil {
		return err
	}
	if opts.dryRun && missing {
		plan := migrate.PlanUpFresh(s.known, to)
		fmt.Fprintf(out, "Dry run: %s does not exist yet, so all %s are pending.\n", s.cfg.Database.Path, countMigrations(len(s.known)))
		fmt.Fprintf(out, "%s would be applied (nothing was written):\n", capitalize(countMigrations(len(plan))))
		printPlan(out, plan)
		return nil
	}
	if err := s.open(ctx); err != nil {
		return migrateErr(ctx, err)
	}
	defer s.close()

	if opts.dryRun {
		plan, err := s.m.Plan(ctx, to)
		if err != nil {
			return migrateErr(ctx, err)
		}
		v, err := s.m.Version(ctx)
		if err != nil {
			return migrateErr(ctx, err)
		}
		if len(plan) == 0 {
			fmt.Fprintf(out, "Dry run: nothing to apply; the database is at version %d (latest known %d).\n", v.Current, v.Latest)
			return nil
		}
		fmt.Fprintf(out, "Dry run: the database is at version %d; %s would be applied (nothing was written):\n", v.Current, countMigrations(len(plan)))
		printPlan(out, plan)
		return nil
	}

	if s.cfg.Database.Path == config.MemoryPath && s.cfg.Database.Driver == config.DriverSQLite {
		fmt.Fprintln(out, "Note: an in-memory database is gone when this command exits.")
	}
	start := time.Now()
	var res []migrate.Result
	if toSet {
		res, err = s.m.UpTo(ctx, to)
	} else {
		res, err = s.m.Up(ctx)
	}
	printResults(out, res)
	if err != nil {
		return s.runFailed(ctx, err)
	}
	v, err := s.m.Version(ctx)
	if err != nil {
		return migrateErr(ctx, err)
	}
	if len(res) == 0 {
		fmt.Fprintf(out, "The database is up to date at version %d%s; nothing to apply.\n", v.Current, latestNote(v, to))
		return nil
	}
	fmt.Fprintf(out, "Applied %s in %s; the database is at version %d%s.\n",
		countMigrations(len(res)), fmtDuration(time.Since(start)), v.Current, latestNote(v, to))
	return nil
}

func latestNote(v migrate.Versions, to int64) string {
	switch {
	case v.Current == v.Latest:
		return " (the latest)"
	case to != 0 && v.Current >= to:
		return fmt.Sprintf(" (--to %d; latest known %d)", to, v.Latest)
	default:
		return fmt.Sprintf(" (latest known %d)", v.Latest)
	}
}

func runMigrateDown(ctx context.Context, f *Factory, opts *migrateDownOptions) error {
	toSet := opts.to != ""
	if err := checkToSyntax(opts.to, toSet); err != nil {
		return err
	}
	ctx, cancel, s, err := startMigrate(ctx, f)
	if err != nil {
		return err
	}
	defer cancel()
	to := int64(-1) // the most recent one only
	if toSet {
		if to, err = parseTo(opts.to, s.known, true); err != nil {
			return err
		}
	}
	out := f.IO.Out
	s.printTarget(out)
	missing, err := s.sqliteMissing()
	if err != nil {
		return err
	}
	if missing {
		fmt.Fprintf(out, "Nothing to revert: %s does not exist.\n", s.cfg.Database.Path)
		return nil
	}
	if err := s.open(ctx); err != nil {
		return migrateErr(ctx, err)
	}
	defer s.close()

	if opts.dryRun {
		plan, err := s.m.PlanDown(ctx, to)
		if err != nil {
			return migrateErr(ctx, err)
		}
		if len(plan) == 0 {
			fmt.Fprintln(out, "Dry run: nothing to revert.")
			return nil
		}
		fmt.Fprintf(out, "Dry run: %s would be reverted (nothing was written):\n", countMigrations(len(plan)))
		printPlan(out, plan)
		return nil
	}
	start := time.Now()
	var res []migrate.Result
	if toSet {
		res, err = s.m.DownTo(ctx, to)
	} else {
		res, err = s.m.Down(ctx)
	}
	printResults(out, res)
	if err != nil {
		return s.runFailed(ctx, err)
	}
	v, err := s.m.Version(ctx)
	if err != nil {
		return migrateErr(ctx, err)
	}
	if len(res) == 0 {
		fmt.Fprintf(out, "Nothing to revert; the database is at version %d.\n", v.Current)
		return nil
	}
	fmt.Fprintf(out, "Reverted %s in %s; the database is at version %d (latest known %d).\n",
		countMigrations(len(res)), fmtDuration(time.Since(start)), v.Current, v.Latest)
	return nil
}

// runFailed reports a failed run: what was applied before the failure, the migration that
// failed, and where the database stands.
func (s *migrateSession) runFailed(ctx context.Context, err error) error {
	var re *migrate.RunError
	if !errors.As(err, &re) {
		return migrateErr(ctx, err)
	}
	out := s.f.IO.Out
	fmt.Fprintf(out, "FAIL %s (%s)\n", re.Failed.File, fmtDuration(re.Failed.Duration))
	verb := "applied"
	if re.Direction == migrate.DirectionDown {
		verb = "reverted"
	}
	if v, verr := s.m.Version(context.WithoutCancel(ctx)); verr == nil {
		fmt.Fprintf(out, "%s %s before the failure; the database is at version %d.\n",
			capitalize(countMigrations(len(re.Applied))), verb, v.Current)
	}
	return migrateErr(ctx, fmt.Errorf("migration %s failed: %w", re.Failed.File, re.Err))
}

// migrateErr maps an error to its exit code: a newer database is 13, a deadline is 3.
func migrateErr(ctx context.Context, err error) error {
	var newer *migrate.NewerError
	switch {
	case errors.As(err, &newer):
		return &ExitError{Code: ExitDatabaseNewer, Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.DeadlineExceeded) {
			return &ExitError{Code: ExitCouldNotRun, Err: fmt.Errorf("%w: %v", cause, err)}
		}
		return &ExitError{Code: ExitCouldNotRun, Err: err}
	}
	return err
}

func printResults(w io.Writer, res []migrate.Result) {
	for _, r := range res {
		fmt.Fprintf(w, "OK   %s (%s)\n", r.File, fmtDuration(r.Duration))
	}
}

func printPlan(w io.Writer, plan []migrate.Migration) {
	for _, p := range plan {
		fmt.Fprintf(w, "  %s\n", p.File)
	}
}

// statusDoc is the `migrate status --json` document.
type statusDoc struct {
	SchemaVersion  int              `json:"schema_version"`
	Driver         string           `json:"driver"`
	Target         string           `json:"target"`
	DatabaseExists bool             `json:"database_exists"`
	CurrentVersion int64            `json:"current_version"`
	LatestVersion  int64            `json:"latest_version"`
	UpToDate       bool             `json:"up_to_date"`
	Pending        int              `json:"pending"`
	Unknown        []int64          `json:"unknown"`
	Newer          []int64          `json:"newer"`
	OutOfOrder     []int64          `json:"out_of_order"`
	Problems       []string         `json:"problems"`
	Migrations     []migrate.Status `json:"migrations"`
	// Check is the `--check` verdict: "up_to_date", "pending", "unknown_version" or "problem".
	Check string `json:"check"`
	// Message is the one-line summary `--check` prints.
	Message string `json:"message"`
}

func runMigrateStatus(ctx context.Context, f *Factory, opts *migrateStatusOptions) error {
	ctx, cancel, s, err := startMigrate(ctx, f)
	if err != nil {
		return err
	}
	defer cancel()
	doc := statusDoc{SchemaVersion: migrateStatusSchemaVersion, Driver: s.cfg.Database.Driver, Target: s.target,
		LatestVersion: s.known[len(s.known)-1].Version}
	var check *migrate.CheckResult
	missing, err := s.sqliteMissing()
	if err != nil {
		return err
	}
	if missing {
		check = &migrate.CheckResult{Versions: migrate.Versions{Latest: doc.LatestVersion}, Pending: s.known}
		for _, k := range s.known {
			doc.Migrations = append(doc.Migrations, migrate.Status{Migration: k, State: migrate.StatePending})
		}
	} else {
		doc.DatabaseExists = true
		if err := s.openRead(ctx); err != nil {
			return migrateErr(ctx, err)
		}
		defer s.close()
		if doc.Migrations, err = s.m.Status(ctx); err != nil {
			return migrateErr(ctx, err)
		}
		if check, err = s.m.Check(ctx); err != nil {
			return migrateErr(ctx, err)
		}
	}
	doc.CurrentVersion, doc.UpToDate, doc.Pending = check.Current, check.UpToDate(), len(check.Pending)
	doc.Unknown, doc.Newer, doc.Problems = nonNil(check.Unknown), nonNil(check.Newer), nonNil(check.Problems)
	doc.OutOfOrder = []int64{}
	for _, o := range check.OutOfOrder {
		doc.OutOfOrder = append(doc.OutOfOrder, o.Version)
	}
	code := 0
	doc.Check, doc.Message, code = verdict(check, missing, s.cfg.Database.Path)

	out := f.IO.Out
	switch {
	case opts.json:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("write status: %w", err)
		}
	case opts.check:
		fmt.Fprintln(out, doc.Message)
	default:
		s.printTarget(out)
		printStatusTable(out, doc.Migrations)
		fmt.Fprintln(out, doc.Message)
		for _, p := range doc.Problems {
			fmt.Fprintf(out, "Problem: %s\n", p)
		}
	}
	if opts.check && code != ExitOK {
		return &ExitError{Code: code, Err: errors.New(doc.Message), Silent: true}
	}
	return nil
}

// verdict is the --check outcome: a state name, a one-line message, and the exit code.
func verdict(c *migrate.CheckResult, missing bool, path string) (string, string, int) {
	switch {
	case len(c.Newer) > 0:
		return "unknown_version", fmt.Sprintf("The database is at version %d, newer than the latest this binary knows (%d): upgrade compozy.",
			c.Current, c.Latest), ExitDatabaseNewer
	case len(c.Unknown) > 0:
		return "unknown_version", fmt.Sprintf("The database holds %s that this binary does not know (migrated by a different Compozy build).",
			versionList(c.Unknown)), ExitDatabaseNewer
	case len(c.Problems) > 0:
		return "problem", fmt.Sprintf("The database is in a broken state: %s", c.Problems[0]), ExitFailed
	case missing:
		return "pending", fmt.Sprintf("%s does not exist yet: all %s are pending; run 'compozy migrate up'.",
			path, countMigrations(len(c.Pending))), ExitPending
	case len(c.Pending) > 0:
		return "pending", fmt.Sprintf("%s pending (database at version %d, latest %d); run 'compozy migrate up'.",
			capitalize(countMigrations(len(c.Pending))), c.Current, c.Latest), ExitPending
	default:
		return "up_to_date", fmt.Sprintf("The database is up to date at version %d.", c.Current), ExitOK
	}
}

func printStatusTable(w io.Writer, st []migrate.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE\tAPPLIED AT")
	for _, s := range st {
		name, at := s.Name, "-"
		if s.State == migrate.StateUnknown {
			name = "(not known to this binary)"
		}
		if !s.AppliedAt.IsZero() {
			at = s.AppliedAt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Version, name, s.State, at)
	}
	tw.Flush()
}

// versionDoc is the `migrate version --json` document.
type versionDoc struct {
	SchemaVersion  int    `json:"schema_version"`
	Driver         string `json:"driver"`
	Target         string `json:"target"`
	DatabaseExists bool   `json:"database_exists"`
	CurrentVersion int64  `json:"current_version"`
	LatestVersion  int64  `json:"latest_version"`
}

func runMigrateVersion(ctx context.Context, f *Factory, opts *migrateVersionOptions) error {
	ctx, cancel, s, err := startMigrate(ctx, f)
	if err != nil {
		return err
	}
	defer cancel()
	doc := versionDoc{SchemaVersion: migrateStatusSchemaVersion, Driver: s.cfg.Database.Driver, Target: s.target,
		LatestVersion: s.known[len(s.known)-1].Version}
	missing, err := s.sqliteMissing()
	if err != nil {
		return err
	}
	if !missing {
		doc.DatabaseExists = true
		if err := s.openRead(ctx); err != nil {
			return migrateErr(ctx, err)
		}
		defer s.close()
		v, err := s.m.Version(ctx)
		if err != nil {
			return migrateErr(ctx, err)
		}
		doc.CurrentVersion = v.Current
	}
	out := f.IO.Out
	if opts.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("write version: %w", err)
		}
		return nil
	}
	name := func(v int64) string {
		if v == 0 {
			return "no migrations applied"
		}
		for _, k := range s.known {
			if k.Version == v {
				return k.Name
			}
		}
		return "not known to this binary"
	}
	current := fmt.Sprintf("%d (%s)", doc.CurrentVersion, name(doc.CurrentVersion))
	if missing {
		current = fmt.Sprintf("0 (%s does not exist yet)", s.cfg.Database.Path)
	}
	fmt.Fprintf(out, "Database version: %s\n", current)
	fmt.Fprintf(out, "Latest known:     %d (%s)\n", doc.LatestVersion, name(doc.LatestVersion))
	switch {
	case doc.CurrentVersion == doc.LatestVersion:
		fmt.Fprintln(out, "The database is up to date.")
	case doc.CurrentVersion < doc.LatestVersion:
		fmt.Fprintln(out, "Migrations are pending: run 'compozy migrate up'.")
	default:
		fmt.Fprintln(out, "The database is newer than this binary: upgrade compozy.")
	}
	return nil
}

func countMigrations(n int) string {
	if n == 1 {
		return "1 migration"
	}
	return fmt.Sprintf("%d migrations", n)
}

func versionList(vs []int64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatInt(v, 10)
	}
	if len(vs) == 1 {
		return "version " + s[0]
	}
	return "versions " + strings.Join(s, ", ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// fmtDuration prints a migration's duration the way goose does: 3.1ms, 250ms, 1.2s.
func fmtDuration(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}
