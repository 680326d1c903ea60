package cli

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/internal/testenv"
)

// reportSecret is the one password of the report tests, put in every place a secret can be.
const reportSecret = "S3cr3t-Pa55!x"

// secretForms are the spellings of reportSecret a document could carry.
func secretForms(s string) []string {
	return []string{s, url.QueryEscape(s), url.PathEscape(s), url.UserPassword("u", s).String(),
		base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))}
}

// expectReport checks a report's sections, that every check of the same run's --json is in
// it, and that no spelling of the secret is.
func expectReport(t *testing.T, report string, doc doctorDoc) {
	t.Helper()
	for _, h := range []string{"# compozy doctor report", "## Environment", "| compozy |", "| Go |", "| OS |",
		"## Checks", "## Configuration (`compozy config show`)", "| Key | Value | Source |"} {
		if !strings.Contains(report, h) {
			t.Errorf("report lacks %q", h)
		}
	}
	if len(doc.Checks) == 0 {
		t.Fatal("the --json run listed no checks")
	}
	for _, c := range doc.Checks {
		if !strings.Contains(report, "`"+c.ID) {
			t.Errorf("report lacks check %s", c.ID)
		}
	}
	for _, f := range secretForms(reportSecret) {
		if strings.Contains(report, f) {
			t.Errorf("report carries the secret as %q", f)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", report)
	}
}

// TestDoctorReportRedacts: one known password in the conn_string URL, the environment, a
// *_FILE secret, compozy.yaml in plain text and the vector DB's API key (URL and environment):
// the report says where each came from and carries the password in no spelling.
func TestDoctorReportRedacts(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	port := closedPort(t)
	enc := url.QueryEscape(reportSecret)
	server := fmt.Sprintf(`
  host: 127.0.0.1
  port: %d
  user: compozy
  name: compozy`, port)
	yaml := fmt.Sprintf(`database:
  driver: postgres%%s
  password: %q
  connect_timeout: 2s
knowledge:
  vector_dbs:
    - id: kb
      provider: qdrant
      url: http://127.0.0.1:%d?api_key=%s
      dimension: 8
`, reportSecret, port, enc)
	secretFile := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(secretFile, []byte(reportSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	connURL := fmt.Sprintf("postgres://compozy:%s@127.0.0.1:%d/compozy?sslmode=disable&connect_timeout=2", url.PathEscape(reportSecret), port)
	for _, c := range []struct {
		name   string
		server string
		env    []string
		args   []string
	}{
		{"file and environment", server, []string{"COMPOZY_DB_PASSWORD=" + reportSecret, "QDRANT_API_KEY=" + reportSecret}, nil},
		{"secret file", server, []string{"COMPOZY_DB_PASSWORD_FILE=" + secretFile}, nil},
		{"conn string", "", []string{"DB_PASSWORD=" + reportSecret}, []string{"--db-conn-string", connURL}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "compozy.yaml"), []byte(fmt.Sprintf(yaml, c.server)), 0o600); err != nil {
				t.Fatal(err)
			}
			j := binRun(t, bin, dir, c.env, append([]string{"doctor", "--json"}, c.args...)...)
			doc := parseDoctor(t, j)
			r := binRun(t, bin, dir, c.env, append([]string{"doctor", "--report"}, c.args...)...)
			if r.code != j.code {
				t.Errorf("--report exit %d, --json exit %d\n%s", r.code, j.code, r.errOut)
			}
			expectReport(t, r.out, doc)
			for _, f := range secretForms(reportSecret) {
				if strings.Contains(r.errOut, f) {
					t.Errorf("standard error carries the secret as %q", f)
				}
			}
			if !strings.Contains(r.out, "| database.password | [redacted]") {
				t.Errorf("the report does not show the password key as redacted:\n%s", r.out)
			}
		})
	}
}

// TestDoctorReportFileSQLite: --report FILE writes the file (0600, atomically, nothing else on
// standard output) with SQLite's facts, and the database's folder is unchanged.
func TestDoctorReportFileSQLite(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	before := snapshot(t, filepath.Dir(db))
	out := filepath.Join(t.TempDir(), "support.md")
	doc := parseDoctor(t, binRun(t, bin, dir, nil, "doctor", "--json"))
	for _, args := range [][]string{{"--report", out}, {"--report=" + out}} {
		_ = os.Remove(out)
		r := binRun(t, bin, dir, nil, append([]string{"doctor"}, args...)...)
		if r.code != 0 || r.out != "" || !strings.Contains(r.errOut, "Wrote "+out+" (mode 0600)") {
			t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.out, r.errOut)
		}
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("report mode %v, want 0600", fi.Mode().Perm())
		}
		b, _ := os.ReadFile(out)
		expectReport(t, string(b), doc)
		for _, want := range []string{"| SQLite | 3.", "| Journal mode | wal |", "| Filesystem | ", "| database.driver | sqlite | " + "compozy.yaml:"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("report lacks %q", want)
			}
		}
		if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
			t.Errorf("the report's folder holds %d files, want only the report", len(entries))
		}
	}
	if after := snapshot(t, filepath.Dir(db)); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("doctor --report changed the database's folder:\nbefore %v\nafter  %v", before, after)
	}
	if r := binRun(t, bin, dir, nil, "doctor", "--report", "--fix"); r.code != 2 {
		t.Errorf("--report --fix: exit %d, want 2", r.code)
	}
}

// TestDoctorReportNeverReplaces: --report FILE refuses a name that exists (the database, the
// config file, any other file, a symbolic link to the database, one that leads nowhere) with
// exit 2 before any check runs, and leaves every file as it was, content and mode.
func TestDoctorReportNeverReplaces(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	if err := os.WriteFile(filepath.Join(dir, "notes.md"), []byte("my notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(db, filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling.md")); err != nil {
		t.Fatal(err)
	}
	rows := countRows(t, db)
	for _, name := range []string{"data/compozy.db", db, "compozy.yaml", "notes.md", "link.db", "dangling.md"} {
		before, sums := snapshot(t, dir), treeState(t, filepath.Join(dir, "data"))
		r := binRun(t, bin, dir, nil, "doctor", "--report", name)
		if r.code != ExitUsage || r.out != "" || !strings.Contains(r.errOut, "doctor --report: "+name+" already exists, and the report never replaces a file") {
			t.Errorf("--report %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", name, r.code, ExitUsage, r.out, r.errOut)
		}
		if after := snapshot(t, dir); fmt.Sprint(before) != fmt.Sprint(after) {
			t.Errorf("--report %s changed the folder:\nbefore %v\nafter  %v", name, before, after)
		}
		sameFolder(t, "--report "+name, sums, treeState(t, filepath.Join(dir, "data")))
	}
	// The names of the database's own files that do not exist now: a report there would be read
	// as a crashed write (-journal), a -wal without its -shm, or a damaged database.
	for _, name := range []string{"data/compozy.db-journal", "data/compozy.db-wal", "data/compozy.db-shm", "data/compozy.db.migrate.lock", "data/compozy.db.copy.lock", "data/../data/compozy.db-journal"} {
		_, statErr := os.Lstat(filepath.Join(dir, name))
		existed := statErr == nil
		r := binRun(t, bin, dir, nil, "doctor", "--report", name)
		want := "is the name of the database's own file"
		if existed {
			want = "already exists"
		}
		if r.code != ExitUsage || !strings.Contains(r.errOut, want) {
			t.Errorf("--report %s: exit %d, want %d with %q\n%s", name, r.code, ExitUsage, want, r.errOut)
		}
		if _, err := os.Lstat(filepath.Join(dir, name)); !existed && err == nil {
			t.Errorf("--report %s created it", name)
		}
	}
	// A database not created yet: its name is refused too.
	r := binRun(t, bin, dir, nil, "doctor", "--db-path", "data/new.db", "--report", "data/new.db")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "is the name of the database's own file new.db") {
		t.Errorf("--report on a database not created yet: exit %d\n%s", r.code, r.errOut)
	}
	if r := binRun(t, bin, dir, nil, "doctor", "--report", "nodir/new.md"); r.code != ExitUsage || !strings.Contains(r.errOut, "the folder nodir does not exist") || strings.Contains(r.errOut, ".tmp") {
		t.Errorf("--report in a missing folder: exit %d\n%s", r.code, r.errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.md")); string(b) != "my notes\n" {
		t.Errorf("notes.md now holds %q", b)
	}
	if got := countRows(t, db); got != rows {
		t.Errorf("the database holds %s, had %s", got, rows)
	}
	if r := binRun(t, bin, dir, nil, "doctor"); r.code != 0 {
		t.Errorf("doctor after the refusals: exit %d\n%s", r.code, r.out)
	}
}

// TestDoctorReportPostgres: the server's version and extensions are in the report.
func TestDoctorReportPostgres(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dsn := testenv.PostgresDB(t)
	dir := t.TempDir()
	if r := binRun(t, bin, dir, nil, "migrate", "up", "--db-conn-string", dsn); r.code != 0 {
		t.Fatalf("migrate up: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	r := binRun(t, bin, dir, nil, "doctor", "--report", "--db-conn-string", dsn)
	doc := parseDoctor(t, binRun(t, bin, dir, nil, "doctor", "--json", "--db-conn-string", dsn))
	expectReport(t, r.out, doc)
	for _, want := range []string{"| PostgreSQL | ", "| Server | PostgreSQL ", "| Extensions | ", "plpgsql", "| Connection TLS | "} {
		if !strings.Contains(r.out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
