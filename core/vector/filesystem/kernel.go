package filesystem

import "math"

// dot returns the dot product of a and b, which have the same length. Four independent
// accumulators let the CPU overlap the additions; the re-slicing lets the compiler drop the
// bounds checks in the loop.
func dot(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		aa := a[i : i+8 : i+8]
		bb := b[i : i+8 : i+8]
		s0 += aa[0]*bb[0] + aa[4]*bb[4]
		s1 += aa[1]*bb[1] + aa[5]*bb[5]
		s2 += aa[2]*bb[2] + aa[6]*bb[6]
		s3 += aa[3]*bb[3] + aa[7]*bb[7]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// sqdist returns the squared euclidean distance between a and b.
func sqdist(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		aa := a[i : i+8 : i+8]
		bb := b[i : i+8 : i+8]
		d0, d1, d2, d3 := aa[0]-bb[0], aa[1]-bb[1], aa[2]-bb[2], aa[3]-bb[3]
		d4, d5, d6, d7 := aa[4]-bb[4], aa[5]-bb[5], aa[6]-bb[6], aa[7]-bb[7]
		s0 += d0*d0 + d4*d4
		s1 += d1*d1 + d5*d5
		s2 += d2*d2 + d6*d6
		s3 += d3*d3 + d7*d7
	}
	for ; i < n; i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// invNorm returns 1/|v| (1 for the zero vector): multiplying by it normalises v.
func invNorm(v []float32) float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return 1
	}
	return float32(1 / math.Sqrt(s))
}

// normalize scales v in place to unit length.
func normalize(v []float32) {
	inv := invNorm(v)
	for i := range v {
		v[i] *= inv
	}
}

// hit is a candidate result: the slot in the slab and its goodness (higher is better).
type hit struct {
	slot int
	good float32
}

// topK keeps the k best hits seen so far in a min-heap on goodness: the root is the worst of
// the kept hits, so a new hit either beats it (replace the root, sift down) or is dropped
// after one comparison.
type topK struct {
	k int
	h []hit
}

func newTopK(k int) *topK { return &topK{k: k, h: make([]hit, 0, k)} }

func (t *topK) push(x hit) {
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		// sift up
		i := len(t.h) - 1
		for i > 0 {
			p := (i - 1) / 2
			if !t.less(i, p) {
				break
			}
			t.h[i], t.h[p] = t.h[p], t.h[i]
			i = p
		}
		return
	}
	if !better(x, t.h[0]) {
		return
	}
	t.h[0] = x
	i := 0
	n := len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && t.less(r, l) {
			m = r
		}
		if !t.less(m, i) {
			break
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

// less orders the heap: worse first. Ties break on the slot so results are deterministic.
func (t *topK) less(i, j int) bool { return better(t.h[j], t.h[i]) }

// better reports whether a ranks before b: higher goodness, then lower slot.
func better(a, b hit) bool {
	if a.good != b.good {
		return a.good > b.good
	}
	return a.slot < b.slot
}
