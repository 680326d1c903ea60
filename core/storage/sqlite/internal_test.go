package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/storagetest"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2025, 6, 3, 12, 48, 35, 0, time.UTC)
	for _, s := range []string{
		"2025-06-03T12:48:35Z",
		"2025-06-03T12:48:35.000000000Z",
		"2025-06-03T14:48:35+02:00",
		"2025-06-03 12:48:35-00:00",
		"2025-06-03 14:48:35.000+02:00",
		"2025-06-03 12:48:35",
		"2025-06-03 12:48:35.0",
	} {
		got, err := parseTime(s)
		if err != nil {
			t.Errorf("parseTime(%q): %v", s, err)
			continue
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %s, want %s in UTC", s, got, want)
		}
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Error("parseTime(yesterday) succeeded")
	}
}

func TestFormatTimeSortsAsText(t *testing.T) {
	a := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b := a.Add(100 * time.Millisecond)
	c := a.Add(time.Second)
	if !(formatTime(a) < formatTime(b) && formatTime(b) < formatTime(c)) {
		t.Errorf("text order differs from time order: %s %s %s", formatTime(a), formatTime(b), formatTime(c))
	}
	if got, err := parseTime(formatTime(b)); err != nil || !got.Equal(b) {
		t.Errorf("round trip of %s: %s %v", formatTime(b), got, err)
	}
}

func TestDSNs(t *testing.T) {
	o, err := Options{Path: "/x/y.db", BusyTimeout: 5 * time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	got := writerDSN("/data/my db?#%.db", false, o)
	want := "file:/data/my%20db%3F%23%25.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	if got != want {
		t.Errorf("writer DSN\n got %s\nwant %s", got, want)
	}
	got = readerDSN("/data/y.db", o)
	want = "file:/data/y.db?mode=ro&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=query_only(1)"
	if got != want {
		t.Errorf("reader DSN\n got %s\nwant %s", got, want)
	}
	if got := writerDSN(MemoryPath, true, o); strings.Contains(got, "journal_mode") || !strings.HasPrefix(got, ":memory:?") {
		t.Errorf("memory DSN %s", got)
	}
}

// TestZeroBusyTimeoutStaysZero: 0 means SQLite's 0 (no wait), the meaning config validate and
// the doctor give it; the default (5s) lives in config's field table, not here.
func TestZeroBusyTimeoutStaysZero(t *testing.T) {
	o, err := Options{Path: "/x/y.db"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.BusyTimeout != 0 {
		t.Errorf("BusyTimeout %s, want 0", o.BusyTimeout)
	}
	for _, dsn := range []string{writerDSN("/x/y.db", false, o), readerDSN("/x/y.db", o)} {
		if !strings.Contains(dsn, "_pragma=busy_timeout(0)") {
			t.Errorf("DSN %s, want busy_timeout(0)", dsn)
		}
	}
	// A positive value under a millisecond waits a millisecond, not 0.
	if o, _ := (Options{Path: "/x/y.db", BusyTimeout: time.Microsecond}).withDefaults(); !strings.Contains(readerDSN("/x/y.db", o), "busy_timeout(1)") {
		t.Errorf("1µs: %s", readerDSN("/x/y.db", o))
	}
}

func TestReadOnlyQuery(t *testing.T) {
	for _, tc := range []struct {
		o    ReadOnlyOptions
		want string
	}{
		{ReadOnlyOptions{}, "&_pragma=busy_timeout(0)&_pragma=synchronous(NORMAL)"},
		{ReadOnlyOptions{BusyTimeout: 2500 * time.Millisecond, Synchronous: "full"}, "&_pragma=busy_timeout(2500)&_pragma=synchronous(FULL)"},
	} {
		if got, err := tc.o.query(); err != nil || got != tc.want {
			t.Errorf("%+v: %q %v, want %q", tc.o, got, err, tc.want)
		}
	}
	for _, bad := range []ReadOnlyOptions{{BusyTimeout: -time.Millisecond}, {Synchronous: "NORMAL);x"}} {
		if q, err := bad.query(); err == nil {
			t.Errorf("%+v: %q, want an error", bad, q)
		}
	}
}

func openInternal(t *testing.T) *DB {
	t.Helper()
	d, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "x.db"), BusyTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestReaderPoolIsReadOnly(t *testing.T) {
	d := openInternal(t)
	ctx := context.Background()
	if _, err := d.writer.ExecContext(ctx, "CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	var qo int
	if err := d.reader.QueryRowContext(ctx, "PRAGMA query_only").Scan(&qo); err != nil || qo != 1 {
		t.Errorf("reader query_only = %d (%v), want 1", qo, err)
	}
	if _, err := d.reader.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err == nil {
		t.Error("a write through the reader pool succeeded")
	}
	if n := d.reader.Stats().MaxOpenConnections; n != DefaultReaders {
		t.Errorf("reader pool size %d, want %d", n, DefaultReaders)
	}
}

func TestMapErrUsesCodes(t *testing.T) {
	d := openInternal(t)
	ctx := context.Background()
	if _, err := d.writer.ExecContext(ctx, `CREATE TABLE p (id TEXT PRIMARY KEY, u TEXT UNIQUE, n TEXT NOT NULL, c INT CHECK (c > 0));
		CREATE TABLE ch (pid TEXT REFERENCES p (id))`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.writer.ExecContext(ctx, `INSERT INTO p VALUES ('a', 'u', 'n', 1)`); err != nil {
		t.Fatal(err)
	}
	for stmt, want := range map[string]error{
		`INSERT INTO p VALUES ('a', 'v', 'n', 1)`:  storage.ErrConflict,
		`INSERT INTO p VALUES ('b', 'u', 'n', 1)`:  storage.ErrConflict,
		`INSERT INTO p VALUES ('c', 'w', NULL, 1)`: storage.ErrInvalid,
		`INSERT INTO p VALUES ('d', 'x', 'n', 0)`:  storage.ErrInvalid,
		`INSERT INTO ch VALUES ('zzz')`:            storage.ErrInvalid,
	} {
		_, err := d.writer.ExecContext(ctx, stmt)
		if got := mapErr(err); !errors.Is(got, want) {
			t.Errorf("%s: mapErr(%v) = %v, want %v", stmt, err, got, want)
		}
	}
	if err := mapErr(errors.New("UNIQUE constraint failed")); errors.Is(err, storage.ErrConflict) {
		t.Error("mapErr matched an error by its text")
	}
}

// TestStatementsPrepared: after the first write on a migrated schema every repository statement
// is prepared on the writer, including those only run inside transactions.
func TestStatementsPrepared(t *testing.T) {
	d := openInternal(t)
	ctx := context.Background()
	w := &storage.WorkflowState{WorkflowExecID: "w", WorkflowID: "w", Status: storage.StatusPending}
	if err := d.Workflows().Create(ctx, w); err == nil {
		t.Fatal("create before the schema exists succeeded")
	}
	if len(d.wstmts) == len(d.queries) {
		t.Fatal("statements prepared without a schema")
	}
	storagetest.Migrate(t, "sqlite", d.Writer())
	if err := d.Workflows().Create(ctx, w); err != nil {
		t.Fatal(err)
	}
	if len(d.wstmts) != len(d.queries) {
		t.Errorf("%d of %d statements prepared after the first write", len(d.wstmts), len(d.queries))
	}
}

// TestCheckJournalMode: SQLite answers a journal_mode it cannot apply with the mode it kept (WAL
// on a VFS without shared memory, for one); the check must name both modes.
func TestCheckJournalMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	w, err := sql.Open("sqlite", "file:"+path+"?vfs=unix-none&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	d := &DB{path: path, writer: w}
	err = d.checkJournalMode(context.Background(), "WAL")
	if err == nil || !strings.Contains(err.Error(), "journal_mode is delete, not wal") {
		t.Fatalf("checkJournalMode = %v, want an error naming delete and wal", err)
	}
}
