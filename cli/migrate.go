package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/backup"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/internal/bytesize"
)

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
	cmd.AddCommand(newMigrateDiffCmd(f))
	return cmd
}

type migrateUpOptions struct {
	to       string
	dryRun   bool
	noBackup bool
}

func newMigrateUpCmd(f *Factory) *cobra.Command {
	opts := &migrateUpOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Apply pending migrations",
		Long: `Apply every pending migration (or those up to --to VERSION) to the configured database.

A SQLite database that holds rows is backed up next to itself first (VACUUM INTO, mode 0600,
named after the version it is at; the newest three are kept), and the backup's path and how
to restore it are printed; --no-backup skips it. --dry-run lists what would be applied and
changes nothing, not even a file beside the database.`,
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
	cmd.Flags().BoolVar(&opts.noBackup, "no-backup", false, "do not back up a SQLite database that holds rows before changing its schema")
	return cmd
}

type migrateDownOptions struct {
	to       string
	dryRun   bool
	yes      bool
	noBackup bool
}

func newMigrateDownCmd(f *Factory) *cobra.Command {
	opts := &migrateDownOptions{}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Revert the last migration, or every migration above --to",
		Long: `Revert the most recent migration, or every migration above --to VERSION (0 reverts all).

A revert that drops tables or columns holding rows lists them with their row counts first
(api_keys: 2 rows) and asks on a terminal; without a terminal it is refused (exit 2, nothing
changed) unless --yes. --dry-run shows the same list and changes nothing. A SQLite database
that holds rows is backed up next to itself first (VACUUM INTO, 0600, the newest three kept;
--no-backup skips it); for PostgreSQL the pg_dump command to run first is printed.`,
		Example: `  compozy migrate down
  compozy migrate down --to 20250711163858
  compozy migrate down --to 0 --dry-run
  compozy migrate down --to 0 --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrateDown(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.to, "to", "", "revert every migration above `VERSION`, which stays applied (0 reverts all)")
	cmd.Flags().BoolVar(&opts.dryRun, "dry-run", false, "list the migrations that would be reverted, and the data they would drop, and write nothing")
	cmd.Flags().BoolVar(&opts.yes, "yes", false, "revert even when it drops tables or columns that hold rows (no question asked)")
	cmd.Flags().BoolVar(&opts.noBackup, "no-backup", false, "do not back up a SQLite database that holds rows before changing its schema")
	return cmd
}

// migrateSession is what every migrate subcommand works with: the configuration, the known
// migrations, and, once opened through the one door, the database and its migrator.
type migrateSession struct {
	f      *Factory
	cfg    *config.Config
	known  []migrate.Migration
	target string
	h      *factory.Handle
	m      *migrate.Migrator
	// out is where progress goes (the command's standard output).
	out io.Writer
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
	return ctx, cancel, &migrateSession{f: f, cfg: cfg, known: known, target: factory.Target(cfg.Database), out: f.IO.Out}, nil
}

// open opens the database through the one door. In ReadOnly mode a SQLite file that does not
// exist is reported as missing (nothing is created); the other errors say what is wrong.
func (s *migrateSession) open(ctx context.Context, mode factory.Mode) (missing bool, err error) {
	h, err := factory.Open(ctx, s.cfg.Database, mode)
	switch {
	case err == nil:
		s.h, s.m, s.target = h, h.Migrator, h.Target
		return false, nil
	case mode == factory.ReadOnly && factory.IsNotExist(err):
		return true, nil
	}
	return false, err // the door's errors name the database and the step
}

func (s *migrateSession) close() {
	if s.h != nil {
		_ = s.h.Close()
		s.h, s.m = nil, nil
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

// migrateRun is one `migrate up` or `migrate down`.
type migrateRun struct {
	dir      migrate.Direction
	to       int64 // up: 0 = all; down: -1 = the most recent one
	toSet    bool
	dryRun   bool
	yes      bool
	noBackup bool
}

func runMigrateUp(ctx context.Context, f *Factory, opts *migrateUpOptions) error {
	return runMigrate(ctx, f, migrateRun{dir: migrate.DirectionUp, toSet: opts.to != "", dryRun: opts.dryRun, noBackup: opts.noBackup}, opts.to)
}

func runMigrateDown(ctx context.Context, f *Factory, opts *migrateDownOptions) error {
	return runMigrate(ctx, f, migrateRun{dir: migrate.DirectionDown, to: -1, toSet: opts.to != "", dryRun: opts.dryRun,
		yes: opts.yes, noBackup: opts.noBackup}, opts.to)
}

// runMigrate is `migrate up` and `migrate down`: print the target, plan, show (and for a down
// that drops data, confirm) what will happen, back up a SQLite database that holds rows, run.
func runMigrate(ctx context.Context, f *Factory, r migrateRun, rawTo string) error {
	if err := checkToSyntax(rawTo, r.toSet); err != nil {
		return err
	}
	ctx, cancel, s, err := startMigrate(ctx, f)
	if err != nil {
		return err
	}
	defer cancel()
	up := r.dir == migrate.DirectionUp
	if r.toSet {
		if r.to, err = parseTo(rawTo, s.known, !up); err != nil {
			return err
		}
	}
	out := f.IO.Out
	db := s.cfg.Database

	// A dry run, and a down until it is confirmed, are planned on a read-only handle: they
	// change nothing. An up is going to write anyway and plans on the handle it writes with.
	mode := factory.ReadOnly
	if up && !r.dryRun {
		mode = factory.ReadWrite
	}
	missing, err := s.open(ctx, mode)
	if err != nil {
		return migrateErr(ctx, err)
	}
	s.printTarget(out)
	if missing {
		if !up {
			fmt.Fprintf(out, "Nothing to revert: %s does not exist.\n", db.Path)
			return nil
		}
		plan := migrate.PlanUpFresh(s.known, r.to)
		fmt.Fprintf(out, "Dry run: %s does not exist yet, so all %s are pending.\n", db.Path, countMigrations(len(s.known)))
		fmt.Fprintf(out, "%s would be applied (nothing was written):\n", capitalize(countMigrations(len(plan))))
		printPlan(out, plan)
		return nil
	}
	defer s.close()
	p, err := s.plan(ctx, r)
	if err != nil {
		return migrateErr(ctx, err)
	}
	if r.dryRun {
		return s.printDryRun(ctx, r, p)
	}
	if len(p.losses) > 0 {
		if err := s.confirmLoss(r, p); err != nil {
			return err
		}
	}
	if mode == factory.ReadOnly {
		s.close()
		s.h = nil
		if _, err := s.open(ctx, factory.ReadWrite); err != nil {
			return migrateErr(ctx, err)
		}
	}
	if db.Driver == config.DriverSQLite && db.Path == config.MemoryPath && up {
		fmt.Fprintln(out, "Note: an in-memory database is gone when this command exits.")
	}
	// What runs is planned again under the migration lock; the guard checks it against what
	// was shown (and confirmed), and backs up a SQLite file with rows, before anything changes.
	guard := func(ctx context.Context, plan []migrate.Migration, losses []migrate.Loss) error {
		if !up {
			if err := s.stillAsShown(r, p, plan, losses); err != nil {
				return err
			}
		}
		if r.noBackup {
			return nil
		}
		v, err := s.m.Version(ctx)
		if err != nil {
			return err
		}
		return s.backupFirst(ctx, v.Current)
	}
	start := time.Now()
	var res []migrate.Result
	switch {
	case up:
		res, err = s.m.UpGuarded(ctx, r.to, guard)
	default:
		res, err = s.m.DownGuarded(ctx, r.to, guard)
	}
	printResults(out, res)
	if err != nil {
		return s.runFailed(ctx, err)
	}
	v, err := s.m.Version(ctx)
	if err != nil {
		return migrateErr(ctx, err)
	}
	switch {
	case up && len(res) == 0:
		fmt.Fprintf(out, "The database is up to date at version %d%s; nothing to apply.\n", v.Current, latestNote(v, r.to))
	case up:
		fmt.Fprintf(out, "Applied %s in %s; the database is at version %d%s.\n",
			countMigrations(len(res)), fmtDuration(time.Since(start)), v.Current, latestNote(v, r.to))
	case len(res) == 0:
		fmt.Fprintf(out, "Nothing to revert; the database is at version %d.\n", v.Current)
	default:
		fmt.Fprintf(out, "Reverted %s in %s; the database is at version %d (latest known %d).\n",
			countMigrations(len(res)), fmtDuration(time.Since(start)), v.Current, v.Latest)
	}
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

// stillAsShown refuses a down whose plan, made again under the migration lock, is not the one
// shown, or which drops data that was not listed and confirmed (rows written meanwhile, another
// migrate that ran first). --yes accepts more data, not another plan.
func (s *migrateSession) stillAsShown(r migrateRun, shown migratePlan, plan []migrate.Migration, losses []migrate.Loss) error {
	if !samePlan(shown.plan, plan) {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("the database changed after the plan was made (another compozy migrate ran?): it would now revert %s; nothing was changed: run the command again", planFiles(plan))}
	}
	if r.yes {
		return nil
	}
	confirmed := map[string]int64{}
	for _, l := range shown.losses {
		confirmed[l.Table+"."+l.Column] = l.Rows
	}
	var more []migrate.Loss
	for _, l := range losses {
		if n, ok := confirmed[l.Table+"."+l.Column]; !ok || l.Rows > n {
			more = append(more, l)
		}
	}
	if len(more) > 0 {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("rows were written after the list was shown: the revert would now drop %s; nothing was changed: run the command again", lossSummary(more))}
	}
	return nil
}

func samePlan(a, b []migrate.Migration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Version != b[i].Version {
			return false
		}
	}
	return true
}

func planFiles(plan []migrate.Migration) string {
	names := make([]string, len(plan))
	for i, m := range plan {
		names[i] = m.File
	}
	return strings.Join(names, ", ")
}

// migratePlan is what a run will do, worked out on the read-only handle.
type migratePlan struct {
	plan    []migrate.Migration
	current int64
	losses  []migrate.Loss
}

func (s *migrateSession) plan(ctx context.Context, r migrateRun) (migratePlan, error) {
	var p migratePlan
	v, err := s.m.Version(ctx)
	if err != nil {
		return p, err
	}
	p.current = v.Current
	if r.dir == migrate.DirectionUp {
		p.plan, err = s.m.Plan(ctx, r.to)
		return p, err
	}
	if p.plan, err = s.m.PlanDown(ctx, r.to); err != nil {
		return p, err
	}
	p.losses, err = s.m.Losses(ctx, p.plan)
	return p, err
}

func (s *migrateSession) printDryRun(ctx context.Context, r migrateRun, p migratePlan) error {
	out := s.f.IO.Out
	if r.dir == migrate.DirectionUp {
		v, err := s.m.Version(ctx)
		if err != nil {
			return migrateErr(ctx, err)
		}
		if len(p.plan) == 0 {
			fmt.Fprintf(out, "Dry run: nothing to apply; the database is at version %d (latest known %d).\n", v.Current, v.Latest)
			return nil
		}
		fmt.Fprintf(out, "Dry run: the database is at version %d; %s would be applied (nothing was written):\n", v.Current, countMigrations(len(p.plan)))
		printPlan(out, p.plan)
		s.printBackupNote(ctx, r)
		return nil
	}
	if len(p.plan) == 0 {
		fmt.Fprintln(out, "Dry run: nothing to revert.")
		return nil
	}
	fmt.Fprintf(out, "Dry run: %s would be reverted (nothing was written):\n", countMigrations(len(p.plan)))
	printPlan(out, p.plan)
	if len(p.losses) > 0 {
		printLosses(out, p.losses)
	} else {
		fmt.Fprintln(out, "No table or column that holds rows would be dropped.")
	}
	s.printBackupNote(ctx, r)
	return nil
}

// printBackupNote says, in a dry run, that a SQLite database with rows would be backed up first.
func (s *migrateSession) printBackupNote(ctx context.Context, r migrateRun) {
	if r.noBackup || s.h.Dialect != config.DriverSQLite || s.h.Path == config.MemoryPath {
		return
	}
	counts, err := s.m.RowCounts(ctx)
	if err != nil {
		return
	}
	var rows int64
	for _, n := range counts {
		rows += n
	}
	if rows > 0 {
		fmt.Fprintf(s.out, "A backup of the database (%d rows) would be written next to it first (--no-backup skips it).\n", rows)
	}
}

// confirmLoss lists the data a down would drop and asks; without a terminal it needs --yes.
func (s *migrateSession) confirmLoss(r migrateRun, p migratePlan) error {
	out := s.f.IO.Out
	printLosses(out, p.losses)
	if s.cfg.Database.Driver == config.DriverPostgres {
		name := ""
		if cs, err := factory.PostgresConnSettings(s.cfg.Database); err == nil {
			name = cs.Database
		}
		if dump, err := backup.NewPgDump(s.cfg.Database, backup.DefaultPostgresPath(".", name, time.Now())); err == nil {
			fmt.Fprintf(out, "Back it up first (pg_dump, custom format; restore with pg_restore):\n  %s\n", dump.Command())
		}
	}
	if r.yes {
		return nil
	}
	if !s.f.IO.CanPrompt() {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("migrate down would drop %s; nothing was changed: pass --yes to confirm (there is no terminal to ask on), or --dry-run to see the plan", lossSummary(p.losses))}
	}
	ok, err := confirm(bufio.NewReader(s.f.IO.In), out, "Revert and drop this data? [y/N] ")
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(out, "Nothing was changed.")
		return ErrAborted
	}
	return nil
}

func printLosses(w io.Writer, losses []migrate.Loss) {
	fmt.Fprintln(w, "This drops data:")
	for _, l := range losses {
		fmt.Fprintf(w, "  %s (dropped by %s)\n", l, l.Migration.File)
	}
}

func lossSummary(losses []migrate.Loss) string {
	parts := make([]string, len(losses))
	for i, l := range losses {
		parts[i] = l.String()
	}
	return strings.Join(parts, ", ")
}

// backupFirst backs up a SQLite file that holds rows before its schema changes.
func (s *migrateSession) backupFirst(ctx context.Context, version int64) error {
	if s.h.Dialect != config.DriverSQLite || s.h.Path == config.MemoryPath {
		return nil
	}
	counts, err := s.m.RowCounts(ctx)
	if err != nil {
		return migrateErr(ctx, err)
	}
	var rows int64
	for _, n := range counts {
		rows += n
	}
	if rows == 0 {
		return nil
	}
	res, removed, err := backup.BeforeMigration(ctx, s.h, version, time.Now(), keepMigrationBackups)
	if err != nil {
		return fmt.Errorf("back up the database before changing its schema (pass --no-backup to skip it): %w", err)
	}
	out := s.out
	fmt.Fprintf(out, "Backup: %s (%d rows, %s, mode 0600)\n", res.Path, res.TotalRows(), bytesize.Format(res.Bytes))
	fmt.Fprintf(out, "  To restore it: %s\n", backup.RestoreHint(res.Path, s.h.Path))
	for _, r := range removed {
		fmt.Fprintf(out, "  Removed the oldest backup %s (the newest %d are kept)\n", r, keepMigrationBackups)
	}
	return nil
}

// keepMigrationBackups is how many of the backups migrate takes are kept per database.
const keepMigrationBackups = 3

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
