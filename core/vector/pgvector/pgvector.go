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
	"encoding/json"
	"errors"
	"fmt"
	"net"
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
		isReady: fmt.Sprintf("pg_isready -h %s -p %d", shellquote.Quote(cc.Host), cc.Port)}, nil
}

// db is the pool to run statements on. The first call looks for a pooler between the store and
// the server (postgres.Detect: the host's name and port, then two client connections' server
// sessions) and, where session state does not last, makes the pool again in the simple
// protocol (postgres.ExecModeFor: a connection string that chooses the mode keeps it).
// Concurrent first calls wait for that one look, each within its own ctx. A look that cannot
// reach the server (or whose ctx ends) decides nothing: its error is returned, classified, and
// the next call looks again; a server that answers the probe with an SQL error is taken as a
// direct one.
func (s *Store) db(ctx context.Context, op string) (*pgxpool.Pool, error) {
	if p := s.ready.Load(); p != nil {
		return p, nil
	}
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, s.fail(ctx, op, ctx.Err())
	}
	defer func() { <-s.lock }()
	if p := s.ready.Load(); p != nil {
		return p, nil
	}
	if s.closed {
		return nil, s.newErr(ctx, op, vector.ErrInvalid, nil, "the store is closed")
	}
	found, err := postgres.Detect(ctx, s.first)
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	if err != nil && (ctx.Err() != nil || errors.As(err, &connErr) || !errors.As(err, &pgErr)) {
		return nil, s.fail(ctx, op, err)
	}
	pool := s.first
	if mode, changed := postgres.ExecModeFor(found, s.opts.ConnString, s.cfg.ConnConfig.DefaultQueryExecMode); changed {
		cfg := s.cfg.Copy()
		cfg.ConnConfig.DefaultQueryExecMode = mode
		next, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, s.newErr(ctx, op, vector.ErrInvalid, err, "create pool")
		}
		s.first.Close()
		pool = next
		s.execMode = postgres.ExecModeName(mode) + " (chosen by compozy: " + found.Name() + ")"
	}
	s.pooler = found
	s.ready.Store(pool)
	return pool, nil
}

// Pooler is what the first use found between the store and the server (the zero Pooler before
// it, or when nothing was found).
func (s *Store) Pooler() postgres.Pooler {
	if s.ready.Load() == nil {
		return postgres.Pooler{}
	}
	return s.pooler
}

// ExecMode is how pgx runs the store's queries, as default_query_exec_mode spells it, with
// "(chosen by compozy: ...)" when the first use chose the simple protocol for a pooler.
func (s *Store) ExecMode() string {
	if s.ready.Load() == nil {
		return postgres.ExecModeName(s.cfg.ConnConfig.DefaultQueryExecMode)
	}
	return s.execMode
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

func opsFor(m vector.Metric) (ops, operator string) {
	switch m {
	case vector.Dot:
		return "vector_ip_ops", "<#>"
	case vector.Euclid:
		return "vector_l2_ops", "<->"
	}
	return "vector_cosine_ops", "<=>"
}

func metricOfOps(ops string) vector.Metric {
	switch {
	case strings.Contains(ops, "cosine"):
		return vector.Cosine
	case strings.Contains(ops, "_ip_"):
		return vector.Dot
	case strings.Contains(ops, "l2"):
		return vector.Euclid
	}
	return ""
}

func (s *Store) indexName() string { return pgx.Identifier{s.opts.Table + "_embedding_idx"}.Sanitize() }

// createSQL is the SQL that creates the table and its index.
func (s *Store) createSQL() []string {
	stmts := []string{
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (id text PRIMARY KEY, embedding vector(%d) NOT NULL, payload jsonb NOT NULL DEFAULT '{}'::jsonb)",
			s.table, s.opts.Dimension),
		fmt.Sprintf("COMMENT ON TABLE %s IS 'compozy vectors: metric=%s'", s.table, s.opts.Metric),
	}
	if idx := s.indexSQL(); idx != "" {
		stmts = append(stmts, idx)
	}
	return stmts
}

func (s *Store) indexSQL() string {
	ops, _ := opsFor(s.opts.Metric)
	switch s.index {
	case IndexHNSW:
		return fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s USING hnsw (embedding %s)", s.indexName(), s.table, ops)
	case IndexIVFFlat:
		return fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s USING ivfflat (embedding %s) WITH (lists = 100)", s.indexName(), s.table, ops)
	}
	return ""
}

func (s *Store) createFix() vector.Fix {
	return vector.Fix{Text: "Compozy creates the table on first use (`compozy doctor --fix` creates it now); the SQL is:",
		Commands: s.createSQL()}
}

// tableInfo is what the catalog says about the table.
type tableInfo struct {
	dim     int
	comment string
	idxType string // hnsw, ivfflat, "" for none
	idxOps  string
}

func (s *Store) readTable(ctx context.Context) (tableInfo, error) {
	var ti tableInfo
	var typmod int32
	pool, err := s.db(ctx, "describe table")
	if err != nil {
		return ti, err
	}
	err = pool.QueryRow(ctx, `SELECT a.atttypmod, coalesce(obj_description(c.oid, 'pg_class'), '')
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'embedding' AND NOT a.attisdropped
		WHERE c.oid = to_regclass($1)`, s.table).Scan(&typmod, &ti.comment)
	if errors.Is(err, pgx.ErrNoRows) {
		e := s.newErr(ctx, "describe table", vector.ErrNotFound, nil, fmt.Sprintf("table %s does not exist (or has no embedding column)", s.table))
		e.Fix = s.createFix()
		return ti, e
	}
	if err != nil {
		return ti, s.fail(ctx, "describe table", err)
	}
	ti.dim = int(typmod)
	err = pool.QueryRow(ctx, `SELECT am.amname, opc.opcname
		FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
		JOIN pg_opclass opc ON opc.oid = i.indclass[0]
		WHERE i.indrelid = to_regclass($1) AND am.amname IN ('hnsw', 'ivfflat')
		ORDER BY ic.relname LIMIT 1`, s.table).Scan(&ti.idxType, &ti.idxOps)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return ti, s.fail(ctx, "describe index", err)
	}
	return ti, nil
}

// Describe reads the table's dimension, metric, index and row count.
func (s *Store) Describe(ctx context.Context) (vector.Info, error) {
	ext, err := s.requireExtension(ctx)
	if err != nil {
		return vector.Info{}, err
	}
	ti, err := s.readTable(ctx)
	if err != nil {
		return vector.Info{}, err
	}
	pool, err := s.db(ctx, "count rows")
	if err != nil {
		return vector.Info{}, err
	}
	info := vector.Info{Provider: Provider, Target: s.target, Name: s.opts.Table, Dimension: max(ti.dim, 0),
		ServerVersion: ext.ServerVersion + " (pgvector " + ext.Installed + ")", Index: ti.idxType}
	if _, m, ok := strings.Cut(ti.comment, "metric="); ok && len(strings.Fields(m)) > 0 {
		info.Metric, _ = vector.ParseMetric(strings.Fields(m)[0])
	}
	if ti.idxType != "" {
		if m := metricOfOps(ti.idxOps); m != "" {
			info.Metric = m
		}
	} else {
		info.Index = "none (exact scan)"
		if info.Dimension > MaxIndexDimensions {
			info.Notes = append(info.Notes, fmt.Sprintf("HNSW and ivfflat index at most %d dimensions; %d-dimension vectors are searched by an exact scan", MaxIndexDimensions, info.Dimension))
		}
	}
	// count(*) reads the whole table: count at most ExactCountLimit+1 rows, and above that take
	// the planner's estimate (reltuples; -1 before the first VACUUM or ANALYZE).
	if err := pool.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT 1 FROM %s LIMIT %d) r", s.table, vector.ExactCountLimit+1)).Scan(&info.Count); err != nil {
		return vector.Info{}, s.fail(ctx, "count rows", err)
	}
	if info.Count > vector.ExactCountLimit {
		var est int64
		if err := pool.QueryRow(ctx, "SELECT reltuples::int8 FROM pg_class WHERE oid = $1::regclass", s.table).Scan(&est); err != nil {
			return vector.Info{}, s.fail(ctx, "estimate rows", err)
		}
		info.Count, info.CountEstimated = max(est, info.Count), true
	}
	return info, nil
}

// Ensure creates the extension (when this role may), the table and its index.
func (s *Store) Ensure(ctx context.Context) error {
	pool, err := s.db(ctx, "ensure")
	if err != nil {
		return err
	}
	_, err = s.requireExtension(ctx)
	if errors.Is(err, vector.ErrNotFound) {
		if _, cerr := pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); cerr != nil {
			return s.fail(ctx, "create extension", cerr)
		}
	} else if err != nil {
		return err
	}
	ti, err := s.readTable(ctx)
	if errors.Is(err, vector.ErrNotFound) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return s.fail(ctx, "create table", err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		for _, stmt := range s.createSQL() {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return s.fail(ctx, "create table", err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return s.fail(ctx, "create table", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if ti.dim > 0 && ti.dim != s.opts.Dimension {
		e := s.newErr(ctx, "ensure table", vector.ErrDimension, nil,
			fmt.Sprintf("table %s holds %d-dimension vectors but the config says %d", s.table, ti.dim, s.opts.Dimension))
		e.Fix = vector.Fix{Text: fmt.Sprintf("set dimension: %d in compozy.yaml, or drop the table and re-index", ti.dim),
			Commands: []string{"DROP TABLE " + s.table + ";"}}
		return e
	}
	if ti.idxType != "" {
		if m := metricOfOps(ti.idxOps); m != "" && m != s.opts.Metric {
			e := s.newErr(ctx, "ensure table", vector.ErrInvalid, nil,
				fmt.Sprintf("the index of %s uses %s (metric %s) but the config says %s", s.table, ti.idxOps, m, s.opts.Metric))
			e.Fix = vector.Fix{Text: "set metric: " + string(m) + " in compozy.yaml, or recreate the index",
				Commands: []string{"DROP INDEX " + s.indexName() + ";", s.indexSQL() + ";"}}
			return e
		}
	}
	return nil
}

// vectorText renders v in pgvector's text form: [1,2,3].
func vectorText(v []float32) string {
	var b strings.Builder
	b.Grow(len(v) * 10)
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	}
	b.WriteByte(']')
	return b.String()
}

// maxBatch bounds the rows of one batch.
const maxBatch = 500

// Upsert inserts or replaces the rows in one transaction.
func (s *Store) Upsert(ctx context.Context, points []vector.Point) error {
	if err := vector.ValidatePoints(Provider, s.target, s.opts.Dimension, s.opts.Metric, points); err != nil {
		return err
	}
	if len(points) == 0 {
		return nil
	}
	pool, err := s.db(ctx, "upsert")
	if err != nil {
		return err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return s.extensionAware(ctx, "upsert", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	q := fmt.Sprintf(`INSERT INTO %s (id, embedding, payload) VALUES ($1, $2::vector, $3::jsonb)
		ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding, payload = EXCLUDED.payload`, s.table)
	for start := 0; start < len(points); start += maxBatch {
		b := &pgx.Batch{}
		for _, p := range points[start:min(start+maxBatch, len(points))] {
			payload := []byte("{}")
			if len(p.Payload) > 0 {
				if payload, err = json.Marshal(p.Payload); err != nil {
					return s.newErr(ctx, "upsert", vector.ErrInvalid, err, "encode payload of "+strconv.Quote(p.ID))
				}
			}
			b.Queue(q, p.ID, vectorText(p.Vector), string(payload))
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			_ = tx.Rollback(ctx) // before asking more of the server: see inTxFailed
			return s.extensionAware(ctx, "upsert", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return s.fail(ctx, "upsert", err)
	}
	return nil
}

// Query returns the k nearest rows. With an HNSW index, ef_search is raised to k so that k
// rows come back.
func (s *Store) Query(ctx context.Context, v []float32, k int) ([]vector.Match, error) {
	if err := vector.ValidateQuery(Provider, s.target, s.opts.Dimension, s.opts.Metric, v, k); err != nil {
		return nil, err
	}
	_, op := opsFor(s.opts.Metric)
	pool, err := s.db(ctx, "query")
	if err != nil {
		return nil, err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, s.extensionAware(ctx, "query", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// A failure inside the transaction ends it before the extension is looked at: the lookup
	// runs on another connection, and holding an aborted transaction open meanwhile keeps a
	// connection (and, behind a server that runs every client on one session, such as PGlite,
	// the lookup itself) waiting until the deadline.
	failed := func(err error) error {
		_ = tx.Rollback(ctx)
		return s.extensionAware(ctx, "query", err)
	}
	switch s.index {
	case IndexHNSW:
		if _, err := tx.Exec(ctx, "SELECT set_config('hnsw.ef_search', $1, true)", strconv.Itoa(min(max(k, 40), 1000))); err != nil {
			return nil, failed(err)
		}
	case IndexIVFFlat:
		if _, err := tx.Exec(ctx, "SELECT set_config('ivfflat.probes', '10', true)"); err != nil {
			return nil, failed(err)
		}
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT id, payload::text, (embedding %[2]s $1::vector)::float8 AS d
		FROM %[1]s ORDER BY embedding %[2]s $1::vector LIMIT $2`, s.table, op), vectorText(v), k)
	if err != nil {
		return nil, failed(err)
	}
	defer rows.Close()
	var out []vector.Match
	for rows.Next() {
		var id, payload string
		var d float64
		if err := rows.Scan(&id, &payload, &d); err != nil {
			return nil, s.fail(ctx, "query", err)
		}
		m := vector.Match{ID: id}
		switch s.opts.Metric {
		case vector.Cosine:
			m.Score = float32(1 - d)
		case vector.Dot:
			m.Score = float32(-d)
		default:
			m.Score = float32(d)
		}
		if payload != "" && payload != "{}" {
			if err := json.Unmarshal([]byte(payload), &m.Payload); err != nil {
				return nil, s.newErr(ctx, "query", vector.ErrCorrupt, err, "decode payload of "+strconv.Quote(id))
			}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, failed(err)
	}
	return out, nil
}

// Delete removes the rows with these IDs.
func (s *Store) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	pool, err := s.db(ctx, "delete")
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, "DELETE FROM "+s.table+" WHERE id = ANY($1)", ids); err != nil {
		return s.extensionAware(ctx, "delete", err)
	}
	return nil
}

// IndexType is the index this store creates: hnsw, ivfflat or none (none above
// MaxIndexDimensions whatever the config says).
func (s *Store) IndexType() string { return s.index }

// DropTable drops the table (tests and `compozy doctor --fix`); it is not part of vector.Store.
func (s *Store) DropTable(ctx context.Context) error {
	pool, err := s.db(ctx, "drop table")
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+s.table); err != nil {
		return s.fail(ctx, "drop table", err)
	}
	return nil
}
