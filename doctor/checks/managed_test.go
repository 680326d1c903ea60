package checks

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/doctor"
)

// TestTLSFixNamesTheService: where the host shows a managed service, the fix for a server that
// requires TLS says what that service expects; elsewhere it does not name one.
func TestTLSFixNamesTheService(t *testing.T) {
	noTLS := &pgconn.PgError{Code: "28000", Message: `no pg_hba.conf entry for host "x", user "compozy", database "compozy", no encryption`}
	for host, says := range map[string]string{
		"db.abc.eu-west-1.rds.amazonaws.com":   "Amazon RDS speaks TLS",
		"myserver.postgres.database.azure.com": "Azure Database for PostgreSQL requires TLS",
		"192.0.2.10":                           "",
	} {
		db := postgresDB()
		db.Host = host
		s := testSet(t, db, Inputs{Net: &fakeNet{}}, &fakeConn{}, noTLS)
		r := runCheck(t, s.postgresChecks(), doctor.IDPostgresConnect, want{doctor.StatusFail, `TLS: the server requires an encrypted connection`})
		if !strings.HasPrefix(r.Fix.Text, "set database.ssl_mode: require") {
			t.Errorf("%s: fix %q", host, r.Fix.Text)
		}
		if says != "" && !strings.Contains(r.Fix.Text, says) || says == "" && strings.Contains(r.Fix.Text, ". ") {
			t.Errorf("%s: fix %q, want it to say %q", host, r.Fix.Text, says)
		}
	}
}
