package checks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/managed"
	"compozy.dev/setup/doctor"
)

var tlsNow = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// testCert makes a certificate for cn (and names) valid until notAfter, signed by parent (self-
// signed when nil); it returns the certificate and its key for signing others.
func testCert(t *testing.T, cn string, names []string, notAfter time.Time, ca bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: tlsNow.Add(-24 * time.Hour), NotAfter: notAfter, IsCA: ca, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func writePEM(t *testing.T, c *x509.Certificate) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "root.crt")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTLSResult(t *testing.T) {
	year := tlsNow.Add(365 * 24 * time.Hour)
	snakeoil, _ := testCert(t, "localhost", []string{"localhost"}, year, false, nil, nil)
	ca, caKey := testCert(t, "Compozy Test CA", nil, year, true, nil, nil)
	signed, _ := testCert(t, "db.example.com", []string{"db.example.com"}, year, false, ca, caKey)
	soon, _ := testCert(t, "db.example.com", []string{"db.example.com"}, tlsNow.Add(10*24*time.Hour), false, ca, caKey)
	expired, _ := testCert(t, "localhost", []string{"localhost"}, tlsNow.Add(-time.Hour), false, nil, nil)
	root := writePEM(t, ca)
	local := func(mode string) tlsSettings {
		return tlsSettings{Host: "127.0.0.1", Mode: mode, Local: true, Settings: factory.ConnSettings{Host: "127.0.0.1", Port: 5432, User: "compozy", Database: "compozy"}}
	}
	remote := func(mode, rootCert string) tlsSettings {
		return tlsSettings{Host: "db.example.com", Mode: mode, RootCert: rootCert,
			Settings: factory.ConnSettings{Host: "db.example.com", Port: 5432, User: "compozy", Database: "compozy"}}
	}
	for _, tc := range []struct {
		name  string
		st    tlsSettings
		certs []*x509.Certificate
		err   error
		want  want
		fix   string
	}{
		{"local, TLS off", local("disable"), nil, nil, want{doctor.StatusPass, `no TLS \(ssl_mode disable\) to 127\.0\.0\.1, on this machine`}, ""},
		{"remote, TLS off", remote("disable", ""), nil, nil,
			want{doctor.StatusWarn, `ssl_mode disable for db\.example\.com, a host that is not this machine`}, `sslmode=verify-full&sslrootcert=/path/to/root.crt`},
		{"remote, prefer, with TLS", remote("prefer", ""), []*x509.Certificate{signed}, nil,
			want{doctor.StatusWarn, `ssl_mode prefer for db\.example\.com(.|\n)*certificate subject CN=db\.example\.com`}, `verify-full`},
		{"remote, prefer, no TLS offered", remote("prefer", ""), nil, factory.ErrNoTLS,
			want{doctor.StatusWarn, `ssl_mode prefer(.|\n)*does not offer TLS: the connection is not encrypted`}, ""},
		{"require, but no TLS offered", local("require"), nil, factory.ErrNoTLS, want{doctor.StatusFail, `ssl_mode require, but 127\.0\.0\.1 does not offer TLS`}, ""},
		{"local require: subject, issuer, days", local("require"), []*x509.Certificate{snakeoil}, nil,
			want{doctor.StatusPass, `^TLS \(ssl_mode require\): certificate subject CN=localhost, issuer CN=localhost \(self-signed\), expires 2027-12-05 \(365 days\); not verified`}, ""},
		{"verify-full without the CA", local("verify-full"), []*x509.Certificate{snakeoil}, nil,
			want{doctor.StatusFail, `ssl_mode verify-full: the server's certificate \(issuer CN=localhost\) is not signed by a CA in this machine's CAs`}, `sslrootcert=`},
		{"verify-full with the CA", remote("verify-full", root), []*x509.Certificate{signed}, nil,
			want{doctor.StatusPass, `TLS \(ssl_mode verify-full\): certificate subject CN=db\.example\.com, issuer CN=Compozy Test CA, expires`}, ""},
		{"verify-full, the name differs", tlsSettings{Host: "10.1.2.3", Mode: "verify-full", RootCert: root}, []*x509.Certificate{signed}, nil,
			want{doctor.StatusFail, `ssl_mode verify-full: the certificate is for db\.example\.com, not 10\.1\.2\.3`}, ""},
		{"verify-ca ignores the name", tlsSettings{Host: "10.1.2.3", Mode: "verify-ca", RootCert: root}, []*x509.Certificate{signed}, nil,
			want{doctor.StatusPass, `ssl_mode verify-ca`}, ""},
		{"sslrootcert missing", remote("verify-full", "/nonexistent/root.crt"), []*x509.Certificate{signed}, nil,
			want{doctor.StatusFail, `cannot read sslrootcert /nonexistent/root\.crt`}, ""},
		{"expires in ten days", remote("verify-full", root), []*x509.Certificate{soon}, nil,
			want{doctor.StatusWarn, `the server's certificate expires in 10 days \(2026-12-15\)`}, ""},
		{"expired", local("require"), []*x509.Certificate{expired}, nil, want{doctor.StatusFail, `the server's certificate expired on 2026-12-05`}, ""},
		{"handshake failed", local("require"), nil, errors.New("TLS handshake with 127.0.0.1:5432: EOF"), want{doctor.StatusFail, `cannot read the server's certificate`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tlsResult(tc.st, tc.certs, tc.err, tlsNow)
			cs := []doctor.Check{{Info: doctor.Info{ID: "t"}, Run: func(context.Context) doctor.Result { return r }}}
			runCheck(t, cs, "t", tc.want)
			if tc.fix != "" && !contains(r.Fix.Text+"\n"+commands(r), tc.fix) {
				t.Errorf("fix %q %q, want %q in it", r.Fix.Text, commands(r), tc.fix)
			}
		})
	}
}

// certsFake is CertSource with a canned answer; asked counts the handshakes, fileAsked the
// logins that read ssl_cert_file (certFile, or fileErr).
type certsFake struct {
	certs     []*x509.Certificate
	err       error
	asked     int
	certFile  string
	fileErr   error
	fileAsked int
}

func (c *certsFake) ServerCertFile(context.Context, config.Database, *x509.Certificate) (string, error) {
	c.fileAsked++
	if c.fileErr != nil {
		return "", c.fileErr
	}
	return c.certFile, nil
}

func (c *certsFake) ServerCertificates(context.Context, config.Database) ([]*x509.Certificate, error) {
	c.asked++
	return c.certs, c.err
}

// postgres.tls reads the settings and asks the server itself: it needs no login.
func TestTLSCheck(t *testing.T) {
	certs := &certsFake{}
	db := postgresDB() // 192.0.2.10, ssl_mode disable
	s := testSet(t, db, Inputs{Certs: certs}, &fakeConn{}, errors.New("refused"))
	runCheck(t, []doctor.Check{s.tlsCheck()}, doctor.IDPostgresTLS, want{doctor.StatusWarn, `ssl_mode disable for 192\.0\.2\.10, a host that is not this machine`})
	if certs.asked != 0 {
		t.Errorf("ssl_mode disable: asked the server for TLS %d times", certs.asked)
	}

	leaf, _ := testCert(t, "localhost", []string{"localhost"}, tlsNow.Add(3000*24*time.Hour), false, nil, nil)
	certs = &certsFake{certs: []*x509.Certificate{leaf}}
	db.Host, db.SSLMode = "localhost", "require"
	s = testSet(t, db, Inputs{Certs: certs}, &fakeConn{}, errors.New("refused"))
	runCheck(t, []doctor.Check{s.tlsCheck()}, doctor.IDPostgresTLS, want{doctor.StatusPass, `TLS \(ssl_mode require\): certificate subject CN=localhost`})
	if certs.asked != 1 {
		t.Errorf("asked %d times", certs.asked)
	}
}

// Where the host shows a managed service, postgres.tls's fixes (a weak ssl_mode, a chain or a
// name verify-full does not accept, a server without TLS) say what that service expects; on
// any other host they name none.
func TestTLSFixNamesTheManagedService(t *testing.T) {
	year := tlsNow.Add(365 * 24 * time.Hour)
	ca, caKey := testCert(t, "Some CA", nil, year, true, nil, nil)
	leaf := func(name string) []*x509.Certificate {
		c, _ := testCert(t, name, []string{name}, year, false, ca, caKey)
		return []*x509.Certificate{c}
	}
	root := writePEM(t, ca)
	const rds = "mydb.abc123.us-east-1.rds.amazonaws.com"
	settings := func(host, mode, rootCert string) tlsSettings {
		return tlsSettings{Host: host, Mode: mode, RootCert: rootCert, Service: managed.FromHost(host),
			Settings: factory.ConnSettings{Host: host, Port: 5432, User: "compozy", Database: "compozy"}}
	}
	for _, tc := range []struct {
		name  string
		st    tlsSettings
		certs []*x509.Certificate
		err   error
		want  want
		fix   []string // in the fix's text and commands
	}{
		{"RDS, ssl_mode prefer", settings(rds, "prefer", ""), leaf(rds), nil,
			want{doctor.StatusWarn, `ssl_mode prefer for ` + rds},
			[]string{"set ssl_mode: verify-full", "Amazon RDS speaks TLS", "the RDS CA bundle (global-bundle.pem from truststore.pki.rds.amazonaws.com)", "sslmode=verify-full&sslrootcert=/path/to/global-bundle.pem"}},
		{"RDS, verify-full without the bundle", settings(rds, "verify-full", ""), leaf(rds), nil,
			want{doctor.StatusFail, `ssl_mode verify-full: the server's certificate \(issuer CN=Some CA\) is not signed by a CA in this machine's CAs`},
			[]string{"give compozy the CA", "Amazon RDS", "global-bundle.pem"}},
		{"Cloud SQL, verify-full and a certificate without the host", settings("myproject-db.abc.sql.goog", "verify-full", root), leaf("myproject:db"), nil,
			want{doctor.StatusFail, `the certificate is for myproject:db, not myproject-db\.abc\.sql\.goog`},
			[]string{"connect by a name the certificate holds", "Cloud SQL", "verify-ca with the server CA from the console"}},
		{"Supabase, ssl_mode disable", settings("db.abcdefgh.supabase.co", "disable", ""), nil, nil,
			want{doctor.StatusWarn, `ssl_mode disable for db\.abcdefgh\.supabase\.co`},
			[]string{"Supabase accepts TLS on every endpoint", "sslrootcert=/path/to/root.crt"}},
		{"Neon, require and no TLS offered", settings("ep-cool-123.us-east-2.aws.neon.tech", "require", ""), nil, factory.ErrNoTLS,
			want{doctor.StatusFail, `ssl_mode require, but ep-cool-123\.us-east-2\.aws\.neon\.tech does not offer TLS`},
			[]string{"Neon accepts TLS only"}},
		{"Azure, verify-full, the name differs", settings("srv.postgres.database.azure.com", "verify-full", root), leaf("other.example.com"), nil,
			want{doctor.StatusFail, `the certificate is for other\.example\.com`},
			[]string{"Azure Database for PostgreSQL requires TLS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tlsResult(tc.st, tc.certs, tc.err, tlsNow)
			runCheck(t, []doctor.Check{{Info: doctor.Info{ID: "t"}, Run: func(context.Context) doctor.Result { return r }}}, "t", tc.want)
			for _, w := range tc.fix {
				if !contains(r.Fix.Text+"\n"+commands(r), w) {
					t.Errorf("fix %q %q, want %q in it", r.Fix.Text, commands(r), w)
				}
			}
		})
	}

	// A host of no service: the same fixes, naming none.
	for _, st := range []tlsSettings{settings("db.example.com", "prefer", ""), settings("10.1.2.3", "verify-full", root)} {
		r := tlsResult(st, leaf("db.example.com"), nil, tlsNow)
		if r.Status == doctor.StatusPass || r.Fix.Text == "" {
			t.Fatalf("%s: %+v, want a fix", st.Host, r)
		}
		for _, name := range []string{"Amazon RDS", "Cloud SQL", "Supabase", "Neon", "Azure"} {
			if contains(r.Fix.Text, name) {
				t.Errorf("%s: fix %q names %s", st.Host, r.Fix.Text, name)
			}
		}
	}

	// Through the check: the configured host decides.
	db := postgresDB()
	db.Host, db.SSLMode = rds, "prefer"
	s := testSet(t, db, Inputs{Certs: &certsFake{certs: leaf(rds)}}, &fakeConn{}, errors.New("refused"))
	r := runCheck(t, []doctor.Check{s.tlsCheck()}, doctor.IDPostgresTLS, want{doctor.StatusWarn, `ssl_mode prefer for ` + rds})
	if !contains(r.Fix.Text, "Amazon RDS") || !contains(r.Fix.Text, "global-bundle.pem") {
		t.Errorf("fix %q %q, want Amazon RDS's CA bundle", r.Fix.Text, commands(r))
	}
}

// A new user's trial: verify-full to 127.0.0.1, the local server's self-signed certificate for
// localhost, not trusted here. One run names both problems (the CA and the name), and one
// conn_string fixes both: the server's ssl_cert_file as sslrootcert, host localhost, the
// user's own parameters kept as written (no connect_timeout added), the path unencoded, in
// the fix's text (a setting, not a command).
func TestTLSChainAndNameInOneRun(t *testing.T) {
	year := tlsNow.Add(365 * 24 * time.Hour)
	snakeoil, _ := testCert(t, "localhost", []string{"localhost"}, year, false, nil, nil)
	stranger, _ := testCert(t, "localhost", []string{"localhost"}, year, false, nil, nil)
	certFile, otherFile := writePEM(t, snakeoil), writePEM(t, stranger)
	st := func(file string) tlsSettings {
		return tlsSettings{Host: "127.0.0.1", Mode: "verify-full", Local: true,
			ConnString: "postgres://postgres:s3cret@127.0.0.1:5432/app?sslmode=verify-full&application_name=my%20app",
			Settings:   factory.ConnSettings{Host: "127.0.0.1", Port: 5432, User: "postgres", Database: "app", ConnectTimeout: 5 * time.Second},
			CertFile:   func(*x509.Certificate) string { return file }}
	}
	r := tlsResult(st(certFile), []*x509.Certificate{snakeoil}, nil, tlsNow)
	runCheck(t, []doctor.Check{{Info: doctor.Info{ID: "t"}, Run: func(context.Context) doctor.Result { return r }}}, "t",
		want{doctor.StatusFail, `^ssl_mode verify-full: the server's certificate \(issuer CN=localhost\) is not signed by a CA in this machine's CAs; and the certificate is for localhost, not 127\.0\.0\.1\n`})
	line := "  postgres://postgres:[redacted]@localhost:5432/app?sslmode=verify-full&application_name=my%20app&sslrootcert=" + certFile
	if !strings.HasSuffix(r.Fix.Text, "\nset database.conn_string to:\n"+line) || len(r.Fix.Commands) != 0 {
		t.Errorf("fix %q %q, want the conn_string line %q in the text and no command", r.Fix.Text, r.Fix.Commands, line)
	}
	for _, w := range []string{"two changes", "reads it from " + certFile + " (its ssl_cert_file)", "connect by a name the certificate holds (localhost) instead of 127.0.0.1"} {
		if !contains(r.Fix.Text, w) {
			t.Errorf("fix %q, want %q", r.Fix.Text, w)
		}
	}
	for _, bad := range []string{"connect_timeout", "%2F", "s3cret", "$ "} {
		if contains(r.Fix.Text, bad) {
			t.Errorf("fix %q has %q", r.Fix.Text, bad)
		}
	}
	// No file found (localCertFile checks that the server's file holds the leaf): the placeholder.
	if r := tlsResult(st(""), []*x509.Certificate{snakeoil}, nil, tlsNow); !contains(r.Fix.Text, "@localhost:5432/app?sslmode=verify-full&application_name=my%20app&sslrootcert=/path/to/root.crt") {
		t.Errorf("no certificate file: fix %q", r.Fix.Text)
	}
	if got := localCertFile(t.Context(), &certsFake{certFile: certFile}, config.Database{}, snakeoil); got != certFile {
		t.Errorf("localCertFile, the server's own file: %q", got)
	}
	for name, c := range map[string]*certsFake{"another certificate": {certFile: otherFile}, "a relative name": {certFile: "server.crt"},
		"missing": {certFile: "/nonexistent/server.crt"}, "no login": {fileErr: errors.New("password authentication failed")}} {
		if got := localCertFile(t.Context(), c, config.Database{}, snakeoil); got != "" {
			t.Errorf("localCertFile, %s: %q, want none", name, got)
		}
	}
}

// Through the check: a local server is asked for its ssl_cert_file (a login pinned to its
// certificate) only where the chain fails; a remote one never.
func TestTLSCheckAsksLocalCertFile(t *testing.T) {
	leaf, _ := testCert(t, "localhost", []string{"localhost"}, tlsNow.Add(3000*24*time.Hour), false, nil, nil)
	file := writePEM(t, leaf)
	db := postgresDB()
	db.Host, db.SSLMode = "127.0.0.1", "verify-full"
	certs := &certsFake{certs: []*x509.Certificate{leaf}, certFile: file}
	s := testSet(t, db, Inputs{Certs: certs}, &fakeConn{}, errors.New("refused"))
	r := runCheck(t, []doctor.Check{s.tlsCheck()}, doctor.IDPostgresTLS, want{doctor.StatusFail, `not signed by a CA in this machine's CAs; and the certificate is for localhost, not 127\.0\.0\.1`})
	if certs.fileAsked != 1 || !contains(r.Fix.Text, "postgres://compozy@localhost:5432/compozy?sslmode=verify-full&sslrootcert="+file) {
		t.Errorf("asked %d times; fix %q", certs.fileAsked, r.Fix.Text)
	}
	db.Host = "192.0.2.10"
	certs = &certsFake{certs: []*x509.Certificate{leaf}, certFile: file}
	s = testSet(t, db, Inputs{Certs: certs}, &fakeConn{}, errors.New("refused"))
	runCheck(t, []doctor.Check{s.tlsCheck()}, doctor.IDPostgresTLS, want{doctor.StatusFail, `not signed by a CA`})
	if certs.fileAsked != 0 {
		t.Errorf("a remote server: asked for its file %d times", certs.fileAsked)
	}
}

// editConnString changes only what the fix is about and keeps the rest as the user wrote it.
func TestTLSEditConnString(t *testing.T) {
	for _, tc := range []struct{ in, host, mode, root, want string }{
		{"postgres://u@127.0.0.1:5432/db?sslmode=verify-full", "localhost", "verify-full", "/etc/ssl/certs/x.pem",
			"postgres://u@localhost:5432/db?sslmode=verify-full&sslrootcert=/etc/ssl/certs/x.pem"},
		{"postgresql://u@db.internal/db?connect_timeout=9&sslrootcert=%2Fold%2Fca.pem&search_path=a%2Cb", "", "verify-ca", "/new dir/ca.pem",
			"postgresql://u@db.internal/db?connect_timeout=9&sslrootcert=/new%20dir/ca.pem&search_path=a%2Cb&sslmode=verify-ca"},
		{"postgres://u:pw@[::1]:5433/db", "localhost", "", "", "postgres://u:[redacted]@localhost:5433/db"},
		{"postgres://u@h1:5432,h2:5432/db?sslmode=require", "localhost", "verify-full", "", "postgres://u@h1:5432,h2:5432/db?sslmode=verify-full&host=localhost"},
		{"host=127.0.0.1 port=5432 user=u dbname=db sslmode = 'verify-full' connect_timeout=3", "localhost", "verify-full", "/a b/ca.pem",
			"host=localhost port=5432 user=u dbname=db sslmode=verify-full connect_timeout=3 sslrootcert='/a b/ca.pem'"},
		{"host=db user=u password=secret", "", "verify-full", "/ca.pem", "host=db user=u password=[redacted] sslmode=verify-full sslrootcert=/ca.pem"},
	} {
		if got := editConnString(tc.in, tlsChange{Mode: tc.mode, RootCert: tc.root, Host: tc.host}); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	// Settings given as fields: a conn_string in their place, without the connect_timeout the
	// user set as database.connect_timeout.
	cs := factory.ConnSettings{Host: "127.0.0.1", Port: 5432, Hosts: []string{"127.0.0.1"}, Ports: []int{5432}, User: "u", Database: "db",
		SSLMode: "verify-full", ConnectTimeout: 5 * time.Second}
	if got, want := fieldsConnString(cs, tlsChange{Mode: "verify-full", RootCert: "/etc/ssl/certs/x.pem", Host: "localhost"}),
		"postgres://u@localhost:5432/db?sslmode=verify-full&sslrootcert=/etc/ssl/certs/x.pem"; got != want {
		t.Errorf("fields: got %s, want %s", got, want)
	}
}

// The fix says where to change the connection string: the file, the flag or the variable it
// came from.
func TestTLSFixSaysWhereTheConnStringComesFrom(t *testing.T) {
	for _, tc := range []struct {
		from config.Source
		want string
	}{
		{config.Source{Kind: config.SourceFile, File: "compozy.yaml", Line: 3}, "set database.conn_string to:\n  "},
		{config.Source{Kind: config.SourceFlag, Name: "--db-conn-string"}, "give --db-conn-string (where the connection string comes from now) the value:\n  "},
		{config.Source{Kind: config.SourceEnv, Name: "COMPOZY_DB_CONN_STRING"}, "set COMPOZY_DB_CONN_STRING (where the connection string comes from now) to:\n  "},
	} {
		st := tlsSettings{ConnString: "postgres://u@127.0.0.1:5432/db?sslmode=verify-full", ConnStringFrom: tc.from}
		got := st.connStringLine(tlsChange{Host: "localhost"})
		if want := tc.want + "postgres://u@localhost:5432/db?sslmode=verify-full"; got != want {
			t.Errorf("%s:\n got %q\nwant %q", tc.from, got, want)
		}
	}
}

// A verify-full that passes without sslrootcert says which store verified it, and that
// libpq (psql) reads ~/.postgresql/root.crt instead.
func TestTLSSystemTrustDetail(t *testing.T) {
	year := tlsNow.Add(365 * 24 * time.Hour)
	leaf, _ := testCert(t, "localhost", []string{"localhost"}, year, false, nil, nil)
	// verifyResult reports the trust source through its Detail; the system store cannot be
	// made to trust a test certificate here, so the branch is reached through tlsResult's
	// use of it: a result with systemTrust passes with it as the detail.
	r, ok := verifyResult(tlsSettings{Host: "localhost", Mode: "verify-full", RootCert: writePEM(t, leaf)}, []*x509.Certificate{leaf}, "", tlsNow)
	if !ok || r.Detail != "" {
		t.Errorf("with sslrootcert: %v %q, want ok and no trust note", ok, r.Detail)
	}
	for _, w := range []string{"this machine's certificate store", "~/.postgresql/root.crt", "root.crt does not exist", "sslrootcert=system"} {
		if !contains(systemTrust, w) {
			t.Errorf("systemTrust %q, want %q", systemTrust, w)
		}
	}
}

// postgres.connect: an unreadable TLS file is named with its key; a TLS failure gives
// postgres.tls's fix, not a contradicting one.
func TestConnectTLSFindings(t *testing.T) {
	db := postgresDB()
	db.Host, db.Port, db.User, db.Name, db.SSLMode = "", 0, "", "", ""
	db.ConnString = "postgres://compozy@127.0.0.1:5432/compozy?sslmode=verify-full&sslrootcert=/nonexistent/root.crt"
	s := testSet(t, db, Inputs{Certs: &certsFake{}}, &fakeConn{}, nil)
	r := runCheck(t, s.postgresChecks(), doctor.IDPostgresConnect,
		want{doctor.StatusFail, `^sslrootcert /nonexistent/root\.crt cannot be read: no such file or directory\n`})
	if !contains(r.Fix.Text, "correct sslrootcert in database.conn_string") {
		t.Errorf("fix %q", r.Fix.Text)
	}
	runCheck(t, []doctor.Check{s.tlsCheck()}, doctor.IDPostgresTLS, want{doctor.StatusSkip, `^skipped: sslrootcert /nonexistent/root\.crt cannot be read`})

	leaf, _ := testCert(t, "localhost", []string{"localhost"}, time.Now().Add(3000*24*time.Hour), false, nil, nil)
	db = postgresDB()
	db.Host, db.SSLMode = "127.0.0.1", "verify-full"
	openErr := fmt.Errorf("failed to connect: %w", &tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: leaf, Host: "127.0.0.1"}})
	s = testSet(t, db, Inputs{Certs: &certsFake{certs: []*x509.Certificate{leaf}}}, &fakeConn{}, openErr)
	r = runCheck(t, s.postgresChecks(), doctor.IDPostgresConnect, want{doctor.StatusFail, `^TLS: `})
	if !strings.HasPrefix(r.Fix.Text, "as postgres.tls finds (ssl_mode verify-full: the server's certificate") ||
		!contains(r.Fix.Text, "postgres://compozy@localhost:5432/compozy?sslmode=verify-full&sslrootcert=/path/to/root.crt") || contains(r.Fix.Text, "require or verify-full") {
		t.Errorf("fix %q, want postgres.tls's", r.Fix.Text)
	}
}
