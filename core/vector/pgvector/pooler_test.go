package pgvector_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/core/vector/pgvector"
	"compozy.dev/setup/internal/testenv"
)

// chosenSimple is how ExecMode reads when the store chose the simple protocol itself.
const chosenSimple = "simple_protocol (chosen by compozy: "

// Before its first use the store has connected to nothing and says the connection string's mode.
func TestExecModeBeforeFirstUse(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u@127.0.0.1:1/db":                                            "cache_statement",
		"postgres://u@127.0.0.1:1/db?default_query_exec_mode=exec":               "exec",
		"host=127.0.0.1 port=1 dbname=db default_query_exec_mode=cache_describe": "cache_describe",
	} {
		s := open(t, pgvector.Options{ConnString: dsn, Dimension: 3})
		if got := s.ExecMode(); got != want {
			t.Errorf("%s: ExecMode %q, want %q", dsn, got, want)
		}
		if s.Pooler().Found() {
			t.Errorf("%s: a pooler found before any connection: %+v", dsn, s.Pooler())
		}
	}
}

// On PGlite through the DSN a user would write (no default_query_exec_mode): many goroutines
// make the store's first use at once (one look for a pooler, the others wait for it), then two
// stores on one table upsert and query at once. pgx's named prepared statements would collide
// on PGlite's one shared session (42P05); the store must have chosen the simple protocol.
func TestPGliteFirstUseConcurrent(t *testing.T) {
	dsn := testenv.PlainPgvectorDSN(t)
	table := fmt.Sprintf("compozy_test_first_use_%d", rand.Uint32()%1_000_000)
	a := open(t, pgvector.Options{ConnString: dsn, Table: table, Dimension: 4})
	b := open(t, pgvector.Options{ConnString: dsn, Table: table, Dimension: 4})
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Cleanup(func() { _ = a.DropTable(context.Background()) })

	run := func(n int, f func(i int) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				if err := f(i); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	run(8, func(int) error { _, err := a.Health(c); return err })
	p := a.Pooler()
	t.Logf("found %s (%s); exec mode %s", p.Name(), strings.Join(p.Evidence, "; "), a.ExecMode())
	if p.BreaksSessions() && !strings.HasPrefix(a.ExecMode(), chosenSimple) {
		t.Fatalf("session state does not last on this server (%s), yet the exec mode is %q", p.Name(), a.ExecMode())
	}
	if p.Kind == postgres.PoolerPGlite && !strings.HasPrefix(a.ExecMode(), chosenSimple+"PGlite") {
		t.Fatalf("PGlite: exec mode %q, want the simple protocol chosen for PGlite", a.ExecMode())
	}
	if err := a.Ensure(c); err != nil {
		t.Fatal(err)
	}
	// b's first use runs while a works.
	run(12, func(i int) error {
		s := a
		if i%2 == 1 {
			s = b
		}
		id := fmt.Sprintf("p%d", i)
		if err := s.Upsert(c, []vector.Point{{ID: id, Vector: []float32{1, float32(i), 0, 1}, Payload: map[string]string{"i": id}}}); err != nil {
			return fmt.Errorf("upsert %s: %w", id, err)
		}
		for range 3 {
			if _, err := s.Query(c, []float32{1, float32(i), 0, 1}, 3); err != nil {
				return fmt.Errorf("query: %w", err)
			}
		}
		if _, err := s.Describe(c); err != nil {
			return fmt.Errorf("describe: %w", err)
		}
		return nil
	})
	if b.ExecMode() != a.ExecMode() {
		t.Errorf("two stores on one server: exec modes %q and %q", a.ExecMode(), b.ExecMode())
	}
	info, err := b.Describe(c)
	if err != nil || info.Count != 12 {
		t.Fatalf("after the concurrent upserts: %+v %v, want 12 rows", info, err)
	}
	for _, ch := range b.Checks() {
		if r := ch.Run(c); r.Status != vector.StatusPass && r.Status != vector.StatusSkip {
			t.Errorf("check %s: %s %s", ch.ID, r.Status, r.Summary)
		}
	}
}

// A connection string that chooses the exec mode keeps it, pooler or not.
func TestPGliteExecModeInDSNWins(t *testing.T) {
	dsn := testenv.PlainPgvectorDSN(t) + "&default_query_exec_mode=exec"
	s := open(t, pgvector.Options{ConnString: dsn, Dimension: 4})
	if _, err := s.Health(ctx(t)); err != nil {
		t.Fatal(err)
	}
	t.Logf("found %s; exec mode %s", s.Pooler().Name(), s.ExecMode())
	if s.ExecMode() != "exec" {
		t.Fatalf("exec mode %q, want the connection string's exec", s.ExecMode())
	}
}

// Through a transaction-pooling PgBouncer (the test PostgreSQL behind it has no pgvector, which
// Health only reports): the store sees server sessions shared and runs in the simple protocol.
func TestPgBouncerStoreChoosesSimpleProtocol(t *testing.T) {
	pooled, direct := testenv.PgBouncerDB(t)
	s := open(t, pgvector.Options{ConnString: pooled, Dimension: 4})
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 10 {
		if _, err := s.Health(c); err != nil {
			t.Fatal(err)
		}
	}
	p := s.Pooler()
	t.Logf("found %s (%s); exec mode %s", p.Name(), strings.Join(p.Evidence, "; "), s.ExecMode())
	if !p.SharedSession || !strings.HasPrefix(s.ExecMode(), chosenSimple) {
		t.Fatalf("through PgBouncer: found %+v, exec mode %q; want shared sessions and the simple protocol", p, s.ExecMode())
	}
	d := open(t, pgvector.Options{ConnString: direct, Dimension: 4})
	if _, err := d.Health(c); err != nil {
		t.Fatal(err)
	}
	if d.Pooler().Found() || d.ExecMode() != "cache_statement" {
		t.Fatalf("direct: found %+v, exec mode %q; want nothing and pgx's default", d.Pooler(), d.ExecMode())
	}
}
