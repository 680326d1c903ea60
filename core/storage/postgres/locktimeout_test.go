package postgres_test

import (
	"errors"
	"testing"
	"time"

	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/internal/testenv"
)

// show reads a setting of a session of d's pool.
func show(t *testing.T, d *postgres.DB, name string) string {
	t.Helper()
	var v string
	if err := d.Pool().QueryRow(testCtx(t), "SELECT current_setting($1)", name).Scan(&v); err != nil {
		t.Fatalf("current_setting(%s): %v", name, err)
	}
	return v
}

func TestLockTimeoutAndApplicationName(t *testing.T) {
	dsn := testenv.PostgresDB(t) + "&application_name=from_dsn"
	d, err := postgres.Open(testCtx(t), postgres.Options{ConnString: dsn, LockTimeout: 1500 * time.Millisecond, ApplicationName: "compozy doctor"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := show(t, d, "lock_timeout"); got != "1500ms" {
		t.Errorf("lock_timeout = %q, want 1500ms", got)
	}
	if got := show(t, d, "application_name"); got != "compozy doctor" {
		t.Errorf("application_name = %q, want the caller's over the DSN's", got)
	}

	plain, err := postgres.Open(testCtx(t), postgres.Options{ConnString: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if got := show(t, plain, "lock_timeout"); got != "0" {
		t.Errorf("without LockTimeout: lock_timeout = %q, want the server's 0", got)
	}
}

// PgBouncer refuses lock_timeout as a startup parameter (08P01): the pool is made without it.
func TestLockTimeoutThroughPgBouncer(t *testing.T) {
	pooled, _ := testenv.PgBouncerDB(t)
	d, err := postgres.Open(testCtx(t), postgres.Options{ConnString: pooled, LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("open through PgBouncer with a lock timeout: %v", err)
	}
	defer d.Close()
	if err := d.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// The test server has ssl=on with Debian's self-signed certificate for localhost.
func TestServerCertificates(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	certs, err := postgres.ServerCertificates(testCtx(t), postgres.Options{ConnString: dsn})
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) == 0 || certs[0].NotAfter.IsZero() || certs[0].Subject.String() == "" {
		t.Fatalf("certificates %v", certs)
	}
	if _, err := postgres.ServerCertificates(testCtx(t), postgres.Options{Host: "/var/run/postgresql", Port: 5432, User: "postgres"}); !errors.Is(err, postgres.ErrNoTLS) {
		t.Errorf("a Unix socket: %v, want ErrNoTLS", err)
	}
}
