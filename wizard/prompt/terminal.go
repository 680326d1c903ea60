package prompt

import (
	"context"
	"io"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
)

// Options shape a Terminal.
type Options struct {
	// Color turns colours on. Without them the chosen button is still marked: [Yes].
	Color bool
}

// Terminal asks questions with one Bubble Tea program for its whole life. Each question is one
// huh field, hosted by that program: every key is read once, by the one program, and goes to
// the question on screen, or waits for the next question when none is (keys typed ahead, a
// burst of Enters, a paste). Navigation is decided with the key that causes it, not by huh's
// asynchronous NextField message, so a key typed right after an Enter reaches the next
// question, not the one just answered.
//
// Keys: Enter/Tab answer, Shift-Tab goes back one question, Esc clears a list's filter or
// asks "Quit without writing?", Ctrl-C quits at once.
type Terminal struct {
	prog      *tea.Program
	host      *host
	done      chan struct{}
	closeOnce sync.Once
}

// NewTerminal starts the program on in (keys) and out (the terminal). The context it returns is
// cancelled when the user presses Ctrl-C (or quits), so that a slow step under way stops with
// it; closing the Terminal does not cancel it.
func NewTerminal(ctx context.Context, in io.Reader, out io.Writer, o Options) (*Terminal, context.Context) {
	work, cancel := context.WithCancel(ctx)
	h := newHost(o, cancel)
	p := tea.NewProgram(h, tea.WithInput(in), tea.WithOutput(out), tea.WithContext(ctx))
	t := &Terminal{prog: p, host: h, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		if _, err := p.Run(); err != nil && h.ended.CompareAndSwap(endNone, endInterrupted) {
			cancel() // killed from outside (SIGINT, SIGTERM) or the terminal went away
		}
	}()
	return t, work
}

// result is how an asked question ended.
type result struct {
	outcome Outcome
	answer  string
	err     error
}

type (
	askMsg struct {
		q     Question
		reply chan result
	}
	busyMsg    struct{ label string }
	tickMsg    struct{}
	closeMsg   struct{}
	refreshMsg struct{}
	// taggedMsg is a field's message, with the question it belongs to.
	taggedMsg struct {
		id  int
		msg tea.Msg
	}
)

// How the program ended.
const (
	endNone int32 = iota
	endInterrupted
	endQuit
)

func (t *Terminal) endErr() error {
	if t.host.ended.Load() == endQuit {
		return ErrQuit
	}
	return ErrInterrupted
}

// Ask shows q and waits until it is answered, or the user goes back, quits or interrupts.
func (t *Terminal) Ask(ctx context.Context, q Question) (Outcome, error) {
	select {
	case <-t.done:
		return 0, t.endErr()
	default:
	}
	reply := make(chan result, 1)
	t.prog.Send(askMsg{q: q, reply: reply})
	select {
	case r := <-reply:
		if r.err == nil && r.answer != "" {
			t.Println(r.answer)
		}
		return r.outcome, r.err
	case <-t.done:
		return 0, t.endErr()
	case <-ctx.Done():
		return 0, ErrInterrupted
	}
}

// Println shows text above the question, in the order of the calls.
func (t *Terminal) Println(text string) {
	// Program.Println blocks forever once the program has ended; Send does not.
	t.prog.Send(tea.Println(text)())
}

// Refresh redraws the question (after the terminal said its background colour: the colours
// of the theme follow it).
func (t *Terminal) Refresh() { t.prog.Send(refreshMsg{}) }

// Busy shows a spinner and label in place of a question until stop is called.
func (t *Terminal) Busy(label string) func() {
	t.prog.Send(busyMsg{label: label})
	return func() { t.prog.Send(busyMsg{}) }
}

// Close ends the program, clearing what it drew of the last question, and waits for it.
func (t *Terminal) Close() {
	t.closeOnce.Do(func() {
		t.prog.Send(closeMsg{})
		<-t.done
	})
}
