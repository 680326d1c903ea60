package pgvector

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"compozy.dev/setup/core/vector"
)

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
