package filesystem_test

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"

	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/core/vector/filesystem"
)

// The workload: 10,000 vectors of 1,536 dimensions.
const benchN, benchDim = 10_000, 1536

func benchPoints(n, dim int) []vector.Point {
	r := rand.New(rand.NewPCG(42, 43))
	slab := make([]float32, n*dim)
	for i := range slab {
		slab[i] = float32(r.NormFloat64())
	}
	pts := make([]vector.Point, n)
	for i := range pts {
		pts[i] = vector.Point{ID: "doc-" + strconv.Itoa(i), Vector: slab[i*dim : (i+1)*dim : (i+1)*dim]}
	}
	return pts
}

func benchStore(b *testing.B, m vector.Metric, workers int, pts []vector.Point) *filesystem.Store {
	b.Helper()
	ctx := context.Background()
	s, err := filesystem.Open(ctx, filesystem.Options{Dir: b.TempDir(), Dimension: benchDim, Metric: m, Workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if err := s.Ensure(ctx); err != nil {
		b.Fatal(err)
	}
	if pts != nil {
		if err := s.Upsert(ctx, pts); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkQuery: top-10 over 10,000 x 1,536 (exact scan).
func BenchmarkQuery(b *testing.B) {
	pts := benchPoints(benchN, benchDim)
	q := benchPoints(1, benchDim)[0].Vector
	for _, m := range []vector.Metric{vector.Cosine, vector.Dot, vector.Euclid} {
		for _, w := range []int{1, runtime.GOMAXPROCS(0)} {
			if w == 1 && m != vector.Cosine {
				continue
			}
			b.Run(string(m)+"/workers="+strconv.Itoa(w), func(b *testing.B) {
				s := benchStore(b, m, w, pts)
				ctx := context.Background()
				b.ResetTimer()
				for b.Loop() {
					got, err := s.Query(ctx, q, 10)
					if err != nil || len(got) != 10 {
						b.Fatal(len(got), err)
					}
				}
			})
		}
	}
}

// BenchmarkInsert: 10,000 x 1,536 into an empty store, in one Upsert and in batches; every
// Upsert fsyncs.
func BenchmarkInsert(b *testing.B) {
	pts := benchPoints(benchN, benchDim)
	for _, batch := range []int{benchN, 1000, 100} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				b.StopTimer()
				s := benchStore(b, vector.Cosine, 0, nil)
				b.StartTimer()
				for i := 0; i < len(pts); i += batch {
					if err := s.Upsert(ctx, pts[i:min(i+batch, len(pts))]); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkReopen: open a store of 10,000 x 1,536 and read it into memory (first Describe),
// reporting the heap it keeps as a multiple of the raw vector bytes.
func BenchmarkReopen(b *testing.B) {
	s := benchStore(b, vector.Cosine, 0, benchPoints(benchN, benchDim))
	dir := s.Target()
	_ = s.Close()
	ctx := context.Background()
	raw := float64(benchN * benchDim * 4)
	var ratio float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, err := filesystem.Open(ctx, filesystem.Options{Dir: dir, Dimension: benchDim})
		if err != nil {
			b.Fatal(err)
		}
		if info, err := r.Describe(ctx); err != nil || info.Count != benchN {
			b.Fatal(info, err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		ratio = float64(after.HeapAlloc-before.HeapAlloc) / raw
		runtime.KeepAlive(r)
		_ = r.Close()
	}
	b.ReportMetric(ratio, "heap/raw")
}

// BenchmarkReopenDamaged is BenchmarkReopen with one byte flipped in the first record: the
// cost of resynchronising (search the damaged record for the next intact one) on top of the
// load; the store serves every vector but those of the first record.
func BenchmarkReopenDamaged(b *testing.B) {
	s := benchStore(b, vector.Cosine, 0, benchPoints(benchN, benchDim))
	dir, log := s.Target(), s.LogPath()
	_ = s.Close()
	data, err := os.ReadFile(log)
	if err != nil {
		b.Fatal(err)
	}
	data[24+40] ^= 0xff
	if err := os.WriteFile(log, data, 0o600); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var count int64
	for b.Loop() {
		r, err := filesystem.Open(ctx, filesystem.Options{Dir: dir, Dimension: benchDim})
		if err != nil {
			b.Fatal(err)
		}
		info, err := r.Describe(ctx)
		if err != nil || len(info.Notes) != 1 || info.Count == 0 || info.Count >= benchN {
			b.Fatal(info, err)
		}
		count = info.Count
		_ = r.Close()
	}
	b.ReportMetric(float64(count), "vectors")
}
