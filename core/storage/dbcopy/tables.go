// Package dbcopy copies Compozy's data between databases of either dialect (SQLite to
// PostgreSQL, PostgreSQL to SQLite, or the same dialect), table by table in foreign-key order,
// streaming rows with constant memory (through COPY into PostgreSQL), converting types
// faithfully (JSON, timestamps as instants, binary), and verifying the result: per table, the
// row count and an order-independent checksum of every row's canonical content, on both sides.
//
// A copy marks its target with a table (MarkerTable) for its whole duration, so an interrupted
// copy, even a killed process, leaves a target that says it is incomplete; the marker goes only
// once verification passed.
package dbcopy

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// MarkerTable is the table a copy creates in its target before writing and drops after the
// verification passed. Its presence means an earlier copy did not finish.
const MarkerTable = "compozy_db_copy_incomplete"

// kind is how a column's values are converted and compared.
type kind int

const (
	kText  kind = iota // text in both dialects
	kJSON              // TEXT (json_valid) in SQLite, jsonb in PostgreSQL
	kTime              // TEXT in SQLite, timestamptz in PostgreSQL; compared as UTC instants in µs
	kBytes             // BLOB in SQLite, bytea in PostgreSQL
)

type column struct {
	name string
	kind kind
}

// table is one of Compozy's tables.
type table struct {
	name string
	cols []column
}

func (t table) colNames() []string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	return names
}

// selectList is the column list of a SELECT.
func (t table) selectList() string { return strings.Join(t.colNames(), ", ") }

// Tables are Compozy's tables in foreign-key order (parents first). task_states also refers to
// itself (parent_state_id): its rows are read roots first, then children by depth.
var tables = []table{
	{name: "users", cols: []column{
		{"id", kText}, {"email", kText}, {"role", kText}, {"created_at", kTime},
	}},
	{name: "api_keys", cols: []column{
		{"id", kText}, {"user_id", kText}, {"hash", kBytes}, {"fingerprint", kBytes}, {"prefix", kText},
		{"created_at", kTime}, {"last_used", kTime},
	}},
	{name: "workflow_states", cols: []column{
		{"workflow_exec_id", kText}, {"workflow_id", kText}, {"status", kText}, {"usage", kJSON},
		{"input", kJSON}, {"output", kJSON}, {"error", kJSON}, {"created_at", kTime}, {"updated_at", kTime},
	}},
	{name: "task_states", cols: []column{
		{"component", kText}, {"status", kText}, {"task_exec_id", kText}, {"task_id", kText},
		{"workflow_exec_id", kText}, {"workflow_id", kText}, {"execution_type", kText}, {"usage", kJSON},
		{"agent_id", kText}, {"tool_id", kText}, {"action_id", kText}, {"parent_state_id", kText},
		{"input", kJSON}, {"output", kJSON}, {"error", kJSON}, {"created_at", kTime}, {"updated_at", kTime},
	}},
}

// TableNames lists the tables a copy covers, in the order it copies them.
func TableNames() []string {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.name
	}
	return names
}

// readQueries are the SELECTs that read a table in an order the target's foreign keys accept,
// with expr giving each selected column's expression. Only task_states needs more than one:
// rows without a parent, then each deeper level. The recursive query is the same in both
// dialects.
func readQueries(t table, expr func(prefix string, c column) string) []string {
	list := func(prefix string) string {
		cols := make([]string, len(t.cols))
		for i, c := range t.cols {
			cols[i] = expr(prefix, c)
		}
		return strings.Join(cols, ", ")
	}
	if t.name != "task_states" {
		return []string{"SELECT " + list("") + " FROM " + t.name}
	}
	return []string{
		"SELECT " + list("") + " FROM task_states WHERE parent_state_id IS NULL",
		`WITH RECURSIVE lvl(id, d) AS (
			SELECT c.task_exec_id, 1 FROM task_states c JOIN task_states p ON c.parent_state_id = p.task_exec_id
			WHERE p.parent_state_id IS NULL
			UNION ALL
			SELECT c.task_exec_id, l.d + 1 FROM task_states c JOIN lvl l ON c.parent_state_id = l.id)
		SELECT ` + list("t.") + ` FROM task_states t JOIN lvl ON t.task_exec_id = lvl.id ORDER BY lvl.d`,
	}
}

// A row is one record in the dialect-neutral form every reader produces and every writer takes:
// per column nil (NULL), string (text and JSON), time.Time (UTC) or []byte.
type row []any

// checksum accumulates the order-independent checksum of a table: the count of rows and the
// sums (mod 2^64) of the two halves of each row's SHA-256 prefix.
type checksum struct {
	rows int64
	a, b uint64
	buf  []byte
}

func (c *checksum) add(t table, r row) error {
	c.buf = c.buf[:0]
	for i, v := range r {
		var err error
		if c.buf, err = appendCanonical(c.buf, t.cols[i].kind, v); err != nil {
			return fmt.Errorf("%s.%s: %w", t.name, t.cols[i].name, err)
		}
	}
	sum := sha256.Sum256(c.buf)
	c.a += binary.BigEndian.Uint64(sum[0:8])
	c.b += binary.BigEndian.Uint64(sum[8:16])
	c.rows++
	return nil
}

func (c *checksum) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], c.a)
	binary.BigEndian.PutUint64(b[8:16], c.b)
	return hex.EncodeToString(b[:])
}

// appendCanonical appends the canonical encoding of one value: a tag, then a length-prefixed
// body. JSON is re-encoded with sorted keys and exact numbers, so that PostgreSQL's jsonb
// (which reorders keys and drops whitespace) and SQLite's text compare equal; timestamps are UTC
// microseconds (PostgreSQL's precision).
func appendCanonical(dst []byte, k kind, v any) ([]byte, error) {
	if v == nil {
		return append(dst, 'N'), nil
	}
	switch k {
	case kText:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("text value of type %T", v)
		}
		return appendBody(append(dst, 'T'), []byte(s)), nil
	case kJSON:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("JSON value of type %T", v)
		}
		canon, err := canonicalJSON([]byte(s))
		if err != nil {
			return nil, err
		}
		return appendBody(append(dst, 'J'), canon), nil
	case kTime:
		t, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("timestamp value of type %T", v)
		}
		return binary.BigEndian.AppendUint64(append(dst, 'D'), uint64(t.UTC().Truncate(time.Microsecond).UnixMicro())), nil
	case kBytes:
		b, ok := v.([]byte)
		if !ok {
			return nil, fmt.Errorf("binary value of type %T", v)
		}
		return appendBody(append(dst, 'B'), b), nil
	}
	return nil, fmt.Errorf("unknown column kind %d", k)
}

func appendBody(dst, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// canonicalJSON re-encodes a JSON document: object keys sorted, no whitespace, numbers as exact
// rationals (1.0, 1e0 and 1 are the same number to jsonb).
func canonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	var b bytes.Buffer
	if err := writeCanonical(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeCanonical(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			if err := writeCanonical(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		if !ok {
			return fmt.Errorf("invalid JSON number %q", x)
		}
		b.WriteString(r.RatString())
	default:
		out, err := json.Marshal(x)
		if err != nil {
			return err
		}
		b.Write(out)
	}
	return nil
}
