// Package vector is the contract of Compozy's vector stores: a small Store interface (health,
// describe, ensure, upsert, query, delete), the errors every provider returns, and the checks
// each provider exports as data for the doctor.
//
// The providers live in sub-packages (filesystem, qdrant, redis, pgvector), each with
// `var _ vector.Store = (*Store)(nil)`; core/vector/factory opens one of them from a
// knowledge.vector_dbs entry. This package imports no provider and no client library, so the
// doctor and the wizard can depend on it alone.
//
// Conventions every provider follows:
//   - Opening a store does no network I/O and writes nothing; the first call that needs the
//     server contacts it, within the caller's context.
//   - Every error is an *Error: it names the provider, the step that failed and the address
//     tried (never a password or API key), and wraps one of the sentinel errors below, so
//     callers test with errors.Is (ErrUnreachable, ErrNotFound, ...). When the caller's context
//     ended, the error also wraps context.DeadlineExceeded or context.Canceled, whatever the
//     client library returned.
//   - Scores: cosine similarity for Cosine, the dot product for Dot, the euclidean distance
//     (smaller is closer) for Euclid. Query returns the best match first.
package vector

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Provider names, as written in knowledge.vector_dbs[].provider.
const (
	ProviderPgvector   = "pgvector"
	ProviderQdrant     = "qdrant"
	ProviderRedis      = "redis"
	ProviderFilesystem = "filesystem"
)

// Metric is a distance metric.
type Metric string

// The metrics every provider supports.
const (
	Cosine Metric = "cosine"
	Dot    Metric = "dot"
	Euclid Metric = "euclid"
)

// ParseMetric reads a configured metric; "" means Cosine. Case is ignored, and the common
// aliases of other tools are accepted (ip/inner_product for dot, l2/euclidean for euclid).
func ParseMetric(s string) (Metric, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "cosine", "cos":
		return Cosine, nil
	case "dot", "ip", "inner_product":
		return Dot, nil
	case "euclid", "euclidean", "l2":
		return Euclid, nil
	}
	return "", fmt.Errorf("unknown metric %q (use cosine, dot or euclid): %w", s, ErrInvalid)
}

// Point is one vector with its ID and payload. Payload values are strings so that every
// provider stores and returns them unchanged.
type Point struct {
	ID      string
	Vector  []float32
	Payload map[string]string
}

// Match is one result of Query.
type Match struct {
	ID string
	// Score is the cosine similarity (Cosine), dot product (Dot) or euclidean distance (Euclid,
	// smaller is closer).
	Score   float32
	Payload map[string]string
}

// Health is what a store's server says about itself.
type Health struct {
	// ServerVersion is the server's version ("1.17.0", "7.2.4", "15.18"), "" when unknown.
	ServerVersion string
	// ClientVersion is the version of the client library, where the provider compares it with
	// the server's (qdrant).
	ClientVersion string
	// Detail is one line of provider facts: "RediSearch 2.8.4", "pgvector 0.7.0 installed".
	Detail string
	// Warnings are problems that do not stop the store from working, for example a client and
	// server whose versions are too far apart.
	Warnings []string
}

// Info describes the collection, index, table or folder that holds the vectors.
type Info struct {
	Provider string
	// Target is where the store lives, with secrets redacted: "127.0.0.1:6334", a folder.
	Target string
	// Name is the collection (qdrant), index (redis), table (pgvector) or store name
	// (filesystem).
	Name string
	// Dimension is the length of the vectors the store holds; 0 when the server does not say.
	Dimension int
	// Metric is the store's distance metric; "" when the server does not say.
	Metric Metric
	// Count is the number of vectors, -1 when unknown. Up to ExactCountLimit it is exact; above,
	// a store whose counting grows with the data gives the server's estimate instead and sets
	// CountEstimated, so that describing a store costs the same at any size.
	Count int64
	// CountEstimated says Count is an estimate (see Count).
	CountEstimated bool
	// ServerVersion is the server's version, "" for the filesystem store.
	ServerVersion string
	// Index names the search index: "hnsw", "flat", "none (exact scan)".
	Index string
	// Notes are facts worth showing: "HNSW indexes at most 2000 dimensions: exact scan".
	Notes []string
}

// ExactCountLimit is the number of vectors up to which Info.Count is exact for every store.
const ExactCountLimit = 10000

// CountText is Count for a person: "42", "about 1200000", or "an unknown number of".
func (i Info) CountText() string {
	switch {
	case i.Count < 0:
		return "an unknown number of"
	case i.CountEstimated:
		return fmt.Sprintf("about %d", i.Count)
	}
	return fmt.Sprint(i.Count)
}

// Store is one vector store: a collection, index, table or folder on one server.
//
// Implementations are safe for concurrent use.
type Store interface {
	// Provider is the provider name ("qdrant").
	Provider() string
	// Target is the address or folder tried, with secrets redacted.
	Target() string
	// Health contacts the server within ctx and reports its version.
	Health(ctx context.Context) (Health, error)
	// Describe reports the collection's dimension, metric, count and the server version. It
	// returns an error wrapping ErrNotFound when the collection does not exist.
	Describe(ctx context.Context) (Info, error)
	// Ensure creates the collection with the configured dimension and metric when it does not
	// exist. It is idempotent; it returns an error wrapping ErrDimension when the collection
	// exists with another dimension.
	Ensure(ctx context.Context) error
	// Upsert inserts or replaces points by ID. A vector of the wrong length is refused with
	// ErrDimension before anything is written.
	Upsert(ctx context.Context, points []Point) error
	// Query returns the k nearest points to v, best first.
	Query(ctx context.Context, v []float32, k int) ([]Match, error)
	// Delete removes the points with these IDs; unknown IDs are ignored.
	Delete(ctx context.Context, ids ...string) error
	// Checks are the provider's named checks for the doctor, in the order to show them.
	Checks() []Check
	// Close releases connections and files.
	Close() error
}

// Sentinel errors. Every *Error wraps exactly one of them (its Kind).
var (
	// ErrUnreachable means the server could not be reached or did not answer in time.
	ErrUnreachable = errors.New("unreachable")
	// ErrAuth means the server refused the credentials.
	ErrAuth = errors.New("authentication failed")
	// ErrPermission means the credentials are valid but lack a privilege.
	ErrPermission = errors.New("permission denied")
	// ErrNotFound means the collection, index, table or store does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnsupported means the server lacks a capability: no search module, a module too old
	// for vectors, no pgvector extension.
	ErrUnsupported = errors.New("unsupported by the server")
	// ErrDimension means a vector's length does not match the store's dimension.
	ErrDimension = errors.New("dimension mismatch")
	// ErrInvalid means an invalid argument or configuration.
	ErrInvalid = errors.New("invalid")
	// ErrCorrupt means stored data failed its checksum or could not be decoded.
	ErrCorrupt = errors.New("corrupt data")
)

// Error is the error every provider returns.
type Error struct {
	// Provider is the provider name ("redis").
	Provider string
	// Op is the step that failed: "health check", "module list", "create index".
	Op string
	// Target is the address or folder tried, with secrets redacted.
	Target string
	// Kind is one of the sentinel errors.
	Kind error
	// Msg says what is wrong in plain words; "" to use the cause alone.
	Msg string
	// Fix says what to do about it, when the provider knows.
	Fix Fix
	// Err is the cause, free of secrets; nil when Msg says it all.
	Err error

	ctxErr error
}

// NewError returns an *Error. When ctx has ended, its error joins the chain, so
// errors.Is(err, context.DeadlineExceeded) holds even when the client library reported the
// deadline in its own way (a gRPC status, a driver timeout).
func NewError(ctx context.Context, provider, op, target string, kind, cause error) *Error {
	e := &Error{Provider: provider, Op: op, Target: target, Kind: kind, Err: cause}
	if ctx != nil && ctx.Err() != nil && (cause == nil || !errors.Is(cause, ctx.Err())) {
		e.ctxErr = ctx.Err()
	}
	return e
}

// Error renders "PROVIDER: OP at TARGET: MSG: CAUSE".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	b.WriteString(": ")
	b.WriteString(e.Op)
	if e.Target != "" {
		b.WriteString(" at ")
		b.WriteString(e.Target)
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	} else if e.Msg == "" && e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
	}
	if e.ctxErr != nil && (e.Err == nil || !strings.Contains(e.Err.Error(), e.ctxErr.Error())) {
		b.WriteString(" (")
		b.WriteString(e.ctxErr.Error())
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the kind, the cause and, when the caller's context ended, its error.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 3)
	for _, err := range []error{e.Kind, e.Err, e.ctxErr} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Redact returns err with every non-empty secret replaced by "[redacted]" in its text. The
// chain is kept, so errors.Is and errors.As still see the original errors. It returns nil for
// a nil err and err itself when no secret occurs in it.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &redacted{msg: msg, err: err}
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }
