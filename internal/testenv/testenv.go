// Package testenv gives tests the real services they need: a fresh PostgreSQL database per test,
// and the Redis address. With CI=true a missing service fails the test; elsewhere it skips with a
// message saying how to enable it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresDSN is the server this machine kind runs (trust auth on 127.0.0.1).
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// InCI reports whether the tests run in CI, where a missing service is a failure.
func InCI() bool { return os.Getenv("CI") == "true" || os.Getenv("CI") == "1" }

// Unavailable skips the test outside CI and fails it in CI.
func Unavailable(tb testing.TB, service, how string, err error) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("%s is required in CI but unreachable: %v (%s)", service, err, how)
	}
	tb.Skipf("%s unreachable (%v); %s", service, err, how)
}

// AdminPostgresDSN is the DSN of a role that may create databases: COMPOZY_TEST_POSTGRES_DSN, or
// DefaultPostgresDSN.
func AdminPostgresDSN() string {
	if v := os.Getenv("COMPOZY_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return DefaultPostgresDSN
}

// PostgresDB creates a fresh, empty database for the test and returns its DSN. The database is
// dropped when the test ends.
func PostgresDB(tb testing.TB) string {
	tb.Helper()
	admin := AdminPostgresDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		Unavailable(tb, "PostgreSQL", "start it or set COMPOZY_TEST_POSTGRES_DSN to a role that may CREATE DATABASE", err)
		return ""
	}
	defer conn.Close(ctx)
	name := "compozy_test_" + randomHex(6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("create test database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("parse COMPOZY_TEST_POSTGRES_DSN: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisAddr returns the address of the test Redis server (COMPOZY_TEST_REDIS_ADDR, default
// 127.0.0.1:6379).
func RedisAddr() string {
	if v := os.Getenv("COMPOZY_TEST_REDIS_ADDR"); v != "" {
		return v
	}
	return "127.0.0.1:6379"
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("testenv: read random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}
