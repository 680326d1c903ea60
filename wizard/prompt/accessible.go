package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// Accessible asks plain numbered questions, one line per answer: for screen readers, and for
// answers piped on standard input. Ctrl-C (the interrupt signal, which cancels the context)
// ends a question at once; input that ends before a question is answered is an
// *InputEndedError naming it (huh alone would silently take the defaults).
type Accessible struct {
	out io.Writer
	in  *lineReader
}

// NewAccessible returns the UI reading in and writing out. Cancelling ctx interrupts a
// question waiting for its line.
func NewAccessible(ctx context.Context, in io.Reader, out io.Writer) *Accessible {
	return &Accessible{out: out, in: newLineReader(ctx, in)}
}

// Ask prints q and reads its answer; an invalid answer is asked again, as huh does.
func (a *Accessible) Ask(ctx context.Context, q Question) (o Outcome, err error) {
	if a.in.cancelled.Load() || ctx.Err() != nil {
		return 0, ErrInterrupted
	}
	if q.Pane != "" {
		fmt.Fprintln(a.out, q.Pane)
		fmt.Fprintln(a.out)
	}
	defer func() {
		// huh's accessible Select indexes its options with whatever was read, and panics when
		// standard input has ended.
		if r := recover(); r != nil {
			if !a.in.eof.Load() && !a.in.cancelled.Load() {
				panic(r)
			}
			o, err = 0, a.ended(q)
		}
	}()
	f := q.Field.WithTheme(Theme(false))
	f.Init()
	f.Focus()
	runErr := f.RunAccessible(a.out, a.in)
	fmt.Fprintln(a.out)
	if a.in.eof.Load() || a.in.cancelled.Load() {
		return 0, a.ended(q)
	}
	if runErr != nil {
		return 0, fmt.Errorf("%s: %w", q.Title, runErr)
	}
	return Answered, nil
}

func (a *Accessible) ended(q Question) error {
	if a.in.cancelled.Load() {
		return ErrInterrupted
	}
	return &InputEndedError{Question: q.Title}
}

// Println prints text and a newline.
func (a *Accessible) Println(text string) { fmt.Fprintln(a.out, text) }

// Busy prints the label once: a screen reader reads it, and nothing animates.
func (a *Accessible) Busy(label string) func() {
	fmt.Fprintln(a.out, label)
	return func() {}
}

// Close does nothing: the input is read by a goroutine that ends with the process.
func (a *Accessible) Close() {}

// lineReader returns at most one line per Read: each huh accessible prompt makes a new
// scanner on the reader and would lose whatever a previous one read ahead. Its reads wait in
// a goroutine, so that a cancelled context ends a Read at once (Ctrl-C at a prompt). It
// records EOF and cancellation.
type lineReader struct {
	ctx       context.Context
	ch        chan chunk
	buf       []byte
	err       error
	eof       atomic.Bool
	cancelled atomic.Bool
}

type chunk struct {
	data []byte
	err  error
}

func newLineReader(ctx context.Context, r io.Reader) *lineReader {
	l := &lineReader{ctx: ctx, ch: make(chan chunk)}
	go func() {
		for {
			b := make([]byte, 4096)
			n, err := r.Read(b)
			if n > 0 || err != nil {
				select {
				case l.ch <- chunk{b[:n], err}:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return l
}

// Read reads up to and including the next newline.
func (l *lineReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.buf) == 0 {
			if l.err != nil {
				if n > 0 {
					return n, nil
				}
				if errors.Is(l.err, io.EOF) {
					l.eof.Store(true)
				}
				return 0, l.err
			}
			select {
			case c := <-l.ch:
				l.buf, l.err = c.data, c.err
			case <-l.ctx.Done():
				l.cancelled.Store(true)
				return n, l.ctx.Err()
			}
			continue
		}
		c := l.buf[0]
		l.buf = l.buf[1:]
		p[n] = c
		n++
		if c == '\n' {
			break
		}
	}
	return n, nil
}
