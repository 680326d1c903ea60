package migrate

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWait: Wait looks until the answer is settled, reports each change once, and stops at the
// caller's deadline with the last look.
func TestWait(t *testing.T) {
	pending := func(cur int64, vs ...int64) Look {
		c := &CheckResult{Versions: Versions{Current: cur, Latest: 3}}
		for _, v := range vs {
			c.Pending = append(c.Pending, Migration{Version: v})
		}
		return Look{Check: c}
	}
	down := Look{Err: errors.New("connection refused")}
	current := pending(3)
	newer := Look{Check: &CheckResult{Versions: Versions{Current: 4, Latest: 3}, Unknown: []int64{4}, Newer: []int64{4}}}
	missing := pending(0, 1, 2, 3)
	missing.Missing = true

	for _, tc := range []struct {
		name     string
		looks    []Look
		settled  bool
		reported int // looks passed to changed
		last     Look
	}{
		{"current at once", []Look{current}, true, 1, current},
		{"server comes up, then migrated", []Look{down, down, down, pending(0, 1, 2, 3), pending(0, 1, 2, 3), pending(2, 3), current}, true, 4, current},
		{"file appears", []Look{missing, missing, pending(1, 2, 3), current}, true, 3, current},
		{"newer at once", []Look{newer}, true, 1, newer},
		{"never current", []Look{pending(1, 2, 3)}, false, 1, pending(1, 2, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			n, reported := 0, 0
			look := func(context.Context) Look {
				if n >= len(tc.looks) {
					cancel() // the caller's time ran out
					return tc.looks[len(tc.looks)-1]
				}
				n++
				return tc.looks[n-1]
			}
			last, settled := Wait(ctx, time.Millisecond, look, func(Look) { reported++ })
			if settled != tc.settled || reported != tc.reported {
				t.Fatalf("settled %v, reported %d; want %v, %d", settled, reported, tc.settled, tc.reported)
			}
			if !last.sameAs(tc.last) {
				t.Fatalf("last look %+v, want %+v", last, tc.last)
			}
		})
	}
}
