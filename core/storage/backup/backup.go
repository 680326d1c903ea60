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
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/internal/shellquote"
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
// the source was one snapshot, and gives it dst's name. Run as root, the copy belongs to the
// source database's owner (core/atomicfile), like the data it holds: a backup root takes next
// to the service user's database is that user's, and no one else can read it.
func write(ctx context.Context, h *factory.Handle, dst string, unchanged func() error) (*Result, error) {
	if _, err := os.Lstat(dst); err == nil {
		return nil, fmt.Errorf("backup: %s already exists; choose another --to", dst)
	}
	dir := filepath.Dir(dst)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("backup: target folder %s: %w", dir, err)
	}
	_, _ = atomicfile.Sweep(dir, func(string) bool { return true })
	p, err := atomicfile.Create(dst, 0o600, atomicfile.OwnedLike(h.Path))
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

// BeforeCopy writes the backup `compozy db copy --force` takes of a SQLite target that holds
// rows, before it replaces them: next to the database's real file, named after it with the UTC
// time (compozy-pre-copy-20261205T081500Z.db), 0600, read through the read-only door (the
// target is not changed), keeping the newest keep such backups of this database and removing
// older ones, which it returns.
func BeforeCopy(ctx context.Context, db config.Database, now time.Time, keep int) (*Result, []string, error) {
	if db.Path == "" || db.Path == config.MemoryPath {
		return nil, nil, fmt.Errorf("backup: the SQLite database is %q; only a database file can be backed up", db.Path)
	}
	real, err := sqlitefile.Resolve(db.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("backup: %s: %w", db.Path, err)
	}
	stem, ext := stemExt(real)
	prefix := stem + "-pre-copy-"
	dst := prefix + stamp(now) + ext
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = prefix + stamp(now) + "-" + strconv.Itoa(i) + ext
	}
	res, err := SQLite(ctx, db, dst)
	if err != nil {
		return nil, nil, err
	}
	removed, err := pruneCopies(filepath.Dir(real), filepath.Base(prefix), ext, keep)
	return res, removed, err
}

// pruneCopies removes all but the newest keep files of dir named PREFIX<UTC time>[-N]EXT, the
// backups BeforeCopy writes (the names sort by time).
func pruneCopies(dir, prefix, ext string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", dir, err)
	}
	var found []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ext) && e.Type().IsRegular() {
			found = append(found, n)
		}
	}
	// Newest first, by the part after the prefix without the extension: a second backup in
	// the same second (TIME-2) is newer than TIME.
	when := func(n string) string { return strings.TrimSuffix(strings.TrimPrefix(n, prefix), ext) }
	slices.SortFunc(found, func(a, b string) int { return strings.Compare(when(b), when(a)) })
	var removed []string
	for i := keep; i < len(found); i++ {
		p := filepath.Join(dir, found[i])
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
		shellquote.Quote(backupPath), shellquote.Quote(dbPath), shellquote.Quote(dbPath+sqlitefile.WALSuffix), shellquote.Quote(dbPath+sqlitefile.SHMSuffix))
}

// PgDump is a pg_dump invocation: the arguments and the environment that carries the
// connection, password included. Args never hold a secret.
type PgDump struct {
	// Args are pg_dump's arguments (without the program name).
	Args []string
	// Env are the PG* variables of the connection, as the configuration decides it: PGHOST and
	// PGPORT (every server, comma-separated, in the order they are tried), PGUSER, PGDATABASE,
	// PGSSLMODE, PGCONNECT_TIMEOUT, one variable per libpq setting conn_string names
	// (PGSSLROOTCERT, PGSSLCERT, PGSSLKEY, PGSSLCRL, PGTARGETSESSIONATTRS, PGAPPNAME...),
	// PGOPTIONS for its run-time parameters (search_path...) and, when there is one,
	// PGPASSWORD. Run passes the caller's own PG* variables only for what the configuration
	// leaves open (see childEnv).
	Env []string
	// Output is the dump file.
	Output string

	// hosts are the servers' hosts as configured and servers the host:port (or socket) of each,
	// for the look-up and the message when no server answers; connectTimeout is the limit
	// pg_dump was given, configured the configured one.
	hosts, servers             []string
	connectTimeout, configured time.Duration
	// unsupported names a setting pg_dump cannot be given without its command line.
	unsupported string
}

// libpqEnv maps libpq's connection keywords to the environment variables libpq reads them
// from. host, port, user, dbname, password, sslmode and connect_timeout are set apart.
var libpqEnv = map[string]string{
	"passfile":                 "PGPASSFILE",
	"service":                  "PGSERVICE",
	"servicefile":              "PGSERVICEFILE",
	"require_auth":             "PGREQUIREAUTH",
	"channel_binding":          "PGCHANNELBINDING",
	"sslnegotiation":           "PGSSLNEGOTIATION",
	"sslcert":                  "PGSSLCERT",
	"sslkey":                   "PGSSLKEY",
	"sslcertmode":              "PGSSLCERTMODE",
	"sslrootcert":              "PGSSLROOTCERT",
	"sslcrl":                   "PGSSLCRL",
	"sslcrldir":                "PGSSLCRLDIR",
	"sslsni":                   "PGSSLSNI",
	"sslcompression":           "PGSSLCOMPRESSION",
	"requiressl":               "PGREQUIRESSL",
	"requirepeer":              "PGREQUIREPEER",
	"ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
	"ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
	"min_protocol_version":     "PGMINPROTOCOLVERSION",
	"max_protocol_version":     "PGMAXPROTOCOLVERSION",
	"gssencmode":               "PGGSSENCMODE",
	"krbsrvname":               "PGKRBSRVNAME",
	"gsslib":                   "PGGSSLIB",
	"gssdelegation":            "PGGSSDELEGATION",
	"target_session_attrs":     "PGTARGETSESSIONATTRS",
	"load_balance_hosts":       "PGLOADBALANCEHOSTS",
	"application_name":         "PGAPPNAME",
	"client_encoding":          "PGCLIENTENCODING",
}

// libpqNoEnv are libpq keywords that no environment variable carries; they tune how a
// connection is kept (or, hostaddr, which address a host has), not which server, database or
// role it reaches, and pg_dump goes without them.
var libpqNoEnv = []string{"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
	"tcp_user_timeout", "fallback_application_name", "hostaddr", "replication"}

// configDecides are the PG* variables of the caller's environment that never reach pg_dump:
// which server, database and role to dump, and the password, are the configuration's. A
// service (PGSERVICE) is among them: libpq lets a service file's settings beat PGHOST and the
// others, so the user's would lead pg_dump to the service's server.
var configDecides = []string{"PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSERVICE"}

// NewPgDump builds the pg_dump invocation that dumps the PostgreSQL database db to output, in
// pg_dump's custom format (restore with pg_restore), with the whole connection the one door
// would use: every host, the TLS files, target_session_attrs, run-time parameters. The
// connection has the configured connect_timeout, so pg_dump never waits on a server that does
// not answer.
func NewPgDump(db config.Database, output string) (*PgDump, error) {
	cs, err := factory.PostgresConnSettings(db)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	p := &PgDump{
		Args:       []string{"--format=custom", "--no-password", "--file=" + output},
		Output:     output,
		configured: cs.ConnectTimeout,
	}
	ports := make([]string, len(cs.Hosts))
	for i, h := range cs.Hosts {
		ports[i] = strconv.Itoa(cs.Ports[i])
		p.hosts = append(p.hosts, h)
		if strings.HasPrefix(h, "/") {
			p.servers = append(p.servers, filepath.Join(h, ".s.PGSQL."+ports[i]))
		} else {
			p.servers = append(p.servers, net.JoinHostPort(h, ports[i]))
		}
	}
	env := []string{
		"PGHOST=" + strings.Join(cs.Hosts, ","),
		"PGPORT=" + strings.Join(ports, ","),
		"PGUSER=" + cs.User,
		"PGDATABASE=" + cs.Database,
	}
	if cs.SSLMode != "" {
		env = append(env, "PGSSLMODE="+cs.SSLMode)
	}
	if cs.ConnectTimeout > 0 {
		// libpq takes whole seconds and treats anything below 2 as 2.
		secs := max(2, int((cs.ConnectTimeout+time.Second-1)/time.Second))
		p.connectTimeout = time.Duration(secs) * time.Second
		env = append(env, "PGCONNECT_TIMEOUT="+strconv.Itoa(secs))
	}
	// The other settings conn_string names: a libpq setting goes in its variable; anything
	// else is a run-time parameter of the server (pgx sends it at connect), which libpq takes
	// in PGOPTIONS as -c NAME=VALUE, after the options the settings (or, when they name none,
	// the caller's PGOPTIONS, which pgx reads too) give.
	options := os.Getenv("PGOPTIONS")
	var runtime []string
	for _, k := range slices.Sorted(maps.Keys(cs.Params)) {
		v := cs.Params[k]
		switch {
		case k == "options":
			options = v
		case libpqEnv[k] != "":
			env = append(env, libpqEnv[k]+"="+v)
		case slices.Contains(libpqNoEnv, k):
		default:
			runtime = append(runtime, "-c "+optionEscape(k+"="+v))
		}
	}
	if _, named := cs.Params["options"]; named || len(runtime) > 0 {
		env = append(env, "PGOPTIONS="+strings.TrimSpace(options+" "+strings.Join(runtime, " ")))
	}
	if cs.Password != "" {
		env = append(env, "PGPASSWORD="+cs.Password)
	}
	if cs.SSLPassword != "" {
		p.unsupported = "sslpassword"
	}
	p.Env = env
	return p, nil
}

// optionEscape escapes one argument of PGOPTIONS: the server splits the options at white
// space, and a backslash takes the next character literally.
func optionEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\\' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
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
		parts = append(parts, k+"="+shellquote.Quote(v))
	}
	parts = append(parts, "pg_dump")
	for _, a := range p.Args {
		parts = append(parts, shellquote.Quote(a))
	}
	return strings.Join(parts, " ")
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
	if p.unsupported != "" {
		return nil, fmt.Errorf("backup: the connection settings name %s, which pg_dump could only be given on its command line (libpq reads it from no environment variable), where other users would see it; give pg_dump a client key without a passphrase, or run the command 'compozy db backup' prints without pg_dump installed and type the passphrase when asked", p.unsupported)
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
	cmd.Env = append(childEnv(os.Environ(), p.Env), "LC_MESSAGES=C")
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
			return nil, fmt.Errorf("backup: pg_dump got no answer from %s%s: %s", strings.Join(p.silent(msg), ", "), limit, msg)
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
	if p.configured <= 0 {
		return nil
	}
	for _, host := range p.hosts {
		if host == "" || strings.HasPrefix(host, "/") || net.ParseIP(host) != nil {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, p.configured)
		_, err := resolver.LookupHost(lctx, host)
		timedOut := lctx.Err() != nil
		cancel()
		var dnsErr *net.DNSError
		if err != nil && (timedOut || (errors.As(err, &dnsErr) && dnsErr.IsTimeout)) {
			if ctx.Err() != nil {
				return fmt.Errorf("backup: %w", ctx.Err())
			}
			return fmt.Errorf("backup: no answer from DNS for %s within %s (database.connect_timeout); check this machine's DNS, or give database.host as an address",
				host, p.configured)
		}
	}
	return nil
}

// timedOutServer is one line of libpq's message for a server that did not answer in time:
// `connection to server at "db" (10.0.0.5), port 5432 failed: timeout expired`, or on a socket.
var timedOutServer = regexp.MustCompile(`connection to server (?:at "([^"]*)"(?: \([^)]*\))?, port (\d+)|on socket "([^"]*)") failed: timeout expired`)

// silent names the servers libpq's message msg says did not answer in time, as host:port the
// way the settings spell the host (or the socket); every server when the message names none.
func (p *PgDump) silent(msg string) []string {
	var out []string
	for _, m := range timedOutServer.FindAllStringSubmatch(msg, -1) {
		name := m[3]
		if name == "" {
			name = net.JoinHostPort(m[1], m[2])
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return p.servers
	}
	return out
}

// childEnv is pg_dump's environment: the caller's, without the PG* variables the
// configuration decides (own, and always the server, database, role and password: see
// configDecides), and without LC_ALL and LANGUAGE, which would override LC_MESSAGES; then own.
// A PG* variable for a setting the configuration leaves open (PGSSLROOTCERT, PGSERVICEFILE,
// PGAPPNAME...) passes, as pgx reads it for every other command.
func childEnv(env, own []string) []string {
	out := env[:0:0]
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		if k == "LC_ALL" || k == "LANGUAGE" || slices.Contains(configDecides, k) ||
			slices.ContainsFunc(own, func(o string) bool { return strings.HasPrefix(o, k+"=") }) {
			continue
		}
		out = append(out, e)
	}
	return append(out, own...)
}
