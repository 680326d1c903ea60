package cli

import (
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
	"compozy.dev/setup/core/storage/factory"
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
