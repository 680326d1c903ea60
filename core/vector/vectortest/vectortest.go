// Package vectortest is the conformance suite every vector.Store passes: the same assertions
// for the filesystem store, Qdrant (against an in-process gRPC server), Redis and pgvector.
package vectortest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"compozy.dev/setup/core/vector"
)

// Opener opens the store called name with the given shape. The same name opens the same
// collection (so a second Opener call with another dimension sees the first one's data); the
// harness makes names unique per test run and removes what it created when the test ends.
type Opener func(t *testing.T, name string, dim int, metric vector.Metric) vector.Store

// Options tunes the suite for a provider.
type Options struct {
	// Approximate says the provider's index may miss a true neighbour (HNSW); the suite then
	// checks scores only for what it returns. Exact providers must return the true top k.
	Approximate bool
	// Timeout bounds each store call. Default 10 s.
	Timeout time.Duration
}

// Run runs the suite. Each subtest opens its own stores.
func Run(t *testing.T, open Opener, opts Options) {
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	h := &harness{open: open, opts: opts}
	t.Run("NotFoundBeforeEnsure", h.notFoundBeforeEnsure)
	t.Run("EnsureIsIdempotent", h.ensureIdempotent)
	for _, m := range []vector.Metric{vector.Cosine, vector.Dot, vector.Euclid} {
		t.Run("TopK/"+string(m), func(t *testing.T) { h.topK(t, m) })
	}
	t.Run("UpsertReplaces", h.upsertReplaces)
	t.Run("Delete", h.delete)
	t.Run("DimensionEnforced", h.dimensionEnforced)
	t.Run("EnsureRefusesOtherDimension", h.ensureOtherDimension)
	t.Run("KLargerThanCount", h.kLarger)
	t.Run("ConcurrentReaders", h.concurrentReaders)
	t.Run("Checks", h.checks)
	t.Run("ExpiredDeadline", h.expiredDeadline)
}

type harness struct {
	open Opener
	opts Options
}

func (h *harness) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// name is a collection name unique to the subtest.
func name(t *testing.T) string {
	s := strings.ToLower(t.Name())
	s = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
	if len(s) > 40 {
		s = s[len(s)-40:]
	}
	return fmt.Sprintf("t%d_%s", rand.Uint32()%1_000_000, s)
}

func (h *harness) ready(t *testing.T, dim int, m vector.Metric) (vector.Store, string) {
	t.Helper()
	n := name(t)
	s := h.open(t, n, dim, m)
	if err := s.Ensure(h.ctx(t)); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return s, n
}

func (h *harness) notFoundBeforeEnsure(t *testing.T) {
	s := h.open(t, name(t), 4, vector.Cosine)
	ctx := h.ctx(t)
	if _, err := s.Describe(ctx); !errors.Is(err, vector.ErrNotFound) {
		t.Fatalf("Describe before Ensure: got %v, want ErrNotFound", err)
	}
	if _, err := s.Query(ctx, []float32{1, 0, 0, 0}, 3); !errors.Is(err, vector.ErrNotFound) {
		t.Fatalf("Query before Ensure: got %v, want ErrNotFound", err)
	}
	var ve *vector.Error
	_, err := s.Describe(ctx)
	if !errors.As(err, &ve) || ve.Provider != s.Provider() || ve.Target == "" || ve.Op == "" {
		t.Fatalf("error %#v: want a *vector.Error naming provider, step and target", err)
	}
}

func (h *harness) ensureIdempotent(t *testing.T) {
	s, n := h.ready(t, 6, vector.Dot)
	ctx := h.ctx(t)
	if err := s.Ensure(ctx); err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	info, err := s.Describe(ctx)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if info.Dimension != 6 || info.Count != 0 || info.Provider != s.Provider() || info.Target == "" {
		t.Fatalf("Describe = %+v, want dimension 6, count 0, provider %s, a target", info, s.Provider())
	}
	if info.Metric != "" && info.Metric != vector.Dot {
		t.Fatalf("Describe metric = %q, want dot", info.Metric)
	}
	if !strings.Contains(info.Name, n) && info.Name != n {
		t.Fatalf("Describe name = %q, want it to name %q", info.Name, n)
	}
	if _, err := s.Health(ctx); err != nil {
		t.Fatalf("Health: %v", err)
	}
}

// randomPoints returns n points with distinct random vectors and a payload naming the point.
func randomPoints(r *rand.Rand, prefix string, n, dim int) []vector.Point {
	pts := make([]vector.Point, n)
	for i := range pts {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		id := fmt.Sprintf("%s-%03d", prefix, i)
		pts[i] = vector.Point{ID: id, Vector: v, Payload: map[string]string{"doc": id, "text": "héllo \"wörld\" " + id}}
	}
	return pts
}

// Reference returns the true top k of pts for q under m, with scores as the contract defines.
func Reference(pts []vector.Point, q []float32, k int, m vector.Metric) []vector.Match {
	type scored struct {
		id    string
		score float64
	}
	all := make([]scored, len(pts))
	for i, p := range pts {
		all[i] = scored{p.ID, Score(m, q, p.Vector)}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if m == vector.Euclid {
			return all[i].score < all[j].score
		}
		return all[i].score > all[j].score
	})
	out := make([]vector.Match, 0, k)
	for i := 0; i < k && i < len(all); i++ {
		out = append(out, vector.Match{ID: all[i].id, Score: float32(all[i].score)})
	}
	return out
}

// Score computes the contract's score of v for q in float64.
func Score(m vector.Metric, q, v []float32) float64 {
	var d, nq, nv, sq float64
	for i := range q {
		a, b := float64(q[i]), float64(v[i])
		d += a * b
		nq += a * a
		nv += b * b
		sq += (a - b) * (a - b)
	}
	switch m {
	case vector.Dot:
		return d
	case vector.Euclid:
		return math.Sqrt(sq)
	}
	if nq == 0 || nv == 0 {
		return 0
	}
	return d / math.Sqrt(nq*nv)
}

const tol = 2e-3

func close32(a, b float32) bool {
	return math.Abs(float64(a-b)) <= tol*math.Max(1, math.Abs(float64(b)))
}

func (h *harness) checkMatches(t *testing.T, got []vector.Match, pts []vector.Point, q []float32, k int, m vector.Metric) {
	t.Helper()
	want := Reference(pts, q, k, m)
	if len(got) != len(want) {
		t.Fatalf("Query returned %d matches, want %d", len(got), len(want))
	}
	byID := map[string]vector.Point{}
	for _, p := range pts {
		byID[p.ID] = p
	}
	seen := map[string]bool{}
	for i, g := range got {
		p, ok := byID[g.ID]
		if !ok || seen[g.ID] {
			t.Fatalf("match %d: id %q unknown or repeated", i, g.ID)
		}
		seen[g.ID] = true
		if exp := float32(Score(m, q, p.Vector)); !close32(g.Score, exp) {
			t.Fatalf("match %d (%s): score %v, want %v for metric %s", i, g.ID, g.Score, exp, m)
		}
		if !maps.Equal(g.Payload, p.Payload) {
			t.Fatalf("match %d (%s): payload %v, want %v", i, g.ID, g.Payload, p.Payload)
		}
		if i > 0 {
			prev := got[i-1].Score
			if (m == vector.Euclid && g.Score < prev-tol) || (m != vector.Euclid && g.Score > prev+tol) {
				t.Fatalf("matches not best first: %v after %v (metric %s)", g.Score, prev, m)
			}
		}
		if !h.opts.Approximate && !close32(g.Score, want[i].Score) {
			t.Fatalf("match %d: score %v, but the true %d-th best is %s with %v", i, g.Score, i+1, want[i].ID, want[i].Score)
		}
	}
}

func (h *harness) topK(t *testing.T, m vector.Metric) {
	const dim = 16
	s, _ := h.ready(t, dim, m)
	ctx := h.ctx(t)
	r := rand.New(rand.NewPCG(1, uint64(len(m))))
	pts := randomPoints(r, "p", 60, dim)
	if err := s.Upsert(ctx, pts[:30]); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	if err := s.Upsert(ctx, pts[30:]); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	info, err := s.Describe(ctx)
	if err != nil || info.Count != 60 {
		t.Fatalf("Describe after 60 upserts = %+v, %v; want count 60", info, err)
	}
	for range 5 {
		q := randomPoints(r, "q", 1, dim)[0].Vector
		got, err := s.Query(ctx, q, 5)
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		h.checkMatches(t, got, pts, q, 5, m)
	}
	// A stored vector is its own best match.
	got, err := s.Query(ctx, pts[17].Vector, 1)
	if err != nil || len(got) != 1 || got[0].ID != pts[17].ID {
		t.Fatalf("Query(own vector) = %+v, %v; want %s first", got, err, pts[17].ID)
	}
}

func (h *harness) upsertReplaces(t *testing.T) {
	s, _ := h.ready(t, 4, vector.Cosine)
	ctx := h.ctx(t)
	pts := []vector.Point{
		{ID: "a", Vector: []float32{1, 0, 0, 0}, Payload: map[string]string{"v": "1"}},
		{ID: "b", Vector: []float32{0, 1, 0, 0}},
	}
	if err := s.Upsert(ctx, pts); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	if err := s.Upsert(ctx, []vector.Point{{ID: "a", Vector: []float32{0, 0, 1, 0}, Payload: map[string]string{"v": "2"}}}); err != nil {
		t.Fatalf("Upsert again: %v", err)
	}
	info, err := s.Describe(ctx)
	if err != nil || info.Count != 2 {
		t.Fatalf("Describe = %+v, %v; want count 2 after replacing a", info, err)
	}
	got, err := s.Query(ctx, []float32{0, 0, 1, 0}, 1)
	if err != nil || len(got) != 1 || got[0].ID != "a" || got[0].Payload["v"] != "2" || !close32(got[0].Score, 1) {
		t.Fatalf("Query = %+v, %v; want a with payload v=2 and score 1", got, err)
	}
	// The caller's vectors are not changed (the cosine metric normalises copies).
	if pts[0].Vector[0] != 1 {
		t.Fatalf("Upsert changed the caller's vector: %v", pts[0].Vector)
	}
	if err := s.Upsert(ctx, nil); err != nil {
		t.Fatalf("Upsert(nil): %v", err)
	}
}

func (h *harness) delete(t *testing.T) {
	s, _ := h.ready(t, 8, vector.Euclid)
	ctx := h.ctx(t)
	pts := randomPoints(rand.New(rand.NewPCG(3, 4)), "d", 10, 8)
	if err := s.Upsert(ctx, pts); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	if err := s.Delete(ctx, "d-000", "d-005", "no-such-id"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatalf("Delete(): %v", err)
	}
	info, err := s.Describe(ctx)
	if err != nil || info.Count != 8 {
		t.Fatalf("Describe = %+v, %v; want count 8", info, err)
	}
	got, err := s.Query(ctx, pts[0].Vector, 10)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	rest := slices.DeleteFunc(slices.Clone(pts), func(p vector.Point) bool { return p.ID == "d-000" || p.ID == "d-005" })
	h.checkMatches(t, got, rest, pts[0].Vector, 10, vector.Euclid)
}

func (h *harness) dimensionEnforced(t *testing.T) {
	s, _ := h.ready(t, 4, vector.Cosine)
	ctx := h.ctx(t)
	err := s.Upsert(ctx, []vector.Point{{ID: "ok", Vector: []float32{1, 2, 3, 4}}, {ID: "short", Vector: []float32{1, 2, 3}}})
	if !errors.Is(err, vector.ErrDimension) || !strings.Contains(err.Error(), "short") || !strings.Contains(err.Error(), "4") {
		t.Fatalf("Upsert of a 3-value vector: got %v, want ErrDimension naming the point and the dimension 4", err)
	}
	if _, err := s.Query(ctx, []float32{1, 2}, 1); !errors.Is(err, vector.ErrDimension) {
		t.Fatalf("Query with 2 values: got %v, want ErrDimension", err)
	}
	info, err := s.Describe(ctx)
	if err != nil || info.Count != 0 {
		t.Fatalf("a refused batch wrote something: %+v, %v", info, err)
	}
	if err := s.Upsert(ctx, []vector.Point{{ID: "z", Vector: []float32{0, 0, 0, 0}}}); !errors.Is(err, vector.ErrInvalid) {
		t.Fatalf("Upsert of a zero vector under cosine: got %v, want ErrInvalid", err)
	}
	if _, err := s.Query(ctx, []float32{1, 0, 0, 0}, 0); !errors.Is(err, vector.ErrInvalid) {
		t.Fatalf("Query with k=0: got %v, want ErrInvalid", err)
	}
}

func (h *harness) ensureOtherDimension(t *testing.T) {
	s, n := h.ready(t, 4, vector.Cosine)
	ctx := h.ctx(t)
	if err := s.Upsert(ctx, []vector.Point{{ID: "a", Vector: []float32{1, 2, 3, 4}}}); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	other := h.open(t, n, 8, vector.Cosine)
	err := other.Ensure(ctx)
	if !errors.Is(err, vector.ErrDimension) || !strings.Contains(err.Error(), "4") || !strings.Contains(err.Error(), "8") {
		t.Fatalf("Ensure with dimension 8 on a 4-dimension collection: got %v, want ErrDimension naming 4 and 8", err)
	}
	for _, c := range other.Checks() {
		if c.ID == vector.CheckDimension {
			r := c.Run(ctx)
			if r.Status != vector.StatusFail || !strings.Contains(r.Summary, "4") || !strings.Contains(r.Summary, "8") || r.Fix.Text == "" {
				t.Fatalf("vector.dimension on a mismatch = %+v, want fail naming 4 and 8 with a fix", r)
			}
			return
		}
	}
	t.Fatalf("no %s check", vector.CheckDimension)
}

func (h *harness) kLarger(t *testing.T) {
	s, _ := h.ready(t, 3, vector.Dot)
	ctx := h.ctx(t)
	pts := randomPoints(rand.New(rand.NewPCG(5, 6)), "k", 4, 3)
	if err := s.Upsert(ctx, pts); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	got, err := s.Query(ctx, []float32{1, 1, 1}, 50)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	h.checkMatches(t, got, pts, []float32{1, 1, 1}, 50, vector.Dot)
}

func (h *harness) concurrentReaders(t *testing.T) {
	const dim = 8
	s, _ := h.ready(t, dim, vector.Cosine)
	ctx := h.ctx(t)
	r := rand.New(rand.NewPCG(7, 8))
	pts := randomPoints(r, "c", 40, dim)
	if err := s.Upsert(ctx, pts[:20]); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				if _, err := s.Query(ctx, pts[(g*10+i)%40].Vector, 3); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := 20; i < 40; i += 5 {
			if err := s.Upsert(ctx, pts[i:i+5]); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent use: %v", err)
	}
	got, err := s.Query(ctx, pts[33].Vector, 5)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	h.checkMatches(t, got, pts, pts[33].Vector, 5, vector.Cosine)
}

func (h *harness) checks(t *testing.T) {
	s, _ := h.ready(t, 4, vector.Cosine)
	ctx := h.ctx(t)
	checks := s.Checks()
	if len(checks) == 0 {
		t.Fatal("no checks")
	}
	ids := map[string]bool{}
	for _, c := range checks {
		if !strings.HasPrefix(c.ID, "vector.") || c.Title == "" || c.Run == nil || ids[c.ID] {
			t.Fatalf("check %+v: want a unique vector.* ID, a title and a Run", c)
		}
		for _, d := range c.DependsOn {
			if !ids[d] {
				t.Fatalf("check %s depends on %s, which does not come before it", c.ID, d)
			}
		}
		ids[c.ID] = true
		r := c.Run(ctx)
		if r.Status != vector.StatusPass && r.Status != vector.StatusWarn && r.Status != vector.StatusSkip {
			t.Errorf("check %s on a healthy store: %+v", c.ID, r)
		}
		if r.Summary == "" || strings.Contains(r.Summary, "\n") {
			t.Errorf("check %s: summary %q must be one non-empty line", c.ID, r.Summary)
		}
	}
	if !ids[vector.CheckDimension] {
		t.Errorf("no %s check", vector.CheckDimension)
	}
	again := s.Checks()
	for i := range again {
		if again[i].ID != checks[i].ID {
			t.Fatalf("check order changed: %s then %s", checks[i].ID, again[i].ID)
		}
	}
}

func (h *harness) expiredDeadline(t *testing.T) {
	s, _ := h.ready(t, 4, vector.Cosine)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := s.Health(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Health with an expired deadline: got %v, want context.DeadlineExceeded", err)
	}
	if _, err := s.Query(ctx, []float32{1, 0, 0, 0}, 1); err == nil {
		t.Fatal("Query with an expired deadline succeeded")
	}
}
