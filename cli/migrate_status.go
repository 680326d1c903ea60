package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
)

// migrateStatusSchemaVersion is the version of the `migrate status --json` document. Raise it
// when a field changes meaning or goes away; adding a field keeps it.
const migrateStatusSchemaVersion = 1

type migrateStatusOptions struct {
	json  bool
	check bool
	// wait, when above zero, polls until the database is current or this much time has passed.
	wait time.Duration
}

// statusPollInterval is how often `migrate status --wait` looks at the database again.
const statusPollInterval = time.Second

func newMigrateStatusCmd(f *Factory) *cobra.Command {
	opts := &migrateStatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List every migration with its state and when it was applied",
		Long: `List every migration this binary knows, applied or pending, with the time it was applied,
and every version the database holds that this binary does not know.

With --check, print one line and exit 0 when the database is up to date, 10 when migrations
are pending, 13 when the database holds a version this binary does not know (migrated by a
newer or different Compozy), and 1 when it is in a broken state (such as an invalid index).

With --wait DURATION (for init containers and start scripts), look again every second until
the database is up to date, printing what is pending (or why the database cannot be read yet)
each time it changes, on standard error. It exits as --check does: 0 as soon as the database is
current, 13 at once for a database newer than this binary, and 10 when the time runs out with
migrations still pending (1 for a broken state, 3 when the database could not be read at all).`,
		Example: `  compozy migrate status
  compozy migrate status --json
  compozy migrate status --check || compozy migrate up
  compozy migrate status --wait 5m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrateStatus(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON for machines")
	cmd.Flags().BoolVar(&opts.check, "check", false, "exit 0 when up to date, 10 when migrations are pending, 13 when the database is newer than this binary")
	cmd.Flags().DurationVar(&opts.wait, "wait", 0, "wait up to `DURATION` (30s, 5m) for the database to be up to date, then exit as --check does")
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
	if opts.wait < 0 {
		return usageErrorf("--wait %s: give a duration above zero, such as 30s or 5m", opts.wait)
	}
	parent := ctx
	ctx, cancel, s, err := startMigrate(ctx, f)
	if err != nil {
		return err
	}
	defer cancel()
	var doc statusDoc
	var look migrate.Look
	if opts.wait > 0 {
		// The wait is its own limit: database.migration_timeout bounds a migration, not this.
		wctx, wcancel := context.WithTimeout(parent, opts.wait)
		defer wcancel()
		var settled bool
		look, settled = migrate.Wait(wctx, statusPollInterval, func(ctx context.Context) migrate.Look {
			d, l := s.statusOnce(ctx)
			if l.Err == nil {
				doc = d
			}
			return l
		}, func(l migrate.Look) { s.printWaiting(f.IO.ErrOut, opts.wait, l) })
		if err := parent.Err(); err != nil {
			return err // Ctrl-C or SIGTERM: the caller's context says why
		}
		if !settled && look.Err != nil {
			return &ExitError{Code: ExitCouldNotRun,
				Err: fmt.Errorf("waited %s and could still not read the database: %w", opts.wait, look.Err)}
		}
		if !settled {
			doc.Message = fmt.Sprintf("Waited %s: %s", opts.wait, lowerFirst(doc.Message))
		}
	} else {
		doc, look = s.statusOnce(ctx)
		if look.Err != nil {
			return migrateErr(ctx, look.Err)
		}
	}
	code := verdictExit(migrate.Verdict(doc.Check))

	out := f.IO.Out
	switch {
	case opts.json:
		if err := writeJSON(out, doc); err != nil {
			return fmt.Errorf("migrate status: %w", err)
		}
	case opts.check || opts.wait > 0:
		fmt.Fprintln(out, doc.Message)
	default:
		s.printTarget(out)
		printStatusTable(out, doc.Migrations)
		for _, m := range doc.Migrations {
			if m.Note != "" {
				fmt.Fprintf(out, "Note: %d %s %s.\n", m.Version, m.Name, m.Note)
			}
		}
		fmt.Fprintln(out, doc.Message)
		for _, p := range doc.Problems {
			fmt.Fprintf(out, "Problem: %s\n", p)
		}
	}
	if (opts.check || opts.wait > 0) && code != ExitOK {
		return &ExitError{Code: code, Err: errors.New(doc.Message), Silent: true}
	}
	return nil
}

// statusOnce reads the database once through the door, read-only, and closes it again (a
// SQLite file read as immutable would not see a later commit on a handle kept open).
func (s *migrateSession) statusOnce(ctx context.Context) (statusDoc, migrate.Look) {
	doc := statusDoc{SchemaVersion: migrateStatusSchemaVersion, Driver: s.cfg.Database.Driver, Target: s.target,
		LatestVersion: s.known[len(s.known)-1].Version}
	missing, err := s.open(ctx, factory.ReadOnly)
	if err != nil {
		return doc, migrate.Look{Err: err}
	}
	defer s.close()
	doc.Target = s.target
	var check *migrate.CheckResult
	if missing {
		check = &migrate.CheckResult{Versions: migrate.Versions{Latest: doc.LatestVersion}, Pending: s.known}
		for _, k := range s.known {
			doc.Migrations = append(doc.Migrations, migrate.Status{Migration: k, State: migrate.StatePending})
		}
	} else {
		doc.DatabaseExists = true
		if doc.Migrations, err = s.m.Status(ctx); err != nil {
			return doc, migrate.Look{Err: err}
		}
		if check, err = s.m.Check(ctx); err != nil {
			return doc, migrate.Look{Err: err}
		}
	}
	doc.CurrentVersion, doc.UpToDate, doc.Pending = check.Current, check.UpToDate(), len(check.Pending)
	doc.Unknown, doc.Newer, doc.Problems = nonNil(check.Unknown), nonNil(check.Newer), nonNil(check.Problems)
	doc.OutOfOrder = []int64{}
	for _, o := range check.OutOfOrder {
		doc.OutOfOrder = append(doc.OutOfOrder, o.Version)
	}
	v, msg := check.VerdictAdvising(missing, s.cfg.Database.Path, s.upAdvice())
	doc.Check, doc.Message = string(v), msg
	return doc, migrate.Look{Check: check, Missing: missing}
}

// upAdvice is what to run to apply pending migrations: compozy migrate up, or through a
// transaction pooler (where it is refused) the command through the server's direct URL.
func (s *migrateSession) upAdvice() string {
	if s.m != nil {
		if refusal := s.m.PoolerRefusal(); refusal != nil {
			return refusal.UpAdvice()
		}
	}
	return "run 'compozy migrate up'"
}

// printWaiting says what `migrate status --wait` is waiting for, each time that changes.
func (s *migrateSession) printWaiting(w io.Writer, limit time.Duration, l migrate.Look) {
	switch {
	case l.Err != nil:
		fmt.Fprintf(w, "Waiting (up to %s): cannot read the database yet: %v\n", limit, l.Err)
	case l.Missing:
		fmt.Fprintf(w, "Waiting (up to %s): %s does not exist yet.\n", limit, s.cfg.Database.Path)
	case len(l.Check.Unknown) > 0 || l.Check.UpToDate():
		// Settled: the final line says it.
	case len(l.Check.Problems) > 0:
		fmt.Fprintf(w, "Waiting (up to %s): %s\n", limit, l.Check.Problems[0])
	default:
		fmt.Fprintf(w, "Waiting (up to %s): %s pending at version %d:\n", limit, countMigrations(len(l.Check.Pending)), l.Check.Current)
		for _, m := range l.Check.Pending {
			fmt.Fprintf(w, "  %d  %s\n", m.Version, m.Name)
		}
	}
}

// lowerFirst lowers a sentence's first letter, to follow a colon.
func lowerFirst(s string) string {
	if s == "" || strings.HasPrefix(s, "/") {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
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
	missing, err := s.open(ctx, factory.ReadOnly)
	if err != nil {
		return migrateErr(ctx, err)
	}
	defer s.close()
	doc.Target = s.target
	if !missing {
		doc.DatabaseExists = true
		v, err := s.m.Version(ctx)
		if err != nil {
			return migrateErr(ctx, err)
		}
		doc.CurrentVersion = v.Current
	}
	out := f.IO.Out
	if opts.json {
		if err := writeJSON(out, doc); err != nil {
			return fmt.Errorf("migrate version: %w", err)
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
		fmt.Fprintf(out, "Migrations are pending: %s.\n", s.upAdvice())
	default:
		fmt.Fprintln(out, "The database is newer than this binary: upgrade compozy.")
	}
	return nil
}
