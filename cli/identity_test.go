package cli

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"compozy.dev/setup/internal/testenv"
)

// Identity, not spelling (issue 10, DESIGN.md section 9): a SQLite database is its real file and
// a PostgreSQL database its server, database and schema, whatever name reaches it. The tests run
// the real binary: two migrations through two names of one file apply every version once, and a
// copy of a database onto itself by any other name is refused before anything is touched, with
// --force too.

// identityRounds is how many times the concurrent migrations run per layout: the race the issue
// reports showed in 4 runs of 10.
const identityRounds = 10

// treeState records everything under dir without following links: for a file its mode, link
// count and content hash; for a link its target; for a folder its mode. Two equal states mean
// nothing was created, removed or changed.
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m[rel] = "link -> " + target
		case fi.IsDir():
			m[rel] = "dir " + fi.Mode().String()
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			var links uint64
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				links = uint64(st.Nlink)
			}
			m[rel] = fmt.Sprintf("%s links=%d sha256=%s", fi.Mode(), links, hex.EncodeToString(sum[:]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// diffStates describes how after differs from before.
func diffStates(before, after map[string]string) string {
	var d []string
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if a, ok := after[k]; !ok {
			d = append(d, "removed "+k)
		} else if a != before[k] {
			d = append(d, "changed "+k+": "+before[k]+" -> "+a)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[k]; !ok {
			d = append(d, "created "+k+" ("+after[k]+")")
		}
	}
	return strings.Join(d, "\n")
}

// seedWorkflows adds n workflow_states rows to the migrated SQLite database at path.
func seedWorkflows(t *testing.T, path string, n int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
		INSERT INTO workflow_states (workflow_exec_id, workflow_id, status, input)
		SELECT 'exec-' || i, 'wf-' || (i % 7), 'SUCCESS', json_object('n', i) FROM c`, n); err != nil {
		t.Fatal(err)
	}
}

// TestIdentityMigrateThroughLinks starts `migrate up` through two names of one fresh database at
// the same moment, 10 times per layout: every migration is recorded exactly once, the one lock
// is beside the real file, nothing is created beside a link, and the file is 0600 also when a
// dangling link created it.
func TestIdentityMigrateThroughLinks(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	layouts := []struct {
		name string
		// make builds the layout in dir and returns the two names (relative to dir) and the
		// real file, which does not exist yet.
		make func(t *testing.T, dir string) (a, b, real string)
	}{
		{"dangling link and real path", func(t *testing.T, dir string) (string, string, string) {
			mustMkdirAll(t, filepath.Join(dir, "real"))
			mustSymlink(t, "real/compozy.db", filepath.Join(dir, "link.db"))
			return "link.db", "./real/compozy.db", filepath.Join(dir, "real", "compozy.db")
		}},
		{"two dangling links", func(t *testing.T, dir string) (string, string, string) {
			mustMkdirAll(t, filepath.Join(dir, "real"))
			real := filepath.Join(dir, "real", "compozy.db")
			mustSymlink(t, "real/compozy.db", filepath.Join(dir, "one.db"))
			mustSymlink(t, real, filepath.Join(dir, "two.db")) // absolute target
			return "one.db", "two.db", real
		}},
		{"linked folder", func(t *testing.T, dir string) (string, string, string) {
			mustMkdirAll(t, filepath.Join(dir, "real"))
			mustSymlink(t, "real", filepath.Join(dir, "alias"))
			return "alias/compozy.db", "real/compozy.db", filepath.Join(dir, "real", "compozy.db")
		}},
		{"link into a folder not created yet", func(t *testing.T, dir string) (string, string, string) {
			mustSymlink(t, "real/sub/compozy.db", filepath.Join(dir, "link.db"))
			return "link.db", "real/sub/compozy.db", filepath.Join(dir, "real", "sub", "compozy.db")
		}},
	}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			for round := range identityRounds {
				dir := t.TempDir()
				a, b, real := l.make(t, dir)
				before := treeState(t, dir)
				outs := migrateTogether(t, bin, dir, a, b)
				var applied []string
				for i, out := range outs {
					if !strings.Contains(out, "Target: sqlite "+real+"\n") {
						t.Errorf("round %d: process %d does not name the real file %s:\n%s", round, i, real, out)
					}
					applied = append(applied, okVersions(out)...)
				}
				if len(applied) != migrationsN {
					t.Fatalf("round %d: the two processes applied %d migrations, want %d:\n%s\n%s", round, len(applied), migrationsN, outs[0], outs[1])
				}
				rows := versionRows(t, openTestDB(t, "sqlite", real))
				if len(rows) != migrationsN+1 {
					t.Fatalf("round %d: goose_db_version holds %d versions, want %d: %v", round, len(rows), migrationsN+1, rows)
				}
				for v, n := range rows {
					if n != 1 {
						t.Errorf("round %d: version %d recorded %d times", round, v, n)
					}
				}
				fi, err := os.Stat(real)
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("round %d: %s: %v, mode %v; want 0600", round, real, err, fi.Mode())
				}
				// Everything new is beside the real file and named after it; the links are as
				// they were.
				after := treeState(t, dir)
				for name, st := range after {
					if old, ok := before[name]; ok {
						if old != st && !strings.HasPrefix(old, "dir ") {
							t.Errorf("round %d: %s changed: %s -> %s", round, name, old, st)
						}
						continue
					}
					p := filepath.Join(dir, name)
					if strings.HasPrefix(st, "dir ") {
						if !strings.HasPrefix(real, p+string(filepath.Separator)) {
							t.Errorf("round %d: folder %s created", round, name)
						}
						if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o027 != 0 {
							t.Errorf("round %d: folder %s created with mode %v, want 0750 or tighter", round, name, fi.Mode())
						}
						continue
					}
					if filepath.Dir(p) != filepath.Dir(real) || !strings.HasPrefix(filepath.Base(p), filepath.Base(real)) {
						t.Errorf("round %d: %s created (%s), not beside the real file %s", round, name, st, real)
					}
				}
			}
		})
	}
}

// migrateTogether starts `migrate up --db-path a` and `--db-path b` in dir back to back and
// returns their outputs once both succeeded.
func migrateTogether(t *testing.T, bin, dir string, paths ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for _, p := range paths {
		cmd := exec.CommandContext(ctx, bin, "migrate", "up", "--db-driver", "sqlite", "--db-path", p)
		cmd.Dir, cmd.Env = dir, cleanEnv()
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	var res []string
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("migrate up --db-path %s: %v\n%s", paths[i], err, outs[i])
		}
		res = append(res, outs[i].String())
	}
	return res
}

func mustMkdirAll(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o750); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// wantSameRefused asserts that a db copy was refused as a copy onto itself.
func wantSameRefused(t *testing.T, r cliRun, args string) {
	t.Helper()
	if r.code != ExitUsage {
		t.Errorf("db copy %s: exit %d, want %d (refused)\n%s%s", args, r.code, ExitUsage, r.out, r.errOut)
	}
	if !strings.Contains(r.errOut, "are the same database") || !strings.Contains(r.errOut, "refused, with --force too") {
		t.Errorf("db copy %s: the message does not say they are the same database:\n%s", args, r.errOut)
	}
	if strings.Contains(r.errOut, "--help") {
		t.Errorf("db copy %s: a same-database refusal is not a usage mistake that --help explains:\n%s", args, r.errOut)
	}
}

// TestIdentityCopyOntoItselfSQLite: db copy from a SQLite file onto itself by another name (a
// symbolic link, a hard link, x/../, an absolute path, a config file, the configured database) is
// refused with exit 2, with --force; the file, its rows and its folder stay exactly as they were.
func TestIdentityCopyOntoItselfSQLite(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim.db")
	newSQLiteDB(t, victim, "WAL", 0)
	seedWorkflows(t, victim, 2000)
	mustSymlink(t, "victim.db", filepath.Join(dir, "vlink.db"))
	if err := os.Link(victim, filepath.Join(dir, "hard.db")); err != nil {
		t.Fatal(err)
	}
	mustMkdirAll(t, filepath.Join(dir, "x"))
	mustMkdirAll(t, filepath.Join(dir, "cfg"))
	writeFile(t, filepath.Join(dir, "cfg", "same.yaml"), "database:\n  driver: sqlite\n  path: ../victim.db\n")
	writeFile(t, filepath.Join(dir, "compozy.yaml"), "database:\n  driver: sqlite\n  path: ./vlink.db\n")
	rows := countRows(t, victim)
	if !strings.Contains(rows, "workflow_states=2000") {
		t.Fatalf("seeded %s", rows)
	}
	before := treeState(t, dir)

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"symlink", []string{"--from", "./victim.db", "--to", "./vlink.db"}},
		{"symlink as source", []string{"--from", "./vlink.db", "--to", "./victim.db"}},
		{"hard link", []string{"--from", "./victim.db", "--to", "./hard.db"}},
		{"hard link and symlink", []string{"--from", "./hard.db", "--to", "./vlink.db"}},
		{"dot-dot", []string{"--from", "./victim.db", "--to", "./x/../victim.db"}},
		{"absolute and relative", []string{"--from", "victim.db", "--to", victim}},
		{"config file and path", []string{"--from", "cfg/same.yaml", "--to", "./victim.db"}},
		{"path and config file", []string{"--from", "./hard.db", "--to", "cfg/same.yaml"}},
		{"configured database", []string{"--to", "./victim.db"}},
		{"json", []string{"--from", "./victim.db", "--to", "./vlink.db", "--json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"db", "copy"}, tc.args...), "--yes", "--force")
			r := binRun(t, bin, dir, nil, args...)
			wantSameRefused(t, r, strings.Join(tc.args, " "))
			if got := countRows(t, victim); got != rows {
				t.Errorf("rows changed: %s -> %s", rows, got)
			}
			if d := diffStates(before, treeState(t, dir)); d != "" {
				t.Errorf("the folder changed:\n%s", d)
			}
		})
	}

	// The source itself is fine: a copy to another file works and holds every row, and the
	// source, read through the read-only door, gets nothing beside it (no -wal, no -shm).
	other := filepath.Join(dir, "other.db")
	r := binRun(t, bin, dir, nil, "db", "copy", "--from", "./vlink.db", "--to", "./other.db", "--yes")
	if r.code != 0 {
		t.Fatalf("copy to another file: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	after := treeState(t, dir)
	delete(after, "other.db")
	if d := diffStates(before, after); d != "" {
		t.Errorf("a copy to other.db changed more than other.db:\n%s", d)
	}
	if got := countRows(t, other); got != rows {
		t.Errorf("the copy holds %s, want %s", got, rows)
	}
	if got := countRows(t, victim); got != rows {
		t.Errorf("the source changed: %s -> %s", rows, got)
	}
}

// TestIdentityCopyOntoItselfPostgres: one PostgreSQL database under other names (127.0.0.1 and
// localhost, a URL and a keyword/value string, a config file with host and port, a role that may
// not read the system identifier, another session time zone, a search_path that leads to the
// same tables) is refused with --force, and its rows stay; a schema of its own through
// search_path is another database, and the copy into it works.
func TestIdentityCopyOntoItselfPostgres(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dsn := testenv.PostgresDB(t)
	host, port, user, name := pgParts(t, dsn)
	if host != "127.0.0.1" && host != "localhost" {
		t.Skipf("the test PostgreSQL server is %s; the host-name spellings need it on this machine", host)
	}
	if r := binRun(t, bin, t.TempDir(), nil, "migrate", "up", "--db-driver", "postgres", "--db-conn-string", dsn); r.code != 0 {
		t.Fatalf("migrate up: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	db := openTestDB(t, "pgx", dsn)
	role := name + "_id"
	for _, q := range []string{
		`INSERT INTO workflow_states (workflow_exec_id, workflow_id, status) SELECT 'exec-' || i, 'wf', 'SUCCESS' FROM generate_series(1, 2000) i`,
		`CREATE SCHEMA empty`,
		`CREATE SCHEMA other`,
		// A managed service may refuse the system identifier to an ordinary role: identity
		// must then still recognise the server. (Only this database's catalog changes.)
		`REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC`,
		`CREATE ROLE ` + pgx.Identifier{role}.Sanitize() + ` LOGIN PASSWORD 'id-role-pw'`,
		`GRANT ALL ON SCHEMA public TO ` + pgx.Identifier{role}.Sanitize(),
		`GRANT ALL ON ALL TABLES IN SCHEMA public TO ` + pgx.Identifier{role}.Sanitize(),
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		// Before testenv drops the database: the role holds grants in it, so drop both here.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := sql.Open("pgx", testenv.AdminPostgresDSN())
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer c.Close()
		for _, q := range []string{
			`DROP DATABASE IF EXISTS ` + pgx.Identifier{name}.Sanitize() + ` WITH (FORCE)`,
			`DROP ROLE IF EXISTS ` + pgx.Identifier{role}.Sanitize(),
		} {
			if _, err := c.ExecContext(ctx, q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	count := func(schema string) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM `+schema+`.workflow_states`).Scan(&n); err != nil {
			t.Fatalf("count %s.workflow_states: %v", schema, err)
		}
		return n
	}
	withHost := func(h, query string) string {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = h + ":" + port
		q := u.Query()
		extra, _ := url.ParseQuery(query)
		for k, v := range extra {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	ip, local := withHost("127.0.0.1", ""), withHost("localhost", "")
	roleURL := func(h, query string) string {
		u, _ := url.Parse(withHost(h, query))
		u.User = url.User(role)
		return u.String()
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "fields.yaml"), fmt.Sprintf(
		"database:\n  driver: postgres\n  host: localhost\n  port: %s\n  user: %s\n  name: %s\n  ssl_mode: disable\n", port, user, name))
	// The role's password (a URL with one of its own keeps it; the local server trusts 127.0.0.1).
	env := []string{"PGPASSWORD=id-role-pw"}

	for _, tc := range []struct{ name, from, to string }{
		{"127.0.0.1 and localhost", ip, local},
		{"URL and keyword/value", local, fmt.Sprintf("host=localhost port=%s user=%s dbname=%s sslmode=disable", port, user, name)},
		{"URL and config file", ip, "fields.yaml"},
		{"config file and URL", "fields.yaml", local},
		{"superuser and a role without pg_control_system", ip, roleURL("localhost", "")},
		{"two time zones without pg_control_system", roleURL("127.0.0.1", ""), roleURL("localhost", "timezone=Asia/Tokyo&datestyle=SQL,DMY")},
		{"search_path through an empty schema", withHost("127.0.0.1", "search_path=empty,public"), local},
		{"search_path to the same tables", ip, withHost("localhost", "search_path=other,public")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := binRun(t, bin, dir, env, "db", "copy", "--from", tc.from, "--to", tc.to, "--yes", "--force")
			wantSameRefused(t, r, tc.from+" -> "+tc.to)
			if n := count("public"); n != 2000 {
				t.Fatalf("public.workflow_states holds %d rows after the refused copy, want 2000", n)
			}
		})
	}
	var marked bool
	if err := db.QueryRowContext(t.Context(), `SELECT to_regclass('public.compozy_db_copy_incomplete') IS NOT NULL`).Scan(&marked); err != nil || marked {
		t.Errorf("the source was marked by a copy: %v, %v", marked, err)
	}

	// A schema of its own (search_path=other, an empty schema) is another database.
	r := binRun(t, bin, dir, env, "db", "copy", "--from", ip, "--to", withHost("localhost", "search_path=other"), "--yes")
	if r.code != 0 || !strings.Contains(r.out, "every table matches") {
		t.Fatalf("copy into the schema other: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if p, o := count("public"), count("other"); p != 2000 || o != 2000 {
		t.Errorf("after the copy into other: public %d rows, other %d; want 2000 each", p, o)
	}
}
