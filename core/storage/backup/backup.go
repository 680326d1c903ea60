// Package backup takes hot backups of Compozy's database: SQLite with VACUUM INTO (a consistent
// snapshot taken while writers keep writing, checked with quick_check, written 0600), PostgreSQL
// with pg_dump, to which the password goes through the environment, never the command line.
package backup

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/storage/sqlite" // also registers the "sqlite" database/sql driver
)

// Tables are Compozy's tables, counted in a backup's report.
var tables = [...]string{"workflow_states", "task_states", "users", "api_keys"}

// Result describes a backup that was written.
type Result struct {
	// Path is the absolute path of the backup file.
	Path string
	// Bytes is its size.
	Bytes int64
	// Duration is how long the backup took, check included.
	Duration time.Duration
	// Check is the result of PRAGMA quick_check on the backup ("ok"); "" for PostgreSQL.
	Check string
	// Rows counts the rows of each Compozy table in the backup (SQLite only; a table the
	// database does not have is absent).
	Rows map[string]int64
}

// DefaultSQLitePath is the default backup file of the SQLite database at dbPath: next to it,
// named after it with the UTC time, e.g. /data/compozy-backup-20261127T110203Z.db.
func DefaultSQLitePath(dbPath string, now time.Time) string {
	dir, base := filepath.Split(dbPath)
	ext := filepath.Ext(base)
	if ext == "" {
		ext = ".db"
	}
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	return filepath.Join(dir, stem+"-backup-"+now.UTC().Format("20060102T150405Z")+ext)
}

// DefaultPostgresPath is the default pg_dump file, in dir: <database>-backup-<UTC time>.dump.
func DefaultPostgresPath(dir, database string, now time.Time) string {
	if database == "" {
		database = "postgres"
	}
	return filepath.Join(dir, database+"-backup-"+now.UTC().Format("20060102T150405Z")+".dump")
}

// SQLite writes a consistent copy of the SQLite database src to dst with VACUUM INTO, on a
// connection of its own, so writers (in this process or another) keep writing meanwhile. dst
// must not exist: it is created 0600 first, so the copy is private from its first byte. The copy
// is then checked with quick_check; a copy that fails the check is removed and an error returned.
func SQLite(ctx context.Context, src, dst string) (*Result, error) {
	start := time.Now()
	src, err := filepath.Abs(src)
	if err != nil {
		return nil, fmt.Errorf("backup: resolve %s: %w", src, err)
	}
	if _, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("backup: database %s: %w", src, err)
	}
	if dst, err = filepath.Abs(dst); err != nil {
		return nil, fmt.Errorf("backup: resolve %s: %w", dst, err)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("backup: %s already exists; choose another --to", dst)
		}
		return nil, fmt.Errorf("backup: create %s: %w", dst, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("backup: create %s: %w", dst, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(dst)
		}
	}()

	// A read-only connection is enough: VACUUM INTO reads the source in one read transaction,
	// which in WAL mode never blocks a writer.
	db, err := sql.Open("sqlite", sqlite.FileURI(src)+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("backup: open %s: %w", src, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return nil, fmt.Errorf("backup: VACUUM INTO %s: %w", dst, err)
	}
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("backup: close %s: %w", src, err)
	}

	res := &Result{Path: dst, Rows: map[string]int64{}}
	if err := check(ctx, dst, res); err != nil {
		return nil, err
	}
	st, err := os.Stat(dst)
	if err != nil {
		return nil, fmt.Errorf("backup: stat %s: %w", dst, err)
	}
	res.Bytes = st.Size()
	res.Duration = time.Since(start)
	ok = true
	return res, nil
}

// check runs quick_check on the backup and counts its rows.
func check(ctx context.Context, path string, res *Result) error {
	db, err := sql.Open("sqlite", sqlite.FileURI(path)+"?mode=ro")
	if err != nil {
		return fmt.Errorf("backup: open the copy %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return fmt.Errorf("backup: quick_check %s: %w", path, err)
	}
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return fmt.Errorf("backup: quick_check %s: %w", path, err)
		}
		msgs = append(msgs, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("backup: quick_check %s: %w", path, err)
	}
	res.Check = strings.Join(msgs, "; ")
	if res.Check != "ok" {
		return fmt.Errorf("backup: quick_check of %s failed: %s", path, res.Check)
	}
	for _, t := range tables {
		var exists int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", t).Scan(&exists); err != nil {
			return fmt.Errorf("backup: count %s in %s: %w", t, path, err)
		}
		if exists == 0 {
			continue
		}
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return fmt.Errorf("backup: count %s in %s: %w", t, path, err)
		}
		res.Rows[t] = n
	}
	return nil
}

// PgDump is a pg_dump invocation: the arguments and the environment that carries the
// connection, password included. Args never hold a secret.
type PgDump struct {
	// Args are pg_dump's arguments (without the program name).
	Args []string
	// Env are the PG* variables of the connection (PGHOST, PGPORT, PGUSER, PGDATABASE,
	// PGSSLMODE and, when there is one, PGPASSWORD).
	Env []string
	// Output is the dump file.
	Output string
}

// NewPgDump builds the pg_dump invocation that dumps the database opts describe to output, in
// pg_dump's custom format (restore with pg_restore).
func NewPgDump(opts postgres.Options, output string) (*PgDump, error) {
	cfg, err := postgres.PoolConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	cc := cfg.ConnConfig
	env := []string{
		"PGHOST=" + cc.Host,
		"PGPORT=" + strconv.Itoa(int(cc.Port)),
		"PGUSER=" + cc.User,
		"PGDATABASE=" + cc.Database,
	}
	if mode := sslMode(opts); mode != "" {
		env = append(env, "PGSSLMODE="+mode)
	}
	if cc.Password != "" {
		env = append(env, "PGPASSWORD="+cc.Password)
	}
	return &PgDump{
		Args:   []string{"--format=custom", "--no-password", "--file=" + output},
		Env:    env,
		Output: output,
	}, nil
}

// sslMode is the sslmode the settings name, if any (pg_dump's own default applies otherwise).
func sslMode(opts postgres.Options) string {
	if opts.ConnString == "" {
		return opts.SSLMode
	}
	if u, err := url.Parse(opts.ConnString); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Query().Get("sslmode")
	}
	for _, f := range strings.Fields(opts.ConnString) {
		if v, ok := strings.CutPrefix(f, "sslmode="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}

// Command is the shell command a user can run by hand, with the password replaced by a
// placeholder: PGHOST=... PGPASSWORD='<password>' pg_dump --format=custom ....
func (p *PgDump) Command() string {
	var parts []string
	for _, e := range p.Env {
		k, v, _ := strings.Cut(e, "=")
		if k == "PGPASSWORD" {
			parts = append(parts, "PGPASSWORD='<password>'")
			continue
		}
		parts = append(parts, k+"="+shellQuote(v))
	}
	parts = append(parts, "pg_dump")
	for _, a := range p.Args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ':' ||
			r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ErrPgDumpMissing is returned by Run when pg_dump is not installed.
var ErrPgDumpMissing = errors.New("pg_dump is not installed")

// Run runs pg_dump (found on PATH) and checks the file it wrote. The output file is created 0600
// before pg_dump writes it and removed when pg_dump fails. The error carries pg_dump's standard
// error, which holds no password.
func (p *PgDump) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		return nil, ErrPgDumpMissing
	}
	f, err := os.OpenFile(p.Output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("backup: %s already exists; choose another --to", p.Output)
		}
		return nil, fmt.Errorf("backup: create %s: %w", p.Output, err)
	}
	_ = f.Close()
	cmd := exec.CommandContext(ctx, bin, p.Args...)
	cmd.Env = append(cleanEnv(os.Environ()), p.Env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(p.Output)
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("backup: pg_dump failed: %s", msg)
	}
	st, err := os.Stat(p.Output)
	if err != nil {
		return nil, fmt.Errorf("backup: stat %s: %w", p.Output, err)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("backup: pg_dump wrote an empty %s", p.Output)
	}
	abs, _ := filepath.Abs(p.Output)
	return &Result{Path: abs, Bytes: st.Size(), Duration: time.Since(start)}, nil
}

// cleanEnv drops the PG* variables of the caller's environment, so that only the configured
// connection applies.
func cleanEnv(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if strings.HasPrefix(e, "PG") {
			continue
		}
		out = append(out, e)
	}
	return out
}
