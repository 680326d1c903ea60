package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/backup"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
)

// Schemas is what migrations.drift reads through: the live schema of Compozy's tables in the
// database h, and the schema this binary's migrations make at a version, built beside h without
// writing anything durable (SQLite: an in-memory database; PostgreSQL: a scratch schema in a
// transaction that is rolled back). doorSchemas, over the one door, is the real one; h is nil
// when the checks read through a fake connection.
type Schemas interface {
	Live(ctx context.Context, h *factory.Handle) (*migrate.Schema, error)
	Expected(ctx context.Context, h *factory.Handle, version int64) (*migrate.Schema, error)
}

// doorSchemas is Schemas over the one door (core/storage/factory).
type doorSchemas struct{}

func (doorSchemas) Live(ctx context.Context, h *factory.Handle) (*migrate.Schema, error) {
	if h == nil {
		return nil, errNoDoor
	}
	return factory.LiveSchema(ctx, h)
}

func (doorSchemas) Expected(ctx context.Context, h *factory.Handle, version int64) (*migrate.Schema, error) {
	if h == nil {
		return nil, errNoDoor
	}
	return factory.ExpectedSchema(ctx, h, version)
}

// schemas is the Schemas the checks were given, or the door's.
func (s *Set) schemas() Schemas {
	if s.in.Schemas != nil {
		return s.in.Schemas
	}
	return doorSchemas{}
}

// handleOf is the door's handle under a connection (nil under a fake).
func handleOf(c any) *factory.Handle {
	if hc, ok := c.(handleConn); ok {
		return hc.h
	}
	return nil
}

// driftCheck compares the live schema with the one this binary's migrations make at the
// database's version (migrations.pending only compares version numbers). It warns on drift,
// listing each difference; --fix recreates missing indexes and triggers and drops nothing.
func (s *Set) driftCheck(ms *migrationSource) doctor.Check {
	c := check(doctor.IDMigrationsDrift, func(ctx context.Context) doctor.Result {
		st, err := ms.check(ctx)
		if err != nil {
			return migrateFail(err)
		}
		switch {
		case len(st.Newer) > 0:
			return doctor.Skip("skipped: the database is newer than this binary, which does not know its schema (see migrations.newer)")
		case st.Current == 0:
			return doctor.Skip("skipped: no migrations applied yet, so there is no schema to compare")
		}
		conn, err := ms.open(ctx)
		if err != nil {
			return doctor.Fail("cannot read the database", config.Redact(err.Error()), doctor.Fix{})
		}
		h := handleOf(conn)
		sc := s.schemas()
		live, err := sc.Live(ctx, h)
		if err != nil {
			return doctor.Fail("cannot read the schema", config.Redact(err.Error()), doctor.Fix{})
		}
		want, err := sc.Expected(ctx, h, st.Current)
		if errors.Is(err, factory.ErrNoScratchSchema) {
			return doctor.Skip("skipped: " + config.Redact(err.Error()))
		}
		if err != nil {
			return doctor.Fail("cannot build the schema the migrations make", config.Redact(err.Error()), doctor.Fix{})
		}
		return driftResult(st.Current, migrate.Diff(live, want))
	})
	c.Repair = s.driftRepair()
	return c
}

// driftResult is migrations.drift's verdict on the differences ds found at version.
func driftResult(version int64, ds []migrate.Drift) doctor.Result {
	if len(ds) == 0 {
		return doctor.Pass(fmt.Sprintf("the schema is the one the migrations make at version %d", version))
	}
	counts := map[migrate.DriftKind]int{}
	var lines []string
	fixable := 0
	for _, d := range ds {
		counts[d.Kind]++
		line := string(d.Kind) + " " + d.Object
		switch {
		case d.Kind == migrate.DriftExtra:
			line += ": " + oneLine(d.Got) + " (extra, left in place)"
		case d.Recreates():
			fixable++
			line += ": " + oneLine(d.Fix) + " (--fix recreates it)"
		case d.Fix != "":
			line += ": not the migrations' definition (left in place; compozy migrate diff shows both and the SQL that replaces it)"
		default:
			var wantGot []string
			if d.Want != "" {
				wantGot = append(wantGot, "want "+oneLine(d.Want))
			}
			if d.Got != "" {
				wantGot = append(wantGot, "got "+oneLine(d.Got))
			}
			if len(wantGot) > 0 {
				line += ": " + strings.Join(wantGot, "; ")
			}
			line += " (no statement fixes it: restore a backup, or migrate down past the migration that makes it and up again)"
		}
		lines = append(lines, line)
	}
	var parts []string
	for _, k := range []migrate.DriftKind{migrate.DriftMissing, migrate.DriftDifferent, migrate.DriftExtra} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	n := "1 difference"
	if len(ds) != 1 {
		n = fmt.Sprintf("%d differences", len(ds))
	}
	summary := fmt.Sprintf("%s from the schema the migrations make at version %d (%s)", n, version, strings.Join(parts, ", "))
	fix := doctor.Cmds("see every difference with its SQL; extra objects are never dropped", "compozy migrate diff")
	if fixable > 0 {
		fix = doctor.Cmds("recreate the missing indexes and triggers (nothing is dropped), and see every difference with its SQL",
			"compozy doctor --fix --only "+doctor.IDMigrationsDrift, "compozy migrate diff")
	}
	r := doctor.Warn(summary, strings.Join(lines, "\n"), fix)
	r.Fixable = fixable > 0
	return r
}

// oneLine puts a definition on one line (a trigger's body spans several).
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// recreations are the statements --fix runs for ds: the CREATE INDEX and CREATE TRIGGER of
// missing indexes and triggers, and nothing else (no DROP, ever).
func recreations(ds []migrate.Drift) []string {
	var out []string
	for _, d := range ds {
		if d.Recreates() {
			out = append(out, d.Fix)
		}
	}
	return out
}

// driftRepair recreates the missing indexes and triggers (--fix), through the one door, read-
// write: it compares again on the handle it writes with, and runs only the statements of
// recreations. A SQLite file that holds rows is backed up beside itself first, as migrate up
// does.
func (s *Set) driftRepair() *doctor.Repair {
	db := s.db
	return &doctor.Repair{
		Plan: func(doctor.Result) string {
			return "recreate the missing indexes and triggers of " + factory.Target(db) + " (CREATE INDEX, CREATE TRIGGER; nothing is dropped)"
		},
		Apply: func(ctx context.Context, _ doctor.Result) error {
			h, err := s.in.Door.Open(ctx, db, factory.ReadWrite)
			if err != nil {
				return fmt.Errorf("open the database: %w", err)
			}
			defer h.Close()
			st, err := h.Migrator.Check(ctx)
			if err != nil {
				return err
			}
			if len(st.Newer) > 0 || st.Current == 0 {
				return errors.New("recreate missing indexes and triggers: the database has no schema this binary knows")
			}
			sc := s.schemas()
			live, err := sc.Live(ctx, h)
			if err != nil {
				return fmt.Errorf("read the schema: %w", err)
			}
			want, err := sc.Expected(ctx, h, st.Current)
			if err != nil {
				return err
			}
			stmts := recreations(migrate.Diff(live, want))
			if len(stmts) == 0 {
				return nil
			}
			if err := backupBeforeSchemaChange(ctx, h, st.Current); err != nil {
				return err
			}
			for _, q := range stmts {
				if _, err := h.SQL.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("recreate: %s: %w", firstLine(q), err)
				}
			}
			return nil
		},
	}
}

// keepBackups is how many pre-migrate backups of a database are kept (as migrate up keeps).
const keepBackups = 3

// backupBeforeSchemaChange backs up a SQLite file that holds rows before its schema changes.
func backupBeforeSchemaChange(ctx context.Context, h *factory.Handle, version int64) error {
	if h.Dialect != config.DriverSQLite || h.Path == config.MemoryPath {
		return nil
	}
	counts, err := h.Migrator.RowCounts(ctx)
	if err != nil {
		return err
	}
	var rows int64
	for _, n := range counts {
		rows += n
	}
	if rows == 0 {
		return nil
	}
	if _, _, err := backup.BeforeMigration(ctx, h, version, time.Now(), keepBackups); err != nil {
		return fmt.Errorf("back up the database before changing its schema: %w", err)
	}
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
