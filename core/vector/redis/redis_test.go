package redis_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/core/vector/redis"
	"compozy.dev/setup/core/vector/redis/redistest"
	"compozy.dev/setup/core/vector/vectortest"
	"compozy.dev/setup/internal/testenv"
)

// Environment variables the tests read.
const (
	// EnvSearchURL is a Redis with RediSearch 2.4 or later (Redis Stack, Redis 8), for the
	// conformance suite. Unset: the suite is skipped, in CI too (none can be installed here).
	EnvSearchURL = "COMPOZY_TEST_REDIS_SEARCH_URL"
	// EnvOldSearchAddr is a Redis with Debian's RediSearch 1.2 module (.ci/run starts one).
	EnvOldSearchAddr = "COMPOZY_TEST_REDIS_OLDSEARCH_ADDR"
)

func open(t testing.TB, opts redis.Options) *redis.Store {
	t.Helper()
	s, err := redis.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestConformance(t *testing.T) {
	url := os.Getenv(EnvSearchURL)
	if url == "" {
		t.Skipf("set %s to a Redis with RediSearch 2.4 or later (Redis 8, Redis Stack) to run the conformance suite", EnvSearchURL)
	}
	var stores []*redis.Store
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range stores {
			_ = s.DropIndex(c)
		}
	})
	vectortest.Run(t, func(t *testing.T, name string, dim int, m vector.Metric) vector.Store {
		s := open(t, redis.Options{Entry: "main", URL: url, Index: "compozy_test_" + name, Dimension: dim, Metric: m})
		stores = append(stores, s)
		return s
	}, vectortest.Options{Approximate: true})
}

// TestConformanceFake runs the suite against the in-process RediSearch model (exact search).
func TestConformanceFake(t *testing.T) {
	srv := redistest.Start(t, 20811)
	vectortest.Run(t, func(t *testing.T, name string, dim int, m vector.Metric) vector.Store {
		return open(t, redis.Options{Entry: "main", URL: srv.URL(), Index: name, Dimension: dim, Metric: m})
	}, vectortest.Options{})
}

// TestModulePathsFake: no module, RediSearch 1.2 and 2.x on the model.
func TestModulePathsFake(t *testing.T) {
	for _, c := range []struct {
		ver  int64
		want string
	}{{0, "RediSearch module is missing (no modules are loaded)"}, {10200, "RediSearch 1.2.0 is too old"}, {20399, "RediSearch 2.3.99 is too old"}, {20400, ""}} {
		srv := redistest.Start(t, c.ver)
		s := open(t, redis.Options{URL: srv.URL(), Dimension: 4})
		err := s.Ensure(ctx(t))
		if c.want == "" {
			if err != nil {
				t.Fatalf("version %d: %v", c.ver, err)
			}
			continue
		}
		if !errors.Is(err, vector.ErrUnsupported) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), srv.Addr) {
			t.Fatalf("version %d: %v; want ErrUnsupported with %q", c.ver, err, c.want)
		}
	}
}

// TestModuleMissing: the plain Redis CI runs has no search module.
func TestModuleMissing(t *testing.T) {
	addr := testenv.RedisAddr()
	s := open(t, redis.Options{URL: "redis://" + addr, Dimension: 1536})
	if _, err := s.Health(ctx(t)); err != nil {
		testenv.Unavailable(t, "Redis", "start redis-server on "+addr+" or set COMPOZY_TEST_REDIS_ADDR", err)
	}
	for _, err := range []error{s.Ensure(ctx(t)), func() error { _, err := s.Describe(ctx(t)); return err }()} {
		if !errors.Is(err, vector.ErrUnsupported) || !strings.Contains(err.Error(), "RediSearch module is missing") ||
			!strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "2.4") {
			t.Fatalf("on a Redis without modules: %v; want ErrUnsupported saying the module is missing, naming %s", err, addr)
		}
	}
	r := run(t, s, redis.CheckModule)
	if r.Status != vector.StatusFail || !strings.Contains(r.Fix.Text, "Redis 8") || !strings.Contains(strings.Join(r.Fix.Commands, " "), "redis-stack") {
		t.Fatalf("module check: %+v", r)
	}
	if r := run(t, s, redis.CheckReachable); r.Status != vector.StatusPass || !strings.Contains(r.Summary, addr) {
		t.Fatalf("reachable check: %+v", r)
	}
	h, err := s.Health(ctx(t))
	if err != nil || h.ServerVersion == "" || len(h.Warnings) == 0 {
		t.Fatalf("Health = %+v, %v; want the server version and a warning about the module", h, err)
	}
}

// TestModuleTooOld: Debian's redis-redisearch is RediSearch 1.2, without vector fields.
func TestModuleTooOld(t *testing.T) {
	addr := os.Getenv(EnvOldSearchAddr)
	how := "start a Redis with Debian's redis-redisearch module (redis-server --port 6390 --loadmodule /usr/lib/redis/modules/redisearch.so) and set " + EnvOldSearchAddr + "=127.0.0.1:6390"
	if addr == "" {
		testenv.Unavailable(t, "Redis with RediSearch 1.2", how, errors.New(EnvOldSearchAddr+" is not set"))
	}
	s := open(t, redis.Options{URL: "redis://" + addr, Dimension: 4})
	if _, err := s.Health(ctx(t)); err != nil {
		testenv.Unavailable(t, "Redis with RediSearch 1.2", how, err)
	}
	err := s.Ensure(ctx(t))
	if !errors.Is(err, vector.ErrUnsupported) || !strings.Contains(err.Error(), "RediSearch 1.2.") || !strings.Contains(err.Error(), "too old") ||
		!strings.Contains(err.Error(), "no vector fields") || !strings.Contains(err.Error(), "10200") {
		t.Fatalf("on RediSearch 1.2: %v; want ErrUnsupported naming 1.2 and saying it has no vector fields", err)
	}
	var ve *vector.Error
	if !errors.As(err, &ve) || !strings.Contains(ve.Fix.Text, "Redis Stack") || len(ve.Fix.Commands) == 0 {
		t.Fatalf("fix %+v: want Redis 8 / Redis Stack commands", ve)
	}
	if _, err := s.Query(ctx(t), []float32{1, 2, 3, 4}, 3); !errors.Is(err, vector.ErrUnsupported) {
		t.Fatalf("Query on RediSearch 1.2: %v", err)
	}
	t.Logf("message: %s", vector.FailResult(err).Summary)
}

func run(t *testing.T, s *redis.Store, id string) vector.Result {
	t.Helper()
	for _, c := range s.Checks() {
		if c.ID == id {
			return c.Run(ctx(t))
		}
	}
	t.Fatalf("no check %s", id)
	return vector.Result{}
}

// TestUnreachable: a closed port and a silent listener fail within the deadline, naming the
// address and never the password.
func TestUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := lis.Addr().String()
	_ = lis.Close()
	s := open(t, redis.Options{URL: "redis://:hunter2-secret@" + closed + "/2", Dimension: 4})
	start := time.Now()
	_, err = s.Health(ctx(t))
	t.Logf("closed port: %v after %v", err, time.Since(start))
	if !errors.Is(err, vector.ErrUnreachable) || !strings.Contains(err.Error(), "no Redis server answers") || !strings.Contains(err.Error(), closed+"/2") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("closed port: %v", err)
	}

	silent := silentListener(t)
	s = open(t, redis.Options{URL: "redis://:hunter2-secret@" + silent, Dimension: 4})
	c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = s.Health(c)
	t.Logf("silent server: %v after %v (deadline 300ms)", err, time.Since(start))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, vector.ErrUnreachable) || !strings.Contains(err.Error(), silent) ||
		strings.Contains(err.Error(), "hunter2") {
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

func TestParseModuleList(t *testing.T) {
	resp3 := []any{map[any]any{"name": "ft", "ver": int64(10200), "path": "/x.so", "args": []any{}}}
	resp2 := []any{[]any{"name", "search", "ver", int64(20811), "path", "", "args", []any{}}, []any{"name", "ReJSON", "ver", int64(20609)}}
	if got := redis.ParseModuleList(resp3); len(got) != 1 || got[0].Name != "ft" || got[0].Version != 10200 || got[0].String() != "RediSearch 1.2.0" {
		t.Fatalf("RESP3: %+v", got)
	}
	if got := redis.ParseModuleList(resp2); len(got) != 2 || got[0].Name != "search" || got[0].Version != 20811 || got[1].Name != "ReJSON" {
		t.Fatalf("RESP2: %+v", got)
	}
	if redis.FormatVersion(20400) != "2.4.0" || redis.FormatVersion(80002) != "8.0.2" {
		t.Fatal("FormatVersion")
	}
}

func TestParseFTInfoAndSearch(t *testing.T) {
	info := redis.ParseFTInfo([]any{
		"index_name", "idx", "num_docs", "42",
		"attributes", []any{
			[]any{"identifier", "id", "attribute", "id", "type", "TAG"},
			[]any{"identifier", "vec", "attribute", "vec", "type", "VECTOR", "algorithm", "HNSW", "data_type", "FLOAT32", "dim", int64(1536), "distance_metric", "COSINE"},
		},
	})
	if info.Count != 42 || info.Dimension != 1536 || info.Metric != vector.Cosine || info.Index != "hnsw" {
		t.Fatalf("ParseFTInfo = %+v", info)
	}
	reply := []any{int64(2),
		"compozy:idx:a", []any{"id", "a", "payload", `{"doc":"x"}`, "__dist", "0.25"},
		"compozy:idx:b", []any{"id", "b", "payload", "{}", "__dist", "4"},
	}
	m, err := redis.ParseSearch(reply, vector.Cosine)
	if err != nil || len(m) != 2 || m[0].ID != "a" || m[0].Score != 0.75 || m[0].Payload["doc"] != "x" || m[1].Payload != nil {
		t.Fatalf("ParseSearch cosine = %+v, %v", m, err)
	}
	m, err = redis.ParseSearch(reply, vector.Euclid)
	if err != nil || m[1].Score != 2 {
		t.Fatalf("ParseSearch euclid = %+v, %v; want sqrt of the squared L2 distance", m, err)
	}
}

// BenchmarkHealthDeadline measures Health against a listener that never answers, with a
// 50 ms deadline (a figure, not an assertion).
func BenchmarkHealthDeadline(b *testing.B) {
	s := open(b, redis.Options{URL: "redis://" + silentListener(b), Dimension: 4})
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
	s := open(b, redis.Options{URL: "redis://" + addr, Dimension: 4})
	for b.Loop() {
		c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		if _, err := s.Health(c); err == nil {
			b.Fatal("no error")
		}
		cancel()
	}
}
