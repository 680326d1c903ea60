package pgvector

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"compozy.dev/setup/core/vector"
)

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
	stmts := s.createSQL()
	cmds := make([]string, len(stmts))
	for i, stmt := range stmts {
		cmds[i] = s.PSQL(stmt + ";")
	}
	return vector.Fix{Text: "Compozy creates the table on first use (`compozy doctor --fix` creates it now), or run this SQL on the vector server " + s.target + ":",
		Commands: cmds}
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
		e.Fix = vector.Fix{Text: fmt.Sprintf("set dimension: %d in compozy.yaml, or drop the table on the vector server %s (it deletes every vector) and re-index", ti.dim, s.target),
			Commands: []string{s.PSQL("DROP TABLE " + s.table + ";")}}
		return e
	}
	if ti.idxType != "" {
		if m := metricOfOps(ti.idxOps); m != "" && m != s.opts.Metric {
			e := s.newErr(ctx, "ensure table", vector.ErrInvalid, nil,
				fmt.Sprintf("the index of %s uses %s (metric %s) but the config says %s", s.table, ti.idxOps, m, s.opts.Metric))
			e.Fix = vector.Fix{Text: "set metric: " + string(m) + " in compozy.yaml, or recreate the index on the vector server " + s.target,
				Commands: []string{s.PSQL("DROP INDEX " + s.indexName() + ";"), s.PSQL(s.indexSQL() + ";")}}
			return e
		}
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
