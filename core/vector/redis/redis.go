// Package redis is the Redis vector store: hashes indexed by RediSearch (FT.CREATE ... VECTOR
// HNSW) and searched with KNN queries, over github.com/redis/go-redis/v9.
//
// Vector fields need RediSearch 2.4 or later: Redis Stack, or Redis 8 where search is built
// in. The store finds the module with MODULE LIST (name "search", or "ft" in RediSearch 1.x;
// its version is a number, 20400 = 2.4.0) and refuses, naming the version it found, when the
// module is missing or too old. Debian's redis-redisearch package is RediSearch 1.2: it has
// no vector fields.
//
// Logging: go-redis has one process-wide logger (there is no per-client option in v9.23) and
// writes dial failures to stderr, which would scribble over a terminal UI. This package turns
// that logger off once, in its init function, instead of on every Open; every failure go-redis
// would have logged is returned as an error, with the address tried, by the calls here.
//
// Each point is a hash at PREFIX+ID with the fields id, vec (float32 little-endian bytes) and
// payload (JSON). Scores follow the vector contract: RediSearch's COSINE and IP distances are
// 1 - similarity and its L2 distance is squared, so Query converts them back.
package redis

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"

	goredis "github.com/redis/go-redis/v9"

	"compozy.dev/setup/core/vector"
)

// Provider is the provider name.
const Provider = vector.ProviderRedis

// Options configures Open.
type Options struct {
	// Entry is the knowledge.vector_dbs id, for the checks.
	Entry string
	// URL is redis://[user:password@]host:port[/db], rediss://... or unix:///path.
	URL string
	// Index is the RediSearch index; default "compozy_" + Entry, or "compozy".
	Index string
	// Prefix is the key prefix of the hashes; default "compozy:" + Index + ":".
	Prefix string
	// Dimension and Metric are the configured vector shape; "" metric means cosine.
	Dimension int
	Metric    vector.Metric
	// Dialect is the query DIALECT, from knowledge.vector_dbs[].dialect; "" means 2, the first
	// with KNN queries.
	Dialect string
}

// Store is a RediSearch index. It implements vector.Store.
type Store struct {
	opts     Options
	client   *goredis.Client
	target   string
	password string
	dialect  int

	mu       sync.Mutex
	moduleOK *Module // cached once a good module was seen
}

var _ vector.Store = (*Store)(nil)

// Open builds the client. It makes no connection.
func Open(_ context.Context, opts Options) (*Store, error) {
	m, err := vector.ParseMetric(string(opts.Metric))
	if err != nil {
		return nil, openErr("", err.Error())
	}
	opts.Metric = m
	if opts.Dimension <= 0 {
		return nil, openErr("", fmt.Sprintf("dimension must be at least 1, got %d", opts.Dimension))
	}
	if opts.Index == "" {
		opts.Index = "compozy"
		if opts.Entry != "" {
			opts.Index = "compozy_" + opts.Entry
		}
	}
	if opts.Prefix == "" {
		opts.Prefix = "compozy:" + opts.Index + ":"
	}
	dialect := 2
	if opts.Dialect != "" {
		d, err := strconv.Atoi(strings.TrimSpace(opts.Dialect))
		if err != nil || d < 2 {
			return nil, openErr("", fmt.Sprintf("dialect %q: KNN vector queries need DIALECT 2 or later", opts.Dialect))
		}
		dialect = d
	}
	raw := opts.URL
	if raw == "" {
		raw = "redis://localhost:6379"
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the whole URL, password included: say what is wrong without it.
		return nil, openErr("", "url is not a valid URL (percent-encode special characters in the password)")
	}
	password, _ := u.User.Password()
	ro, err := goredis.ParseURL(raw)
	if err != nil {
		return nil, openErr("", "url: "+vector.Redact(err, password).Error())
	}
	// RESP2 keeps FT.INFO and FT.SEARCH replies in their documented array shapes. The
	// context's deadline bounds every dial, read and write, and a failed dial is not retried
	// four more times.
	ro.Protocol = 2
	ro.ContextTimeoutEnabled = true
	ro.DialerRetries = 1
	ro.MaxRetries = 1
	ro.PoolSize = 4
	ro.DisableIdentity = true
	target := ro.Addr
	if ro.Network == "unix" {
		target = "unix:" + ro.Addr
	}
	if ro.DB != 0 {
		target += "/" + strconv.Itoa(ro.DB)
	}
	return &Store{opts: opts, client: goredis.NewClient(ro), target: target, password: password, dialect: dialect}, nil
}

func openErr(target, msg string) error {
	e := vector.NewError(nil, Provider, "open", target, vector.ErrInvalid, nil)
	e.Msg = msg
	return e
}

// Provider returns "redis".
func (s *Store) Provider() string { return Provider }

// Target returns "host:port" (with "/db" when not 0), or "unix:/path".
func (s *Store) Target() string { return s.target }

// Index returns the index name.
func (s *Store) Index() string { return s.opts.Index }

// Close closes the connection pool.
func (s *Store) Close() error { return s.client.Close() }

func (s *Store) newErr(ctx context.Context, op string, kind, cause error, msg string) *vector.Error {
	e := vector.NewError(ctx, Provider, op, s.target, kind, vector.Redact(cause, s.password))
	e.Msg = msg
	return e
}

// fail classifies a go-redis error.
func (s *Store) fail(ctx context.Context, op string, err error) *vector.Error {
	msg := err.Error()
	low := strings.ToLower(msg)
	var nerr net.Error
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout()):
		e := s.newErr(ctx, op, vector.ErrUnreachable, err, "no answer before the deadline")
		e.Fix = vector.Fix{Text: "check that the url points at a Redis server and that nothing drops the connection"}
		return e
	case isDialErr(err):
		e := s.newErr(ctx, op, vector.ErrUnreachable, err, "no Redis server answers")
		e.Fix = vector.Fix{Text: "start Redis 8 or Redis Stack (vector search needs RediSearch 2.4 or later), or correct the url",
			Commands: []string{"docker run -d -p 6379:6379 redis:8"}}
		return e
	case strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "WRONGPASS") || strings.Contains(low, "invalid password") ||
		strings.Contains(low, "invalid username-password"):
		e := s.newErr(ctx, op, vector.ErrAuth, err, "the server refused the credentials")
		e.Fix = vector.Fix{Text: "put the password in the url from the environment: url: redis://:${REDIS_PASSWORD}@host:6379"}
		return e
	case strings.HasPrefix(msg, "NOPERM"):
		e := s.newErr(ctx, op, vector.ErrPermission, err, "the Redis user lacks a permission")
		e.Fix = vector.Fix{Text: "grant the user the search and hash commands, for example: ACL SETUSER <user> +@search +@hash +@keyspace +ping +info ~compozy:*"}
		return e
	case strings.Contains(low, "unknown index name") || strings.Contains(low, "no such index"):
		e := s.newErr(ctx, op, vector.ErrNotFound, err, fmt.Sprintf("index %q does not exist", s.opts.Index))
		e.Fix = vector.Fix{Text: "Compozy creates the index on first use (`compozy doctor --fix` creates it now); to create it by hand:",
			Commands: []string{"redis-cli -u \"$REDIS_URL\" " + strings.Join(s.createArgs(), " ")}}
		return e
	}
	return s.newErr(ctx, op, vector.ErrInvalid, err, "")
}

// isDialErr reports whether err is a failure to connect: a refused or unreachable address, or a
// name that does not resolve.
func isDialErr(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) && op.Op == "dial" || errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED)
}

// Health pings the server and reads its version and search module.
func (s *Store) Health(ctx context.Context) (vector.Health, error) {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return vector.Health{}, s.fail(ctx, "ping", err)
	}
	var h vector.Health
	info, err := s.client.Info(ctx, "server").Result()
	if err != nil {
		return vector.Health{}, s.fail(ctx, "info server", err)
	}
	h.ServerVersion = infoField(info, "redis_version")
	mod, err := s.Module(ctx)
	switch {
	case err == nil:
		h.Detail = mod.String()
	case errors.Is(err, vector.ErrUnsupported):
		var ve *vector.Error
		errors.As(err, &ve)
		h.Detail = ve.Msg
		h.Warnings = append(h.Warnings, ve.Msg)
	default:
		return vector.Health{}, err
	}
	return h, nil
}

func distanceMetric(m vector.Metric) string {
	switch m {
	case vector.Dot:
		return "IP"
	case vector.Euclid:
		return "L2"
	}
	return "COSINE"
}

// createArgs is the FT.CREATE command for this store.
func (s *Store) createArgs() []string {
	return []string{"FT.CREATE", s.opts.Index, "ON", "HASH", "PREFIX", "1", s.opts.Prefix,
		"SCHEMA", "vec", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", strconv.Itoa(s.opts.Dimension),
		"DISTANCE_METRIC", distanceMetric(s.opts.Metric)}
}

// Describe reads FT.INFO: the vector field's dimension and metric, and the document count.
func (s *Store) Describe(ctx context.Context) (vector.Info, error) {
	mod, err := s.Module(ctx)
	if err != nil {
		return vector.Info{}, err
	}
	v, err := s.client.Do(ctx, "FT.INFO", s.opts.Index).Result()
	if err != nil {
		return vector.Info{}, s.fail(ctx, "describe index", err)
	}
	info := ParseFTInfo(v)
	info.Provider, info.Target, info.Name = Provider, s.target, s.opts.Index
	if srv, err := s.client.Info(ctx, "server").Result(); err == nil {
		info.ServerVersion = infoField(srv, "redis_version") + " (" + mod.String() + ")"
	}
	return info, nil
}

// Ensure creates the index when it does not exist, and checks its shape when it does.
func (s *Store) Ensure(ctx context.Context) error {
	info, err := s.Describe(ctx)
	if errors.Is(err, vector.ErrNotFound) {
		args := make([]any, 0, 20)
		for _, a := range s.createArgs() {
			args = append(args, a)
		}
		cerr := s.client.Do(ctx, args...).Err()
		if cerr == nil {
			return nil
		}
		if info, err = s.Describe(ctx); err != nil { // created meanwhile by another process?
			return s.fail(ctx, "create index", cerr)
		}
	} else if err != nil {
		return err
	}
	switch {
	case info.Dimension != 0 && info.Dimension != s.opts.Dimension:
		e := s.newErr(ctx, "ensure index", vector.ErrDimension, nil,
			fmt.Sprintf("index %q holds %d-dimension vectors but the config says %d", s.opts.Index, info.Dimension, s.opts.Dimension))
		e.Fix = s.dropFix(info.Dimension)
		return e
	case info.Metric != "" && info.Metric != s.opts.Metric:
		e := s.newErr(ctx, "ensure index", vector.ErrInvalid, nil,
			fmt.Sprintf("index %q uses metric %s but the config says %s", s.opts.Index, info.Metric, s.opts.Metric))
		e.Fix = vector.Fix{Text: fmt.Sprintf("set metric: %s in compozy.yaml, or drop the index and re-index", info.Metric)}
		return e
	}
	return nil
}

func (s *Store) dropFix(stored int) vector.Fix {
	return vector.Fix{Text: fmt.Sprintf("set dimension: %d in compozy.yaml, or drop the index (and its hashes) and re-index", stored),
		Commands: []string{fmt.Sprintf("redis-cli -u \"$REDIS_URL\" FT.DROPINDEX %s DD", s.opts.Index)}}
}

func encode(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// maxBatch bounds the points of one MULTI/EXEC.
const maxBatch = 500

// Upsert writes each point as a hash, a batch at a time in MULTI/EXEC.
func (s *Store) Upsert(ctx context.Context, points []vector.Point) error {
	if err := vector.ValidatePoints(Provider, s.target, s.opts.Dimension, s.opts.Metric, points); err != nil {
		return err
	}
	if len(points) == 0 {
		return nil
	}
	if _, err := s.Module(ctx); err != nil {
		return err
	}
	for start := 0; start < len(points); start += maxBatch {
		batch := points[start:min(start+maxBatch, len(points))]
		_, err := s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			for _, pt := range batch {
				payload := "{}"
				if len(pt.Payload) > 0 {
					b, err := json.Marshal(pt.Payload)
					if err != nil {
						return err
					}
					payload = string(b)
				}
				key := s.opts.Prefix + pt.ID
				p.Del(ctx, key)
				p.HSet(ctx, key, "id", pt.ID, "vec", encode(pt.Vector), "payload", payload)
			}
			return nil
		})
		if err != nil {
			return s.fail(ctx, "upsert", err)
		}
	}
	return nil
}

// Query runs a KNN query and converts RediSearch distances to the contract's scores.
func (s *Store) Query(ctx context.Context, v []float32, k int) ([]vector.Match, error) {
	if err := vector.ValidateQuery(Provider, s.target, s.opts.Dimension, s.opts.Metric, v, k); err != nil {
		return nil, err
	}
	if _, err := s.Module(ctx); err != nil {
		return nil, err
	}
	q := fmt.Sprintf("*=>[KNN %d @vec $BLOB AS __dist]", k)
	res, err := s.client.Do(ctx, "FT.SEARCH", s.opts.Index, q, "PARAMS", "2", "BLOB", encode(v),
		"SORTBY", "__dist", "ASC", "RETURN", "3", "id", "payload", "__dist", "LIMIT", "0", strconv.Itoa(k),
		"DIALECT", strconv.Itoa(s.dialect)).Result()
	if err != nil {
		return nil, s.fail(ctx, "query", err)
	}
	matches, err := ParseSearch(res, s.opts.Metric)
	if err != nil {
		return nil, s.newErr(ctx, "query", vector.ErrInvalid, err, "unexpected FT.SEARCH reply")
	}
	return matches, nil
}

// Delete removes the points' hashes.
func (s *Store) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.opts.Prefix + id
	}
	if err := s.client.Del(ctx, keys...).Err(); err != nil {
		return s.fail(ctx, "delete", err)
	}
	return nil
}

// DropIndex drops the index and the hashes it indexes (FT.DROPINDEX ... DD). Tests and
// `compozy doctor --fix` use it; it is not part of vector.Store.
func (s *Store) DropIndex(ctx context.Context) error {
	if err := s.client.Do(ctx, "FT.DROPINDEX", s.opts.Index, "DD").Err(); err != nil {
		return s.fail(ctx, "drop index", err)
	}
	return nil
}
