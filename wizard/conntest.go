package wizard

import (
	"context"
	"errors"
	"fmt"
	"os"
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
		out = append(out, ConnResult{true, "SQLite :memory: (nothing to test)"})
	case db.Driver == config.DriverSQLite && !exists(db.Path):
		out = append(out, ConnResult{true, fmt.Sprintf("SQLite %s does not exist yet; compozy migrate up creates it", db.Path)})
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
		return ConnResult{false, fmt.Sprintf("database %s: %s", target, msg)}
	}
	defer h.Close()
	if err := h.Ping(ctx); err != nil {
		return ConnResult{false, fmt.Sprintf("database %s: %s", target, config.Redact(err.Error()))}
	}
	line := fmt.Sprintf("database %s answers", target)
	if m := h.Migrator; m != nil {
		if v, err := m.Version(ctx); err == nil && v.Current > 0 {
			var n int64
			_ = h.SQL.QueryRowContext(ctx, "SELECT count(*) FROM workflow_states").Scan(&n)
			line += fmt.Sprintf("; it already holds a Compozy database at version %d with %d workflow(s), which will be used as it is", v.Current, n)
		}
	}
	return ConnResult{true, line}
}

func testVector(ctx context.Context, cfg *config.Config, entry config.VectorDB, getenv func(string) string) ConnResult {
	name := fmt.Sprintf("vector DB %q (%s)", entry.ID, entry.Provider)
	opts := vfactory.Options{Database: cfg.Database, Getenv: getenv}
	st, err := vfactory.Open(ctx, entry, opts)
	if err != nil {
		return ConnResult{false, name + ": " + config.Redact(err.Error())}
	}
	defer st.Close()
	if entry.Provider == vector.ProviderFilesystem {
		if _, err := st.Health(ctx); err != nil {
			if errors.Is(err, vector.ErrNotFound) {
				return ConnResult{true, fmt.Sprintf("%s: %s does not exist yet; it is created on first use", name, entry.Path)}
			}
			return ConnResult{false, name + ": " + config.Redact(err.Error())}
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
				return ConnResult{false, name + ": " + config.Redact(r.Summary)}
			}
		}
	}
	line := fmt.Sprintf("%s at %s answers", name, config.Redact(st.Target()))
	if info, err := st.Describe(ctx); err == nil && info.Count > 0 {
		line += fmt.Sprintf("; it already holds %s vectors of %d dimensions", info.CountText(), info.Dimension)
	}
	return ConnResult{true, line}
}
