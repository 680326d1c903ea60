// Package prompt asks the wizard's questions, one huh field at a time, and knows nothing of
// what they mean. Three implementations of [UI]: [Terminal] runs one Bubble Tea program for the
// whole wizard (so that keys typed ahead or pasted go to the questions that follow, in order),
// [Accessible] asks plain numbered questions line by line (screen readers, piped answers), and
// [Plain] asks nothing (flags and --yes) and only prints.
package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/charmbracelet/huh"
)

// Question is one question: a huh field bound to the caller's value, and what to show around it.
type Question struct {
	// Title names the question in messages ("standard input ended at ...").
	Title string
	// Field asks it; its value is bound to the caller's variable (huh's Value(&v)).
	Field huh.Field
	// Pane is text shown above the field, scrollable with ↑/↓ when the terminal is short (the
	// recommendation and its reasons). The field must not need those keys (a Confirm).
	Pane string
	// Answer is the answer as the transcript shows it once given ("✓ Title Answer"); nil or ""
	// prints nothing.
	Answer func() string
	// Mask hides a secret in the field's view while it is typed (a password inside a URL).
	Mask func(view string) string
	// First says there is no question before this one: Shift-Tab has nowhere to go.
	First bool
}

// Outcome is how a question was left.
type Outcome int

// The outcomes of Ask.
const (
	// Answered: the value is in the caller's variable, validated by the field.
	Answered Outcome = iota
	// Back: Shift-Tab, to the question before.
	Back
)

// ErrInterrupted is returned once the user pressed Ctrl-C (or the process was interrupted):
// nothing more is asked, nothing is to be written.
var ErrInterrupted = errors.New("interrupted")

// ErrQuit is returned when the user chose to quit (Esc, then "Quit without writing?" yes).
var ErrQuit = errors.New("quit without writing")

// InputEndedError says that standard input ended (accessible mode) before a question had its
// answer.
type InputEndedError struct{ Question string }

func (e *InputEndedError) Error() string {
	return fmt.Sprintf("standard input ended at the question %q, before every question was answered; give one answer per line (an empty line takes the default)", e.Question)
}

// UI asks questions and shows what happens between them.
type UI interface {
	// Ask asks q and waits for its answer.
	Ask(ctx context.Context, q Question) (Outcome, error)
	// Println shows text (one or more lines) above the questions, in order.
	Println(text string)
	// Busy shows label while a slow step runs; the returned func ends it.
	Busy(label string) (stop func())
	// Close ends the UI: the terminal is the caller's again. Safe to call more than once.
	Close()
}

// Plain is the UI of a run without questions: it prints to Out, and shows Busy on ErrOut (a
// spinner when ErrOut is a terminal). Ask fails: a run without a terminal must not ask.
type Plain struct {
	Out    io.Writer
	ErrOut io.Writer
	// ErrTTY says ErrOut is a terminal: Busy animates and then clears its line.
	ErrTTY bool
}

// Ask fails: there is nobody to answer.
func (p *Plain) Ask(_ context.Context, q Question) (Outcome, error) {
	return 0, fmt.Errorf("no terminal to ask %q: give it as a flag", q.Title)
}

// Println prints text and a newline.
func (p *Plain) Println(text string) { fmt.Fprintln(p.Out, text) }

// Close does nothing.
func (p *Plain) Close() {}

// Busy shows a spinner on ErrOut while a slow step runs, when it is a terminal; otherwise it
// prints the label once.
func (p *Plain) Busy(label string) func() {
	return spin(p.ErrOut, p.ErrTTY, label)
}
