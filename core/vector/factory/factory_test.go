package factory_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/core/vector/factory"
	"compozy.dev/setup/core/vector/qdrant/qdranttest"
)

func TestOpenEachProvider(t *testing.T) {
	ctx := context.Background()
	srv := qdranttest.Start(t)
	pg := config.Database{Driver: config.DriverPostgres, Host: "127.0.0.1", Port: 1, User: "u", Name: "d"}
	for _, c := range []struct {
		entry  config.VectorDB
		target string
		ids    []string
		server []string // the checks marked Server, which the wizard's connection test runs
	}{
		{config.VectorDB{ID: "fs", Provider: "filesystem", Path: filepath.Join(t.TempDir(), "v"), Dimension: 4}, "/v",
			[]string{"vector.provider", "vector.filesystem.folder", "vector.filesystem.data", "vector.dimension", "vector.metric"}, nil},
		{config.VectorDB{ID: "q", Provider: "qdrant", URL: srv.URL(), Dimension: 4}, srv.Addr,
			[]string{"vector.provider", "vector.qdrant.reachable", "vector.qdrant.collection", "vector.dimension", "vector.metric"},
			[]string{"vector.qdrant.reachable"}},
		{config.VectorDB{ID: "r", Provider: "redis", URL: "redis://:pw@127.0.0.1:1/3", Dimension: 4, Index: "docs"}, "127.0.0.1:1/3",
			[]string{"vector.provider", "vector.redis.reachable", "vector.redis.module", "vector.redis.index", "vector.dimension", "vector.metric"},
			[]string{"vector.redis.reachable", "vector.redis.module"}},
		{config.VectorDB{ID: "p", Provider: "pgvector", Dimension: 4}, "127.0.0.1:1/d",
			[]string{"vector.provider", "vector.pgvector.reachable", "vector.pgvector.extension", "vector.pgvector.table", "vector.pgvector.index", "vector.dimension", "vector.metric"},
			[]string{"vector.pgvector.reachable", "vector.pgvector.extension"}},
	} {
		s, err := factory.Open(ctx, c.entry, factory.Options{Database: pg})
		if err != nil {
			t.Fatalf("%s: %v", c.entry.Provider, err)
		}
		if s.Provider() != c.entry.Provider || !strings.HasSuffix(s.Target(), c.target) {
			t.Fatalf("%s: provider %s target %s", c.entry.Provider, s.Provider(), s.Target())
		}
		_ = s.Close()
		checks, closeFn := factory.Checks(ctx, c.entry, factory.Options{Database: pg})
		var ids, server []string
		for _, ch := range checks {
			ids = append(ids, ch.ID)
			if ch.Server {
				server = append(server, ch.ID)
			}
			if ch.Entry != c.entry.ID || ch.Title == "" {
				t.Fatalf("%s: check %+v", c.entry.Provider, ch)
			}
			if ch.ID != vector.CheckProvider && len(ch.DependsOn) == 0 {
				t.Fatalf("%s: check %s depends on nothing", c.entry.Provider, ch.ID)
			}
		}
		if strings.Join(ids, " ") != strings.Join(c.ids, " ") {
			t.Fatalf("%s: checks %v, want %v", c.entry.Provider, ids, c.ids)
		}
		if strings.Join(server, " ") != strings.Join(c.server, " ") {
			t.Fatalf("%s: server checks %v, want %v", c.entry.Provider, server, c.server)
		}
		// Unreachable servers fail their reachable check within the deadline.
		rc, cancel := context.WithTimeout(ctx, 2*time.Second)
		r := checks[1].Run(rc)
		cancel()
		if c.entry.Provider == "redis" || c.entry.Provider == "pgvector" {
			if r.Status != vector.StatusFail || strings.Contains(r.Summary+r.Detail, "pw@") {
				t.Fatalf("%s: reachable on a closed port: %+v", c.entry.Provider, r)
			}
		}
		if err := closeFn(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPgvectorWithSQLite(t *testing.T) {
	entry := config.VectorDB{ID: "main", Provider: "pgvector", Dimension: 1536}
	opts := factory.Options{Database: config.Database{Driver: config.DriverSQLite, Path: "x.db"}}
	_, err := factory.Open(context.Background(), entry, opts)
	if !errors.Is(err, vector.ErrInvalid) || !strings.Contains(err.Error(), "pgvector provider is incompatible with SQLite driver") {
		t.Fatalf("pgvector with SQLite: %v", err)
	}
	checks, closeFn := factory.Checks(context.Background(), entry, opts)
	defer closeFn()
	if len(checks) != 1 || checks[0].ID != vector.CheckProvider {
		t.Fatalf("checks %+v", checks)
	}
	r := checks[0].Run(context.Background())
	if r.Status != vector.StatusFail || !strings.Contains(r.Summary, "incompatible with SQLite") || !strings.Contains(r.Fix.Text, "qdrant") {
		t.Fatalf("result %+v", r)
	}
	if _, err := factory.Open(context.Background(), config.VectorDB{ID: "x", Provider: "milvus", Dimension: 3}, opts); !errors.Is(err, vector.ErrInvalid) {
		t.Fatalf("unknown provider: %v", err)
	}
}

func TestDSN(t *testing.T) {
	pw := `p@ss w'o\rd/`
	dsn := factory.DSN(config.Database{Host: "db", Port: 5433, User: "app", Password: pw, Name: "compozy", SSLMode: "disable", ConnectTimeout: 5 * time.Second})
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("ParseConfig(%s): %v", dsn, err)
	}
	if cfg.Password != pw || cfg.Host != "db" || cfg.Port != 5433 || cfg.User != "app" || cfg.Database != "compozy" || cfg.ConnectTimeout != 5*time.Second {
		t.Fatalf("parsed %+v", cfg)
	}
	for _, cs := range []string{"postgres://app@db/compozy?sslmode=disable", "host=db user=app dbname=compozy"} {
		cfg, err := pgx.ParseConfig(factory.DSN(config.Database{ConnString: cs, Password: pw}))
		if err != nil || cfg.Password != pw || cfg.Database != "compozy" {
			t.Fatalf("%s: %+v %v", cs, cfg, err)
		}
	}
}
