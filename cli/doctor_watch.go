package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor/watch"
	"compozy.dev/setup/tui/doctorpane"
	"compozy.dev/setup/tui/watchpane"
)

// runDoctorWatch samples the configured database every --interval through the door's
// read-only handle, changing nothing: a live pane on a terminal, one line per sample in a pipe
// (a header first, like vmstat). It ends after --count samples (exit 0), on q in the pane
// (exit 0), or on Esc, Ctrl-C, SIGINT or SIGTERM (exit 130, the table's "aborted by the user").
func runDoctorWatch(ctx context.Context, f *Factory, opts *doctorOptions, d *doctorRun) error {
	switch {
	case opts.interval <= 0:
		return usageErrorf("--interval must be positive, got %s", opts.interval)
	case opts.count < 0:
		return usageErrorf("--count must be 0 (no end) or more, got %d", opts.count)
	case d.cfg == nil:
		return usageErrorf("the configuration could not be loaded: run 'compozy config validate' for the problems")
	}
	octx, cancel := context.WithTimeout(ctx, opts.timeout)
	h, err := factory.Open(octx, d.cfg.Database, factory.ReadOnly)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("doctor --watch: %w", err)
	}
	defer h.Close()
	s, err := watch.New(h)
	if err != nil {
		return err
	}
	// A sample waits no longer than --timeout: a server that stops answering shows as an
	// error line, and the next sample tries again.
	sample := func(ctx context.Context) watch.Sample {
		sctx, cancel := context.WithTimeout(ctx, opts.timeout)
		defer cancel()
		return s.Sample(sctx)
	}
	if f.IO.CanPrompt() && doctorpane.CanDraw(f.IO.Getenv("TERM")) {
		res, err := watchpane.Run(ctx, watchpane.Options{Target: h.Target, Sampler: samplerFunc(sample), Interval: opts.interval, Count: opts.count},
			f.IO.In, f.IO.Out, f.IO.ColorEnabled())
		if err != nil {
			return err
		}
		if res.Aborted {
			return ErrAborted
		}
		return nil
	}
	lw := &watch.LineWriter{Out: f.IO.Out, Errors: f.IO.ErrOut}
	for n := 1; ; n++ {
		if err := lw.Write(sample(ctx)); err != nil {
			return err
		}
		if opts.count > 0 && n >= opts.count {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil
			}
			return ErrAborted
		case <-time.After(opts.interval):
		}
	}
}

// samplerFunc is a function as watchpane.Sampler.
type samplerFunc func(ctx context.Context) watch.Sample

func (f samplerFunc) Sample(ctx context.Context) watch.Sample { return f(ctx) }
