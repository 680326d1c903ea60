package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
)

// migrateDiffSchemaVersion is the version of the `migrate diff --json` document. Raise it when a
// field changes meaning or goes away; adding a field keeps it.
const migrateDiffSchemaVersion = 1

type migrateDiffOptions struct {
	json bool
}

func newMigrateDiffCmd(f *Factory) *cobra.Command {
	opts := &migrateDiffOptions{}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Compare the database's schema with the one the migrations make (drift)",
		Long: `Compare the live schema of Compozy's tables with the schema this binary's migrations make at
the database's version: tables, columns (type, NOT NULL, default), indexes (columns, partial
predicate, unique), foreign keys, checks, triggers and column comments.

The expected schema is built without touching the database: for SQLite in an in-memory
database, for PostgreSQL in a scratch schema inside a transaction that is rolled back. The
command only reads (it creates no file, not even -wal or -shm beside a SQLite database).

Each difference is listed with its kind (missing, different, extra), what the migrations make
and what the database has. Missing indexes and triggers come with the SQL that recreates them
(compozy doctor --fix applies it); extra objects are reported and never dropped.

Exit status: 0 when there is no drift, 11 when there is, 2 when there is nothing to compare
(no migrations applied yet), 13 when the database is newer than this binary, 3 when the
comparison cannot be made (PostgreSQL: the role may not create the scratch schema, or the
server is a read-only standby).`,
		Example: `  compozy migrate diff
  compozy migrate diff --json
  compozy migrate diff || compozy doctor --fix --only migrations.drift`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrateDiff(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON for machines")
	return cmd
}

// diffDoc is the `migrate diff --json` document.
type diffDoc struct {
	SchemaVersion int    `json:"schema_version"`
	Driver        string `json:"driver"`
	Target        string `json:"target"`
	// DatabaseVersion is the version the database is at, which the comparison is made at.
	DatabaseVersion int64 `json:"database_version"`
	LatestVersion   int64 `json:"latest_version"`
	// Pending counts the migrations not applied yet: the comparison is at DatabaseVersion all
	// the same, so pending migrations are not drift.
	Pending int `json:"pending"`
	// Drifted is set when Drift is not empty.
	Drifted bool `json:"drifted"`
	// Drift lists every difference; an empty list when there is none.
	Drift []diffItem `json:"drift"`
}

// diffItem is one difference, and whether compozy doctor --fix runs its fix (the CREATE of a
// missing index or trigger; nothing else).
type diffItem struct {
	migrate.Drift
	DoctorFixes bool `json:"doctor_fixes"`
}

// schemaDiff is the comparison `migrate diff` makes: the live schema of the database h against
// the one this binary's migrations make at its version. A database that has no migration
// applied, or one newer than this binary, has nothing to compare against: an error says so.
func schemaDiff(ctx context.Context, h *factory.Handle) (*migrate.CheckResult, []migrate.Drift, error) {
	c, err := h.Migrator.Check(ctx)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(c.Newer) > 0:
		return c, nil, &migrate.NewerError{Versions: c.Newer, Latest: c.Latest}
	case c.Current == 0:
		return c, nil, errNothingToCompare
	}
	live, err := factory.LiveSchema(ctx, h)
	if err != nil {
		return c, nil, fmt.Errorf("read the live schema: %w", err)
	}
	want, err := factory.ExpectedSchema(ctx, h, c.Current)
	if err != nil {
		return c, nil, err
	}
	return c, migrate.Diff(live, want), nil
}

// errNothingToCompare: the database has no migration applied.
var errNothingToCompare = errors.New("no migrations are applied to this database yet, so there is no schema to compare; run 'compozy migrate up' first")

func runMigrateDiff(ctx context.Context, f *Factory, opts *migrateDiffOptions) error {
	ctx, cancel, s, err := startMigrate(ctx, f)
	if err != nil {
		return err
	}
	defer cancel()
	missing, err := s.open(ctx, factory.ReadOnly)
	if err != nil {
		return migrateErr(ctx, err)
	}
	if missing {
		return refusef("%s does not exist, so there is no schema to compare; run 'compozy migrate up' first", s.cfg.Database.Path)
	}
	defer s.close()
	doc := diffDoc{SchemaVersion: migrateDiffSchemaVersion, Driver: s.cfg.Database.Driver, Target: s.target,
		LatestVersion: s.known[len(s.known)-1].Version}
	check, drift, err := schemaDiff(ctx, s.h)
	switch {
	case errors.Is(err, errNothingToCompare):
		return refusef("%s: %v", s.target, err)
	case errors.Is(err, factory.ErrNoScratchSchema):
		return &ExitError{Code: ExitCouldNotRun, Err: fmt.Errorf("migrate diff: nothing was compared: %w", err)}
	case err != nil:
		return migrateErr(ctx, fmt.Errorf("migrate diff: %w", err))
	}
	doc.DatabaseVersion, doc.Pending = check.Current, len(check.Pending)
	doc.Drift = make([]diffItem, len(drift))
	for i, d := range drift {
		doc.Drift[i] = diffItem{Drift: d, DoctorFixes: d.Recreates()}
	}
	doc.Drifted = len(doc.Drift) > 0
	out := f.IO.Out
	if opts.json {
		if err := writeJSON(out, doc); err != nil {
			return fmt.Errorf("migrate diff: %w", err)
		}
	} else {
		s.printTarget(out)
		printDrift(out, doc)
	}
	if doc.Drifted {
		return &ExitError{Code: ExitDrift, Err: fmt.Errorf("the schema drifts from the migrations (%d differences)", len(doc.Drift)), Silent: true}
	}
	return nil
}

// printDrift writes the human form of a diff: each difference with what the migrations make,
// what the database has and the SQL that recreates it, then what --fix would do.
func printDrift(w io.Writer, doc diffDoc) {
	fmt.Fprintf(w, "Compared with the schema this binary's migrations make at version %d.\n", doc.DatabaseVersion)
	if doc.Pending > 0 {
		fmt.Fprintf(w, "(%s pending above it: not drift; 'compozy migrate status' lists them.)\n", countMigrations(doc.Pending))
	}
	if len(doc.Drift) == 0 {
		fmt.Fprintln(w, "No drift: the schema is the one the migrations make.")
		return
	}
	n := "1 difference"
	if len(doc.Drift) != 1 {
		n = fmt.Sprintf("%d differences", len(doc.Drift))
	}
	fmt.Fprintf(w, "%s:\n", n)
	fixable, extra := 0, 0
	for _, d := range doc.Drift {
		fmt.Fprintf(w, "\n  %s %s\n", d.Kind, d.Object)
		if d.Want != "" {
			fmt.Fprintf(w, "    want: %s\n", indentMore(d.Want, "          "))
		}
		if d.Got != "" {
			fmt.Fprintf(w, "    got:  %s\n", indentMore(d.Got, "          "))
		}
		switch {
		case d.Kind == migrate.DriftExtra:
			extra++
			fmt.Fprintln(w, "    extra: left in place (compozy never drops it)")
		case d.Fix != "":
			if d.DoctorFixes {
				fixable++
			}
			fmt.Fprintf(w, "    fix:  %s\n", indentMore(d.Fix, "          "))
			if !d.DoctorFixes {
				fmt.Fprintln(w, "    (to run by hand: compozy doctor --fix does not replace what is in place)")
			}
		default:
			fmt.Fprintln(w, "    fix:  no statement: restore from a backup, or migrate down past the migration that makes it and up again")
		}
	}
	fmt.Fprintln(w)
	if fixable > 0 {
		fmt.Fprintf(w, "To recreate the %s with the CREATE statement above (nothing is dropped): compozy doctor --fix\n", nounCount(fixable, "missing index or trigger", "missing indexes and triggers"))
	}
	if extra > 0 {
		fmt.Fprintf(w, "The %s not made by the migrations: compozy leaves %s in place.\n",
			nounCount(extra, "extra object is", "extra objects are"), map[bool]string{true: "it", false: "them"}[extra == 1])
	}
}

// nounCount is "1 one" or "N many".
func nounCount(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// indentMore indents the lines after the first of a multi-line text by prefix.
func indentMore(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}
