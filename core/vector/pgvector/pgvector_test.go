package pgvector_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/storage/managed"
	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/core/vector/pgvector"
	"compozy.dev/setup/core/vector/vectortest"
	"compozy.dev/setup/internal/testenv"
)

func open(t testing.TB, opts pgvector.Options) *pgvector.Store {
	t.Helper()
	s, err := pgvector.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestConformance runs the suite on PGlite (real pgvector; .ci/run starts it and sets
// COMPOZY_TEST_PGVECTOR_DSN) through the DSN a user would write: without
// default_query_exec_mode, so the store itself must find that every client shares one server
// session and run in the simple protocol. ConcurrentReaders runs queries and upserts on several
// connections at once through it.
func TestConformance(t *testing.T) {
	dsn := testenv.PlainPgvectorDSN(t)
	var tables []*pgvector.Store
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range tables {
			_ = s.DropTable(c)
		}
	})
	vectortest.Run(t, func(t *testing.T, name string, dim int, m vector.Metric) vector.Store {
		s := open(t, pgvector.Options{Entry: "main", ConnString: dsn, Table: "compozy_test_" + name, Dimension: dim, Metric: m})
		tables = append(tables, s)
		return s
	}, vectortest.Options{Approximate: true})
}

// TestExtensionNotAvailable: this machine's PostgreSQL has no pgvector.
func TestExtensionNotAvailable(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	s := open(t, pgvector.Options{ConnString: dsn, Dimension: 1536})
	ext, err := s.Extension(ctx(t))
	if err != nil {
		t.Fatalf("Extension: %v", err)
	}
	if ext.Available != "" {
		t.Skipf("this PostgreSQL has pgvector %s; the not-available path cannot be tested here", ext.Available)
	}
	err = s.Ensure(ctx(t))
	if !errors.Is(err, vector.ErrUnsupported) || !strings.Contains(err.Error(), "not available") ||
		!strings.Contains(err.Error(), "pg_available_extensions") || !strings.Contains(err.Error(), s.Target()) {
		t.Fatalf("Ensure without pgvector: %v", err)
	}
	var ve *vector.Error
	if !errors.As(err, &ve) || !strings.Contains(strings.Join(ve.Fix.Commands, "\n"), "postgresql-"+strconv.Itoa(ext.ServerMajor)+"-pgvector") ||
		!strings.Contains(strings.Join(ve.Fix.Commands, "\n"), "CREATE EXTENSION IF NOT EXISTS vector;") {
		t.Fatalf("fix %+v: want the install package and the CREATE EXTENSION statement", ve.Fix)
	}
	for _, op := range []func() error{
		func() error { _, err := s.Describe(ctx(t)); return err },
		func() error { _, err := s.Query(ctx(t), make1536(), 3); return err },
		func() error { return s.Upsert(ctx(t), []vector.Point{{ID: "a", Vector: make1536()}}) },
	} {
		if err := op(); !errors.Is(err, vector.ErrUnsupported) || !strings.Contains(err.Error(), "not available") {
			t.Fatalf("without pgvector: %v", err)
		}
	}
	var results = map[string]vector.Result{}
	for _, c := range s.Checks() {
		results[c.ID] = c.Run(ctx(t))
	}
	if r := results[pgvector.CheckReachable]; r.Status != vector.StatusPass {
		t.Fatalf("reachable: %+v", r)
	}
	if r := results[pgvector.CheckExtension]; r.Status != vector.StatusFail || !strings.Contains(r.Summary, "not available") || len(r.Fix.Commands) == 0 {
		t.Fatalf("extension check: %+v", r)
	}
	t.Logf("extension check: %s\n  fix: %s\n  %s", results[pgvector.CheckExtension].Summary, results[pgvector.CheckExtension].Fix.Text,
		strings.Join(results[pgvector.CheckExtension].Fix.Commands, "\n  "))
}

func make1536() []float32 {
	v := make([]float32, 1536)
	v[0] = 1
	return v
}

func TestExtensionProblem(t *testing.T) {
	base := pgvector.Extension{ServerVersion: "16.4", ServerMajor: 16, Role: "app", Database: "compozy"}
	cases := []struct {
		name string
		e    pgvector.Extension
		kind error
		want []string
	}{
		{"installed", with(base, func(e *pgvector.Extension) { e.Available, e.Installed = "0.8.0", "0.7.4" }), nil, nil},
		{"not available", base, vector.ErrUnsupported, []string{"not available on this PostgreSQL 16.4", "postgresql-16-pgvector"}},
		{"superuser must create", with(base, func(e *pgvector.Extension) { e.Available = "0.8.0"; e.CreateOnDB = true }), vector.ErrPermission,
			[]string{`role "app" may not create it`, "not a trusted extension", "CREATE EXTENSION IF NOT EXISTS vector;",
				`in database "compozy" on the vector server db:5432/compozy`, `psql 'postgres://postgres@db:5432/compozy?sslmode=require' -c 'CREATE EXTENSION IF NOT EXISTS vector;'`}},
		{"trusted but no CREATE", with(base, func(e *pgvector.Extension) { e.Available = "0.8.0"; e.Trusted = true }), vector.ErrPermission,
			[]string{"lacks CREATE on the database"}},
		{"can create", with(base, func(e *pgvector.Extension) { e.Available = "0.8.0"; e.CanCreate = true }), vector.ErrNotFound,
			[]string{"may create it", "run this SQL on the vector server db:5432/compozy", `psql 'postgres://app@db:5432/compozy?sslmode=require' -c 'CREATE EXTENSION IF NOT EXISTS vector;'`}},
		{"RDS: rds_superuser", with(base, func(e *pgvector.Extension) {
			e.Available, e.Service = "0.8.0", managed.FromHost("db.abc.eu-west-1.rds.amazonaws.com")
		}), vector.ErrPermission, []string{"on Amazon RDS", "rds_superuser", `psql 'postgres://app@db:5432/compozy?sslmode=require' -c 'CREATE EXTENSION IF NOT EXISTS vector;'`}},
		{"Supabase: dashboard", with(base, func(e *pgvector.Extension) {
			e.Available, e.Service = "0.8.0", managed.FromHost("db.abcdefgh.supabase.co")
		}), vector.ErrPermission, []string{"dashboard", "with schema extensions"}},
		{"Neon: not offered", with(base, func(e *pgvector.Extension) { e.Service = managed.FromHost("ep-x-123.us-east-2.aws.neon.tech") }),
			vector.ErrUnsupported, []string{"Neon installs the extensions itself", "neon_superuser"}},
	}
	// The commands are psql commands naming the server, its URL without the password.
	s := open(t, pgvector.Options{ConnString: "postgres://app:hunter2@db:5432/compozy?sslmode=require", Dimension: 4})
	for _, c := range cases {
		p := pgvector.ExtensionProblem(c.e, "db:5432/compozy", s.PSQLAs)
		if c.kind == nil {
			if p != nil {
				t.Errorf("%s: %v", c.name, p)
			}
			continue
		}
		if p == nil || !errors.Is(p, c.kind) {
			t.Errorf("%s: %v, want %v", c.name, p, c.kind)
			continue
		}
		all := p.Error() + "\n" + p.Fix.Text + "\n" + strings.Join(p.Fix.Commands, "\n")
		if strings.Contains(all, "hunter2") {
			t.Errorf("%s: the password reached the fix", c.name)
		}
		for _, cmd := range p.Fix.Commands {
			if !strings.HasPrefix(cmd, "sudo ") && !strings.HasPrefix(cmd, "psql 'postgres://") {
				t.Errorf("%s: command %q names no server", c.name, cmd)
			}
		}
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: %q lacks %q", c.name, all, w)
			}
		}
	}
}

func with(e pgvector.Extension, f func(*pgvector.Extension)) pgvector.Extension {
	f(&e)
	return e
}

func TestHNSWDimensionLimit(t *testing.T) {
	s := open(t, pgvector.Options{ConnString: "postgres://u@127.0.0.1:1/db", Dimension: 3072})
	if got := s.IndexType(); got != pgvector.IndexNone {
		t.Fatalf("3072 dimensions: index %q, want none", got)
	}
	s = open(t, pgvector.Options{ConnString: "postgres://u@127.0.0.1:1/db", Dimension: 1536, Index: "ivfflat"})
	if got := s.IndexType(); got != pgvector.IndexIVFFlat {
		t.Fatalf("ivfflat: %q", got)
	}
	if _, err := pgvector.Open(context.Background(), pgvector.Options{ConnString: "postgres://u@h/db", Dimension: 4, Index: "diskann"}); !errors.Is(err, vector.ErrInvalid) {
		t.Fatalf("unknown index: %v", err)
	}
}

// TestUnreachable: a closed port and a silent server, without the password in the error.
func TestUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := lis.Addr().String()
	_ = lis.Close()
	s := open(t, pgvector.Options{ConnString: "postgres://app:hunter2-secret@" + closed + "/compozy?sslmode=disable", Dimension: 4})
	_, err = s.Health(ctx(t))
	t.Logf("closed port: %v", err)
	if !errors.Is(err, vector.ErrUnreachable) || !strings.Contains(err.Error(), closed+"/compozy") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("closed port: %v", err)
	}
	silent := silentListener(t)
	s = open(t, pgvector.Options{ConnString: "host=127.0.0.1 port=" + strings.Split(silent, ":")[1] + " user=app password='hunter2 secret' dbname=x sslmode=disable", Dimension: 4})
	c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Health(c)
	t.Logf("silent server: %v after %v (deadline 300ms)", err, time.Since(start))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, vector.ErrUnreachable) || !strings.Contains(err.Error(), silent) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("silent server: %v", err)
	}
}

func silentListener(t testing.TB) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = lis.Close()
		<-done
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return lis.Addr().String()
}

// BenchmarkHealthDeadline measures Health against a server that accepts and never answers,
// with a 50 ms deadline (a figure, not an assertion).
func BenchmarkHealthDeadline(b *testing.B) {
	s := open(b, pgvector.Options{ConnString: "postgres://app@" + silentListener(b) + "/x?sslmode=disable", Dimension: 4})
	for b.Loop() {
		c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		if _, err := s.Health(c); !errors.Is(err, context.DeadlineExceeded) {
			b.Fatal(err)
		}
		cancel()
	}
}

// BenchmarkHealthDown measures Health against a closed port.
func BenchmarkHealthDown(b *testing.B) {
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := lis.Addr().String()
	_ = lis.Close()
	s := open(b, pgvector.Options{ConnString: "postgres://app@" + addr + "/x?sslmode=disable", Dimension: 4})
	for b.Loop() {
		c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		if _, err := s.Health(c); err == nil {
			b.Fatal("no error")
		}
		cancel()
	}
}

// TestDescribeCountBounded: above vector.ExactCountLimit rows Describe stops counting (count(*)
// reads the whole table) and gives the planner's estimate, marked as one.
func TestDescribeCountBounded(t *testing.T) {
	dsn := testenv.PlainPgvectorDSN(t)
	s := open(t, pgvector.Options{Entry: "main", ConnString: dsn, Table: "compozy_test_count_bound", Dimension: 2, Metric: vector.Cosine})
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Cleanup(func() { _ = s.DropTable(context.Background()) })
	if err := s.Ensure(c); err != nil {
		t.Fatal(err)
	}
	var pts []vector.Point
	for i := range vector.ExactCountLimit + 1 {
		pts = append(pts, vector.Point{ID: "p" + strconv.Itoa(i), Vector: []float32{1, float32(i)}})
	}
	if err := s.Upsert(c, pts); err != nil {
		t.Fatal(err)
	}
	info, err := s.Describe(c)
	if err != nil || !info.CountEstimated || info.Count < vector.ExactCountLimit+1 {
		t.Fatalf("%+v %v", info, err)
	}
}

// TestPSQLNamesTheServer: a SQL fix is a psql command that names the server (its URL without
// the password, from a URL or a keyword/value string, a socket folder too), quoted for a shell.
func TestPSQLNamesTheServer(t *testing.T) {
	for _, tc := range []struct{ conn, want string }{
		{"postgres://app:hunter2@db.internal:5433/kb?sslmode=require", `psql 'postgres://app@db.internal:5433/kb?sslmode=require' -c 'DROP TABLE "t";'`},
		{"postgres://app@db.internal/kb?password=hunter2&sslmode=disable", `psql 'postgres://app@db.internal/kb?sslmode=disable' -c 'DROP TABLE "t";'`},
		{"host=10.0.0.5 port=6543 user=app password='hunter2 x' dbname=kb sslmode=verify-full", `psql 'postgres://app@10.0.0.5:6543/kb?sslmode=verify-full' -c 'DROP TABLE "t";'`},
		{"host=/var/run/postgresql user=app dbname=kb", `psql 'postgres://app@/kb?host=%2Fvar%2Frun%2Fpostgresql&port=5432' -c 'DROP TABLE "t";'`},
	} {
		s := open(t, pgvector.Options{ConnString: tc.conn, Dimension: 4})
		if got := s.PSQL(`DROP TABLE "t";`); got != tc.want || strings.Contains(got, "hunter2") {
			t.Errorf("%s:\n got %s\nwant %s", tc.conn, got, tc.want)
		}
	}
}

// TestDimensionFixNamesTheServer: vector.dimension's fix for a table of another dimension says
// which server the SQL is for and gives it as a psql command there (never a bare statement
// after a shell prompt).
func TestDimensionFixNamesTheServer(t *testing.T) {
	dsn := testenv.PlainPgvectorDSN(t)
	table := "compozy_test_dimfix_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	small := open(t, pgvector.Options{Entry: "main", ConnString: dsn, Table: table, Dimension: 3})
	c := ctx(t)
	if err := small.Ensure(c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = small.DropTable(context.Background()) })
	s := open(t, pgvector.Options{Entry: "main", ConnString: dsn, Table: table, Dimension: 1536})
	for _, chk := range s.Checks() {
		if chk.ID != vector.CheckDimension {
			continue
		}
		r := chk.Run(c)
		if r.Status != vector.StatusFail || len(r.Fix.Commands) != 1 {
			t.Fatalf("%+v", r)
		}
		cmd := r.Fix.Commands[0]
		if !strings.HasPrefix(cmd, "psql 'postgres://") || !strings.Contains(cmd, `-c 'DROP TABLE "`+table+`";'`) {
			t.Errorf("command %q", cmd)
		}
		if !strings.Contains(r.Fix.Text, "run this SQL on the vector server "+s.Target()) || !strings.Contains(r.Fix.Text, "never run by --fix") {
			t.Errorf("text %q", r.Fix.Text)
		}
		return
	}
	t.Fatal("no vector.dimension check")
}
