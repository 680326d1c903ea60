package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
)

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
	if err := s.printDryRunPlan(ctx, r, p); err != nil {
		return err
	}
	// The real run would be refused before changing anything (a transaction pooler): the dry
	// run says so and exits as the refusal does.
	if refusal := s.m.PoolerRefusal(); refusal != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("migrate %s --dry-run: the real run would be refused and change nothing: %s", r.dir, refusal.Reason())}
	}
	return nil
}

func (s *migrateSession) printDryRunPlan(ctx context.Context, r migrateRun, p migratePlan) error {
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
