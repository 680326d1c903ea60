package checks

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"compozy.dev/setup/doctor"
)

// postgres.connect names a TLS file conn_string points at that the connection cannot use, by
// key and path, with a fix for that key: an sslrootcert that holds no PEM certificate (a new
// user's trial: sslrootcert=/etc/passwd), an sslcert that holds none, an sslkey that holds no
// PEM key, a certificate and a key that are not a pair, sslcert without sslkey. postgres.tls
// skips, naming the same.
func TestConnectNamesABadTLSFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pemOf := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	cert, key := testCert(t, "compozy", nil, time.Now().Add(24*time.Hour), false, nil, nil)
	_, other := testCert(t, "other", nil, time.Now().Add(24*time.Hour), false, nil, nil)
	der := func(k any) []byte {
		b, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	text := write("passwd", []byte("root:x:0:0:root:/root:/bin/bash\n"))
	certFile := write("client.crt", pemOf("CERTIFICATE", cert.Raw))
	keyFile := write("client.key", pemOf("PRIVATE KEY", der(key)))
	otherKey := write("other.key", pemOf("PRIVATE KEY", der(other)))
	rx := regexp.QuoteMeta
	for _, tc := range []struct {
		name, params, summary, fix string
	}{
		{"sslrootcert not PEM", "sslmode=verify-ca&sslrootcert=" + text,
			"sslrootcert " + text + " holds no PEM certificate", "point sslrootcert in database.conn_string at the CA certificate that signed the server's certificate, in PEM"},
		{"sslcert not PEM", "sslmode=require&sslcert=" + text + "&sslkey=" + keyFile,
			"sslcert " + text + " holds no PEM certificate", "point sslcert in database.conn_string at compozy's client certificate, in PEM"},
		{"sslkey not PEM", "sslmode=require&sslcert=" + certFile + "&sslkey=" + text,
			"sslkey " + text + " holds no PEM private key", "point sslkey in database.conn_string at the private key of the client certificate in sslcert, in PEM"},
		{"not a pair", "sslmode=require&sslcert=" + certFile + "&sslkey=" + otherKey,
			"sslcert " + certFile + " and sslkey " + otherKey + " are not a certificate and its key: ", "point sslkey in database.conn_string at the private key of the certificate in sslcert"},
		{"sslcert without sslkey", "sslmode=require&sslcert=" + certFile,
			"sslcert " + certFile + " is set without sslkey", "add sslkey=PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := postgresDB()
			db.Host, db.Port, db.User, db.Name, db.SSLMode = "", 0, "", "", ""
			db.ConnString = "postgres://compozy@127.0.0.1:5432/compozy?" + tc.params
			s := testSet(t, db, Inputs{Certs: &certsFake{}}, &fakeConn{}, nil)
			r := runCheck(t, s.postgresChecks(), doctor.IDPostgresConnect, want{doctor.StatusFail, "^" + rx(tc.summary)})
			if !contains(r.Fix.Text, tc.fix) || contains(r.Summary, "do not parse") {
				t.Errorf("summary %q fix %q, want %q", r.Summary, r.Fix.Text, tc.fix)
			}
			runCheck(t, []doctor.Check{s.tlsCheck()}, doctor.IDPostgresTLS, want{doctor.StatusSkip, "^skipped: " + rx(tc.summary)})
		})
	}
	// A good pair and a PEM root: nothing to name (the settings parse).
	db := postgresDB()
	db.ConnString = "postgres://compozy@127.0.0.1:5432/compozy?sslmode=verify-ca&sslrootcert=" + certFile + "&sslcert=" + certFile + "&sslkey=" + keyFile
	if p, ok := badTLSFile(db); ok {
		t.Errorf("good files: %+v", p)
	}
}
