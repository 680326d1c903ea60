package checks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/shellquote"
)

// migrationSource gives the migration checks the read-only connection and its migration state,
// read once per run.
type migrationSource struct {
	open func(ctx context.Context) (MigrationConn, error)

	mu     sync.Mutex
	done   bool
	result *migrate.CheckResult
	err    error
}

func (m *migrationSource) check(ctx context.Context) (*migrate.CheckResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return m.result, m.err
	}
	c, err := m.open(ctx)
	if err == nil {
		m.result, err = c.Check(ctx)
	}
	if ctx.Err() != nil {
		return nil, err // not cached: another check may have more time
	}
	m.done, m.err = true, err
	return m.result, err
}

// sqlTables probes tables over database/sql.
type sqlTables struct {
	db      *sql.DB
	dialect string
}

// MissingTables returns the tables of names that the database does not have.
func (t sqlTables) MissingTables(ctx context.Context, names []string) ([]string, error) {
	var missing []string
	for _, n := range names {
		var ok bool
		var err error
		if t.dialect == config.DriverSQLite {
			var c int
			err = t.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", n).Scan(&c)
			ok = c > 0
		} else {
			err = t.db.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL", n).Scan(&ok)
		}
		if err != nil {
			return nil, fmt.Errorf("look for table %s: %w", n, err)
		}
		if !ok {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

// migrationChecks returns the migrations group, which reads the database through ms.
func (s *Set) migrationChecks(ms *migrationSource) []doctor.Check {
	db := s.db
	tables := check(doctor.IDMigrationsTable, func(ctx context.Context) doctor.Result {
		c, err := ms.open(ctx)
		if err != nil {
			return doctor.Fail("cannot read the database", config.Redact(err.Error()), doctor.Fix{})
		}
		missing, err := c.MissingTables(ctx, doctor.CompozyTables())
		if err != nil {
			return doctor.Fail("cannot list tables", config.Redact(err.Error()), doctor.Fix{})
		}
		if len(missing) == 0 {
			return doctor.Pass("workflow_states, task_states, users and api_keys exist")
		}
		msg := "no such table: " + missing[0]
		if db.Driver == config.DriverPostgres {
			msg = fmt.Sprintf("relation %q does not exist", missing[0])
		}
		r := doctor.Fail(msg, "missing: "+strings.Join(missing, ", "),
			doctor.Cmds("apply the migrations (or check that the config points at the right database)", "compozy migrate up"))
		r.Fixable = true
		return s.throughPooler(ctx, r, "apply the migrations (or check that the config points at the right database)")
	})
	tables.Repair = s.migrateRepair()

	pending := check(doctor.IDMigrationsPending, func(ctx context.Context) doctor.Result {
		c, err := ms.check(ctx)
		if err != nil {
			return migrateFail(err)
		}
		applied := c.Current
		if len(c.Pending) == 0 {
			return doctor.Pass(fmt.Sprintf("up to date at version %d", applied))
		}
		var names []string
		for _, p := range c.Pending {
			names = append(names, p.File)
		}
		summary := fmt.Sprintf("%d pending (database at version %d, latest %d)", len(c.Pending), c.Current, c.Latest)
		fix := doctor.Cmds("apply them", "compozy migrate up")
		var r doctor.Result
		switch who := pendingApplier(c, db.AutoMigrate); {
		case who.fails:
			r = doctor.Fail(summary+"; "+who.says, strings.Join(names, "\n"), fix)
		default:
			r = doctor.Warn(summary+"; "+who.says, strings.Join(names, "\n"), fix)
		}
		r.Fixable = len(c.Newer) == 0 && len(c.OutOfOrder) == 0
		if !r.Fixable {
			return r
		}
		return s.throughPooler(ctx, r, "apply them")
	})
	pending.Repair = s.migrateRepair()

	newer := check(doctor.IDMigrationsNewer, func(ctx context.Context) doctor.Result {
		c, err := ms.check(ctx)
		if err != nil {
			return migrateFail(err)
		}
		switch {
		case len(c.Newer) > 0:
			return doctor.Fail(fmt.Sprintf("the database is at version %d, newer than the latest this binary knows (%d)", c.Current, c.Latest),
				"versions not known to this binary: "+joinInts(c.Unknown),
				doctor.Fix{Text: "upgrade compozy to the release that migrated this database; do not run migrate down from this older binary"})
		case len(c.Unknown) > 0:
			return doctor.Fail("the database holds versions this binary does not know: "+joinInts(c.Unknown), "",
				doctor.Fix{Text: "a different Compozy build migrated this database; use that build"})
		}
		return doctor.Pass(fmt.Sprintf("every applied version is known (latest %d)", c.Latest))
	})
	dirty := check(doctor.IDMigrationsDirty, func(ctx context.Context) doctor.Result {
		c, err := ms.check(ctx)
		if err != nil {
			return migrateFail(err)
		}
		if len(c.Problems) > 0 {
			return doctor.Fail(c.Problems[0], strings.Join(c.Problems, "\n"), doctor.Fix{Text: "follow the steps above, then run 'compozy migrate up'"})
		}
		if len(c.OutOfOrder) > 0 {
			var vs []int64
			for _, o := range c.OutOfOrder {
				vs = append(vs, o.Version)
			}
			return doctor.Fail("migrations pending below the current version: "+joinInts(vs), "goose applies migrations in order only",
				doctor.Fix{Text: "this database was migrated by a build with a different migration set; use that build, or revert to below these versions and migrate up again"})
		}
		return doctor.Pass("no failed, partial or out-of-order migration")
	})
	return []doctor.Check{tables, pending, newer, dirty}
}

// throughPooler turns r, whose fix is compozy migrate up, into the fix through the server's
// direct URL when migrate up refuses to run through the connection (a transaction pooler):
// --fix, which runs migrate up through it, does not apply it then, and says why.
func (s *Set) throughPooler(ctx context.Context, r doctor.Result, what string) doctor.Result {
	why, fix, refused := s.migrateRefused(ctx, what)
	if !refused {
		return r
	}
	r.Fix, r.Fixable = fix, false
	r.NotFixable = why
	return r
}

func migrateFail(err error) doctor.Result {
	msg := config.Redact(err.Error())
	if factory.IsBusy(err) { // SQLITE_BUSY or SQLITE_LOCKED, by its code
		return doctor.Warn("the database is locked by another process", msg, doctor.Fix{Text: "see sqlite.lock"})
	}
	return doctor.Fail("cannot read the migration state", msg, doctor.Fix{})
}

func joinInts(vs []int64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, ", ")
}

// errRollback ends the round-trip transaction.
var errRollback = errors.New("doctor round trip: roll back")

// copyIncompleteCheck fails when the database carries the mark of a `compozy db copy` into it
// that did not finish: its tables hold part of the source's rows.
func (s *Set) copyIncompleteCheck(ms *migrationSource) doctor.Check {
	return check(doctor.IDStorageCopyIncomplete, func(ctx context.Context) doctor.Result {
		c, err := ms.open(ctx)
		if err != nil {
			return doctor.Skip("skipped: cannot read the database")
		}
		mark, err := c.CopyMark(ctx)
		if err != nil {
			return doctor.Fail("cannot look for the mark of an unfinished copy", config.Redact(err.Error()), doctor.Fix{})
		}
		if !mark.Marked {
			return doctor.Pass("no unfinished compozy db copy")
		}
		src, started := mark.Source, mark.Started
		from, fromPG := copyArgFromMark(src)
		to, toPG := c.CopyTarget()
		text := "copy again, replacing what the unfinished copy wrote"
		if from == "SOURCE" {
			text += "; give the source as before (a SQLite path, a config file or a PostgreSQL URL)"
		}
		if fromPG || toPG {
			text += "; the command holds no password: export PGPASSWORD first (one password for both URLs; where they differ, give a side as a config file with a ${VAR} reference)"
		}
		r := doctor.Fail(fmt.Sprintf("a compozy db copy into this database did not finish (from %s, started %s): its tables hold part of the source's rows", src, started),
			"table "+dbcopyMarker+" marks the database until the copy is verified",
			doctor.Cmds(text, "compozy db copy --from "+from+" --to "+to+" --force"))
		return r
	})
}

// copyArgForTarget is the database h as db copy's --to: the real SQLite file, or a PostgreSQL
// URL with every setting but the password (and whether it is one).
func copyArgForTarget(h *factory.Handle) (string, bool) {
	if h.Dialect == config.DriverSQLite {
		return shellquote.Quote(h.Path), false
	}
	cs, err := factory.PostgresConnSettings(h.Config())
	if err != nil {
		return "TARGET", true
	}
	return shellquote.Quote(cs.URL()), true
}

// copyArgFromMark is the source an unfinished copy's mark records, as db copy's --from: a
// SQLite path ("sqlite /real/path"), or a PostgreSQL URL without its password (marks of
// earlier releases hold the printable form: user:[redacted]@ and fallback=HOST:PORT
// parameters, turned back into a URL libpq reads); "SOURCE" when it records neither.
func copyArgFromMark(src string) (string, bool) {
	if p, ok := strings.CutPrefix(src, "sqlite "); ok && strings.HasPrefix(p, "/") {
		return shellquote.Quote(p), false
	}
	rest, ok := strings.CutPrefix(src, "postgres://")
	if !ok {
		if rest, ok = strings.CutPrefix(src, "postgresql://"); !ok {
			return "SOURCE", false
		}
	}
	user := ""
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		u, _, _ := strings.Cut(rest[:i], ":")
		user, rest = u+"@", rest[i+1:]
	}
	head, query, _ := strings.Cut(rest, "?")
	netloc, path, _ := strings.Cut(head, "/")
	var params []string
	for _, p := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(p, "=")
		switch {
		case p == "":
		case k == "fallback":
			if hp, err := url.QueryUnescape(v); err == nil && netloc != "" {
				netloc += "," + hp
			}
		default:
			params = append(params, p)
		}
	}
	u := "postgres://" + user + netloc + "/" + path
	if len(params) > 0 {
		u += "?" + strings.Join(params, "&")
	}
	return shellquote.Quote(u), true
}

// dbcopyMarker is dbcopy.MarkerTable (the doctor reads it with SQL; dbcopy is not imported for a name).
const dbcopyMarker = "compozy_db_copy_incomplete"

// copyMark reads the unfinished-copy mark, if any.
func copyMark(ctx context.Context, h *factory.Handle) (src, started string, marked bool, err error) {
	q := "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '" + dbcopyMarker + "'"
	if h.Dialect == config.DriverPostgres {
		q = "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = '" + dbcopyMarker + "'"
	}
	var n int
	if err := h.SQL.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return "", "", false, err
	}
	if n == 0 {
		return "", "", false, nil
	}
	if err := h.SQL.QueryRowContext(ctx, "SELECT source, started_at FROM "+dbcopyMarker+" ORDER BY started_at DESC LIMIT 1").Scan(&src, &started); err != nil {
		return "an unknown source", "at an unknown time", true, nil
	}
	return src, started, true, nil
}

// applier is who will apply pending migrations, in one clause, and whether Compozy cannot start
// (or run) until someone does.
type applier struct {
	says  string
	fails bool
}

// pendingApplier tells the truth about Compozy's auto_migrate: it applies only Compozy's own
// migration set, which on SQLite stops before the versions kept for parity with PostgreSQL (they
// change no schema), and whose pgvector version fails where the server refuses the extension.
func pendingApplier(c *migrate.CheckResult, autoMigrate bool) applier {
	var parity int
	for _, p := range c.Pending {
		if p.NoSchemaChange {
			parity++
		}
	}
	pgvectorPending := slices.ContainsFunc(c.Pending, func(m migrate.Migration) bool { return m.Version == migrate.VersionPgvector })
	switch {
	case !autoMigrate:
		return applier{says: "auto_migrate is off, so nothing will apply them", fails: true}
	case c.Pgvector != nil && pgvectorPending && c.Pgvector.Refusal() != "":
		return applier{says: fmt.Sprintf("auto_migrate stops at %d when Compozy starts (Compozy's own migration runs CREATE EXTENSION vector, and %s); compozy migrate up applies them, skipping the extension",
			migrate.VersionPgvector, c.Pgvector.Refusal()), fails: true}
	case parity == len(c.Pending):
		if parity == 1 {
			return applier{says: "it is kept for parity with PostgreSQL: it changes no schema and Compozy's own SQLite migrations do not include it, so Compozy never applies it; compozy migrate up does"}
		}
		return applier{says: fmt.Sprintf("all %d are kept for parity with PostgreSQL: they change no schema and Compozy's own SQLite migrations do not include them, so Compozy never applies them; compozy migrate up does", parity)}
	case parity > 0:
		return applier{says: fmt.Sprintf("auto_migrate applies %d when Compozy starts; the other %d change no schema and only compozy migrate up applies them",
			len(c.Pending)-parity, parity)}
	}
	return applier{says: "auto_migrate applies them when Compozy starts"}
}
