package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/internal/testenv"
)

// The pg_dump tests run the real binary against the real PostgreSQL: pg_dump gets the whole
// connection `migrate` uses (every host, the TLS files, run-time parameters), through its
// environment, never its command line; the caller's PG* variables pass only for the settings the
// configuration leaves open.

// silentAddr is the host:port of a server that accepts and never answers (startSilentServer).
func silentAddr(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", startSilentServer(t).Port)
}

// needPgDump skips the test without pg_dump (CI installs it).
func needPgDump(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("pg_dump"); err != nil {
		testenv.Unavailable(t, "pg_dump", "install the PostgreSQL client tools", err)
	}
}

// dumpHasTable checks with pg_restore that the dump at path holds the table.
func dumpHasTable(t *testing.T, path, table string) {
	t.Helper()
	out, err := exec.Command("pg_restore", "--list", path).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_restore --list %s: %v\n%s", path, err, out)
	}
	if !regexp.MustCompile(`TABLE public ` + table + ` `).Match(out) {
		t.Errorf("the dump %s has no table %s:\n%s", path, table, out)
	}
}

// hostileEnv are PG* variables of a user's shell that must not decide where pg_dump connects:
// the configuration names the server, the database and the role.
var hostileEnv = []string{"PGHOST=203.0.113.7", "PGPORT=1", "PGUSER=compozy_nobody", "PGDATABASE=compozy_nowhere", "PGHOSTADDR=203.0.113.8"}

// TestReviewPgDumpFallbackHost: with a first host that accepts and never answers, migrate
// connects through the second; so does db backup's pg_dump (PGHOST/PGPORT list every host),
// and so does the pg_dump command migrate down prints, run as printed. With every host silent
// the error names each one and the limit.
func TestReviewPgDumpFallbackHost(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	needPgDump(t)
	dsn := testenv.PostgresDB(t)
	host, port, user, name := pgParts(t, dsn)
	silent := silentAddr(t)
	url := fmt.Sprintf("postgres://%s@%s,%s/%s?sslmode=disable&connect_timeout=2", user, silent, net.JoinHostPort(host, port), name)
	dir := t.TempDir()
	env := append([]string{"COMPOZY_DB_DRIVER=postgres", "COMPOZY_DB_CONN_STRING=" + url}, hostileEnv...)

	wantCode(t, binRun(t, bin, dir, env, "migrate", "up"), 0, "migrate up")
	wantCode(t, binRun(t, bin, dir, env, "migrate", "version"), 0, "migrate version")

	dump := filepath.Join(dir, "fallback.dump")
	r := binRun(t, bin, dir, env, "db", "backup", "--to", dump)
	wantCode(t, r, 0, "db backup with a silent first host")
	dumpHasTable(t, dump, "workflow_states")

	// migrate down prints the command to run first; it carries both hosts and works as printed.
	adminExec(t, dsn, `INSERT INTO users (id, email, role) VALUES ('u1', 'a@example.com', 'admin')`)
	r = binRun(t, bin, dir, env, "migrate", "down", "--to", "0")
	wantCode(t, r, ExitUsage, "migrate down without --yes")
	_, silentPort, _ := net.SplitHostPort(silent)
	m := regexp.MustCompile(`(?m)^\s+(PGHOST=\S+ .*pg_dump .*)$`).FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("migrate down printed no pg_dump command:\n%s", r.out)
	}
	command := m[1]
	for _, want := range []string{"PGHOST=127.0.0.1," + host, "PGPORT=" + silentPort + "," + port, "PGCONNECT_TIMEOUT=2", "PGDATABASE=" + name} {
		if !strings.Contains(command, want) {
			t.Errorf("the printed command lacks %s:\n%s", want, command)
		}
	}
	// The user's shell may set PGHOST, PGPORT, PGUSER and PGDATABASE: the command's own win.
	run := exec.Command("sh", "-c", command)
	run.Dir, run.Env = dir, cleanEnv(hostileEnv[:4]...)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("the printed command failed: %v\n%s\n%s", err, command, out)
	}
	printed, _ := filepath.Glob(filepath.Join(dir, "*-backup-*.dump"))
	if len(printed) != 1 {
		t.Fatalf("the printed command wrote %v", printed)
	}
	dumpHasTable(t, printed[0], "users")

	// Every host silent: the error names each, and the limit.
	second := silentAddr(t)
	env = []string{"COMPOZY_DB_DRIVER=postgres", "COMPOZY_DB_CONN_STRING=" +
		fmt.Sprintf("postgres://%s@%s,%s/%s?sslmode=disable&connect_timeout=2", user, silent, second, name)}
	r = binRun(t, bin, dir, env, "db", "backup", "--to", filepath.Join(dir, "none.dump"))
	if r.code == 0 || !strings.Contains(r.errOut, "pg_dump got no answer from "+silent+", "+second+" within 2s") {
		t.Errorf("db backup with every host silent: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.dump")); err == nil {
		t.Error("a failed backup left a file under its name")
	}
}

// serverCert is the local server's certificate file when TLS is on and the certificate signs
// itself (Debian's snakeoil), so that it is its own root for sslmode=verify-ca.
func serverCert(t *testing.T, dsn string) string {
	t.Helper()
	db := openTestDB(t, "pgx", dsn)
	var ssl, file string
	if err := db.QueryRowContext(t.Context(), "SELECT current_setting('ssl'), current_setting('ssl_cert_file')").Scan(&ssl, &file); err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(file) {
		var dataDir string
		if err := db.QueryRowContext(t.Context(), "SELECT current_setting('data_directory')").Scan(&dataDir); err != nil {
			t.Fatal(err)
		}
		file = filepath.Join(dataDir, file)
	}
	b, err := os.ReadFile(file)
	if ssl != "on" || err != nil {
		testenv.Unavailable(t, "PostgreSQL with TLS", "set ssl = on with a certificate this user can read", fmt.Errorf("ssl=%s, %s: %v", ssl, file, err))
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s holds no PEM certificate", file)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	// Signed by its own key (a leaf without the CA flag, as Debian's snakeoil, still serves as
	// its own root for verify-ca in libpq and pgx).
	if !bytes.Equal(c.RawIssuer, c.RawSubject) || c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
		t.Skipf("the server's certificate %s is not self-signed; verify-ca needs its CA", file)
	}
	return file
}

// TestReviewPgDumpVerifyCA: sslmode=verify-ca with sslrootcert in conn_string works for
// migrate and for db backup (PGSSLROOTCERT from the settings, over the user's own); without
// sslrootcert in the settings, the user's PGSSLROOTCERT reaches pg_dump as it reaches migrate.
// The printed command carries the TLS file, target_session_attrs and run-time parameters.
func TestReviewPgDumpVerifyCA(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	needPgDump(t)
	dsn := testenv.PostgresDB(t)
	cert := serverCert(t, dsn)
	host, port, user, name := pgParts(t, dsn)
	base := fmt.Sprintf("postgres://%s@%s/%s?sslmode=verify-ca", user, net.JoinHostPort(host, port), name)
	home := t.TempDir() // no ~/.postgresql/root.crt to fall back on
	dir := t.TempDir()

	named := base + "&sslrootcert=" + cert + "&target_session_attrs=read-write&search_path=public&application_name=compozy_review"
	env := append([]string{"HOME=" + home, "COMPOZY_DB_DRIVER=postgres", "COMPOZY_DB_CONN_STRING=" + named,
		"PGSSLROOTCERT=" + filepath.Join(home, "not-this.crt")}, hostileEnv...)
	wantCode(t, binRun(t, bin, dir, env, "migrate", "up"), 0, "migrate up")
	wantCode(t, binRun(t, bin, dir, env, "migrate", "version"), 0, "migrate version")
	dump := filepath.Join(dir, "verify-ca.dump")
	wantCode(t, binRun(t, bin, dir, env, "db", "backup", "--to", dump), 0, "db backup with sslrootcert in conn_string")
	dumpHasTable(t, dump, "workflow_states")

	// Without pg_dump the exact command is printed: the same settings.
	noPgDump := append(env, "PATH="+t.TempDir())
	r := binRun(t, bin, dir, noPgDump, "db", "backup", "--to", filepath.Join(dir, "printed.dump"))
	for _, want := range []string{"PGSSLMODE=verify-ca", "PGSSLROOTCERT=" + cert, "PGTARGETSESSIONATTRS=read-write",
		"PGOPTIONS='-c search_path=public'", "PGAPPNAME=compozy_review", "PGHOST=" + host + " ", "PGDATABASE=" + name} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the printed command lacks %s:\n%s", want, r.out)
		}
	}

	// The settings leave sslrootcert open: the user's PGSSLROOTCERT applies to both.
	env = []string{"HOME=" + home, "COMPOZY_DB_DRIVER=postgres", "COMPOZY_DB_CONN_STRING=" + base, "PGSSLROOTCERT=" + cert}
	wantCode(t, binRun(t, bin, dir, env, "migrate", "version"), 0, "migrate version with PGSSLROOTCERT")
	dump = filepath.Join(dir, "env-root.dump")
	wantCode(t, binRun(t, bin, dir, env, "db", "backup", "--to", dump), 0, "db backup with PGSSLROOTCERT")
	dumpHasTable(t, dump, "workflow_states")
}

// TestReviewPgDumpEnvironment records what pg_dump is given (a stand-in on PATH writes its
// arguments and environment): the password in PGPASSWORD only, every host, each setting
// conn_string names in its variable (over the user's), run-time parameters in PGOPTIONS, the
// user's variables for settings left open, never the user's server, role, database or password.
func TestReviewPgDumpEnvironment(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	const secret = "Dump-S3cret pw"
	tools := t.TempDir()
	rec := t.TempDir()
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + rec + "/argv\nenv > " + rec + "/env\nexit 3\n"
	if err := os.WriteFile(filepath.Join(tools, "pg_dump"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// The user's service names another server: pgx lets the settings beat it, and libpq would
	// let it beat PGHOST, so PGSERVICE must not reach pg_dump.
	services := filepath.Join(t.TempDir(), "pg_service.conf")
	if err := os.WriteFile(services, []byte("[users-own-service]\nhost=203.0.113.9\nport=1\ndbname=evil\nuser=evil\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem") // pgx reads the root certificate while parsing
	writeTestCert(t, ca)
	url := "postgres://app@127.0.0.1:5433,127.0.0.2:5434/compozy?sslmode=disable&connect_timeout=3" +
		"&sslrootcert=" + ca + "&sslcert=/etc/compozy/client.pem&sslkey=/etc/compozy/client.key&sslcrl=/etc/compozy/crl.pem" +
		"&target_session_attrs=read-write&search_path=my%20schema,public&options=-c%20work_mem%3D8MB&pool_max_conns=4"
	env := []string{"COMPOZY_DB_DRIVER=postgres", "COMPOZY_DB_CONN_STRING=" + url, "COMPOZY_DB_PASSWORD=" + secret,
		"PATH=" + tools + ":/usr/bin:/bin", "PGPASSWORD=users-own-pw", "PGSSLROOTCERT=/home/user/other-ca.pem",
		"PGSERVICEFILE=" + services, "PGSSLCRLDIR=/home/user/crls", "PGSERVICE=users-own-service"}
	env = append(env, hostileEnv...)
	r := binRun(t, bin, t.TempDir(), env, "db", "backup", "--to", filepath.Join(t.TempDir(), "x.dump"))
	if r.code == 0 || !strings.Contains(r.errOut, "pg_dump failed") {
		t.Fatalf("db backup with the stand-in: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	argv, err := os.ReadFile(filepath.Join(rec, "argv"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(argv), "S3cret") || strings.Contains(string(r.out+r.errOut), "S3cret") {
		t.Errorf("the password is in pg_dump's arguments or the output:\n%s\n%s%s", argv, r.out, r.errOut)
	}
	raw, err := os.ReadFile(filepath.Join(rec, "env"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && strings.HasPrefix(k, "PG") {
			got[k] = v
		}
	}
	want := map[string]string{
		"PGHOST":               "127.0.0.1,127.0.0.2",
		"PGPORT":               "5433,5434",
		"PGUSER":               "app",
		"PGDATABASE":           "compozy",
		"PGPASSWORD":           secret,
		"PGSSLMODE":            "disable",
		"PGCONNECT_TIMEOUT":    "3",
		"PGSSLROOTCERT":        ca,
		"PGSSLCERT":            "/etc/compozy/client.pem",
		"PGSSLKEY":             "/etc/compozy/client.key",
		"PGSSLCRL":             "/etc/compozy/crl.pem",
		"PGTARGETSESSIONATTRS": "read-write",
		"PGOPTIONS":            `-c work_mem=8MB -c search_path=my\ schema,public`,
		"PGSERVICEFILE":        services,
		"PGSSLCRLDIR":          "/home/user/crls",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("pg_dump's %s = %q, want %q", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("pg_dump got %s=%q, which neither the settings nor the rule for the user's variables gives", k, got[k])
		}
	}
}

// writeTestCert writes a self-signed certificate in PEM to path.
func writeTestCert(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "compozy test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
