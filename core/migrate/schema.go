package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"compozy.dev/setup/migrations"
)

// CompozyTables are the tables Compozy's migrations create; schema comparison looks at them and
// at what hangs off them (indexes, triggers, constraints), nothing else in the database.
var compozyTables = []string{"workflow_states", "task_states", "users", "api_keys"}

// Querier is what reads a schema: a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Schema is the part of a database's schema that Compozy's migrations make, in comparable form.
type Schema struct {
	// Tables by name.
	Tables map[string]*Table
	// Indexes on Compozy's tables by name, made by CREATE INDEX (not the ones a constraint
	// makes).
	Indexes map[string]Object
	// Triggers on Compozy's tables by name (SQLite).
	Triggers map[string]Object
	// Comments on columns, "table.column" -> text (PostgreSQL).
	Comments map[string]string
}

// Table is one table's columns and constraints.
type Table struct {
	Name    string
	Columns []Column
	// Constraints are CHECK, FOREIGN KEY, UNIQUE and PRIMARY KEY definitions, normalised,
	// sorted (names are left out: SQLite's are unnamed, PostgreSQL's may be generated).
	Constraints []string
}

// Column is one column.
type Column struct {
	Name    string
	Type    string
	NotNull bool
	Default string
}

// String is "name type [NOT NULL] [DEFAULT x]".
func (c Column) String() string {
	s := c.Name + " " + c.Type
	if c.NotNull {
		s += " NOT NULL"
	}
	if c.Default != "" {
		s += " DEFAULT " + c.Default
	}
	return s
}

// Object is an index or a trigger: its table, its definition as the database keeps it, and
// that definition normalised for comparison.
type Object struct {
	Name  string
	Table string
	// SQL is the definition as written (what recreates it).
	SQL string
	// Norm is SQL in normal form: lower case, one space, no schema qualifiers, no IF NOT
	// EXISTS, no CONCURRENTLY.
	Norm string
}

var (
	spaces     = regexp.MustCompile(`\s+`)
	aroundPunc = regexp.MustCompile(`\s*([(),=<>])\s*`)
	ifNotExist = regexp.MustCompile(`(?i)\bif not exists\s+`)
	concurrent = regexp.MustCompile(`(?i)\bconcurrently\s+`)
)

// normalize puts a definition in comparable form.
func normalize(s, schema string) string {
	s = strings.ToLower(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";")))
	s = ifNotExist.ReplaceAllString(s, "")
	s = concurrent.ReplaceAllString(s, "")
	if schema != "" {
		s = strings.ReplaceAll(s, strings.ToLower(schema)+".", "")
	}
	s = strings.ReplaceAll(s, `"`, "")
	s = spaces.ReplaceAllString(s, " ")
	s = aroundPunc.ReplaceAllString(s, "$1")
	s = strings.ReplaceAll(s, " using btree", "")
	return s
}

// ReadSchema reads the schema of Compozy's tables from db, of dialect, in schema (PostgreSQL;
// "" means the current schema). It only reads.
func ReadSchema(ctx context.Context, db Querier, dialect, schema string) (*Schema, error) {
	if dialect == migrations.Postgres {
		return readPostgres(ctx, db, schema)
	}
	return readSQLite(ctx, db)
}

func newSchema() *Schema {
	return &Schema{Tables: map[string]*Table{}, Indexes: map[string]Object{}, Triggers: map[string]Object{}, Comments: map[string]string{}}
}

func readSQLite(ctx context.Context, db Querier) (*Schema, error) {
	s := newSchema()
	rows, err := db.QueryContext(ctx, `SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_schema
		WHERE tbl_name IN ('workflow_states', 'task_states', 'users', 'api_keys') ORDER BY type, name`)
	if err != nil {
		return nil, fmt.Errorf("read the schema: %w", err)
	}
	type obj struct{ typ, name, table, sql string }
	var objs []obj
	for rows.Next() {
		var o obj
		if err := rows.Scan(&o.typ, &o.name, &o.table, &o.sql); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the schema: %w", err)
		}
		objs = append(objs, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the schema: %w", err)
	}
	for _, o := range objs {
		switch o.typ {
		case "table":
			t, err := sqliteTable(ctx, db, o.name, o.sql)
			if err != nil {
				return nil, err
			}
			s.Tables[o.name] = t
		case "index":
			if o.sql == "" {
				continue // made by a UNIQUE or PRIMARY KEY constraint: part of the table
			}
			s.Indexes[o.name] = Object{Name: o.name, Table: o.table, SQL: o.sql, Norm: normalize(o.sql, "")}
		case "trigger":
			s.Triggers[o.name] = Object{Name: o.name, Table: o.table, SQL: o.sql, Norm: normalize(o.sql, "")}
		}
	}
	return s, nil
}

func sqliteTable(ctx context.Context, db Querier, name, createSQL string) (*Table, error) {
	t := &Table{Name: name}
	rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull", COALESCE(dflt_value, ''), pk FROM pragma_table_info(?) ORDER BY cid`, name)
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", name, err)
	}
	var pk []string
	for rows.Next() {
		var c Column
		var pkPos int
		if err := rows.Scan(&c.Name, &c.Type, &c.NotNull, &c.Default, &pkPos); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the columns of %s: %w", name, err)
		}
		c.Type = strings.ToLower(c.Type)
		c.Default = normalize(c.Default, "")
		t.Columns = append(t.Columns, c)
		if pkPos > 0 {
			pk = append(pk, c.Name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", name, err)
	}
	if len(pk) > 0 {
		t.Constraints = append(t.Constraints, "primary key("+strings.Join(pk, ",")+")")
	}
	fks, err := db.QueryContext(ctx, `SELECT id, "table", "from", "to", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, name)
	if err != nil {
		return nil, fmt.Errorf("read the foreign keys of %s: %w", name, err)
	}
	type fk struct {
		from, to     []string
		table, onDel string
	}
	byID := map[int]*fk{}
	var ids []int
	for fks.Next() {
		var id int
		var ref, from, to, onDel string
		if err := fks.Scan(&id, &ref, &from, &to, &onDel); err != nil {
			fks.Close()
			return nil, fmt.Errorf("read the foreign keys of %s: %w", name, err)
		}
		f := byID[id]
		if f == nil {
			f = &fk{table: ref, onDel: onDel}
			byID[id] = f
			ids = append(ids, id)
		}
		f.from, f.to = append(f.from, from), append(f.to, to)
	}
	fks.Close()
	for _, id := range ids {
		f := byID[id]
		c := "foreign key(" + strings.Join(f.from, ",") + ") references " + f.table + "(" + strings.Join(f.to, ",") + ")"
		if f.onDel != "" && !strings.EqualFold(f.onDel, "NO ACTION") {
			c += " on delete " + strings.ToLower(f.onDel)
		}
		t.Constraints = append(t.Constraints, c)
	}
	for _, chk := range checkClauses(createSQL) {
		t.Constraints = append(t.Constraints, "check"+normalize(chk, ""))
	}
	unique, err := db.QueryContext(ctx, `SELECT name FROM pragma_index_list(?) WHERE origin = 'u' ORDER BY name`, name)
	if err != nil {
		return nil, fmt.Errorf("read the unique constraints of %s: %w", name, err)
	}
	var uniqueIdx []string
	for unique.Next() {
		var n string
		if err := unique.Scan(&n); err != nil {
			unique.Close()
			return nil, err
		}
		uniqueIdx = append(uniqueIdx, n)
	}
	unique.Close()
	for _, idx := range uniqueIdx {
		cols, err := indexColumns(ctx, db, idx)
		if err != nil {
			return nil, err
		}
		t.Constraints = append(t.Constraints, "unique("+strings.Join(cols, ",")+")")
	}
	sort.Strings(t.Constraints)
	return t, nil
}

func indexColumns(ctx context.Context, db Querier, index string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, index)
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", index, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n sql.NullString
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n.String)
	}
	return out, rows.Err()
}

// checkClauses returns the parenthesised expression of every CHECK in a CREATE TABLE statement.
func checkClauses(createSQL string) []string {
	var out []string
	low := strings.ToLower(createSQL)
	for i := 0; ; {
		j := strings.Index(low[i:], "check")
		if j < 0 {
			return out
		}
		k := i + j + len("check")
		// a word of its own: not part of an identifier such as "checked"
		if i+j > 0 && isIdent(low[i+j-1]) || k < len(low) && isIdent(low[k]) {
			i = k
			continue
		}
		for k < len(low) && (low[k] == ' ' || low[k] == '\t' || low[k] == '\n' || low[k] == '\r') {
			k++
		}
		if k >= len(low) || low[k] != '(' {
			i = k
			continue
		}
		depth, end := 0, -1
		inQuote := false
		for p := k; p < len(createSQL); p++ {
			switch ch := createSQL[p]; {
			case ch == '\'':
				inQuote = !inQuote
			case inQuote:
			case ch == '(':
				depth++
			case ch == ')':
				depth--
				if depth == 0 {
					end = p
				}
			}
			if end >= 0 {
				break
			}
		}
		if end < 0 {
			return out
		}
		out = append(out, createSQL[k:end+1])
		i = end + 1
	}
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

func readPostgres(ctx context.Context, db Querier, schema string) (*Schema, error) {
	if schema == "" {
		if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return nil, fmt.Errorf("read the schema: %w", err)
		}
	}
	s := newSchema()
	cols, err := db.QueryContext(ctx, `SELECT table_name, column_name,
		CASE WHEN data_type = 'USER-DEFINED' THEN udt_name ELSE data_type END, is_nullable = 'NO', COALESCE(column_default, '')
		FROM information_schema.columns WHERE table_schema = $1 AND table_name = ANY($2)
		ORDER BY table_name, ordinal_position`, schema, "{"+strings.Join(compozyTables, ",")+"}")
	if err != nil {
		return nil, fmt.Errorf("read the columns: %w", err)
	}
	for cols.Next() {
		var table string
		var c Column
		if err := cols.Scan(&table, &c.Name, &c.Type, &c.NotNull, &c.Default); err != nil {
			cols.Close()
			return nil, fmt.Errorf("read the columns: %w", err)
		}
		c.Default = normalize(c.Default, schema)
		t := s.Tables[table]
		if t == nil {
			t = &Table{Name: table}
			s.Tables[table] = t
		}
		t.Columns = append(t.Columns, c)
	}
	cols.Close()
	if err := cols.Err(); err != nil {
		return nil, fmt.Errorf("read the columns: %w", err)
	}
	cons, err := db.QueryContext(ctx, `SELECT t.relname, pg_get_constraintdef(c.oid)
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = $1 AND t.relname = ANY($2) AND c.contype IN ('c', 'f', 'u', 'p')`, schema, "{"+strings.Join(compozyTables, ",")+"}")
	if err != nil {
		return nil, fmt.Errorf("read the constraints: %w", err)
	}
	for cons.Next() {
		var table, def string
		if err := cons.Scan(&table, &def); err != nil {
			cons.Close()
			return nil, fmt.Errorf("read the constraints: %w", err)
		}
		if t := s.Tables[table]; t != nil {
			t.Constraints = append(t.Constraints, normalize(def, schema))
		}
	}
	cons.Close()
	for _, t := range s.Tables {
		sort.Strings(t.Constraints)
	}
	idx, err := db.QueryContext(ctx, `SELECT i.indexname, i.tablename, i.indexdef FROM pg_indexes i
		WHERE i.schemaname = $1 AND i.tablename = ANY($2)
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class ic ON ic.oid = c.conindid
		                  JOIN pg_namespace n ON n.oid = ic.relnamespace
		                  WHERE n.nspname = $1 AND ic.relname = i.indexname)`, schema, "{"+strings.Join(compozyTables, ",")+"}")
	if err != nil {
		return nil, fmt.Errorf("read the indexes: %w", err)
	}
	for idx.Next() {
		var o Object
		if err := idx.Scan(&o.Name, &o.Table, &o.SQL); err != nil {
			idx.Close()
			return nil, fmt.Errorf("read the indexes: %w", err)
		}
		o.SQL = strings.ReplaceAll(o.SQL, schema+".", "")
		o.Norm = normalize(o.SQL, schema)
		s.Indexes[o.Name] = o
	}
	idx.Close()
	trg, err := db.QueryContext(ctx, `SELECT tg.tgname, t.relname, pg_get_triggerdef(tg.oid) FROM pg_trigger tg
		JOIN pg_class t ON t.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = $1 AND t.relname = ANY($2) AND NOT tg.tgisinternal`, schema, "{"+strings.Join(compozyTables, ",")+"}")
	if err != nil {
		return nil, fmt.Errorf("read the triggers: %w", err)
	}
	for trg.Next() {
		var o Object
		if err := trg.Scan(&o.Name, &o.Table, &o.SQL); err != nil {
			trg.Close()
			return nil, fmt.Errorf("read the triggers: %w", err)
		}
		o.SQL = strings.ReplaceAll(o.SQL, schema+".", "")
		o.Norm = normalize(o.SQL, schema)
		s.Triggers[o.Name] = o
	}
	trg.Close()
	com, err := db.QueryContext(ctx, `SELECT t.relname, a.attname, d.description FROM pg_description d
		JOIN pg_class t ON t.oid = d.objoid JOIN pg_namespace n ON n.oid = t.relnamespace
		JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.objsubid
		WHERE n.nspname = $1 AND t.relname = ANY($2) AND d.objsubid > 0`, schema, "{"+strings.Join(compozyTables, ",")+"}")
	if err != nil {
		return nil, fmt.Errorf("read the comments: %w", err)
	}
	for com.Next() {
		var table, col, text string
		if err := com.Scan(&table, &col, &text); err != nil {
			com.Close()
			return nil, fmt.Errorf("read the comments: %w", err)
		}
		s.Comments[table+"."+col] = text
	}
	com.Close()
	return s, com.Err()
}

// DriftKind says how a database's schema differs from the one the migrations make.
type DriftKind string

// The kinds of drift.
const (
	DriftMissing   DriftKind = "missing"   // the migrations make it; the database lacks it
	DriftDifferent DriftKind = "different" // both have it; it is not the same
	DriftExtra     DriftKind = "extra"     // the database has it; the migrations do not make it
)

// Drift is one difference between the live schema and the one the migrations make at the
// database's version.
type Drift struct {
	Kind DriftKind `json:"kind"`
	// Object is "table task_states", "column api_keys.fingerprint", "index idx_x",
	// "trigger trg_x", "constraint on users", "comment on api_keys.fingerprint".
	Object string `json:"object"`
	// Want and Got describe the object the migrations make and the one the database has.
	Want string `json:"want,omitempty"`
	Got  string `json:"got,omitempty"`
	// Fix is the SQL that recreates what the migrations make (missing indexes and triggers, a
	// different trigger, a comment); "" when the fix is not a statement compozy applies (a
	// column, a constraint: migrate down and up, or restore). Extra objects are never dropped.
	Fix string `json:"fix,omitempty"`
}

// Diff compares the live schema with the one the migrations make (want) and lists every
// difference, in a stable order.
func Diff(live, want *Schema) []Drift {
	var out []Drift
	for _, name := range sortedKeys(want.Tables) {
		wt, lt := want.Tables[name], live.Tables[name]
		if lt == nil {
			out = append(out, Drift{Kind: DriftMissing, Object: "table " + name})
			continue
		}
		out = append(out, diffColumns(name, lt.Columns, wt.Columns)...)
		for _, c := range wt.Constraints {
			if !slices.Contains(lt.Constraints, c) {
				out = append(out, Drift{Kind: DriftMissing, Object: "constraint on " + name, Want: c})
			}
		}
		for _, c := range lt.Constraints {
			if !slices.Contains(wt.Constraints, c) {
				out = append(out, Drift{Kind: DriftExtra, Object: "constraint on " + name, Got: c})
			}
		}
	}
	out = append(out, diffObjects("index", live.Indexes, want.Indexes, live.Tables)...)
	out = append(out, diffObjects("trigger", live.Triggers, want.Triggers, live.Tables)...)
	for _, key := range sortedKeys(want.Comments) {
		if got := live.Comments[key]; got != want.Comments[key] {
			table, col, _ := strings.Cut(key, ".")
			if lt := live.Tables[table]; lt == nil || !hasColumn(lt, col) {
				continue // the missing column is the drift
			}
			out = append(out, Drift{Kind: DriftDifferent, Object: "comment on " + key, Want: want.Comments[key], Got: got,
				Fix: "COMMENT ON COLUMN " + key + " IS " + quoteLiteral(want.Comments[key]) + ";"})
		}
	}
	return out
}

func diffColumns(table string, live, want []Column) []Drift {
	var out []Drift
	find := func(cs []Column, name string) (Column, bool) {
		for _, c := range cs {
			if c.Name == name {
				return c, true
			}
		}
		return Column{}, false
	}
	for _, w := range want {
		l, ok := find(live, w.Name)
		switch {
		case !ok:
			out = append(out, Drift{Kind: DriftMissing, Object: "column " + table + "." + w.Name, Want: w.String()})
		case l.String() != w.String():
			out = append(out, Drift{Kind: DriftDifferent, Object: "column " + table + "." + w.Name, Want: w.String(), Got: l.String()})
		}
	}
	for _, l := range live {
		if _, ok := find(want, l.Name); !ok {
			out = append(out, Drift{Kind: DriftExtra, Object: "column " + table + "." + l.Name, Got: l.String()})
		}
	}
	return out
}

func diffObjects(kind string, live, want map[string]Object, liveTables map[string]*Table) []Drift {
	var out []Drift
	for _, name := range sortedKeys(want) {
		w := want[name]
		if liveTables[w.Table] == nil {
			continue // the missing table is the drift
		}
		l, ok := live[name]
		switch {
		case !ok:
			out = append(out, Drift{Kind: DriftMissing, Object: kind + " " + name, Want: w.SQL, Fix: strings.TrimSuffix(strings.TrimSpace(w.SQL), ";") + ";"})
		case l.Norm != w.Norm:
			d := Drift{Kind: DriftDifferent, Object: kind + " " + name, Want: w.SQL, Got: l.SQL}
			if kind == "trigger" {
				d.Fix = "DROP TRIGGER IF EXISTS " + name + ";\n" + strings.TrimSuffix(strings.TrimSpace(w.SQL), ";") + ";"
			}
			out = append(out, d)
		}
	}
	for _, name := range sortedKeys(live) {
		if _, ok := want[name]; !ok {
			out = append(out, Drift{Kind: DriftExtra, Object: kind + " " + name, Got: live[name].SQL})
		}
	}
	return out
}

func hasColumn(t *Table, name string) bool {
	for _, c := range t.Columns {
		if c.Name == name {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
