package wizard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/vector"
	vfactory "compozy.dev/setup/core/vector/factory"
)

// ConnTimeout bounds the whole connection test (each step has its own, shorter, limits).
const ConnTimeout = 15 * time.Second

// ConnResult is one line of the connection test.
type ConnResult struct {
	OK   bool
	Line string
	// Conflict is set when a vector DB answers but already holds a collection, table, index
	// or store of another dimension or metric than the entry says (OK is false then).
	Conflict *Conflict
	// NoPgvector is set when a pgvector entry's PostgreSQL answers but has no pgvector
	// extension to create (pg_available_extensions has no "vector"): another server is the
	// way out, not another password.
	NoPgvector bool
}

// Conflict is an existing vector collection (table, index, store) whose shape differs from
// the entry's: writing the entry as it is would make every upsert and query fail. Nothing is
// ever dropped or changed to resolve it: the entry takes the existing shape, or names another
// collection.
type Conflict struct {
	// Entry is the knowledge.vector_dbs id; Provider its provider.
	Entry, Provider string
	// Name is the collection, table, index or store name; Target where it lives (redacted).
	Name, Target string
	// Dimension and Metric are the existing ones ("" metric when the store does not say);
	// WantDimension and WantMetric the entry's.
	Dimension     int
	Metric        string
	WantDimension int
	WantMetric    string
	// Count is the existing collection's vector count, as Info.CountText says it.
	Count string
}

// kind is what the provider calls a collection: table, index, store or collection.
func (c *Conflict) kind() string {
	switch c.Provider {
	case vector.ProviderPgvector:
		return "table"
	case vector.ProviderRedis:
		return "index"
	case vector.ProviderFilesystem:
		return "store"
	}
	return "collection"
}

// nameFor is the collection name the provider gives an entry with this id by default.
func (c *Conflict) nameFor(id string) string {
	if c.Provider == vector.ProviderPgvector {
		return "compozy_vectors_" + id
	}
	return "compozy_" + id
}

// What names the existing collection: `pgvector table "compozy_vectors_main" at
// 127.0.0.1:5432/postgres`.
func (c *Conflict) What() string {
	return fmt.Sprintf("%s %s %q at %s", c.Provider, c.kind(), c.Name, c.Target)
}

// Differs says what differs: "3-dimension vectors (2 stored), not 1536", "metric dot, not
// cosine", or both.
func (c *Conflict) Differs() string {
	var parts []string
	if c.Dimension != c.WantDimension {
		parts = append(parts, fmt.Sprintf("holds %d-dimension vectors (%s stored), not %d", c.Dimension, c.Count, c.WantDimension))
	}
	if c.Metric != "" && c.Metric != c.WantMetric {
		parts = append(parts, fmt.Sprintf("uses metric %s, not %s", c.Metric, c.WantMetric))
	}
	return strings.Join(parts, " and ")
}

// shapeConflict compares what Describe found with the entry; nil when they agree (or the
// store does not say).
func shapeConflict(entry config.VectorDB, info vector.Info, target string) *Conflict {
	want, err := vector.ParseMetric(entry.Metric)
	if err != nil {
		return nil
	}
	dimOff := info.Dimension > 0 && info.Dimension != entry.Dimension
	metricOff := info.Metric != "" && info.Metric != want
	if !dimOff && !metricOff {
		return nil
	}
	dim := info.Dimension
	if dim == 0 {
		dim = entry.Dimension
	}
	return &Conflict{Entry: entry.ID, Provider: entry.Provider, Name: info.Name, Target: target,
		Dimension: dim, Metric: string(info.Metric), WantDimension: entry.Dimension, WantMetric: string(want), Count: info.CountText()}
}

// TestConnections connects to the database and to each vector DB of cfg, read-only, and says
// whether the database already holds a Compozy schema with data. Nothing is created: a SQLite
// file or a filesystem store that does not exist yet is reported as such.
func TestConnections(ctx context.Context, cfg *config.Config, getenv func(string) string) []ConnResult {
	var out []ConnResult
	db := cfg.Database
	ctx, cancel := context.WithTimeout(ctx, ConnTimeout)
	defer cancel()
	switch {
	case db.Driver == config.DriverSQLite && db.Path == config.MemoryPath:
		out = append(out, ConnResult{OK: true, Line: "SQLite :memory: (nothing to test)"})
	case db.Driver == config.DriverSQLite && !exists(db.Path):
		out = append(out, ConnResult{OK: true, Line: fmt.Sprintf("SQLite %s does not exist yet; compozy migrate up creates it", db.Path)})
	default:
		out = append(out, testDatabase(ctx, db))
	}
	for _, entry := range cfg.Knowledge.VectorDBs {
		out = append(out, testVector(ctx, cfg, entry, getenv))
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func testDatabase(ctx context.Context, db config.Database) ConnResult {
	target := factory.Target(db)
	// Read-only: testing the connection changes nothing, not even a file beside a SQLite database.
	h, err := factory.Open(ctx, db, factory.ReadOnly)
	if err != nil {
		msg := config.Redact(err.Error())
		// An authentication failure where the password matters (the one door names its origin).
		if db.Password == "" && factory.PasswordOrigin(err) != "" {
			msg += " (set " + PasswordEnv + " for the test)"
		}
		return ConnResult{OK: false, Line: fmt.Sprintf("database %s: %s", target, msg)}
	}
	defer h.Close()
	if err := h.Ping(ctx); err != nil {
		return ConnResult{OK: false, Line: fmt.Sprintf("database %s: %s", target, config.Redact(err.Error()))}
	}
	line := fmt.Sprintf("database %s answers", target)
	if m := h.Migrator; m != nil {
		if v, err := m.Version(ctx); err == nil && v.Current > 0 {
			var n int64
			_ = h.SQL.QueryRowContext(ctx, "SELECT count(*) FROM workflow_states").Scan(&n)
			line += fmt.Sprintf("; it already holds a Compozy database at version %d with %d workflow(s), which will be used as it is", v.Current, n)
		}
	}
	return ConnResult{OK: true, Line: line}
}

func testVector(ctx context.Context, cfg *config.Config, entry config.VectorDB, getenv func(string) string) ConnResult {
	name := fmt.Sprintf("vector DB %q (%s)", entry.ID, entry.Provider)
	opts := vfactory.Options{Database: cfg.Database, Getenv: getenv}
	st, err := vfactory.Open(ctx, entry, opts)
	if err != nil {
		return ConnResult{OK: false, Line: name + ": " + config.Redact(err.Error())}
	}
	defer st.Close()
	if entry.Provider == vector.ProviderFilesystem {
		if _, err := st.Health(ctx); err != nil {
			if errors.Is(err, vector.ErrNotFound) {
				return ConnResult{OK: true, Line: fmt.Sprintf("%s: %s does not exist yet; it is created on first use", name, entry.Path)}
			}
			return ConnResult{OK: false, Line: name + ": " + config.Redact(err.Error())}
		}
	} else {
		// The provider's own checks that need no collection yet: the server answers, and has
		// what the provider needs (RediSearch 2.4+, the vector extension).
		checks, closeChecks := vfactory.Checks(ctx, entry, opts)
		defer func() { _ = closeChecks() }()
		for _, c := range checks {
			if !c.Server {
				continue
			}
			if r := c.Run(ctx); r.Status == vector.StatusFail {
				return ConnResult{OK: false, Line: name + ": " + config.Redact(r.Summary),
					NoPgvector: entry.Provider == vector.ProviderPgvector && errors.Is(r.Err, vector.ErrUnsupported)}
			}
		}
	}
	target := config.Redact(st.Target())
	line := fmt.Sprintf("%s at %s answers", name, target)
	// What the entry would meet: a collection (table, index, store) that already exists with
	// another dimension or metric would refuse every upsert and query. Read-only: Describe
	// creates nothing, and a collection that does not exist yet is fine (created on first use).
	info, err := st.Describe(ctx)
	if err != nil {
		return ConnResult{OK: true, Line: line}
	}
	if c := shapeConflict(entry, info, target); c != nil {
		return ConnResult{Line: fmt.Sprintf("%s answers, but %s %s", name, c.What(), c.Differs()), Conflict: c}
	}
	if info.Count > 0 {
		line += fmt.Sprintf("; it already holds %s vectors of %d dimensions", info.CountText(), info.Dimension)
	}
	return ConnResult{OK: true, Line: line}
}
