package prompt

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
)

var (
	enter    = tea.KeyMsg{Type: tea.KeyEnter}
	shiftTab = tea.KeyMsg{Type: tea.KeyShiftTab}
	esc      = tea.KeyMsg{Type: tea.KeyEsc}
	ctrlC    = tea.KeyMsg{Type: tea.KeyCtrlC}
)

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// TestSplitFindsNavigation: the host sees at once that a key answered the question or went
// back, whether huh returns NextField alone or inside tea.Batch (Input, Confirm). If a Bubble
// Tea or huh update changes how, this fails (and navigation falls back to the slower path).
func TestSplitFindsNavigation(t *testing.T) {
	h := newHost(Options{}, func() {})
	var s string
	var b bool
	var c int
	fields := map[string]func() huh.Field{
		"input":   func() huh.Field { return huh.NewInput().Value(&s) },
		"confirm": func() huh.Field { return huh.NewConfirm().Value(&b) },
		"select":  func() huh.Field { return huh.NewSelect[int]().Options(huh.NewOptions(1, 2)...).Value(&c) },
	}
	for name, mk := range fields {
		for _, tc := range []struct {
			key tea.KeyMsg
			nav int
		}{{enter, navNext}, {shiftTab, navPrev}} {
			f := mk().WithKeyMap(huh.NewDefaultKeyMap()).WithPosition(position(false))
			f.Focus()
			_, cmd := f.Update(tc.key)
			if nav, _ := h.split(1, cmd); nav != tc.nav {
				t.Errorf("%s %s: nav %d, want %d", name, tc.key, nav, tc.nav)
			}
		}
	}
	f := fields["input"]().WithKeyMap(huh.NewDefaultKeyMap()).WithPosition(position(false))
	f.Focus()
	if _, cmd := f.Update(runes("a")); cmd != nil {
		if nav, _ := h.split(1, cmd); nav != navNone {
			t.Errorf("typing moved on")
		}
	}
}

// ask puts a question on the host and returns its reply channel.
func ask(h *host, q Question) chan result {
	reply := make(chan result, 1)
	h.Update(askMsg{q: q, reply: reply})
	return reply
}

func selectQ(v *int, n int) Question {
	opts := make([]huh.Option[int], n)
	for i := range opts {
		opts[i] = huh.NewOption(string(rune('a'+i)), i)
	}
	return Question{Title: "pick", Field: huh.NewSelect[int]().Title("pick").Options(opts...).Value(v),
		Answer: func() string { return "✓ pick" }}
}

func got(t *testing.T, reply chan result) (result, bool) {
	t.Helper()
	select {
	case r := <-reply:
		return r, true
	default:
		return result{}, false
	}
}

// TestHostKeysTypedAhead: keys that arrive while no question is on screen wait for the next
// one, in order; a burst answers as many questions as it holds answers.
func TestHostKeysTypedAhead(t *testing.T) {
	h := newHost(Options{}, func() {})
	down := tea.KeyMsg{Type: tea.KeyDown}
	for _, k := range []tea.KeyMsg{down, enter, enter} {
		h.Update(k)
	}
	var a, b, c int
	if r, ok := got(t, ask(h, selectQ(&a, 3))); !ok || r.outcome != Answered || r.answer != "✓ pick" || a != 1 {
		t.Fatalf("first: %+v %v a=%d", r, ok, a)
	}
	if r, ok := got(t, ask(h, selectQ(&b, 3))); !ok || r.outcome != Answered || b != 0 {
		t.Fatalf("second: %+v %v", r, ok)
	}
	reply := ask(h, selectQ(&c, 3))
	if _, ok := got(t, reply); ok {
		t.Fatal("the third question was answered with no key left")
	}
	h.Update(shiftTab)
	if r, ok := got(t, reply); !ok || r.outcome != Back {
		t.Errorf("Shift-Tab: %+v %v", r, ok)
	}
	// The first question offers no way back.
	reply = ask(h, Question{Title: "first", First: true, Field: huh.NewSelect[int]().Options(huh.NewOptions(1, 2)...).Value(&c)})
	h.Update(shiftTab)
	if _, ok := got(t, reply); ok {
		t.Error("Shift-Tab left the first question")
	}
}

// TestHostEsc: Esc clears a list's filter; elsewhere it asks to quit: Esc or No goes back to
// the question, Yes quits (ErrQuit). Ctrl-C ends at once (ErrInterrupted) and cancels.
func TestHostEsc(t *testing.T) {
	cancelled := false
	h := newHost(Options{}, func() { cancelled = true })
	var v int
	reply := ask(h, selectQ(&v, 3))
	h.Update(runes("/"))
	h.Update(runes("b"))
	if !filterKey(h.cur.field) {
		t.Fatal("not filtering after /")
	}
	h.Update(esc)
	if filterKey(h.cur.field) || h.quit != nil {
		t.Fatalf("Esc in the filter: filtering %v, quit asked %v", filterKey(h.cur.field), h.quit != nil)
	}
	h.Update(esc)
	if h.quit == nil || !strings.Contains(h.View(), "Quit without writing?") {
		t.Fatalf("Esc did not ask to quit:\n%s", h.View())
	}
	h.Update(esc)
	if h.quit != nil {
		t.Fatal("Esc on the quit question did not go back")
	}
	h.Update(esc)
	h.Update(runes("n"))
	if h.quit != nil || h.cur == nil {
		t.Fatal("No did not go back to the question")
	}
	h.Update(esc)
	h.Update(runes("y"))
	if r, ok := got(t, reply); !ok || !errors.Is(r.err, ErrQuit) || h.ended.Load() != endQuit {
		t.Errorf("Yes: %+v %v", r, ok)
	}

	h = newHost(Options{}, func() { cancelled = true })
	reply = ask(h, selectQ(&v, 3))
	h.Update(ctrlC)
	if r, ok := got(t, reply); !ok || !errors.Is(r.err, ErrInterrupted) || !cancelled {
		t.Errorf("Ctrl-C: %+v %v cancelled %v", r, ok, cancelled)
	}
	// Ctrl-C while no question is on screen (a slow step) ends too.
	h = newHost(Options{}, func() {})
	h.Update(busyMsg{label: "Testing…"})
	h.Update(ctrlC)
	if h.ended.Load() != endInterrupted {
		t.Error("Ctrl-C during a slow step did not end")
	}
}

// TestHostViewFits: the view is never taller than the terminal, the question's title stays on
// it, and a pane that does not fit says how to scroll it.
func TestHostViewFits(t *testing.T) {
	pane := "Recommendation\n" + strings.Repeat("  - a reason that is long enough to wrap at sixty columns, with runtime.max_concurrent_workflows in it\n", 6)
	for _, size := range [][2]int{{20, 4}, {60, 15}, {100, 40}, {200, 50}} {
		h := newHost(Options{}, func() {})
		h.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		yes := true
		ask(h, Question{Title: "Use it?", Pane: pane, Field: huh.NewConfirm().Title("Use it?").Affirmative("Accept").Negative("Choose").Value(&yes)})
		v := h.View()
		if n := strings.Count(v, "\n") + 1; n > size[1] {
			t.Errorf("%dx%d: %d lines:\n%s", size[0], size[1], n, v)
		}
		if !strings.Contains(v, "Use it?") {
			t.Errorf("%dx%d: the title is off screen:\n%s", size[0], size[1], v)
		}
		if size == [2]int{60, 15} {
			if !strings.Contains(v, "(↑/↓ scroll)") {
				t.Errorf("60x15: no scroll hint:\n%s", v)
			}
			for range 40 {
				h.Update(tea.KeyMsg{Type: tea.KeyDown})
			}
			if v := h.View(); !strings.Contains(v, "runtime.max_concurrent_workflows in it") || !strings.Contains(v, "scroll up") {
				t.Errorf("60x15 scrolled to the end:\n%s", v)
			}
		}
	}
}

// TestThemeWithoutColour: the chosen button is marked in plain text.
func TestThemeWithoutColour(t *testing.T) {
	v := false
	f := huh.NewConfirm().Title("Q?").Value(&v).WithTheme(Theme(false))
	f.Focus()
	if view := f.View(); !strings.Contains(view, "[No]") || strings.Contains(view, "[Yes]") {
		t.Errorf("view:\n%s", view)
	}
}

func TestWrap(t *testing.T) {
	got := Wrap("  - one two three four five six\nplain", 16)
	want := []string{"  - one two", "    three four", "    five six", "plain"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Wrap = %q", got)
	}
	if got := Wrap("abcdefghijklmnopqrstuvwxyz", 10); len(got) != 3 {
		t.Errorf("a long word: %q", got)
	}
}

// TestAccessible: answers are read one line per question; input that ends names the question;
// a cancelled context (Ctrl-C, SIGINT) ends a question waiting for its line.
func TestAccessible(t *testing.T) {
	var out strings.Builder
	a := NewAccessible(t.Context(), strings.NewReader("2\n"), &out)
	var v int
	if o, err := a.Ask(t.Context(), selectQ(&v, 3)); err != nil || o != Answered || v != 1 {
		t.Fatalf("first: %v %v v=%d", o, err, v)
	}
	q := selectQ(&v, 3)
	q.Title = "the second"
	var ended *InputEndedError
	if _, err := a.Ask(t.Context(), q); !errors.As(err, &ended) || ended.Question != "the second" {
		t.Errorf("input ended: %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	r, w := io.Pipe()
	defer w.Close()
	a = NewAccessible(ctx, r, io.Discard)
	done := make(chan error, 1)
	go func() {
		_, err := a.Ask(ctx, selectQ(&v, 3))
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, ErrInterrupted) {
		t.Errorf("cancelled: %v", err)
	}
}
