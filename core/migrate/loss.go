package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"compozy.dev/setup/migrations"
)

// Loss is data that reverting a migration drops: the rows of a table, or the values of a
// column.
type Loss struct {
	// Migration is the migration whose down step drops it.
	Migration Migration `json:"migration"`
	Table     string    `json:"table"`
	// Column is set when only a column is dropped.
	Column string `json:"column,omitempty"`
	// Rows is how many rows the table holds (for a column: how many rows have a value in it).
	Rows int64 `json:"rows"`
}

// String is "api_keys: 2 rows" or "api_keys.fingerprint: 2 values".
func (l Loss) String() string {
	unit := "row"
	name := l.Table
	if l.Column != "" {
		unit, name = "value", l.Table+"."+l.Column
	}
	if l.Rows != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%s: %d %s", name, l.Rows, unit)
}

var (
	sqlComment = regexp.MustCompile(`(?m)--.*$`)
	dropTable  = regexp.MustCompile(`(?is)\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([\w."]+)`)
	dropColumn = regexp.MustCompile(`(?is)\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?([\w."]+)\s+DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?([\w"]+)`)
)

// drops lists the tables and columns the down step of a migration file drops, in order.
func drops(fsys fs.FS, file string) ([]Loss, error) {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	_, down, ok := strings.Cut(string(b), "-- +goose Down")
	if !ok {
		return nil, nil
	}
	down = sqlComment.ReplaceAllString(down, "")
	var out []Loss
	for _, m := range dropColumn.FindAllStringSubmatch(down, -1) {
		out = append(out, Loss{Table: unquote(m[1]), Column: unquote(m[2])})
	}
	for _, m := range dropTable.FindAllStringSubmatch(down, -1) {
		out = append(out, Loss{Table: unquote(m[1])})
	}
	return out, nil
}

func unquote(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return strings.Trim(name, `"`)
}

// Losses returns the data that reverting plan (as PlanDown returns it) would drop: every table
// and column its down steps drop that holds rows now, with the number of rows. Tables and columns
// that do not exist or are empty are left out; a column is left out when its table is dropped too.
func (m *Migrator) Losses(ctx context.Context, plan []Migration) ([]Loss, error) {
	var all []Loss
	droppedTables := map[string]bool{}
	for _, p := range plan {
		ds, err := drops(m.fsys, p.File)
		if err != nil {
			return nil, fmt.Errorf("migrate plan: %w", err)
		}
		for _, d := range ds {
			d.Migration = p
			all = append(all, d)
			if d.Column == "" {
				droppedTables[d.Table] = true
			}
		}
	}
	var out []Loss
	seen := map[string]bool{}
	for _, l := range all {
		key := l.Table + "." + l.Column
		if seen[key] || (l.Column != "" && droppedTables[l.Table]) {
			continue
		}
		seen[key] = true
		ok, err := m.hasColumn(ctx, l.Table, l.Column)
		if err != nil {
			return nil, fmt.Errorf("migrate plan: %w", err)
		}
		if !ok {
			continue
		}
		q := "SELECT count(*) FROM " + quoteIdent(l.Table)
		if l.Column != "" {
			q += " WHERE " + quoteIdent(l.Column) + " IS NOT NULL"
		}
		if err := m.db.QueryRowContext(ctx, q).Scan(&l.Rows); err != nil {
			return nil, fmt.Errorf("migrate plan: count the rows of %s: %w", l.Table, err)
		}
		if l.Rows > 0 {
			out = append(out, l)
		}
	}
	return out, nil
}

// hasColumn reports whether the table (and, when column is set, the column) exists.
func (m *Migrator) hasColumn(ctx context.Context, table, column string) (bool, error) {
	var n int
	var err error
	switch {
	case m.dialect == migrations.SQLite && column == "":
		err = m.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&n)
	case m.dialect == migrations.SQLite:
		err = m.db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n)
	case column == "":
		err = m.db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`, table).Scan(&n)
	default:
		err = m.db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`, table, column).Scan(&n)
	}
	if err != nil {
		return false, fmt.Errorf("look for %s: %w", table, err)
	}
	return n > 0, nil
}

// quoteIdent quotes an identifier the same way in both dialects.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// RowCounts counts the rows of Compozy's tables that exist (a table the database does not have
// is absent): what a database holds, for the questions "does it hold data?" and "how much?".
func (m *Migrator) RowCounts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range []string{"workflow_states", "task_states", "users", "api_keys"} {
		ok, err := m.hasColumn(ctx, t, "")
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		var n int64
		if err := m.db.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteIdent(t)).Scan(&n); err != nil {
			return nil, fmt.Errorf("count the rows of %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}
