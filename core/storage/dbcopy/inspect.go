package dbcopy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
)

// TableRows is the number of rows of one table.
type TableRows struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// TargetState is what a copy's target holds before the copy: what --force would replace.
type TargetState struct {
	// Target is the target, secrets redacted.
	Target string `json:"target"`
	// Dialect is config.DriverSQLite or config.DriverPostgres.
	Dialect string `json:"dialect"`
	// Exists is false for a SQLite file that does not exist yet.
	Exists bool `json:"exists"`
	// Path is the real SQLite file ("" for PostgreSQL).
	Path string `json:"path,omitempty"`
	// Rows are the tables that hold rows, in the order Compozy names them (workflow_states,
	// task_states, users, api_keys).
	Rows []TableRows `json:"rows,omitempty"`
	// Unfinished is set when the target carries the mark of a copy that did not finish; Mark
	// describes that copy.
	Unfinished bool   `json:"unfinished,omitempty"`
	Mark       string `json:"mark,omitempty"`
	// Foreign are the tables of a SQLite target that are not Compozy's (another program's
	// database): a copy never writes into such a file (see ForeignError).
	Foreign []string `json:"foreign,omitempty"`
}

// ForeignError refuses a copy into a SQLite file that holds tables Compozy does not know: the
// migrations would add Compozy's tables beside another program's data, or fail part-way on a
// table of the same name, even with --force.
type ForeignError struct {
	Target string
	Tables []string
}

func (e *ForeignError) Error() string {
	return fmt.Sprintf("target %s is not a Compozy database: it holds tables Compozy does not know (%s); db copy writes only into a new file or a Compozy database, with or without --force: choose another --to",
		e.Target, strings.Join(e.Tables, ", "))
}

// Total is the number of rows the target holds in Compozy's tables.
func (s *TargetState) Total() int64 {
	var n int64
	for _, r := range s.Rows {
		n += r.Rows
	}
	return n
}

// Holds reports whether a copy needs --force: the target holds rows or an unfinished copy.
func (s *TargetState) Holds() bool { return len(s.Rows) > 0 || s.Unfinished }

// Summary lists the rows: "workflow_states: 5004 rows, users: 1 row".
func (s *TargetState) Summary() string {
	parts := make([]string, len(s.Rows))
	for i, r := range s.Rows {
		parts[i] = fmt.Sprintf("%s: %s", r.Table, plural(r.Rows, "row"))
	}
	return strings.Join(parts, ", ")
}

// NotEmpty is the refusal of a copy without --force into this target.
func (s *TargetState) NotEmpty() *NotEmptyError {
	ne := &NotEmptyError{Target: s.Target, Rows: map[string]int64{}, Unfinished: s.Unfinished, Mark: s.Mark}
	for _, r := range s.Rows {
		ne.Rows[r.Table] = r.Rows
	}
	return ne
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// summaryOrder is the order tables are listed in: the data first.
var summaryOrder = []string{"workflow_states", "task_states", "users", "api_keys"}

// Inspect counts the rows db holds in Compozy's tables and looks for the mark of an unfinished
// copy, through the read-only door: nothing is changed or created, so a caller can show what a
// copy with --force would replace before anyone agrees to it. A SQLite file that does not exist
// yet, and tables that do not exist yet, hold nothing.
func Inspect(ctx context.Context, db config.Database) (*TargetState, error) {
	st := &TargetState{Target: factory.Target(db), Dialect: db.Driver}
	if db.Driver == config.DriverSQLite && (db.Path == "" || db.Path == config.MemoryPath) {
		return nil, fmt.Errorf("target: SQLite path %q is not a database file", db.Path)
	}
	h, err := factory.Open(ctx, db, factory.ReadOnly)
	if db.Driver == config.DriverSQLite && errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look at target %s: %w", st.Target, err)
	}
	defer h.Close()
	e := &endpoint{dialect: h.Dialect, target: h.Target, h: h, pool: h.Pool}
	if e.pool == nil {
		e.db = h.SQL
	}
	st.Exists, st.Target, st.Path = true, h.Target, h.Path
	for _, t := range summaryOrder {
		ok, err := e.tableVisible(ctx, t)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		n, err := e.count(ctx, t)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			st.Rows = append(st.Rows, TableRows{Table: t, Rows: n})
		}
	}
	if st.Unfinished, st.Mark, err = e.mark(ctx); err != nil {
		return nil, err
	}
	if h.Dialect == config.DriverSQLite {
		if st.Foreign, err = e.foreignTables(ctx); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// foreignTables lists the tables of a SQLite target that are neither Compozy's, goose's, the
// copy's mark nor SQLite's own.
func (e *endpoint) foreignTables(ctx context.Context) ([]string, error) {
	known := []string{migrate.VersionTable, MarkerTable}
	for _, t := range tables {
		known = append(known, t.name)
	}
	rows, err := e.db.QueryContext(ctx, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list the tables of %s: %w", e.target, err)
	}
	defer rows.Close()
	var foreign []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list the tables of %s: %w", e.target, err)
		}
		if !slices.Contains(known, name) {
			foreign = append(foreign, name)
		}
	}
	return foreign, rows.Err()
}

// mark reads the mark of an unfinished copy: whether there is one, and which copy it was.
func (e *endpoint) mark(ctx context.Context) (bool, string, error) {
	marked, err := e.hasTable(ctx, MarkerTable)
	if err != nil || !marked {
		return false, "", err
	}
	var src, at string
	q := "SELECT source, started_at FROM " + MarkerTable + " ORDER BY started_at DESC LIMIT 1"
	var scanErr error
	if e.pool != nil {
		scanErr = e.pool.QueryRow(ctx, q).Scan(&src, &at)
	} else {
		scanErr = e.db.QueryRowContext(ctx, q).Scan(&src, &at)
	}
	if scanErr != nil {
		return true, "an earlier copy that did not finish", nil
	}
	return true, "copy from " + src + " started " + at, nil
}

// tableVisible reports whether the unqualified name t leads to a table, as the copy's
// statements (count, TRUNCATE, DELETE) find it: in PostgreSQL through the search_path.
func (e *endpoint) tableVisible(ctx context.Context, t string) (bool, error) {
	if e.dialect != config.DriverPostgres {
		return e.hasTable(ctx, t)
	}
	n, err := e.queryInt64(ctx, "SELECT CASE WHEN to_regclass("+literal(t)+") IS NULL THEN 0 ELSE 1 END")
	if err != nil {
		return false, fmt.Errorf("look for table %s in %s: %w", t, e.target, err)
	}
	return n > 0, nil
}

// SubMicrosecond counts the timestamps of src that have more than microsecond precision
// (nanoseconds that SQLite keeps as text): a copy into PostgreSQL, whose timestamptz keeps
// microseconds, rounds them down (the verification compares microseconds, so it passes). It is
// 0 for a PostgreSQL source. It reads through the read-only door.
func SubMicrosecond(ctx context.Context, src config.Database) (int64, error) {
	if src.Driver != config.DriverSQLite {
		return 0, nil
	}
	s, err := openSource(ctx, src)
	if err != nil {
		return 0, err
	}
	defer s.close()
	return subMicrosecond(ctx, s)
}

func subMicrosecond(ctx context.Context, s *endpoint) (int64, error) {
	if s.dialect != config.DriverSQLite {
		return 0, nil
	}
	var n int64
	for _, t := range tables {
		var cols []string
		for _, c := range t.cols {
			if c.kind == kTime {
				cols = append(cols, c.name)
			}
		}
		rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+t.name)
		if err != nil {
			return 0, fmt.Errorf("read the timestamps of %s in %s: %w", t.name, s.target, err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return 0, fmt.Errorf("read the timestamps of %s in %s: %w", t.name, s.target, err)
			}
			for _, v := range vals {
				tv, err := fromSQLite(kTime, v)
				if tm, ok := tv.(time.Time); ok && err == nil && tm.Nanosecond()%1000 != 0 {
					n++
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("read the timestamps of %s in %s: %w", t.name, s.target, err)
		}
	}
	return n, nil
}
