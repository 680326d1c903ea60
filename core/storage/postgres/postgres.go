// Package postgres implements the storage repositories on PostgreSQL with pgx/v5 and pgxpool.
//
// Connection settings come either from a connection string (URL or keyword/value) or from
// separate fields, which are assembled into a keyword/value string with every value quoted and
// escaped, so any password works (spaces, quotes, @, /, \). No error and no printable target
// ever contains the password.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"compozy.dev/setup/core/storage"
)

// Options configures Open.
type Options struct {
	// ConnString is a URL (postgres://...) or keyword/value string (host=... dbname=...). When
	// set, Host, Port, User, Name and SSLMode are ignored.
	ConnString string
	// Host, Port, User, Name and SSLMode describe the server when ConnString is empty. Empty
	// values fall back to libpq's environment variables and defaults, as in psql.
	Host    string
	Port    int
	User    string
	Name    string
	SSLMode string
	// Password, when set, is used whether the rest comes from ConnString or from the fields,
	// and overrides a password inside ConnString.
	Password string
	// MaxConns is the pool size; 0 keeps pgxpool's default (the greater of 4 and the CPU count).
	MaxConns int32
	// MinIdleConns is the number of idle connections the pool keeps open; 0 keeps none.
	MinIdleConns int32
	// ConnMaxLifetime and ConnMaxIdleTime bound a connection's age and idle time; 0 keeps
	// pgxpool's defaults (1 h and 30 min).
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
	// ConnectTimeout bounds each connection attempt; 0 means only the context bounds it.
	ConnectTimeout time.Duration
	// Now is the clock for created_at/updated_at. Default time.Now.
	Now func() time.Time
}

// DB is an open PostgreSQL database. It implements storage.Store.
type DB struct {
	pool   *pgxpool.Pool
	target string
	now    func() time.Time

	sqlOnce sync.Once
	sqlDB   *sql.DB
}

var _ storage.Store = (*DB)(nil)

// Open builds the pool from opts and checks that the server answers. Errors name the step
// (settings, pool, connect) and the redacted target, never the password.
func Open(ctx context.Context, opts Options) (*DB, error) {
	cfg, err := PoolConfig(opts)
	if err != nil {
		return nil, err
	}
	target := redactedFromConfig(cfg, opts)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create postgres pool for %s: %w", target, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, ConnectError(target, cfg.ConnConfig, err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &DB{pool: pool, target: target, now: now}, nil
}

// ConnectError is err, a failed connection to target, with the server that did not answer
// named: "connect to postgres://...: no answer from db:5432 within 5s (database.connect_timeout)".
// With several hosts (host=a,b), the ones whose attempt ran out of time are named, not the
// first one written. It never holds the password (pgx's connect errors name the user and
// database only).
func ConnectError(target string, cc *pgx.ConnConfig, err error) error {
	if ae := authError(target, cc, err); ae != nil {
		return ae
	}
	if !pgconn.Timeout(err) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("connect to %s: %w", target, err)
	}
	where := strings.Join(silentServers(cc, err), ", ")
	limit := ""
	if cc.ConnectTimeout > 0 {
		limit = " within " + cc.ConnectTimeout.String() + " (database.connect_timeout)"
	}
	return &TimeoutError{Target: target, Where: where, Msg: "no answer from " + where + limit, Err: err}
}

// AuthError is a connection the server refused at authentication: SQLSTATE 28P01 (a wrong
// password) or 28000 (no pg_hba.conf rule, an unknown role). Its text is the server's message
// once, without the target, which the caller names ("open database TARGET: ..."), and with
// where the password came from: `password authentication failed for user "compozy"
// (password from COMPOZY_DB_PASSWORD)`.
type AuthError struct {
	Target string
	// Code is the SQLSTATE; Message the server's message (no password in it).
	Code, Message string
	// HadPassword reports whether a password was sent (from the settings, PGPASSWORD or the
	// password file).
	HadPassword bool
	// From says where the password came from, for people: "password from COMPOZY_DB_PASSWORD",
	// "no password was given". The one door fills it from the configuration.
	From string
	Err  error
}

func (e *AuthError) Error() string {
	msg := e.Message
	if e.From != "" {
		msg += " (" + e.From + ")"
	}
	if e.Target != "" {
		msg = "connect to " + e.Target + ": " + msg
	}
	return msg
}

func (e *AuthError) Unwrap() error { return e.Err }

// authError is err as an *AuthError when the server refused the connection at
// authentication, else nil.
func authError(target string, cc *pgx.ConnConfig, err error) *AuthError {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || (pe.Code != "28P01" && pe.Code != "28000") {
		return nil
	}
	ae := &AuthError{Target: target, Code: pe.Code, Message: pe.Message, HadPassword: cc != nil && cc.Password != "", Err: err}
	if !ae.HadPassword && ae.PasswordMatters() {
		ae.From = "no password was given"
	}
	return ae
}

// PasswordMatters reports whether the password may be why the server refused: not for a role
// that does not exist (28000), where naming the password's source would mislead.
func (e *AuthError) PasswordMatters() bool {
	return e.Code == "28P01" || !strings.Contains(e.Message, "does not exist")
}

// silentServers names, as HOST:PORT (or the socket) the way the settings spell the host, every
// server whose connection attempt in err ran out of time, and as "DNS for HOST" every host
// name whose lookup did; the first configured server when err does not tell them apart.
func silentServers(cc *pgx.ConnConfig, err error) []string {
	name := func(host, port string) string {
		if strings.HasPrefix(host, "/") {
			return host + "/.s.PGSQL." + port
		}
		return net.JoinHostPort(host, port)
	}
	var out []string
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if !pgconn.Timeout(e) && !errors.Is(e, context.DeadlineExceeded) {
			return
		}
		// One attempt reads "ADDRESS (HOST): reason": the address dialled (an IP and port, or
		// a socket) and the host as configured.
		addr, rest, ok := strings.Cut(e.Error(), " (")
		host, _, ok2 := strings.Cut(rest, "): ")
		if ok && ok2 && !strings.ContainsAny(addr, " ()") {
			port := strconv.Itoa(int(cc.Port))
			if _, p, err := net.SplitHostPort(addr); err == nil {
				port = p
			} else if i := strings.LastIndex(addr, ".s.PGSQL."); i >= 0 {
				port = addr[i+len(".s.PGSQL."):]
			}
			add(name(host, port))
			return
		}
		// A host name whose lookup ran out of time: the DNS did not answer, not the server.
		var dnsErr *net.DNSError
		if errors.As(e, &dnsErr) && dnsErr.Name != "" {
			add("DNS for " + dnsErr.Name)
			return
		}
		if u := errors.Unwrap(e); u != nil {
			walk(u)
		}
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		walk(ce.Unwrap())
	}
	if len(out) == 0 {
		out = []string{name(cc.Host, strconv.Itoa(int(cc.Port)))}
	}
	return out
}

// TimeoutError is a connection that got no answer in time.
type TimeoutError struct {
	Target string
	// Where is the host and port (or socket) that did not answer.
	Where string
	Msg   string
	Err   error
}

func (e *TimeoutError) Error() string { return "connect to " + e.Target + ": " + e.Msg }
func (e *TimeoutError) Unwrap() error { return e.Err }

// PoolConfig turns opts into a pgxpool configuration without connecting. It is exported so
// that callers (and tests) can see exactly what Open would use.
func PoolConfig(opts Options) (*pgxpool.Config, error) {
	dsn := opts.ConnString
	if dsn == "" {
		dsn = keywordValueDSN(opts)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse postgres connection settings: %s", safeParseMessage(err, opts.Password))
	}
	if opts.Password != "" {
		cfg.ConnConfig.Password = opts.Password
	}
	if opts.MaxConns < 0 || opts.MinIdleConns < 0 {
		return nil, fmt.Errorf("postgres pool: max conns %d and min idle conns %d must not be negative", opts.MaxConns, opts.MinIdleConns)
	}
	// A setting written in the connection string itself wins over the config's value for it.
	sets := func(key string) bool { return connStringSets(opts.ConnString, key) }
	if opts.MaxConns > 0 && !sets("pool_max_conns") {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.MinIdleConns > 0 && !sets("pool_min_idle_conns") {
		cfg.MinIdleConns = min(opts.MinIdleConns, cfg.MaxConns)
	}
	if opts.ConnMaxLifetime > 0 && !sets("pool_max_conn_lifetime") {
		cfg.MaxConnLifetime = opts.ConnMaxLifetime
	}
	if opts.ConnMaxIdleTime > 0 && !sets("pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = opts.ConnMaxIdleTime
	}
	if opts.ConnectTimeout > 0 && !sets("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	// pgx looks the host name up with the caller's context, before ConnectTimeout starts: bound
	// the lookup by the same limit, so that a DNS server that does not answer is not waited on
	// forever either.
	if limit := cfg.ConnConfig.ConnectTimeout; limit > 0 {
		lookup := cfg.ConnConfig.LookupFunc
		cfg.ConnConfig.LookupFunc = func(ctx context.Context, host string) ([]string, error) {
			ctx, cancel := context.WithTimeout(ctx, limit)
			defer cancel()
			return lookup(ctx, host)
		}
	}
	return cfg, nil
}

// connStringSets reports whether the connection string cs (a URL or keyword/value pairs) names
// the setting key.
func connStringSets(cs, key string) bool {
	if cs == "" {
		return false
	}
	if strings.Contains(cs, "://") {
		u, err := url.Parse(cs)
		return err == nil && u.Query().Has(key)
	}
	for _, field := range strings.Fields(cs) {
		if k, _, ok := strings.Cut(field, "="); ok && strings.TrimSpace(k) == key {
			return true
		}
	}
	return false
}

// DSN is the connection string opts describe, for clients other than the pool (pgvector, pg_dump
// wrappers): ConnString as written, with a separately given Password added so that it wins;
// or, without ConnString, keyword/value pairs of the fields (connect_timeout included), every
// value single-quoted with \ and ' escaped by a backslash, which libpq and pgx read back
// verbatim, so that any password works.
func DSN(opts Options) string {
	if opts.ConnString == "" {
		return keywordValueDSN(opts)
	}
	if opts.Password == "" {
		return opts.ConnString
	}
	if strings.Contains(opts.ConnString, "://") {
		sep := "?"
		if strings.Contains(opts.ConnString, "?") {
			sep = "&"
		}
		// A later password parameter wins over the URL's user info in pgx. pgx unescapes
		// parameters as paths do, so a space must be %20, not +.
		return opts.ConnString + sep + "password=" + strings.ReplaceAll(url.QueryEscape(opts.Password), "+", "%20")
	}
	return opts.ConnString + " password=" + QuoteValue(opts.Password)
}

// keywordValueDSN assembles the fields into a keyword/value string.
func keywordValueDSN(o Options) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+QuoteValue(v))
		}
	}
	add("host", o.Host)
	if o.Port != 0 {
		add("port", strconv.Itoa(o.Port))
	}
	add("user", o.User)
	add("password", o.Password)
	add("dbname", o.Name)
	add("sslmode", o.SSLMode)
	if o.ConnectTimeout > 0 {
		add("connect_timeout", strconv.Itoa(max(1, int(o.ConnectTimeout.Seconds()))))
	}
	return strings.Join(parts, " ")
}

// QuoteValue quotes a value for a keyword/value connection string: single quotes, with \ and '
// escaped by a backslash, which libpq and pgx read back verbatim.
func QuoteValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// safeParseMessage is pgx's reason for rejecting a connection string, without the string
// itself. The underlying error is kept only where it cannot quote the string (a url.Error quotes
// the whole URL, password included) and does not contain the known password.
func safeParseMessage(err error, password string) string {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return "invalid connection settings"
	}
	saved := pe.ConnString
	pe.ConnString = ""
	msg := pe.Error()
	pe.ConnString = saved
	msg = strings.TrimPrefix(msg, "cannot parse ``: ")
	if inner := errors.Unwrap(pe); inner != nil {
		reason := strings.TrimSuffix(msg, " ("+inner.Error()+")")
		leaky := strings.HasPrefix(reason, "failed to parse as") ||
			(password != "" && strings.Contains(inner.Error(), password))
		if leaky {
			msg = reason
		}
	}
	if msg == "" || (password != "" && strings.Contains(msg, password)) {
		return "invalid connection settings"
	}
	return msg
}

// Target returns the server opts point at as a URL with the password replaced by [redacted],
// for example postgres://app:[redacted]@db:5432/compozy?sslmode=disable, without connecting.
// Settings that do not parse give "postgres (invalid connection settings)".
func Target(opts Options) string {
	cfg, err := PoolConfig(opts)
	if err != nil {
		return "postgres (invalid connection settings)"
	}
	return redactedFromConfig(cfg, opts)
}

func redactedFromConfig(cfg *pgxpool.Config, opts Options) string {
	cc := cfg.ConnConfig
	var b strings.Builder
	b.WriteString("postgres://")
	if cc.User != "" {
		b.WriteString(url.User(cc.User).String())
		if cc.Password != "" {
			b.WriteString(":[redacted]")
		}
		b.WriteString("@")
	}
	var query []string
	if strings.HasPrefix(cc.Host, "/") {
		query = append(query, "host="+cc.Host)
	} else if cc.Host != "" {
		host := cc.Host
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		b.WriteString(host + ":" + strconv.Itoa(int(cc.Port)))
	}
	b.WriteString("/" + url.PathEscape(cc.Database))
	query = append(query, "sslmode="+sslMode(opts))
	// Where the tables are and which other servers are tried are part of which database it is.
	if sp := cc.RuntimeParams["search_path"]; sp != "" {
		query = append(query, "search_path="+url.QueryEscape(sp))
	}
	for _, fb := range cc.Fallbacks {
		if fb.Host != cc.Host || fb.Port != cc.Port {
			query = append(query, "fallback="+url.QueryEscape(net.JoinHostPort(fb.Host, strconv.Itoa(int(fb.Port)))))
		}
	}
	b.WriteString("?" + strings.Join(query, "&"))
	return b.String()
}

// SSLModeSetting is the sslmode opts name explicitly (in conn_string or ssl_mode), or "" when
// they leave it to libpq's default.
func SSLModeSetting(opts Options) string {
	if opts.ConnString == "" {
		return opts.SSLMode
	}
	return connStringSetting(opts.ConnString, "sslmode")
}

// sslMode is the sslmode in effect: explicit in the settings, else PGSSLMODE, else libpq's
// default "prefer".
func sslMode(opts Options) string {
	if opts.ConnString == "" && opts.SSLMode != "" {
		return opts.SSLMode
	}
	if opts.ConnString != "" {
		if v := connStringSetting(opts.ConnString, "sslmode"); v != "" {
			return v
		}
	}
	if v := os.Getenv("PGSSLMODE"); v != "" {
		return v
	}
	return "prefer"
}

// connStringSetting returns one setting of a URL or keyword/value connection string, or "".
func connStringSetting(s, key string) string {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		return u.Query().Get(key)
	}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t\n\r\v\f")
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return ""
		}
		k := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\n\r\v\f")
		var v strings.Builder
		quoted := strings.HasPrefix(s, "'")
		if quoted {
			s = s[1:]
		}
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				i++
				v.WriteByte(s[i])
				continue
			}
			if (quoted && c == '\'') || (!quoted && strings.IndexByte(" \t\n\r\v\f", c) >= 0) {
				break
			}
			v.WriteByte(c)
		}
		if i < len(s) {
			i++
		}
		s = s[i:]
		if k == key {
			return v.String()
		}
	}
	return ""
}

// ConnStringParams returns every setting the connection string cs names, by libpq keyword
// ("dbname", not pgx's "database"), with its value decoded: a URL's user, password, host and
// port lists (comma-separated, as libpq keeps them), database and query parameters (percent-
// decoded as libpq does, where "+" stays "+"; ssl=true is sslmode=require), or a keyword/value
// string's pairs (quotes and backslashes undone). A later setting wins, as in libpq. It reads
// no environment and no file: it says what the configuration itself decides.
func ConnStringParams(cs string) (map[string]string, error) {
	out := map[string]string{}
	if cs == "" {
		return out, nil
	}
	rest, isURL := strings.CutPrefix(cs, "postgresql://")
	if !isURL {
		rest, isURL = strings.CutPrefix(cs, "postgres://")
	}
	if !isURL {
		for k, v := range keywordValuePairs(cs) {
			if k == "database" {
				k = "dbname"
			}
			out[k] = v
		}
		return out, nil
	}
	dec := func(s string) (string, error) {
		v, err := url.PathUnescape(s)
		if err != nil {
			return "", errors.New("parse postgres connection settings: invalid percent-encoding")
		}
		return v, nil
	}
	// The user info ends at the first "@" before any "/", as in libpq.
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		user, pw, hasPW := strings.Cut(rest[:i], ":")
		rest = rest[i+1:]
		if user != "" {
			v, err := dec(user)
			if err != nil {
				return nil, err
			}
			out["user"] = v
		}
		if hasPW && pw != "" {
			v, err := dec(pw)
			if err != nil {
				return nil, err
			}
			out["password"] = v
		}
	}
	netloc, query, _ := strings.Cut(rest, "?")
	netloc, path, _ := strings.Cut(netloc, "/")
	if netloc != "" {
		var hosts, ports []string
		anyPort := false
		for _, hp := range strings.Split(netloc, ",") {
			host, port := hp, ""
			if strings.HasPrefix(hp, "[") {
				if end := strings.IndexByte(hp, ']'); end > 0 {
					host, port = hp[1:end], strings.TrimPrefix(hp[end+1:], ":")
				}
			} else if h, p, ok := strings.Cut(hp, ":"); ok {
				host, port = h, p
			}
			h, err := dec(host)
			if err != nil {
				return nil, err
			}
			hosts, ports = append(hosts, h), append(ports, port)
			anyPort = anyPort || port != ""
		}
		out["host"] = strings.Join(hosts, ",")
		if anyPort {
			out["port"] = strings.Join(ports, ",")
		}
	}
	if path != "" {
		v, err := dec(path)
		if err != nil {
			return nil, err
		}
		out["dbname"] = v
	}
	sslAlias := false
	for _, pair := range strings.Split(query, "&") {
		if pair == "" {
			continue
		}
		rk, rv, _ := strings.Cut(pair, "=")
		k, err := dec(rk)
		if err != nil {
			return nil, err
		}
		v, err := dec(rv)
		if err != nil {
			return nil, err
		}
		switch k {
		case "database":
			k = "dbname"
		case "ssl":
			if v == "true" {
				sslAlias = true
				continue
			}
		case "sslmode":
			sslAlias = false
		}
		out[k] = v
	}
	if sslAlias {
		out["sslmode"] = "require"
	}
	return out, nil
}

// keywordValuePairs parses a keyword/value connection string: values single-quoted or bare,
// a backslash taking the next character literally. A later setting wins.
func keywordValuePairs(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t\n\r\v\f")
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return out
		}
		k := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\n\r\v\f")
		var v strings.Builder
		quoted := strings.HasPrefix(s, "'")
		if quoted {
			s = s[1:]
		}
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				i++
				v.WriteByte(s[i])
				continue
			}
			if (quoted && c == '\'') || (!quoted && strings.IndexByte(" \t\n\r\v\f", c) >= 0) {
				break
			}
			v.WriteByte(c)
		}
		if i < len(s) {
			i++
		}
		s = s[i:]
		if k != "" {
			out[k] = v.String()
		}
	}
	return out
}

// Redacted returns the target as a URL with the password replaced by [redacted].
func (d *DB) Redacted() string { return d.target }

// Pool returns the pgx pool.
func (d *DB) Pool() *pgxpool.Pool { return d.pool }

// SQLDB returns a database/sql handle over the pool (for goose). It is created on first use and
// closed by Close.
func (d *DB) SQLDB() *sql.DB {
	d.sqlOnce.Do(func() { d.sqlDB = stdlib.OpenDBFromPool(d.pool) })
	return d.sqlDB
}

// Ping checks that the server answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", d.target, err)
	}
	return nil
}

// Close closes the database/sql handle, if any, and the pool.
func (d *DB) Close() error {
	var err error
	d.sqlOnce.Do(func() {}) // no SQLDB after Close
	if d.sqlDB != nil {
		if e := d.sqlDB.Close(); e != nil {
			err = fmt.Errorf("close postgres sql handle: %w", e)
		}
	}
	d.pool.Close()
	return err
}

// InTx runs fn in one transaction and commits when fn returns nil; fn's error or panic rolls it
// back.
func (d *DB) InTx(ctx context.Context, fn func(tx storage.Repos) error) error {
	return d.inTx(ctx, func(q querier) error { return fn(repos{runner{q: q, db: d}}) })
}

func (d *DB) inTx(ctx context.Context, fn func(q querier) error) error {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			// A fresh context: a cancelled ctx must not leave the transaction open.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = tx.Rollback(rctx)
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit transaction: %w", mapErr(err))
	}
	committed = true
	return nil
}

// Workflows returns the workflow repository.
func (d *DB) Workflows() storage.WorkflowRepo { return workflowRepo{d.runner()} }

// Tasks returns the task repository.
func (d *DB) Tasks() storage.TaskRepo { return taskRepo{d.runner()} }

// Users returns the user repository.
func (d *DB) Users() storage.UserRepo { return userRepo{d.runner()} }

// APIKeys returns the API-key repository.
func (d *DB) APIKeys() storage.APIKeyRepo { return apiKeyRepo{d.runner()} }

func (d *DB) runner() runner { return runner{q: d.pool, db: d} }

// querier is what the pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// runner runs the repositories' SQL on the pool (each statement its own transaction) or in one
// transaction.
type runner struct {
	q  querier
	db *DB
}

// now is the current time in UTC at timestamptz precision.
func (r runner) now() time.Time { return r.db.now().UTC().Truncate(time.Microsecond) }

// repos are the repositories bound to one transaction.
type repos struct{ r runner }

func (x repos) Workflows() storage.WorkflowRepo { return workflowRepo(x) }
func (x repos) Tasks() storage.TaskRepo         { return taskRepo(x) }
func (x repos) Users() storage.UserRepo         { return userRepo(x) }
func (x repos) APIKeys() storage.APIKeyRepo     { return apiKeyRepo(x) }

// mapErr turns PostgreSQL constraint errors into the storage errors by SQLSTATE, keeping the
// driver error in the chain, and pgx.ErrNoRows into storage.ErrNotFound.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.ErrNotFound
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		return fmt.Errorf("%w: %w", storage.ErrConflict, err)
	case "23503", // foreign_key_violation
		"23514", // check_violation
		"23502", // not_null_violation
		"22P02": // invalid_text_representation (invalid JSON)
		return fmt.Errorf("%w: %w", storage.ErrInvalid, err)
	}
	return err
}
