package testenv

import (
	"net/url"
	"os"
	"testing"
)

// EnvPgBouncerDSN names a transaction-pooling PgBouncer in front of the test PostgreSQL (.ci/run
// starts one on port 6432); EnvPgvectorDSN names a PostgreSQL with pgvector (.ci/run starts
// PGlite on port 55432, in the simple protocol).
const (
	EnvPgBouncerDSN = "COMPOZY_TEST_PGBOUNCER_DSN"
	EnvPgvectorDSN  = "COMPOZY_TEST_PGVECTOR_DSN"
)

// PgBouncerDB creates a fresh, empty database (as PostgresDB does, dropped when the test ends)
// and returns its DSN through the PgBouncer that COMPOZY_TEST_PGBOUNCER_DSN names (whose
// [databases] section must route every name to the test server) and its direct DSN. Without the
// variable the test skips, or fails in CI.
func PgBouncerDB(tb testing.TB) (pooled, direct string) {
	tb.Helper()
	via := os.Getenv(EnvPgBouncerDSN)
	if via == "" {
		Unavailable(tb, "PgBouncer", "set "+EnvPgBouncerDSN+" (.ci/run starts one on port 6432)", os.ErrNotExist)
		return "", ""
	}
	direct = PostgresDB(tb)
	d, err := url.Parse(direct)
	if err != nil {
		tb.Fatalf("parse the test database's DSN: %v", err)
	}
	p, err := url.Parse(via)
	if err != nil {
		tb.Fatalf("parse %s: %v", EnvPgBouncerDSN, err)
	}
	p.Path = d.Path
	return p.String(), direct
}

// PgvectorDSN is the DSN of the test PostgreSQL with pgvector (COMPOZY_TEST_PGVECTOR_DSN).
// Without it the test skips, or fails in CI.
func PgvectorDSN(tb testing.TB) string {
	tb.Helper()
	v := os.Getenv(EnvPgvectorDSN)
	if v == "" {
		Unavailable(tb, "PostgreSQL with pgvector", "set "+EnvPgvectorDSN+" (.ci/run starts PGlite with pgvector on port 55432)", os.ErrNotExist)
	}
	return v
}

// PlainPgvectorDSN is PgvectorDSN without default_query_exec_mode and statement_cache_capacity:
// the DSN a user would write, which leaves compozy to find that PGlite (or a pooler) runs every
// client on one server session and to choose the exec mode itself. Without the variable the test
// skips, or fails in CI.
func PlainPgvectorDSN(tb testing.TB) string {
	tb.Helper()
	return PlainDSN(tb, PgvectorDSN(tb))
}

// PlainDSN is the postgres:// URL dsn without default_query_exec_mode and
// statement_cache_capacity.
func PlainDSN(tb testing.TB, dsn string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("parse DSN: %v", err)
	}
	q := u.Query()
	q.Del("default_query_exec_mode")
	q.Del("statement_cache_capacity")
	u.RawQuery = q.Encode()
	return u.String()
}
