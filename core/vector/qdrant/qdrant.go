// Package qdrant is the Qdrant vector store, over gRPC with github.com/qdrant/go-client.
//
// Addresses: `url: http://host:6333` names Qdrant's REST port, so the store speaks gRPC to the
// same host on 6334 (https:// uses TLS). `grpc://host:PORT` (or `grpcs://`) names the gRPC port
// itself. Every error names the gRPC address tried.
//
// API key: the URL's password (`http://:KEY@host:6333`), its `api_key` query parameter, the
// variable its `api_key_env` parameter names, or else QDRANT_API_KEY. The key travels in the
// `api-key` gRPC header and never appears in errors or targets.
//
// The client is created without its blocking start-up version check and with the key sent by
// our own interceptor, so go-client never logs through slog.Default(); Health is our own check
// under the caller's deadline and reports the client/server version gap instead.
//
// Point IDs: Qdrant takes only unsigned integers and UUIDs, so each Compozy ID is mapped to a
// name-based UUID (SHA-1, RFC 4122 version 5) and stored in the payload under IDKey, where
// Query reads it back.
package qdrant

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	qc "github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"compozy.dev/setup/core/vector"
)

// Provider is the provider name.
const Provider = vector.ProviderQdrant

// DefaultGRPCPort is Qdrant's gRPC port; DefaultRESTPort its REST port.
const (
	DefaultGRPCPort = 6334
	DefaultRESTPort = 6333
)

// IDKey is the payload key that holds the Compozy point ID.
const IDKey = "_compozy_id"

// idNamespace is the UUID namespace of Compozy point IDs (uuid.NameSpaceURL hashed with a
// fixed name, so the mapping never changes).
func idNamespace() uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://compozy.com/vector-point-id"))
}

// PointUUID is the Qdrant point ID of a Compozy point ID.
func PointUUID(id string) string { return uuid.NewSHA1(idNamespace(), []byte(id)).String() }

// Options configures Open.
type Options struct {
	// Entry is the knowledge.vector_dbs id, for the checks.
	Entry string
	// URL is http(s)://host[:6333] (REST address: gRPC on 6334) or grpc(s)://host:port.
	URL string
	// APIKey, when set, wins over the URL and the environment.
	APIKey string
	// Getenv reads environment variables (api_key_env, QDRANT_API_KEY); nil means os.Getenv.
	Getenv func(string) string
	// Collection is the collection name; default "compozy_" + Entry, or "compozy".
	Collection string
	// Dimension and Metric are the configured vector shape; "" metric means cosine.
	Dimension int
	Metric    vector.Metric
	// DialOptions are extra gRPC dial options (tests).
	DialOptions []grpc.DialOption
}

// Store is a Qdrant collection. It implements vector.Store.
type Store struct {
	opts    Options
	client  *qc.Client
	addr    string // host:port of the gRPC endpoint
	tls     bool
	rest    string // REST base URL for fix commands
	note    string // what the address choice means, for unreachable errors
	keyFrom string // where the API key came from ("" when none)
	apiKey  string
}

var _ vector.Store = (*Store)(nil)

// Open creates the client. It makes no connection: gRPC connects on the first call.
func Open(_ context.Context, opts Options) (*Store, error) {
	m, err := vector.ParseMetric(string(opts.Metric))
	if err != nil {
		return nil, openErr("", err.Error())
	}
	opts.Metric = m
	if opts.Collection == "" {
		opts.Collection = "compozy"
		if opts.Entry != "" {
			opts.Collection = "compozy_" + opts.Entry
		}
	}
	if opts.Dimension <= 0 {
		return nil, openErr("", fmt.Sprintf("dimension must be at least 1, got %d", opts.Dimension))
	}
	ep, err := ParseURL(opts.URL)
	if err != nil {
		return nil, openErr("", "url: "+err.Error())
	}
	key, from := apiKey(opts)
	if from != "" && key == "" {
		return nil, openErr(ep.Addr, fmt.Sprintf("the API key is to come from %s, which is empty or unset", from))
	}
	host, portStr, _ := net.SplitHostPort(ep.Addr)
	port, _ := strconv.Atoi(portStr)
	dial := append([]grpc.DialOption{grpc.WithChainUnaryInterceptor(keyInterceptor(key))}, opts.DialOptions...)
	client, err := qc.NewClient(&qc.Config{
		Host:                   host,
		Port:                   port,
		UseTLS:                 ep.TLS,
		SkipCompatibilityCheck: true,
		PoolSize:               1,
		GrpcOptions:            dial,
	})
	if err != nil {
		return nil, openErr(ep.Addr, "create gRPC client: "+vector.Redact(err, key).Error())
	}
	return &Store{opts: opts, client: client, addr: ep.Addr, tls: ep.TLS, rest: ep.REST, note: ep.Note, keyFrom: from, apiKey: key}, nil
}

// keyInterceptor sends the API key in the api-key header. go-client's own (Config.APIKey)
// logs a warning through slog.Default() when the key goes without TLS; we report that in
// Health instead.
func keyInterceptor(key string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if key != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "api-key", key)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func openErr(target, msg string) error {
	e := vector.NewError(nil, Provider, "open", target, vector.ErrInvalid, nil)
	e.Msg = msg
	return e
}

// Provider returns "qdrant".
func (s *Store) Provider() string { return Provider }

// Target returns the gRPC address tried, "host:6334".
func (s *Store) Target() string { return s.addr }

// Collection returns the collection name.
func (s *Store) Collection() string { return s.opts.Collection }

// Close closes the gRPC connection.
func (s *Store) Close() error { return s.client.Close() }

// fail classifies a gRPC error: every error names the step and the address tried.
func (s *Store) fail(ctx context.Context, op string, err error) *vector.Error {
	err = vector.Redact(err, s.apiKey)
	code := status.Code(err) // status.Code sees through go-client's *QdrantError
	if ctx.Err() != nil && (code == codes.Unknown || code == codes.Canceled) {
		code = codes.DeadlineExceeded
	}
	var e *vector.Error
	switch code {
	case codes.NotFound:
		e = vector.NewError(ctx, Provider, op, s.addr, vector.ErrNotFound, err)
		e.Msg = fmt.Sprintf("collection %q does not exist", s.opts.Collection)
		e.Fix = s.createFix()
	case codes.Unavailable:
		e = vector.NewError(ctx, Provider, op, s.addr, vector.ErrUnreachable, err)
		e.Msg = "no Qdrant gRPC server answers (" + s.note + ")"
		e.Fix = vector.Fix{Text: fmt.Sprintf("start Qdrant and publish its gRPC port %s, or correct the url", portOf(s.addr)),
			Commands: []string{"docker run -d -p 6333:6333 -p 6334:6334 qdrant/qdrant"}}
	case codes.DeadlineExceeded, codes.Canceled:
		e = vector.NewError(ctx, Provider, op, s.addr, vector.ErrUnreachable, err)
		e.Msg = "no answer before the deadline (" + s.note + ")"
		e.Fix = vector.Fix{Text: "check that the address is Qdrant's gRPC port and that no firewall drops the connection"}
	case codes.Unauthenticated, codes.PermissionDenied:
		e = vector.NewError(ctx, Provider, op, s.addr, vector.ErrAuth, err)
		if s.keyFrom == "" {
			e.Msg = "the server wants an API key and none is configured"
		} else {
			e.Msg = "the server refused the API key from " + s.keyFrom
		}
		e.Fix = vector.Fix{Text: "set the key in the environment and reference it from the url: url: http://host:6333?api_key_env=QDRANT_API_KEY (or export QDRANT_API_KEY)"}
	case codes.Unimplemented:
		e = vector.NewError(ctx, Provider, op, s.addr, vector.ErrUnsupported, err)
		e.Msg = "the server does not implement this Qdrant gRPC call: is this Qdrant's gRPC port, and is Qdrant older than the client?"
	case codes.InvalidArgument, codes.FailedPrecondition:
		kind := vector.ErrInvalid
		if strings.Contains(strings.ToLower(err.Error()), "dimension") {
			kind = vector.ErrDimension
		}
		e = vector.NewError(ctx, Provider, op, s.addr, kind, err)
	default:
		e = vector.NewError(ctx, Provider, op, s.addr, vector.ErrUnreachable, err)
		e.Msg = "unexpected answer (" + s.note + ")"
	}
	return e
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// restCmd is a curl command against the REST API, with the API key taken from the environment.
func (s *Store) restCmd(method, path, body string) string {
	cmd := fmt.Sprintf("curl -fsS -X %s '%s%s'", method, s.rest, path)
	if s.keyFrom != "" {
		env := "QDRANT_API_KEY"
		if strings.HasPrefix(s.keyFrom, "$") {
			env = strings.TrimPrefix(s.keyFrom, "$")
		}
		cmd += fmt.Sprintf(` -H "api-key: $%s"`, env)
	}
	if body != "" {
		cmd += fmt.Sprintf(" -H 'Content-Type: application/json' -d '%s'", body)
	}
	return cmd
}

func (s *Store) createFix() vector.Fix {
	return vector.Fix{
		Text: "Compozy creates the collection on first use (`compozy doctor --fix` creates it now); to create it by hand:",
		Commands: []string{s.restCmd("PUT", "/collections/"+url.PathEscape(s.opts.Collection),
			fmt.Sprintf(`{"vectors":{"size":%d,"distance":"%s"}}`, s.opts.Dimension, distanceName(s.opts.Metric)))},
	}
}

func distance(m vector.Metric) qc.Distance {
	switch m {
	case vector.Dot:
		return qc.Distance_Dot
	case vector.Euclid:
		return qc.Distance_Euclid
	}
	return qc.Distance_Cosine
}

func distanceName(m vector.Metric) string { return distance(m).String() }

func metricOf(d qc.Distance) vector.Metric {
	switch d {
	case qc.Distance_Cosine:
		return vector.Cosine
	case qc.Distance_Dot:
		return vector.Dot
	case qc.Distance_Euclid:
		return vector.Euclid
	case qc.Distance_UnknownDistance:
		return ""
	}
	return vector.Metric(strings.ToLower(d.String()))
}

// Health calls Qdrant's gRPC health check within ctx.
func (s *Store) Health(ctx context.Context) (vector.Health, error) {
	r, err := s.client.HealthCheck(ctx)
	if err != nil {
		return vector.Health{}, s.fail(ctx, "health check", err)
	}
	h := vector.Health{ServerVersion: r.GetVersion(), ClientVersion: clientVersion(), Detail: strings.TrimSpace(r.GetTitle())}
	if gap := VersionGap(h.ClientVersion, h.ServerVersion); gap != "" {
		h.Warnings = append(h.Warnings, gap)
	}
	if s.apiKey != "" && !s.tls {
		h.Warnings = append(h.Warnings, "the API key is sent without TLS; use https:// or grpcs:// outside a private network")
	}
	return h, nil
}

// Describe reads the collection's configuration, its exact point count and the server version.
func (s *Store) Describe(ctx context.Context) (vector.Info, error) {
	info, err := s.client.GetCollectionInfo(ctx, s.opts.Collection)
	if err != nil {
		return vector.Info{}, s.fail(ctx, "describe collection", err)
	}
	out := vector.Info{Provider: Provider, Target: s.addr, Name: s.opts.Collection, Count: -1, Index: "hnsw"}
	vc := info.GetConfig().GetParams().GetVectorsConfig()
	if p := vc.GetParams(); p != nil {
		out.Dimension = int(p.GetSize())
		out.Metric = metricOf(p.GetDistance())
	} else if m := vc.GetParamsMap().GetMap(); len(m) > 0 {
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		out.Notes = append(out.Notes, fmt.Sprintf("the collection has named vectors (%s); compozy writes one unnamed vector", strings.Join(names, ", ")))
	}
	// An exact count grows with the collection: the collection info's approximate count
	// decides whether it is worth it (up to ExactCountLimit points).
	if approx := int64(info.GetPointsCount()); approx > vector.ExactCountLimit {
		out.Count, out.CountEstimated = approx, true
	} else {
		exact := true
		n, err := s.client.Count(ctx, &qc.CountPoints{CollectionName: s.opts.Collection, Exact: &exact})
		if err != nil {
			return vector.Info{}, s.fail(ctx, "count points", err)
		}
		out.Count = int64(n)
	}
	if h, err := s.client.HealthCheck(ctx); err == nil {
		out.ServerVersion = h.GetVersion()
	}
	if info.GetStatus() != qc.CollectionStatus_Green && info.GetStatus() != qc.CollectionStatus_UnknownCollectionStatus {
		out.Notes = append(out.Notes, "collection status "+strings.ToLower(info.GetStatus().String()))
	}
	return out, nil
}

// Ensure creates the collection when it does not exist, and checks its shape when it does.
func (s *Store) Ensure(ctx context.Context) error {
	info, err := s.Describe(ctx)
	if errors.Is(err, vector.ErrNotFound) {
		cerr := s.client.CreateCollection(ctx, &qc.CreateCollection{
			CollectionName: s.opts.Collection,
			VectorsConfig:  qc.NewVectorsConfig(&qc.VectorParams{Size: uint64(s.opts.Dimension), Distance: distance(s.opts.Metric)}),
		})
		if cerr == nil {
			return nil
		}
		// Another process may have created it meanwhile: check what is there now.
		if info, err = s.Describe(ctx); err != nil {
			return s.fail(ctx, "create collection", cerr)
		}
	} else if err != nil {
		return err
	}
	switch {
	case info.Dimension != 0 && info.Dimension != s.opts.Dimension:
		e := vector.NewError(ctx, Provider, "ensure collection", s.addr, vector.ErrDimension, nil)
		e.Msg = fmt.Sprintf("collection %q holds %d-dimension vectors but the config says %d", s.opts.Collection, info.Dimension, s.opts.Dimension)
		e.Fix = vector.Fix{Text: fmt.Sprintf("set dimension: %d in compozy.yaml, or delete the collection and re-index", info.Dimension),
			Commands: []string{s.restCmd("DELETE", "/collections/"+url.PathEscape(s.opts.Collection), "")}}
		return e
	case info.Metric != "" && info.Metric != s.opts.Metric:
		e := vector.NewError(ctx, Provider, "ensure collection", s.addr, vector.ErrInvalid, nil)
		e.Msg = fmt.Sprintf("collection %q uses metric %s but the config says %s", s.opts.Collection, info.Metric, s.opts.Metric)
		e.Fix = vector.Fix{Text: fmt.Sprintf("set metric: %s in compozy.yaml, or delete the collection and re-index", info.Metric)}
		return e
	}
	return nil
}

// maxBatch bounds the points of one Upsert request (1,536 dimensions: about 1.6 MB).
const maxBatch = 256

// Upsert writes the points and waits until Qdrant has applied them.
func (s *Store) Upsert(ctx context.Context, points []vector.Point) error {
	if err := vector.ValidatePoints(Provider, s.addr, s.opts.Dimension, s.opts.Metric, points); err != nil {
		return err
	}
	wait := true
	for start := 0; start < len(points); start += maxBatch {
		batch := points[start:min(start+maxBatch, len(points))]
		ps := make([]*qc.PointStruct, len(batch))
		for i, p := range batch {
			if _, ok := p.Payload[IDKey]; ok {
				e := vector.NewError(ctx, Provider, "upsert", s.addr, vector.ErrInvalid, nil)
				e.Msg = fmt.Sprintf("payload key %q of point %q is reserved", IDKey, p.ID)
				return e
			}
			payload := make(map[string]*qc.Value, len(p.Payload)+1)
			for k, v := range p.Payload {
				payload[k] = qc.NewValueString(v)
			}
			payload[IDKey] = qc.NewValueString(p.ID)
			ps[i] = &qc.PointStruct{Id: qc.NewID(PointUUID(p.ID)), Vectors: qc.NewVectorsDense(p.Vector), Payload: payload}
		}
		if _, err := s.client.Upsert(ctx, &qc.UpsertPoints{CollectionName: s.opts.Collection, Wait: &wait, Points: ps}); err != nil {
			return s.fail(ctx, "upsert", err)
		}
	}
	return nil
}

// Query returns the k nearest points with their payloads.
func (s *Store) Query(ctx context.Context, v []float32, k int) ([]vector.Match, error) {
	if err := vector.ValidateQuery(Provider, s.addr, s.opts.Dimension, s.opts.Metric, v, k); err != nil {
		return nil, err
	}
	limit := uint64(k)
	res, err := s.client.Query(ctx, &qc.QueryPoints{
		CollectionName: s.opts.Collection,
		Query:          qc.NewQueryDense(v),
		Limit:          &limit,
		WithPayload:    qc.NewWithPayload(true),
	})
	if err != nil {
		return nil, s.fail(ctx, "query", err)
	}
	out := make([]vector.Match, 0, len(res))
	for _, sp := range res {
		m := vector.Match{Score: sp.GetScore()}
		for key, val := range sp.GetPayload() {
			if key == IDKey {
				m.ID = val.GetStringValue()
				continue
			}
			if m.Payload == nil {
				m.Payload = make(map[string]string, len(sp.GetPayload()))
			}
			m.Payload[key] = valueString(val)
		}
		if m.ID == "" { // a point compozy did not write
			m.ID = pointIDString(sp.GetId())
		}
		out = append(out, m)
	}
	return out, nil
}

func valueString(v *qc.Value) string {
	switch k := v.GetKind().(type) {
	case *qc.Value_StringValue:
		return k.StringValue
	case *qc.Value_IntegerValue:
		return strconv.FormatInt(k.IntegerValue, 10)
	case *qc.Value_DoubleValue:
		return strconv.FormatFloat(k.DoubleValue, 'g', -1, 64)
	case *qc.Value_BoolValue:
		return strconv.FormatBool(k.BoolValue)
	case *qc.Value_NullValue, nil:
		return ""
	}
	return v.String()
}

func pointIDString(id *qc.PointId) string {
	if u := id.GetUuid(); u != "" {
		return u
	}
	return strconv.FormatUint(id.GetNum(), 10)
}

// Delete removes the points and waits until Qdrant has applied it.
func (s *Store) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	pids := make([]*qc.PointId, len(ids))
	for i, id := range ids {
		pids[i] = qc.NewID(PointUUID(id))
	}
	wait := true
	if _, err := s.client.Delete(ctx, &qc.DeletePoints{CollectionName: s.opts.Collection, Wait: &wait, Points: qc.NewPointsSelectorIDs(pids)}); err != nil {
		return s.fail(ctx, "delete", err)
	}
	return nil
}
