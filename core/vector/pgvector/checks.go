package pgvector

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"compozy.dev/setup/core/vector"
)

// Check IDs of this provider.
const (
	// CheckReachable: the server answers and accepts the credentials.
	CheckReachable = "vector.pgvector.reachable"
	// CheckExtension: pgvector is available, installed (or creatable by this role).
	CheckExtension = "vector.pgvector.extension"
	// CheckTable: the table exists with a vector column.
	CheckTable = "vector.pgvector.table"
	// CheckIndex: the table has the index the config asks for, or says why not.
	CheckIndex = "vector.pgvector.index"
)

// Checks returns reachable, extension, table, index, dimension and metric.
func (s *Store) Checks() []vector.Check {
	entry := s.opts.Entry
	checks := []vector.Check{
		{ID: CheckReachable, Entry: entry, Title: "PostgreSQL reachable for pgvector", Server: true, Run: s.checkReachable},
		{ID: CheckExtension, Entry: entry, Title: "pgvector extension installed", DependsOn: []string{CheckReachable}, Server: true, Run: s.checkExtension},
		{ID: CheckTable, Entry: entry, Title: "pgvector table exists", DependsOn: []string{CheckExtension}, Run: s.checkTable},
		{ID: CheckIndex, Entry: entry, Title: "pgvector index", DependsOn: []string{CheckTable}, Run: s.checkIndex},
	}
	drop := vector.Fix{Text: fmt.Sprintf("to recreate it, run this SQL on the vector server %s (never run by --fix: it deletes every vector of the table; "+
		"pgvector creates it again with the configured dimension on first use, or `compozy doctor --fix`):", s.target),
		Commands: []string{s.PSQL("DROP TABLE " + s.table + ";")}}
	return append(checks, vector.ShapeChecks(s, entry, s.opts.Dimension, s.opts.Metric, drop, CheckTable)...)
}

func (s *Store) checkReachable(ctx context.Context) vector.Result {
	h, err := s.Health(ctx)
	if err != nil {
		return vector.FailResult(err)
	}
	r := vector.Result{Status: vector.StatusPass, Summary: fmt.Sprintf("PostgreSQL %s answers at %s", h.ServerVersion, s.target), Detail: h.Detail}
	if p := s.Pooler(); strings.Contains(s.ExecMode(), "chosen by compozy") {
		r.Detail += "; queries run in the simple protocol (nothing prepared on the server): " + p.Name()
	}
	return r
}

func (s *Store) checkExtension(ctx context.Context) vector.Result {
	e, err := s.Extension(ctx)
	if err != nil {
		return vector.FailResult(err)
	}
	p := ExtensionProblem(e, s.target, s.PSQLAs)
	switch {
	case p == nil:
		r := vector.Pass(fmt.Sprintf("pgvector %s is installed in database %q", e.Installed, e.Database))
		if e.Available != "" && e.Available != e.Installed {
			r.Detail = fmt.Sprintf("version %s is available: ALTER EXTENSION vector UPDATE;", e.Available)
		}
		return r
	case errors.Is(p, vector.ErrNotFound):
		r := vector.FailResult(p)
		r.Status = vector.StatusWarn
		return r
	}
	return vector.FailResult(p)
}

func (s *Store) checkTable(ctx context.Context) vector.Result {
	info, err := s.Describe(ctx)
	if err != nil {
		return vector.FailResult(err)
	}
	return vector.Pass(fmt.Sprintf("table %s exists (%s rows)", s.table, info.CountText()))
}

func (s *Store) checkIndex(ctx context.Context) vector.Result {
	ti, err := s.readTable(ctx)
	if err != nil {
		return vector.FailResult(err)
	}
	switch {
	case ti.idxType != "":
		return vector.Pass(fmt.Sprintf("%s index on %s (%s)", ti.idxType, s.table, ti.idxOps))
	case ti.dim > MaxIndexDimensions:
		return vector.Result{Status: vector.StatusWarn,
			Summary: fmt.Sprintf("no index: HNSW and ivfflat index at most %d dimensions and %s holds %d; queries scan the table exactly", MaxIndexDimensions, s.table, ti.dim),
			Detail:  "exact scans are fine for tens of thousands of rows; beyond that use a model with at most 2000 dimensions, or store halfvec (HNSW indexes up to 4000)"}
	case s.index == IndexNone:
		return vector.Result{Status: vector.StatusSkip, Summary: "index: none is configured; queries scan the table exactly"}
	}
	return vector.Result{Status: vector.StatusWarn, Summary: fmt.Sprintf("%s has no vector index; queries scan the whole table", s.table),
		Fix: s.indexFix()}
}

// indexFix creates the configured index, on the store's server.
func (s *Store) indexFix() vector.Fix {
	return vector.Fix{Text: "create the index on the vector server " + s.target + " (it may take a while on a large table):",
		Commands: []string{s.PSQL(s.indexSQL() + ";")}}
}
