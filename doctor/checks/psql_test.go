package checks

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/doctor"
)

// psqlCmd: a SQL fix is a psql command naming the database (its URL without the password, from
// database.* or a conn_string, a socket folder too), as another user when asked, quoted for a
// shell; the settings that do not parse fall back to database.host/port/user/name.
func TestPSQLCmdNamesTheDatabase(t *testing.T) {
	pg := func(f func(*config.Database)) config.Database {
		db := config.Database{Driver: config.DriverPostgres, MaxOpenConns: 10}
		f(&db)
		return db
	}
	for _, tc := range []struct {
		name string
		db   config.Database
		user string
		want string
	}{
		{"database.*", postgresDB(), "", `psql 'postgres://compozy@192.0.2.10:5432/compozy?sslmode=disable' -c 'SELECT 1;'`},
		{"as postgres", postgresDB(), "postgres", `psql 'postgres://postgres@192.0.2.10:5432/compozy?sslmode=disable' -c 'SELECT 1;'`},
		{"a URL with a password and sslrootcert", pg(func(db *config.Database) {
			db.ConnString = "postgres://app:hunter2@db.internal:5433/kb?sslmode=verify-full&sslrootcert=/etc/ca.pem"
		}), "", `psql 'postgres://app@db.internal:5433/kb?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem' -c 'SELECT 1;'`},
		{"keyword/value", pg(func(db *config.Database) {
			db.ConnString = "host=10.0.0.5 port=6543 user=app password='hunter2 x' dbname=kb sslmode=require"
		}), "", `psql 'postgres://app@10.0.0.5:6543/kb?sslmode=require' -c 'SELECT 1;'`},
		{"a socket folder", pg(func(db *config.Database) {
			db.ConnString = "host=/var/run/postgresql user=app dbname=kb sslmode=disable"
		}), "",
			`psql 'postgres://app@/kb?host=%2Fvar%2Frun%2Fpostgresql&port=5432&sslmode=disable' -c 'SELECT 1;'`},
		{"settings that do not parse", badSettings(), "", `psql postgres://localhost:5432/app -c 'SELECT 1;'`},
	} {
		if got := psqlCmd(tc.db, tc.user, "SELECT 1;"); got != tc.want || strings.Contains(got, "hunter2") {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// A role that does not exist: the fix creates it with psql, as postgres, on the server named.
func TestMissingRoleFixIsPSQL(t *testing.T) {
	p := &pgProbe{cfg: postgresDB()}
	r := p.classify(&pgconn.PgError{Code: "28000", Message: `role "compozy" does not exist`}, "192.0.2.10:5432")
	checkFix(t, r, `^create the role as a superuser \(the command connects as postgres; put your password for the new role in place of \.\.\.\), or fix database\.user$`,
		`psql 'postgres://postgres@192.0.2.10:5432/compozy?sslmode=disable' -c 'CREATE ROLE "compozy" LOGIN PASSWORD '\''...'\'';'`)
	if r.Status != doctor.StatusFail {
		t.Errorf("status %s", r.Status)
	}
}
