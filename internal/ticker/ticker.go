// Package ticker runs a function at a fixed interval in the background until it is stopped: the
// progress reports of long operations (doctor's quick_check, compozy db vacuum).
package ticker

import (
	"context"
	"time"
)

// Every calls fn every d, in a goroutine of its own, until stop is called or ctx ends. stop
// waits for a call in progress to return, so that nothing is reported after it.
func Every(ctx context.Context, d time.Duration, fn func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return func() { close(done); <-finished }
}
