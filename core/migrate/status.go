package migrate

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"compozy.dev/setup/migrations"
)

// applied is one version recorded in the database.
type applied struct {
	version int64
	at      time.Time
	// times is how many rows record the version as applied since it was last reverted: more
	// than one means two migrators applied it at once (the table has a duplicate).
	times int
}

// readApplied returns the versions recorded in the database (without goose's version 0), in
// version order, and whether the version table exists. It only reads.
func (m *Migrator) readApplied(ctx context.Context) ([]applied, bool, error) {
	var exists bool
	var q string
	switch m.dialect {
	case migrations.SQLite:
		q = `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '` + VersionTable + `')`
	default:
		q = `SELECT to_regclass('` + VersionTable + `') IS NOT NULL`
	}
	if err := m.db.QueryRowContext(ctx, q).Scan(&exists); err != nil {
		return nil, false, fmt.Errorf("read version table: %w", err)
	}
	if !exists {
		return nil, false, nil
	}
	// goose appends a row per up and deletes it on down; goose before v3 appended is_applied =
	// false rows on down instead. The last row of a version decides.
	// goose's PostgreSQL tstamp is a timestamp without time zone, written with now() in the
	// session's time zone; read it back as an instant in the same zone.
	ts := "tstamp"
	if m.dialect == migrations.Postgres {
		ts = "tstamp AT TIME ZONE current_setting('TimeZone')"
	}
	rows, err := m.db.QueryContext(ctx, `SELECT version_id, is_applied, `+ts+` FROM `+VersionTable+` ORDER BY id`)
	if err != nil {
		return nil, true, fmt.Errorf("read version table: %w", err)
	}
	defer rows.Close()
	last := map[int64]applied{}
	for rows.Next() {
		var (
			v  int64
			ok bool
			ts any
		)
		if err := rows.Scan(&v, &ok, &ts); err != nil {
			return nil, true, fmt.Errorf("read version table: %w", err)
		}
		if v == 0 {
			continue
		}
		if !ok {
			delete(last, v)
			continue
		}
		last[v] = applied{version: v, at: toTime(ts), times: last[v].times + 1}
	}
	if err := rows.Err(); err != nil {
		return nil, true, fmt.Errorf("read version table: %w", err)
	}
	out := make([]applied, 0, len(last))
	for _, a := range last {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b applied) int { return cmp.Compare(a.version, b.version) })
	return out, true, nil
}

// toTime converts a scanned timestamp (time.Time from pgx or modernc, or text) to a time.
func toTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case string:
		return parseTime(t)
	case []byte:
		return parseTime(string(t))
	}
	return time.Time{}
}

func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Status lists every known version, applied or pending, and then every version the database
// holds that this binary does not know, all in version order.
func (m *Migrator) Status(ctx context.Context) ([]Status, error) {
	app, _, err := m.readApplied(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	at := make(map[int64]time.Time, len(app))
	for _, a := range app {
		at[a.version] = a.at
	}
	out := make([]Status, 0, len(m.known)+len(app))
	for _, k := range m.known {
		s := Status{Migration: k, State: StatePending}
		if t, ok := at[k.Version]; ok {
			s.State, s.AppliedAt = StateApplied, t
			delete(at, k.Version)
		}
		out = append(out, s)
	}
	for _, a := range app {
		if t, ok := at[a.version]; ok {
			out = append(out, Status{Migration: Migration{Version: a.version}, State: StateUnknown, AppliedAt: t})
		}
	}
	slices.SortStableFunc(out, func(a, b Status) int { return cmp.Compare(a.Version, b.Version) })
	if m.dialect == migrations.Postgres {
		i := slices.IndexFunc(out, func(s Status) bool { return s.Version == VersionPgvector && s.State == StateApplied })
		if i >= 0 {
			p, err := m.pgvector(ctx)
			if err != nil {
				return nil, fmt.Errorf("migrate status: %w", err)
			}
			if why := p.Refusal(); why != "" {
				out[i].Note = "skipped creating the extension vector: " + why
			} else if !p.Installed {
				out[i].Note = "skipped creating the extension vector (this role may create it now: CREATE EXTENSION vector, when a knowledge base needs it)"
			}
		}
	}
	return out, nil
}

// Version returns the database's current version and the latest this binary knows.
func (m *Migrator) Version(ctx context.Context) (Versions, error) {
	app, _, err := m.readApplied(ctx)
	if err != nil {
		return Versions{}, fmt.Errorf("migrate version: %w", err)
	}
	v := Versions{Latest: m.Latest()}
	if len(app) > 0 {
		v.Current = app[len(app)-1].version
	}
	return v, nil
}

// Check reports pending migrations, versions this binary does not know (and which of them are
// newer than it), out-of-order pending migrations, and any dirty state it can detect.
func (m *Migrator) Check(ctx context.Context) (*CheckResult, error) {
	st, err := m.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate check: %w", err)
	}
	c := &CheckResult{Versions: Versions{Latest: m.Latest()}, Pending: []Migration{}, Unknown: []int64{},
		Newer: []int64{}, OutOfOrder: []Migration{}, Problems: []string{}}
	for _, s := range st {
		if s.State != StatePending && s.Version > c.Current {
			c.Current = s.Version
		}
	}
	for _, s := range st {
		switch s.State {
		case StatePending:
			c.Pending = append(c.Pending, s.Migration)
			if s.Version < c.Current {
				c.OutOfOrder = append(c.OutOfOrder, s.Migration)
			}
		case StateUnknown:
			c.Unknown = append(c.Unknown, s.Version)
			if s.Version > c.Latest {
				c.Newer = append(c.Newer, s.Version)
			}
		}
	}
	app, _, err := m.readApplied(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate check: %w", err)
	}
	for _, a := range app {
		if a.times > 1 {
			c.Problems = append(c.Problems, fmt.Sprintf("version %d is recorded %d times in %s (two migrators applied it at once); keep one row: DELETE FROM %s WHERE version_id = %d AND id > (SELECT min(id) FROM %s WHERE version_id = %d);",
				a.version, a.times, VersionTable, VersionTable, a.version, VersionTable, a.version))
		}
	}
	if m.dialect == migrations.Postgres {
		p, err := m.invalidIndexes(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate check: %w", err)
		}
		c.Problems = append(c.Problems, p...)
		pv, err := m.pgvector(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate check: %w", err)
		}
		c.Pgvector = &pv
	}
	return c, nil
}

// invalidIndexes finds indexes on Compozy's tables left INVALID by an interrupted CREATE INDEX
// CONCURRENTLY. Indexes on other tables of the schema are the user's own business.
func (m *Migrator) invalidIndexes(ctx context.Context) ([]string, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT c.relname
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT i.indisvalid AND n.nspname = current_schema()
		  AND t.relname IN ('workflow_states', 'task_states', 'users', 'api_keys')
		ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("look for invalid indexes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("look for invalid indexes: %w", err)
		}
		out = append(out, fmt.Sprintf("index %s is INVALID (an interrupted CREATE INDEX CONCURRENTLY); run `DROP INDEX CONCURRENTLY %s;` and `compozy migrate up` again", name, name))
	}
	return out, rows.Err()
}

// Verdict is the state of a database in one word, as `migrate status --check` reports it.
type Verdict string

// The verdicts.
const (
	VerdictUpToDate Verdict = "up_to_date"
	// VerdictPending: known migrations are not applied (or the SQLite file does not exist yet).
	VerdictPending Verdict = "pending"
	// VerdictUnknownVersion: the database holds versions this binary does not know.
	VerdictUnknownVersion Verdict = "unknown_version"
	// VerdictProblem: a dirty or partial state, such as an invalid index.
	VerdictProblem Verdict = "problem"
)

// Verdict says where the database stands, with a one-line message for people. missing says
// that the database is a SQLite file at path that does not exist yet (c then lists every known
// migration as pending).
func (c *CheckResult) Verdict(missing bool, path string) (Verdict, string) {
	return c.VerdictAdvising(missing, path, "run 'compozy migrate up'")
}

// VerdictAdvising is Verdict with upAdvice ("run 'compozy migrate up'") as what to do about
// pending migrations: through a transaction pooler, PoolerError.UpAdvice.
func (c *CheckResult) VerdictAdvising(missing bool, path, upAdvice string) (Verdict, string) {
	switch {
	case len(c.Newer) > 0:
		return VerdictUnknownVersion, fmt.Sprintf("The database is at version %d, newer than the latest this binary knows (%d): upgrade compozy.",
			c.Current, c.Latest)
	case len(c.Unknown) > 0:
		return VerdictUnknownVersion, fmt.Sprintf("The database holds %s that this binary does not know (migrated by a different Compozy build).",
			versionsNamed(c.Unknown))
	case len(c.Problems) > 0:
		return VerdictProblem, "The database is in a broken state: " + c.Problems[0]
	case missing:
		return VerdictPending, fmt.Sprintf("%s does not exist yet: all %s are pending; %s.",
			path, countNamed(len(c.Pending)), upAdvice)
	case len(c.Pending) > 0:
		n := countNamed(len(c.Pending))
		return VerdictPending, fmt.Sprintf("%s pending (database at version %d, latest %d); %s.",
			strings.ToUpper(n[:1])+n[1:], c.Current, c.Latest, upAdvice)
	}
	return VerdictUpToDate, fmt.Sprintf("The database is up to date at version %d.", c.Current)
}

func countNamed(n int) string {
	if n == 1 {
		return "1 migration"
	}
	return strconv.Itoa(n) + " migrations"
}

func versionsNamed(vs []int64) string {
	if len(vs) == 1 {
		return "version " + strconv.FormatInt(vs[0], 10)
	}
	return "versions " + joinVersions(vs)
}
