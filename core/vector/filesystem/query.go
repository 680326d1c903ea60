package filesystem

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"

	"compozy.dev/setup/core/vector"
)

// Query scans every vector and returns the k best, best first.
func (s *Store) Query(ctx context.Context, v []float32, k int) ([]vector.Match, error) {
	if err := vector.ValidateQuery(Provider, s.dir, s.opts.Dimension, s.opts.Metric, v, k); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, s.osErr(ctx, "query", err)
	}
	// Catch up with other processes' writes, unless another goroutine is already reading the
	// log or writing: then this query runs on the state as it is.
	if s.rmu.TryLock() {
		err := s.refreshLocked(ctx)
		s.rmu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := &s.st
	switch {
	case st.closed:
		return nil, s.fail(ctx, "query", vector.ErrInvalid, nil, "the store is closed")
	case !st.exists:
		return nil, s.notFound(ctx, "query")
	}
	if err := s.shapeErr(ctx, "query", st); err != nil {
		return nil, err
	}
	q := slices.Clone(v)
	if st.metric == vector.Cosine {
		normalize(q)
	}
	hits := s.scan(q, k)
	out := make([]vector.Match, len(hits))
	for i, h := range hits {
		m := vector.Match{ID: st.ids[h.slot], Score: h.good}
		if st.metric == vector.Euclid {
			m.Score = float32(math.Sqrt(float64(-h.good)))
		}
		if p := st.payloads[h.slot]; len(p) > 0 {
			if err := json.Unmarshal(p, &m.Payload); err != nil {
				return nil, s.fail(ctx, "query", vector.ErrCorrupt, err, fmt.Sprintf("decode payload of %q", m.ID))
			}
		}
		out[i] = m
	}
	return out, nil
}

// scan returns the k best slots for q, best first. The caller holds mu for reading.
func (s *Store) scan(q []float32, k int) []hit {
	st := &s.st
	n := len(st.ids)
	workers := s.opts.Workers
	// Below about a quarter of a million values a second goroutine costs more than it saves.
	if n*st.dim < 1<<18 {
		workers = 1
	}
	workers = max(1, min(workers, n))
	euclid := st.metric == vector.Euclid
	parts := make([]*topK, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		t := newTopK(k)
		parts[w] = t
		work := func() {
			dim, cv := st.dim, st.chunkVecs()
			floor := float32(math.Inf(-1))
			for i := lo; i < hi; {
				chunk := st.chunks[i/cv]
				end := min(hi, (i/cv+1)*cv)
				for off := (i % cv) * dim; i < end; i, off = i+1, off+dim {
					row := chunk[off : off+dim : off+dim]
					var g float32
					if euclid {
						g = -sqdist(q, row)
					} else {
						g = dot(q, row)
					}
					if g > floor || len(t.h) < k {
						t.push(hit{slot: i, good: g})
						if len(t.h) == k {
							floor = t.h[0].good
						}
					}
				}
			}
		}
		if w == workers-1 {
			work()
		} else {
			wg.Go(work)
		}
	}
	wg.Wait()
	all := newTopK(k)
	for _, t := range parts {
		for _, h := range t.h {
			all.push(h)
		}
	}
	res := all.h
	slices.SortFunc(res, func(a, b hit) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	return res
}
