package ticker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestEvery: fn runs again and again until stop, never after stop returns; a context that ends
// stops it too, and stop still returns.
func TestEvery(t *testing.T) {
	var n atomic.Int64
	stop := Every(t.Context(), time.Millisecond, func() { n.Add(1) })
	for deadline := time.Now().Add(10 * time.Second); n.Load() < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("fn ran %d times in 10s", n.Load())
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	after := n.Load()
	time.Sleep(20 * time.Millisecond)
	if got := n.Load(); got != after {
		t.Errorf("fn ran %d more times after stop", got-after)
	}

	ctx, cancel := context.WithCancel(t.Context())
	var m atomic.Int64
	stop = Every(ctx, time.Millisecond, func() { m.Add(1) })
	cancel()
	stop()
	ended := m.Load()
	time.Sleep(20 * time.Millisecond)
	if got := m.Load(); got != ended {
		t.Errorf("fn ran %d more times after the context ended", got-ended)
	}
}
