// Package pgvector is the PostgreSQL vector store: a table with a vector(dim) column from the
// pgvector extension, over pgx/v5 and pgxpool. It is valid only with the PostgreSQL driver.
//
// The extension is checked in three steps, each with its own message: is it available on the
// server (pg_available_extensions), is it installed in this database (pg_extension, and which
// version), and may this role create it (superuser, or a trusted extension and CREATE on the
// database); when it may not, the fix is the exact SQL a superuser must run.
//
// Index: HNSW by default (index: hnsw), or ivfflat, or none. pgvector indexes at most 2000
// dimensions of the vector type; above that the table has no index, queries scan it exactly,
// and Describe and the index check say so.
//
// Poolers: PGlite runs every client connection on one backend session, and a transaction
// pooler (PgBouncer, Supabase's, Neon's) hands server sessions from client to client, so pgx's
// default of caching named prepared statements per connection collides there ("prepared
// statement ... already exists"). On first use the store looks (the storage layer's own
// detection, postgres.Detect) and, where session state does not last, runs its pool in the
// simple protocol, unless the connection string chooses default_query_exec_mode or
// statement_cache_capacity itself.
//
// Scores follow the vector contract: <=> is the cosine distance (score 1 - d), <#> the
// negative inner product (score -d), <-> the euclidean distance.
package pgvector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/internal/shellquote"
)

// Provider is the provider name.
const Provider = vector.ProviderPgvector

// MaxIndexDimensions is the largest vector pgvector's HNSW and ivfflat indexes accept.
const MaxIndexDimensions = 2000

// Index types.
const (
	IndexHNSW    = "hnsw"
	IndexIVFFlat = "ivfflat"
	IndexNone    = "none"
)

// Options configures Open.
type Options struct {
	// Entry is the knowledge.vector_dbs id, for the checks.
	Entry string
	// ConnString is a postgres:// URL or a keyword/value string.
	ConnString string
	// Table is the table name; default "compozy_vectors_" + Entry, or "compozy_vectors".
	Table string
	// Index is hnsw (default), ivfflat or none.
	Index string
	// Dimension and Metric are the configured vector shape; "" metric means cosine.
	Dimension int
	Metric    vector.Metric
	// MaxConns is the pool size; default 4.
	MaxConns int32
}

// Store is a pgvector table. It implements vector.Store.
type Store struct {
	opts Options
	cfg  *pgxpool.Config
	// first is the pool Open made, in the connection string's exec mode; ready is the pool
	// every statement runs on, set once the first use has looked for a pooler (see db). lock
	// (one token) is held while looking, and by Close.
	first    *pgxpool.Pool
	ready    atomic.Pointer[pgxpool.Pool]
	lock     chan struct{}
	closed   bool
	pooler   postgres.Pooler
	execMode string
	host     string
	target   string
	password string
	table    string // quoted identifier
	index    string // hnsw, ivfflat or none, after the dimension limit
	isReady  string // pg_isready command for the fix of an unreachable server
	psqlURL  string // the server's URL for a psql command: no password
}

var _ vector.Store = (*Store)(nil)

// Open builds the pool. It makes no connection.
func Open(ctx context.Context, opts Options) (*Store, error) {
	m, err := vector.ParseMetric(string(opts.Metric))
	if err != nil {
		return nil, openErr("", err.Error())
	}
	opts.Metric = m
	if opts.Dimension <= 0 {
		return nil, openErr("", fmt.Sprintf("dimension must be at least 1, got %d", opts.Dimension))
	}
	if opts.Table == "" {
		opts.Table = "compozy_vectors"
		if opts.Entry != "" {
			opts.Table += "_" + opts.Entry
		}
	}
	index := strings.ToLower(strings.TrimSpace(opts.Index))
	switch index {
	case "", IndexHNSW:
		index = IndexHNSW
	case IndexIVFFlat:
	case IndexNone, "flat", "exact":
		index = IndexNone
	default:
		return nil, openErr("", fmt.Sprintf("index %q: use hnsw, ivfflat or none", opts.Index))
	}
	if opts.Dimension > MaxIndexDimensions {
		index = IndexNone
	}
	cfg, err := pgxpool.ParseConfig(opts.ConnString)
	if err != nil {
		// pgx masks the password in parse errors; mask it again in case the string is odd.
		return nil, openErr("", "connection string: "+vector.Redact(err, passwordIn(opts.ConnString)).Error())
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 4
	}
	cfg.MaxConns = opts.MaxConns
	cfg.MinConns = 0
	cc := cfg.ConnConfig
	target := net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))) + "/" + cc.Database
	if strings.HasPrefix(cc.Host, "/") {
		target = cc.Host + "/" + cc.Database
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, openErr(target, "create pool: "+vector.Redact(err, cc.Password).Error())
	}
	return &Store{opts: opts, cfg: cfg, first: pool, lock: make(chan struct{}, 1), host: cc.Host, target: target, password: cc.Password,
		execMode: postgres.ExecModeName(cc.DefaultQueryExecMode),
		table:    pgx.Identifier{opts.Table}.Sanitize(), index: index,
		isReady: fmt.Sprintf("pg_isready -h %s -p %d", shellquote.Quote(cc.Host), cc.Port),
		psqlURL: psqlURL(opts.ConnString, cc.User, cc.Host, cc.Port, cc.Database)}, nil
}

// psqlURL is the server for a psql command a fix prints: the connection string's own URL
// without its password (psql asks for it, or reads PGPASSWORD), or one built from the parsed
// settings (a keyword/value string; its sslmode kept).
func psqlURL(conn, user, host string, port uint16, database string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		if u, err := url.Parse(conn); err == nil {
			if u.User != nil {
				u.User = url.User(u.User.Username())
			}
			q := u.Query()
			if q.Has("password") {
				q.Del("password")
				u.RawQuery = q.Encode()
			}
			return u.String()
		}
	}
	u := url.URL{Scheme: "postgres", Path: "/" + database}
	if user != "" {
		u.User = url.User(user)
	}
	q := url.Values{}
	if strings.HasPrefix(host, "/") {
		q.Set("host", host)
		q.Set("port", strconv.Itoa(int(port)))
	} else {
		u.Host = net.JoinHostPort(host, strconv.Itoa(int(port)))
	}
	for _, f := range strings.Fields(conn) {
		if v, ok := strings.CutPrefix(f, "sslmode="); ok {
			q.Set("sslmode", strings.Trim(v, "'"))
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// PSQL is the shell command that runs sql on the store's server with psql, naming the server
// (its URL without the password): the form every SQL fix of this provider takes.
func (s *Store) PSQL(sql string) string {
	return "psql " + shellquote.Quote(s.psqlURL) + " -c " + shellquote.Quote(sql)
}

// PSQLAs is PSQL connecting as another role (a superuser, for what compozy's role may not do).
func (s *Store) PSQLAs(user, sql string) string {
	u, err := url.Parse(s.psqlURL)
	if err != nil || user == "" {
		return s.PSQL(sql)
	}
	u.User = url.User(user)
	return "psql " + shellquote.Quote(u.String()) + " -c " + shellquote.Quote(sql)
}

// passwordIn finds password=... or the URL password in a connection string, to mask it.
func passwordIn(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if _, p, ok := strings.Cut(rest[:at], ":"); ok {
				return p
			}
		}
		return ""
	}
	if i := strings.Index(s, "password="); i >= 0 {
		p := s[i+len("password="):]
		if strings.HasPrefix(p, "'") {
			if j := strings.IndexByte(p[1:], '\''); j >= 0 {
				return p[1 : j+1]
			}
		}
		p, _, _ = strings.Cut(p, " ")
		return p
	}
	return ""
}

func openErr(target, msg string) error {
	e := vector.NewError(nil, Provider, "open", target, vector.ErrInvalid, nil)
	e.Msg = msg
	return e
}

// Provider returns "pgvector".
func (s *Store) Provider() string { return Provider }

// Target returns "host:port/database".
func (s *Store) Target() string { return s.target }

// Table returns the table name.
func (s *Store) Table() string { return s.opts.Table }

// Close closes the pool. It waits for a first use's look for a pooler to end.
func (s *Store) Close() error {
	s.lock <- struct{}{}
	defer func() { <-s.lock }()
	s.closed = true
	if p := s.ready.Load(); p != nil {
		p.Close()
	}
	s.first.Close()
	return nil
}

func (s *Store) newErr(ctx context.Context, op string, kind, cause error, msg string) *vector.Error {
	e := vector.NewError(ctx, Provider, op, s.target, kind, vector.Redact(cause, s.password))
	e.Msg = msg
	return e
}

// fail classifies a pgx error.
func (s *Store) fail(ctx context.Context, op string, err error) *vector.Error {
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		return s.newErr(ctx, op, vector.ErrUnreachable, err, "no answer before the deadline")
	case errors.As(err, &pgErr):
		switch {
		case pgErr.Code == "28P01" || pgErr.Code == "28000":
			e := s.newErr(ctx, op, vector.ErrAuth, err, "the server refused the credentials")
			e.Fix = vector.Fix{Text: "check the user and password (keep the password in the environment: ${PGPASSWORD} or COMPOZY_DB_PASSWORD)"}
			return e
		case pgErr.Code == "3D000":
			return s.newErr(ctx, op, vector.ErrNotFound, err, "the database does not exist")
		case pgErr.Code == "42P01":
			e := s.newErr(ctx, op, vector.ErrNotFound, err, fmt.Sprintf("table %s does not exist", s.table))
			e.Fix = s.createFix()
			return e
		case pgErr.Code == "42501":
			return s.newErr(ctx, op, vector.ErrPermission, err, "the role lacks a privilege")
		case pgErr.Code == "42704" && strings.Contains(pgErr.Message, "vector"), pgErr.Code == "58P01":
			return s.newErr(ctx, op, vector.ErrUnsupported, err, "the pgvector extension is not installed in this database")
		case pgErr.Code == "22000" && strings.Contains(pgErr.Message, "dimensions"):
			// data_exception is pgvector's code for "expected 4 dimensions, not 3" and
			// "different vector dimensions 4 and 3", and for NaN and infinite values too: no
			// code of their own, so the server's words tell them apart.
			return s.newErr(ctx, op, vector.ErrDimension, err, "")
		}
		return s.newErr(ctx, op, vector.ErrInvalid, err, "")
	case errors.As(err, &connErr):
		e := s.newErr(ctx, op, vector.ErrUnreachable, err, "no PostgreSQL server answers")
		e.Fix = vector.Fix{Text: "start PostgreSQL or correct the connection settings", Commands: []string{s.isReady}}
		return e
	}
	return s.newErr(ctx, op, vector.ErrUnreachable, err, "")
}

// Health connects and reports the server and pgvector versions.
func (s *Store) Health(ctx context.Context) (vector.Health, error) {
	e, err := s.Extension(ctx)
	if err != nil {
		return vector.Health{}, err
	}
	h := vector.Health{ServerVersion: e.ServerVersion}
	switch {
	case e.Installed != "":
		h.Detail = "pgvector " + e.Installed + " installed"
		if e.Available != "" && e.Available != e.Installed {
			h.Detail += " (" + e.Available + " available: ALTER EXTENSION vector UPDATE)"
		}
	case e.Available != "":
		h.Detail = "pgvector " + e.Available + " available, not installed in " + e.Database
	default:
		h.Detail = "pgvector not available on this server"
		h.Warnings = append(h.Warnings, h.Detail)
	}
	return h, nil
}
