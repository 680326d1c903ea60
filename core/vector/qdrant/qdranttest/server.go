// Package qdranttest is an in-process Qdrant for tests: a gRPC server registered with the real
// service definitions of github.com/qdrant/go-client (Qdrant, Collections, Points) that keeps
// collections and points in memory and answers the calls the qdrant store makes the way Qdrant
// does (exact search, cosine vectors normalised on write, Qdrant's error codes and messages).
package qdranttest

import (
	"context"
	"fmt"
	"math"
	"net"
	"sort"
	"sync"
	"testing"

	qc "github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Server is a running fake Qdrant.
type Server struct {
	// Addr is host:port of the gRPC listener.
	Addr string
	// Version is what HealthCheck reports.
	Version string
	// APIKey, when set, is required in the api-key header of every call.
	APIKey string

	lis net.Listener
	srv *grpc.Server

	mu    sync.Mutex
	colls map[string]*collection
}

type collection struct {
	dim    int
	dist   qc.Distance
	points map[string]*point
}

type point struct {
	id      *qc.PointId
	vec     []float32
	payload map[string]*qc.Value
}

// Start starts a server on 127.0.0.1 with a free port; it stops when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatalf("start fake qdrant: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Listen starts a server on addr.
func Listen(addr string) (*Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: lis.Addr().String(), Version: "1.17.0", lis: lis, colls: map[string]*collection{}}
	s.srv = grpc.NewServer(grpc.UnaryInterceptor(s.auth))
	qc.RegisterQdrantServer(s.srv, health{s: s})
	qc.RegisterCollectionsServer(s.srv, collections{s: s})
	qc.RegisterPointsServer(s.srv, points{s: s})
	go func() { _ = s.srv.Serve(lis) }()
	return s, nil
}

// URL is the grpc:// URL of the server.
func (s *Server) URL() string { return "grpc://" + s.Addr }

// Stop stops the server and closes its connections.
func (s *Server) Stop() { s.srv.Stop() }

func (s *Server) auth(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	s.mu.Lock()
	key := s.APIKey
	s.mu.Unlock()
	if key != "" {
		md, _ := metadata.FromIncomingContext(ctx)
		if got := md.Get("api-key"); len(got) != 1 || got[0] != key {
			return nil, status.Error(codes.PermissionDenied, "Invalid api-key")
		}
	}
	return h(ctx, req)
}

// SetAPIKey requires key from now on ("" for none).
func (s *Server) SetAPIKey(key string) {
	s.mu.Lock()
	s.APIKey = key
	s.mu.Unlock()
}

type health struct {
	qc.UnimplementedQdrantServer
	s *Server
}

func (h health) HealthCheck(context.Context, *qc.HealthCheckRequest) (*qc.HealthCheckReply, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	commit := "fake"
	return &qc.HealthCheckReply{Title: "qdrant - vector search engine (in-process fake)", Version: h.s.Version, Commit: &commit}, nil
}

type collections struct {
	qc.UnimplementedCollectionsServer
	s *Server
}

func notFound(name string) error {
	return status.Errorf(codes.NotFound, "Not found: Collection `%s` doesn't exist!", name)
}

func (c collections) get(name string) (*collection, error) {
	col, ok := c.s.colls[name]
	if !ok {
		return nil, notFound(name)
	}
	return col, nil
}

func (c collections) Get(_ context.Context, r *qc.GetCollectionInfoRequest) (*qc.GetCollectionInfoResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	col, err := c.get(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	n := uint64(len(col.points))
	return &qc.GetCollectionInfoResponse{Result: &qc.CollectionInfo{
		Status:      qc.CollectionStatus_Green,
		PointsCount: &n,
		Config: &qc.CollectionConfig{Params: &qc.CollectionParams{
			VectorsConfig: qc.NewVectorsConfig(&qc.VectorParams{Size: uint64(col.dim), Distance: col.dist})}},
	}}, nil
}

func (c collections) CollectionExists(_ context.Context, r *qc.CollectionExistsRequest) (*qc.CollectionExistsResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	_, ok := c.s.colls[r.GetCollectionName()]
	return &qc.CollectionExistsResponse{Result: &qc.CollectionExists{Exists: ok}}, nil
}

func (c collections) List(context.Context, *qc.ListCollectionsRequest) (*qc.ListCollectionsResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	out := &qc.ListCollectionsResponse{}
	for name := range c.s.colls {
		out.Collections = append(out.Collections, &qc.CollectionDescription{Name: name})
	}
	return out, nil
}

func (c collections) Create(_ context.Context, r *qc.CreateCollection) (*qc.CollectionOperationResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if _, ok := c.s.colls[r.GetCollectionName()]; ok {
		return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Collection `%s` already exists!", r.GetCollectionName())
	}
	p := r.GetVectorsConfig().GetParams()
	if p == nil || p.GetSize() == 0 {
		return nil, status.Error(codes.InvalidArgument, "Wrong input: the fake supports one unnamed dense vector per point")
	}
	c.s.colls[r.GetCollectionName()] = &collection{dim: int(p.GetSize()), dist: p.GetDistance(), points: map[string]*point{}}
	return &qc.CollectionOperationResponse{Result: true}, nil
}

func (c collections) Delete(_ context.Context, r *qc.DeleteCollection) (*qc.CollectionOperationResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	_, ok := c.s.colls[r.GetCollectionName()]
	delete(c.s.colls, r.GetCollectionName())
	return &qc.CollectionOperationResponse{Result: ok}, nil
}

type points struct {
	qc.UnimplementedPointsServer
	s *Server
}

func idKey(id *qc.PointId) string {
	if u := id.GetUuid(); u != "" {
		return "u:" + u
	}
	return fmt.Sprintf("n:%d", id.GetNum())
}

func denseOf(v *qc.Vector) []float32 {
	if d := v.GetDense().GetData(); len(d) > 0 {
		return d
	}
	return v.GetData() //nolint:staticcheck // older clients send the deprecated field
}

func (p points) Upsert(_ context.Context, r *qc.UpsertPoints) (*qc.PointsOperationResponse, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := collections{s: p.s}.get(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	staged := make([]*point, 0, len(r.GetPoints()))
	for _, ps := range r.GetPoints() {
		v := append([]float32(nil), denseOf(ps.GetVectors().GetVector())...)
		if len(v) != col.dim {
			return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: %d, got %d", col.dim, len(v))
		}
		if col.dist == qc.Distance_Cosine {
			normalize(v)
		}
		staged = append(staged, &point{id: ps.GetId(), vec: v, payload: ps.GetPayload()})
	}
	for _, pt := range staged {
		col.points[idKey(pt.id)] = pt
	}
	return &qc.PointsOperationResponse{Result: &qc.UpdateResult{Status: qc.UpdateStatus_Completed}}, nil
}

func (p points) Delete(_ context.Context, r *qc.DeletePoints) (*qc.PointsOperationResponse, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := collections{s: p.s}.get(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if r.GetPoints().GetFilter() != nil {
		return nil, status.Error(codes.Unimplemented, "the fake deletes by id only")
	}
	for _, id := range r.GetPoints().GetPoints().GetIds() {
		delete(col.points, idKey(id))
	}
	return &qc.PointsOperationResponse{Result: &qc.UpdateResult{Status: qc.UpdateStatus_Completed}}, nil
}

func (p points) Count(_ context.Context, r *qc.CountPoints) (*qc.CountResponse, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := collections{s: p.s}.get(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	return &qc.CountResponse{Result: &qc.CountResult{Count: uint64(len(col.points))}}, nil
}

func (p points) Query(_ context.Context, r *qc.QueryPoints) (*qc.QueryResponse, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := collections{s: p.s}.get(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	q := append([]float32(nil), r.GetQuery().GetNearest().GetDense().GetData()...)
	if len(q) != col.dim {
		return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: %d, got %d", col.dim, len(q))
	}
	if col.dist == qc.Distance_Cosine {
		normalize(q)
	}
	res := make([]*qc.ScoredPoint, 0, len(col.points))
	for _, pt := range col.points {
		sp := &qc.ScoredPoint{Id: pt.id, Score: score(col.dist, q, pt.vec)}
		if r.GetWithPayload().GetEnable() {
			sp.Payload = pt.payload
		}
		res = append(res, sp)
	}
	sort.Slice(res, func(i, j int) bool {
		if col.dist == qc.Distance_Euclid {
			return res[i].Score < res[j].Score
		}
		return res[i].Score > res[j].Score
	})
	limit := int(r.GetLimit())
	if limit == 0 {
		limit = 10
	}
	if len(res) > limit {
		res = res[:limit]
	}
	return &qc.QueryResponse{Result: res}, nil
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := 1 / math.Sqrt(s)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
}

func score(d qc.Distance, q, v []float32) float32 {
	var dot, sq float64
	for i := range q {
		dot += float64(q[i]) * float64(v[i])
		diff := float64(q[i]) - float64(v[i])
		sq += diff * diff
	}
	if d == qc.Distance_Euclid {
		return float32(math.Sqrt(sq))
	}
	return float32(dot)
}

// Silent is a TCP listener that accepts connections and never answers: a server that hangs.
type Silent struct {
	Addr  string
	lis   net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// StartSilent starts a silent listener on 127.0.0.1; it closes when the test ends.
func StartSilent(tb testing.TB) *Silent {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	s := &Silent{Addr: lis.Addr().String(), lis: lis}
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	tb.Cleanup(s.Close)
	return s
}

// Close stops accepting and closes the held connections.
func (s *Silent) Close() {
	_ = s.lis.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}
