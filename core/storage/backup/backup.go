// Package backup takes backups of Compozy's database: SQLite with VACUUM INTO (a consistent
// snapshot taken while writers keep writing, checked with quick_check, written 0600), PostgreSQL
// with pg_dump, to which the password goes through the environment, never the command line.
//
// Every backup is written under a temporary name in the target's folder, synced and checked, and
// only then takes its name (which must be free: a backup never replaces a file), so a kill at any
// moment leaves no file under that name. The source is read through the read-only door: nothing
// is created beside it, and its folder need not be writable.
package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
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

// TotalRows is the number of rows in Compozy's tables.
func (r *Result) TotalRows() int64 {
	var n int64
	for _, v := range r.Rows {
		n += v
	}
	return n
}

// stamp is the UTC time in backup names.
func stamp(now time.Time) string { return now.UTC().Format("20060102T150405Z") }

// DefaultSQLitePath is the default backup file of the SQLite database at dbPath: next to it,
// named after it with the UTC time, e.g. /data/compozy-backup-20261127T110203Z.db.
func DefaultSQLitePath(dbPath string, now time.Time) string {
	stem, ext := stemExt(dbPath)
	return stem + "-backup-" + stamp(now) + ext
}

func stemExt(path string) (string, string) {
	ext := filepath.Ext(path)
	stem := strings.TrimSuffix(path, ext)
	if ext == "" {
		ext = ".db"
	}
	return stem, ext
}

// DefaultPostgresPath is the default pg_dump file, in dir: <database>-backup-<UTC time>.dump.
func DefaultPostgresPath(dir, database string, now time.Time) string {
	if database == "" {
		database = "postgres"
	}
	return filepath.Join(dir, database+"-backup-"+stamp(now)+".dump")
}

// SQLite writes a consistent copy of the SQLite database db to dst (which must not exist) with
// VACUUM INTO, reading through the read-only door, so writers (in this process or another) keep
// writing meanwhile and nothing is created beside the database. The copy is checked with
// quick_check before it takes its name.
func SQLite(ctx context.Context, db config.Database, dst string) (*Result, error) {
	start := time.Now()
	if db.Path == "" || db.Path == config.MemoryPath {
		return nil, fmt.Errorf("backup: the SQLite database is %q; only a database file can be backed up", db.Path)
	}
	// Read without locks, a file another process writes to meanwhile is no snapshot: then
	// take it again (the WAL case reads under SQLite's own locks and never needs to).
	for attempt := 1; ; attempt++ {
		h, err := factory.Open(ctx, db, factory.ReadOnly)
		if err != nil {
			return nil, fmt.Errorf("backup: source %s: %w", factory.Target(db), err)
		}
		res, err := write(ctx, h, dst, h.Unchanged)
		_ = h.Close()
		if errors.Is(err, sqlitefile.ErrChanged) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		res.Duration = time.Since(start)
		return res, nil
	}
}

// SQLiteFrom writes a consistent copy of the open SQLite database h to dst (which must not
// exist): the backup migrate takes before it changes the schema, on the handle it migrates with.
func SQLiteFrom(ctx context.Context, h *factory.Handle, dst string) (*Result, error) {
	start := time.Now()
	res, err := write(ctx, h, dst, h.Unchanged)
	if err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// write runs VACUUM INTO a temporary file beside dst, checks it, confirms with unchanged that
// the source was one snapshot, and gives it dst's name.
func write(ctx context.Context, h *factory.Handle, dst string, unchanged func() error) (*Result, error) {
	if _, err := os.Lstat(dst); err == nil {
		return nil, fmt.Errorf("backup: %s already exists; choose another --to", dst)
	}
	dir := filepath.Dir(dst)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("backup: target folder %s: %w", dir, err)
	}
	_, _ = atomicfile.Sweep(dir, func(string) bool { return true })
	p, err := atomicfile.Create(dst, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: target %w", err)
	}
	defer p.Abort()
	if _, err := h.SQL.ExecContext(ctx, "VACUUM INTO ?", p.Path); err != nil {
		return nil, fmt.Errorf("backup: read %s and write the copy in %s: %w", h.Target, dir, err)
	}
	if err := unchanged(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	res, err := check(ctx, h.Config(), p.Path)
	if err != nil {
		return nil, err
	}
	if err := p.CommitNew(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	res.Path = p.Final()
	return res, nil
}

// check runs quick_check on the copy and counts its rows, through the read-only door.
func check(ctx context.Context, like config.Database, path string) (*Result, error) {
	like.Path = path
	h, err := factory.Open(ctx, like, factory.ReadOnly)
	if err != nil {
		return nil, fmt.Errorf("backup: open the copy: %w", err)
	}
	defer h.Close()
	res := &Result{Rows: map[string]int64{}}
	rows, err := h.SQL.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return nil, fmt.Errorf("backup: quick_check the copy: %w", err)
	}
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return nil, fmt.Errorf("backup: quick_check the copy: %w", err)
		}
		msgs = append(msgs, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("backup: quick_check the copy: %w", err)
	}
	res.Check = strings.Join(msgs, "; ")
	if res.Check != "ok" {
		return nil, fmt.Errorf("backup: quick_check of the copy failed: %s", res.Check)
	}
	for _, t := range tables {
		var exists int
		if err := h.SQL.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", t).Scan(&exists); err != nil {
			return nil, fmt.Errorf("backup: count %s in the copy: %w", t, err)
		}
		if exists == 0 {
			continue
		}
		var n int64
		if err := h.SQL.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("backup: count %s in the copy: %w", t, err)
		}
		res.Rows[t] = n
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("backup: stat the copy: %w", err)
	}
	res.Bytes = fi.Size()
	return res, nil
}

// BeforeMigration writes the backup migrate takes of a SQLite database before it changes the
// schema: next to the database, named after the version it is at
// (compozy-pre-migrate-v20251012060000-20261205T081500Z.db), 0600, keeping the newest keep such
// backups of this database and removing older ones.
func BeforeMigration(ctx context.Context, h *factory.Handle, version int64, now time.Time, keep int) (*Result, []string, error) {
	stem, ext := stemExt(h.Path)
	prefix := stem + "-pre-migrate-"
	dst := prefix + "v" + strconv.FormatInt(version, 10) + "-" + stamp(now) + ext
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = prefix + "v" + strconv.FormatInt(version, 10) + "-" + stamp(now) + "-" + strconv.Itoa(i) + ext
	}
	res, err := SQLiteFrom(ctx, h, dst)
	if err != nil {
		return nil, nil, err
	}
	removed, err := prune(filepath.Dir(h.Path), filepath.Base(prefix), ext, keep)
	return res, removed, err
}

// prune removes all but the newest keep files of dir named PREFIX*EXT (newest by name: the
// names hold the UTC time after the version, so compare that part).
func prune(dir, prefix, ext string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", dir, err)
	}
	type named struct{ name, stamp string }
	var found []named
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, ext) || !e.Type().IsRegular() {
			continue
		}
		rest := strings.TrimSuffix(strings.TrimPrefix(n, prefix), ext)
		_, when, _ := strings.Cut(rest, "-")
		found = append(found, named{n, when})
	}
	slices.SortFunc(found, func(a, b named) int { return strings.Compare(b.stamp, a.stamp) })
	var removed []string
	for i := keep; i < len(found); i++ {
		p := filepath.Join(dir, found[i].name)
		if err := os.Remove(p); err != nil {
			return removed, fmt.Errorf("backup: remove the old backup %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// RestoreHint says how to put a SQLite backup back in place of the database.
func RestoreHint(backupPath, dbPath string) string {
	return fmt.Sprintf("stop Compozy, then: cp %s %s && rm -f %s %s",
		shellQuote(backupPath), shellQuote(dbPath), shellQuote(dbPath+sqlitefile.WALSuffix), shellQuote(dbPath+sqlitefile.SHMSuffix))
}

// PgDump is a pg_dump invocation: the arguments and the environment that carries the
// connection, password included. Args never hold a secret.
type PgDump struct {
	// Args are pg_dump's arguments (without the program name).
	Args []string
	// Env are the PG* variables of the connection (PGHOST, PGPORT, PGUSER, PGDATABASE,
	// PGSSLMODE, PGCONNECT_TIMEOUT and, when there is one, PGPASSWORD).
	Env []string
	// Output is the dump file.
	Output string

	// host is the server's host as configured; server is host:port (or the socket) pg_dump
	// connects to, connectTimeout the limit it was given and configured the configured one, for
	// the message when the server does not answer.
	host, server               string
	connectTimeout, configured time.Duration
}

// NewPgDump builds the pg_dump invocation that dumps the PostgreSQL database db to output, in
// pg_dump's custom format (restore with pg_restore). The connection has the configured
// connect_timeout, so pg_dump never waits on a server that does not answer.
func NewPgDump(db config.Database, output string) (*PgDump, error) {
	cs, err := factory.PostgresConnSettings(db)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	env := []string{
		"PGHOST=" + cs.Host,
		"PGPORT=" + strconv.Itoa(cs.Port),
		"PGUSER=" + cs.User,
		"PGDATABASE=" + cs.Database,
	}
	if cs.SSLMode != "" {
		env = append(env, "PGSSLMODE="+cs.SSLMode)
	}
	var limit time.Duration
	if cs.ConnectTimeout > 0 {
		// libpq takes whole seconds and treats anything below 2 as 2.
		secs := max(2, int((cs.ConnectTimeout+time.Second-1)/time.Second))
		limit = time.Duration(secs) * time.Second
		env = append(env, "PGCONNECT_TIMEOUT="+strconv.Itoa(secs))
	}
	if cs.Password != "" {
		env = append(env, "PGPASSWORD="+cs.Password)
	}
	server := net.JoinHostPort(cs.Host, strconv.Itoa(cs.Port))
	if strings.HasPrefix(cs.Host, "/") {
		server = filepath.Join(cs.Host, ".s.PGSQL."+strconv.Itoa(cs.Port))
	}
	return &PgDump{
		Args:           []string{"--format=custom", "--no-password", "--file=" + output},
		Env:            env,
		Output:         output,
		host:           cs.Host,
		server:         server,
		connectTimeout: limit,
		configured:     cs.ConnectTimeout,
	}, nil
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

// Run runs pg_dump (found on PATH) into a temporary file beside Output, checks what it wrote,
// and gives it Output's name (which must be free). The error carries pg_dump's standard error,
// which holds no password.
func (p *PgDump) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		return nil, ErrPgDumpMissing
	}
	if _, err := os.Lstat(p.Output); err == nil {
		return nil, fmt.Errorf("backup: %s already exists; choose another --to", p.Output)
	}
	if err := p.resolveInTime(ctx); err != nil {
		return nil, err
	}
	_, _ = atomicfile.Sweep(filepath.Dir(p.Output), func(string) bool { return true })
	pending, err := atomicfile.Create(p.Output, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: target %w", err)
	}
	defer pending.Abort()
	args := slices.Clone(p.Args)
	for i, a := range args {
		if strings.HasPrefix(a, "--file=") {
			args[i] = "--file=" + pending.Path
		}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	// libpq's messages in English, so that a server that did not answer is recognised below.
	cmd.Env = append(append(cleanEnv(os.Environ()), p.Env...), "LC_MESSAGES=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		if strings.Contains(msg, "timeout expired") {
			// libpq's connect_timeout ran out: say which server did not answer, and the limit.
			limit := ""
			switch {
			case p.connectTimeout > 0 && p.connectTimeout == p.configured:
				limit = " within " + p.connectTimeout.String() + " (database.connect_timeout)"
			case p.connectTimeout > 0:
				limit = " within " + p.connectTimeout.String() + " (database.connect_timeout " + p.configured.String() +
					", which libpq rounds up to whole seconds, at least 2)"
			}
			return nil, fmt.Errorf("backup: pg_dump got no answer from %s%s: %s", p.server, limit, msg)
		}
		return nil, fmt.Errorf("backup: pg_dump failed: %s", msg)
	}
	st, err := os.Stat(pending.Path)
	if err != nil {
		return nil, fmt.Errorf("backup: stat the dump: %w", err)
	}
	if st.Size() == 0 {
		return nil, errors.New("backup: pg_dump wrote an empty dump")
	}
	if err := pending.CommitNew(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &Result{Path: pending.Final(), Bytes: st.Size(), Duration: time.Since(start)}, nil
}

// resolver looks host names up for resolveInTime (a test points it at a silent DNS server).
var resolver = net.DefaultResolver

// resolveInTime bounds the one step of pg_dump's connection that PGCONNECT_TIMEOUT does not:
// libpq looks the host name up before its timer starts, so a DNS server that does not answer
// would hold pg_dump for as long as the resolver retries. The name is looked up here first,
// within the configured connect_timeout; only a lookup that runs out of time stops the backup
// (any other answer is left to pg_dump, whose resolver may know names this one does not).
func (p *PgDump) resolveInTime(ctx context.Context) error {
	if p.configured <= 0 || p.host == "" || strings.HasPrefix(p.host, "/") || net.ParseIP(p.host) != nil {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, p.configured)
	defer cancel()
	_, err := resolver.LookupHost(lctx, p.host)
	var dnsErr *net.DNSError
	if err != nil && (lctx.Err() != nil || (errors.As(err, &dnsErr) && dnsErr.IsTimeout)) {
		if ctx.Err() != nil {
			return fmt.Errorf("backup: %w", ctx.Err())
		}
		return fmt.Errorf("backup: no answer from DNS for %s within %s (database.connect_timeout); check this machine's DNS, or give database.host as an address",
			p.host, p.configured)
	}
	return nil
}

// cleanEnv drops the PG* variables of the caller's environment, so that only the configured
// connection applies, and LC_ALL and LANGUAGE, which would override LC_MESSAGES.
func cleanEnv(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if strings.HasPrefix(e, "PG") || strings.HasPrefix(e, "LC_ALL=") || strings.HasPrefix(e, "LANGUAGE=") {
			continue
		}
		out = append(out, e)
	}
	return out
}
