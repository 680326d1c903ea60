package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// lockWorkflows opens a second session with application_name app that locks workflow_states
// (ACCESS EXCLUSIVE, in a transaction it keeps open), and returns it.
func lockWorkflows(t *testing.T, dsn, app string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = app
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	for _, q := range []string{"BEGIN", "LOCK TABLE workflow_states IN ACCESS EXCLUSIVE MODE"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return conn
}

// alive reports whether the blocker's session still answers.
func alive(t *testing.T, conn *pgx.Conn) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := conn.Exec(ctx, "SELECT 1")
	return err == nil
}

// A session that holds a lock on a Compozy table: the doctor's statements give up (lock_timeout)
// instead of waiting out their timeout, postgres.locks names the session, and --fix ends it only
// with --terminate, confirmed.
func TestDoctorPostgresLockHolder(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dsn := testenv.PostgresDB(t)
	migratePG(t, dsn)
	dir := t.TempDir()
	env := pgEnv(dsn)
	blocker := lockWorkflows(t, dsn, "compozy-test-blocker")
	pid := blocker.PgConn().PID()
	named := regexp.QuoteMeta(fmt.Sprintf(`PID %d (application_name "compozy-test-blocker", 127.0.0.1, idle in transaction, transaction open `, pid))

	r := binRun(t, bin, dir, env, "doctor", "--json")
	if r.code != 1 {
		t.Errorf("exit %d, want 1 (a failed check, not 3: nothing timed out)\n%s", r.code, r.errOut)
	}
	d := parseDoctor(t, r)
	lk := expectCheck(t, d, doctor.IDPostgresLocks, doctor.StatusFail, "^"+named+`.*holds a lock that stops Compozy's work\n`+
		named+`.*holds AccessExclusiveLock on workflow_states.*query: LOCK TABLE workflow_states IN ACCESS EXCLUSIVE MODE`)
	// A psql command that names the server (its URL without the password), not bare SQL.
	want := regexp.MustCompile(fmt.Sprintf(`^psql 'postgres://[^:@']+@[^'@]+' -c 'SELECT pg_terminate_backend\(%d\);'$`, pid))
	if len(lk.Fix.Commands) == 0 || !want.MatchString(lk.Fix.Commands[0]) || !lk.Fixable {
		t.Errorf("fix %+v (fixable %v), want %s", lk.Fix, lk.Fixable, want)
	}
	expectCheck(t, d, doctor.IDStorageRoundTrip, doctor.StatusFail, `another session holds a lock on Compozy's tables: the write waited 2s \(lock_timeout\)(.|\n)*55P03`)
	for _, c := range d.Checks {
		if c.Status == doctor.StatusError {
			t.Errorf("%s: %s (%s): a lock made a check run out of time", c.ID, c.Status, c.Summary)
		}
	}

	// --fix alone, --fix --yes, and --fix --terminate without a terminal or --yes end nothing.
	for _, args := range [][]string{{"--fix"}, {"--fix", "--yes"}, {"--fix", "--terminate"}} {
		r := binRun(t, bin, dir, env, append([]string{"doctor", "--only", "postgres"}, args...)...)
		want := "needs --terminate; --fix and --yes alone never do it"
		if len(args) == 2 && args[1] == "--terminate" {
			want = "not a terminal; pass --terminate --yes to apply"
		}
		if !strings.Contains(r.out, want) || !strings.Contains(r.out, fmt.Sprintf("PID %d", pid)) {
			t.Errorf("doctor %v: want %q naming PID %d:\n%s", args, want, pid, r.out)
		}
		if !alive(t, blocker) {
			t.Fatalf("doctor %v ended the blocker's session", args)
		}
	}

	// --terminate --yes without a terminal is the confirmation.
	r = binRun(t, bin, dir, env, "doctor", "--only", "postgres", "--fix", "--terminate", "--yes")
	if !strings.Contains(r.out, fmt.Sprintf("Fixed postgres.locks: terminate 1 session with pg_terminate_backend: PID %d", pid)) {
		t.Errorf("--fix --terminate --yes:\n%s\n%s", r.out, r.errOut)
	}
	if alive(t, blocker) {
		t.Error("the blocker's session still answers after --fix --terminate --yes")
	}
	if r.code != 0 {
		t.Errorf("exit %d after the blocker was ended:\n%s", r.code, r.out)
	}
}

// On a terminal, --fix --terminate asks, naming the session; y ends it.
func TestDoctorPostgresTerminateAsks(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dsn := testenv.PostgresDB(t)
	migratePG(t, dsn)
	blocker := lockWorkflows(t, dsn, "compozy-pty-blocker")
	pid := blocker.PgConn().PID()
	s := startPTY(t, t.TempDir(), bin, ptyOpts{env: pgEnv(dsn)}, "doctor", "--only", "postgres", "--fix", "--terminate", "--yes")
	question := fmt.Sprintf("postgres.locks: terminate 1 session with pg_terminate_backend: PID %d", pid)
	s.waitFor("the question", func(sc string) bool {
		return strings.Contains(strings.Join(strings.Fields(sc), " "), question) && strings.Contains(sc, "[y/N]")
	})
	if !alive(t, blocker) {
		t.Fatal("the session was ended before the answer")
	}
	s.press("y\r")
	code, screen := s.wait()
	if alive(t, blocker) {
		t.Errorf("answered y, but the session still answers; screen:\n%s", screen)
	}
	if code != 0 {
		t.Errorf("exit %d; screen:\n%s", code, screen)
	}
}

// postgres.connections weighs --replicas (or COMPOZY_REPLICAS) processes of max_open_conns
// against the local server's max_connections.
func TestDoctorPostgresReplicasBudget(t *testing.T) {
	bin := buildCompozy(t)
	dsn := testenv.PostgresDB(t)
	dir := t.TempDir()
	fail := `^1000 × max_open_conns 25 \+ \d+ held by other clients = \d+ of \d+ connections \(max_connections \d+ - \d+ superuser_reserved_connections.*\): \d+%\n.*too many clients already`
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"flag", nil, []string{"--replicas", "1000"}},
		{"env", []string{"COMPOZY_REPLICAS=1000"}, nil},
		{"the flag wins", []string{"COMPOZY_REPLICAS=1"}, []string{"--replicas", "1000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := binRun(t, bin, dir, pgEnv(dsn, tc.env...), append([]string{"doctor", "--json", "--only", doctor.IDPostgresConnections}, tc.args...)...)
			expectCheck(t, parseDoctor(t, r), doctor.IDPostgresConnections, doctor.StatusFail, fail)
			if r.code != 1 {
				t.Errorf("exit %d", r.code)
			}
		})
	}
	r := binRun(t, bin, dir, pgEnv(dsn), "doctor", "--json", "--only", doctor.IDPostgresConnections)
	expectCheck(t, parseDoctor(t, r), doctor.IDPostgresConnections, doctor.StatusPass, `^1 × max_open_conns 25 \+`)
	for _, bad := range [][]string{{"COMPOZY_REPLICAS=many"}, {"COMPOZY_REPLICAS=0"}} {
		r := binRun(t, bin, dir, pgEnv(dsn, bad...), "doctor", "--json")
		if r.code != 2 || !strings.Contains(r.errOut, "COMPOZY_REPLICAS must be a whole number") {
			t.Errorf("%v: exit %d, %s", bad, r.code, r.errOut)
		}
	}
	// --replicas 0 is refused like -1, not taken for "not given" (COMPOZY_REPLICAS would win).
	for _, bad := range []struct{ value, want string }{
		{"0", "--replicas must be 1 or more, got 0"},
		{"-1", "--replicas must be 1 or more, got -1"},
		{"abc", `must be a whole number, 1 or more, got "abc"`},
	} {
		r := binRun(t, bin, dir, pgEnv(dsn, "COMPOZY_REPLICAS=10"), "doctor", "--json", "--replicas", bad.value)
		if r.code != 2 || !strings.Contains(r.errOut, bad.want) || strings.Contains(r.errOut, "strconv") {
			t.Errorf("--replicas %s: exit %d, want 2 with %q: %s", bad.value, r.code, bad.want, r.errOut)
		}
	}
	if r := binRun(t, bin, dir, pgEnv(dsn), "doctor", "--terminate"); r.code != 2 || !strings.Contains(r.errOut, "--terminate goes with --fix") {
		t.Errorf("--terminate alone: exit %d, %s", r.code, r.errOut)
	}
}

// The test server has ssl=on with Debian's self-signed certificate for localhost: require
// works and shows it; verify-full fails and names the fix.
func TestDoctorPostgresTLS(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	u, err := url.Parse(testenv.PostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	with := func(mode string) string {
		q := u.Query()
		q.Set("sslmode", mode)
		v := *u
		v.RawQuery = q.Encode()
		return v.String()
	}
	r := binRun(t, bin, dir, pgEnv(with("require")), "doctor", "--json", "--only", "postgres")
	d := parseDoctor(t, r)
	expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusPass, "")
	expectCheck(t, d, doctor.IDPostgresTLS, doctor.StatusPass,
		`^TLS \(ssl_mode require\): certificate subject CN=\S+, issuer CN=\S+( \(self-signed\))?, expires \d{4}-\d\d-\d\d \(\d+ days\); not verified`)

	// verify-full to 127.0.0.1, this machine's CAs not trusting the self-signed certificate
	// (a new user's trial): one run names both problems, the CA and the name, and one
	// conn_string fixes both. It is a setting in the fix's text, not a command; it keeps the
	// parameters as written (no connect_timeout added), with the server's own ssl_cert_file as
	// sslrootcert, unencoded.
	untrusted := []string{"SSL_CERT_DIR=/nonexistent", "SSL_CERT_FILE=/nonexistent"}
	r = binRun(t, bin, dir, pgEnv(with("verify-full"), untrusted...), "doctor", "--json", "--only", "postgres")
	d = parseDoctor(t, r)
	tl := expectCheck(t, d, doctor.IDPostgresTLS, doctor.StatusFail,
		`^ssl_mode verify-full: the server's certificate \(issuer CN=\S+\) is not signed by a CA in this machine's CAs; and the certificate is for \S+, not 127\.0\.0\.1`)
	fixed := regexp.MustCompile(`\nset COMPOZY_DB_CONN_STRING \(where the connection string comes from now\) to:\n  (postgres://\S+)$`).FindStringSubmatch(tl.Fix.Text)
	if fixed == nil || len(tl.Fix.Commands) != 0 {
		t.Fatalf("fix %q %q: want one conn_string line in the text, no command", tl.Fix.Text, tl.Fix.Commands)
	}
	if !regexp.MustCompile(`^postgres://[^@]+@localhost:\d+/\w+\?sslmode=verify-full&sslrootcert=/\S+$`).MatchString(fixed[1]) ||
		strings.Contains(fixed[1], "connect_timeout") || strings.Contains(fixed[1], "%2F") {
		t.Errorf("conn_string %s: want host localhost, sslrootcert the server's file, nothing else added", fixed[1])
	}
	cn := expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusFail, `^TLS: `)
	if !strings.Contains(cn.Fix.Text, fixed[1]) || strings.Contains(cn.Fix.Text, "require or verify-full") {
		t.Errorf("postgres.connect's fix %q: want postgres.tls's", cn.Fix.Text)
	}
	if r.code != 1 {
		t.Errorf("exit %d", r.code)
	}
	// The fix, applied as printed, works on the first try.
	r = binRun(t, bin, dir, pgEnv(fixed[1], untrusted...), "doctor", "--json", "--only", "postgres")
	d = parseDoctor(t, r)
	expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusPass, "")
	expectCheck(t, d, doctor.IDPostgresTLS, doctor.StatusPass, `^TLS \(ssl_mode verify-full\): certificate subject CN=localhost`)

	// A missing sslrootcert is named, with its key.
	q := u.Query()
	q.Set("sslmode", "verify-full")
	q.Set("sslrootcert", filepath.Join(t.TempDir(), "missing.crt"))
	v := *u
	v.RawQuery = q.Encode()
	r = binRun(t, bin, dir, pgEnv(v.String()), "doctor", "--json", "--only", "postgres")
	d = parseDoctor(t, r)
	cn = expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusFail, `^sslrootcert /\S+/missing\.crt cannot be read: no such file or directory`)
	if !strings.Contains(cn.Fix.Text, "sslrootcert in database.conn_string") {
		t.Errorf("fix %q", cn.Fix.Text)
	}
	// An sslrootcert that is not a certificate (a new user's trial: /etc/passwd) is named by key
	// and path, with a fix that points it at the CA certificate in PEM.
	notPEM := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(notPEM, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	q.Set("sslmode", "verify-ca")
	q.Set("sslrootcert", notPEM)
	v.RawQuery = q.Encode()
	r = binRun(t, bin, dir, pgEnv(v.String()), "doctor", "--json", "--only", "postgres")
	d = parseDoctor(t, r)
	cn = expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusFail, `^sslrootcert `+regexp.QuoteMeta(notPEM)+` holds no PEM certificate\nparse postgres connection settings: failed to configure TLS \(unable to add CA to cert pool\)$`)
	if !strings.Contains(cn.Fix.Text, "point sslrootcert in database.conn_string at the CA certificate") || strings.Contains(cn.Fix.Text, "host/port/user/name") {
		t.Errorf("fix %q", cn.Fix.Text)
	}
	expectCheck(t, d, doctor.IDPostgresTLS, doctor.StatusSkip, `^skipped: sslrootcert `+regexp.QuoteMeta(notPEM)+` holds no PEM certificate`)

	// Trusted through this machine's store: the pass says so, and that psql reads another file.
	store := []string{"SSL_CERT_DIR=/nonexistent", "SSL_CERT_FILE=" + strings.SplitN(fixed[1], "sslrootcert=", 2)[1]}
	v = *u
	q = u.Query()
	q.Set("sslmode", "verify-full")
	v.Host, v.RawQuery = "localhost:"+u.Port(), q.Encode()
	r = binRun(t, bin, dir, pgEnv(v.String(), store...), "doctor", "--json", "--only", "postgres")
	d = parseDoctor(t, r)
	tl = expectCheck(t, d, doctor.IDPostgresTLS, doctor.StatusPass, `verified by this machine's certificate store`)
	if !strings.Contains(tl.Detail, "~/.postgresql/root.crt") {
		t.Errorf("detail %q: want libpq's own default named", tl.Detail)
	}

	// verify-full with a root certificate that did not sign the server's: the fix names sslrootcert.
	q = u.Query()
	q.Set("sslmode", "verify-full")
	q.Set("sslrootcert", otherCA(t))
	v = *u
	v.Host, v.RawQuery = "localhost:"+u.Port(), q.Encode()
	r = binRun(t, bin, dir, pgEnv(v.String()), "doctor", "--json", "--only", "postgres")
	d = parseDoctor(t, r)
	expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusFail, `^TLS: `)
	tl = expectCheck(t, d, doctor.IDPostgresTLS, doctor.StatusFail,
		`^ssl_mode verify-full: the server's certificate \(issuer CN=\S+\) is not signed by a CA in sslrootcert `)
	if !regexp.MustCompile(`\nset COMPOZY_DB_CONN_STRING \(where the connection string comes from now\) to:\n  postgres://\S*sslmode=verify-full&sslrootcert=/\S+$`).MatchString(tl.Fix.Text) || len(tl.Fix.Commands) != 0 {
		t.Errorf("fix %q %q: want the sslrootcert to give", tl.Fix.Text, tl.Fix.Commands)
	}
}

// otherCA writes a CA certificate that signed nothing the server has, and returns its path.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Not The Server's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "root.crt")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
