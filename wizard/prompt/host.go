package prompt

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
)

// active is the question on screen.
type active struct {
	id    int
	q     Question
	field huh.Field
	reply chan result
}

// host is the program's model: it hosts one field at a time.
type host struct {
	theme   *huh.Theme
	keymap  *huh.KeyMap
	help    help.Model
	escHelp key.Binding
	scroll  key.Binding
	cancel  context.CancelFunc

	w, h   int
	cur    *active
	ids    int
	queue  []tea.KeyMsg
	busy   string
	frame  int
	ticks  bool
	paneAt int

	quit    huh.Field
	quitYes bool

	closing bool
	ended   atomic.Int32
}

func newHost(o Options, cancel context.CancelFunc) *host {
	t := Theme(o.Color)
	hm := help.New()
	hm.Styles = t.Help
	return &host{
		theme: t, keymap: huh.NewDefaultKeyMap(), help: hm, cancel: cancel,
		escHelp: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "quit")),
		scroll:  key.NewBinding(key.WithKeys("up", "down", "pgup", "pgdown"), key.WithHelp("↑/↓", "scroll")),
	}
}

func (h *host) Init() tea.Cmd { return nil }

func (h *host) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		h.w, h.h = msg.Width, msg.Height
		h.fit()
		return h, nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyCtrlC {
			return h, h.end(endInterrupted)
		}
		if h.cur == nil {
			h.queue = append(h.queue, msg) // typed ahead: for the next question
			return h, nil
		}
		return h, h.key(msg)
	case askMsg:
		cmds := []tea.Cmd{h.start(msg)}
		for h.cur != nil && len(h.queue) > 0 {
			k := h.queue[0]
			h.queue = h.queue[1:]
			cmds = append(cmds, h.key(k))
		}
		return h, tea.Batch(cmds...)
	case busyMsg:
		h.busy = msg.label
		if h.busy != "" && !h.ticks {
			h.ticks = true
			return h, tick()
		}
		return h, nil
	case tickMsg:
		if h.busy == "" {
			h.ticks = false
			return h, nil
		}
		h.frame++
		return h, tick()
	case closeMsg:
		h.closing = true
		return h, tea.Quit
	case refreshMsg:
		return h, nil // View runs again after every message
	case taggedMsg:
		if h.cur == nil || msg.id != h.cur.id {
			return h, nil // a message of a question already left
		}
		if b, ok := msg.msg.(tea.BatchMsg); ok {
			cmds := make([]tea.Cmd, len(b))
			for i, c := range b {
				cmds[i] = h.tag(msg.id, c)
			}
			return h, tea.Batch(cmds...)
		}
		return h.fieldMsg(msg.msg)
	}
	return h.fieldMsg(msg)
}

// fieldMsg passes a message that is not a key to the field on screen.
func (h *host) fieldMsg(msg tea.Msg) (tea.Model, tea.Cmd) {
	if h.cur == nil {
		return h, nil
	}
	if isNav(msg) {
		// Navigation normally comes with its key (see key); this is the fallback for a
		// command split could not look into.
		if msg == huh.NextField() {
			h.finish(Answered)
		} else if !h.cur.q.First {
			h.finish(Back)
		}
		return h, nil
	}
	if h.quit != nil {
		m, cmd := h.quit.Update(msg)
		h.quit = m.(huh.Field)
		return h, cmd
	}
	m, cmd := h.cur.field.Update(msg)
	h.cur.field = m.(huh.Field)
	return h, h.tag(h.cur.id, cmd)
}

func tick() tea.Cmd {
	return tea.Tick(80*time.Millisecond, func(time.Time) tea.Msg { return tickMsg{} })
}

// start puts a question on screen.
func (h *host) start(m askMsg) tea.Cmd {
	if h.ended.Load() != endNone {
		m.reply <- result{err: ErrInterrupted}
		return nil
	}
	h.ids++
	h.cur = &active{id: h.ids, q: m.q, reply: m.reply}
	h.paneAt = 0
	h.quit = nil
	f := m.q.Field.WithTheme(h.theme).WithKeyMap(h.keymap).WithPosition(position(m.q.First))
	h.cur.field = f
	h.fit()
	return tea.Batch(h.tag(h.cur.id, f.Init()), h.tag(h.cur.id, f.Focus()))
}

// position tells a field whether there is a question before it (Shift-Tab) and that there is
// always one after it (Enter moves on, it does not "submit").
func position(first bool) huh.FieldPosition {
	if first {
		return huh.FieldPosition{Group: 0, FirstGroup: 0, LastGroup: 2}
	}
	return huh.FieldPosition{Group: 1, FirstGroup: 0, LastGroup: 2}
}

// finish ends the question on screen.
func (h *host) finish(o Outcome) {
	a := h.cur
	h.cur, h.quit = nil, nil
	r := result{outcome: o}
	if o == Answered && a.q.Answer != nil {
		r.answer = a.q.Answer()
	}
	a.reply <- r
}

// end stops the program: interrupted (Ctrl-C) or quit by choice.
func (h *host) end(how int32) tea.Cmd {
	h.ended.CompareAndSwap(endNone, how)
	if h.cur != nil {
		err := ErrInterrupted
		if how == endQuit {
			err = ErrQuit
		}
		h.cur.reply <- result{err: err}
		h.cur = nil
	}
	h.cancel()
	return tea.Quit
}

// key passes one key to the question on screen and moves on when it answers it.
func (h *host) key(k tea.KeyMsg) tea.Cmd {
	if h.quit != nil {
		return h.quitKey(k)
	}
	a := h.cur
	if k.Type == tea.KeyEsc {
		if cmd, ok := h.clearFilter(); ok {
			return cmd
		}
		return h.askQuit()
	}
	if a.q.Pane != "" && h.scrollPane(k) {
		return nil
	}
	m, cmd := a.field.Update(k)
	a.field = m.(huh.Field)
	nav, rest := h.split(a.id, cmd)
	switch {
	case nav == navNext:
		h.finish(Answered)
	case nav == navPrev && !a.q.First:
		h.finish(Back)
	}
	return rest
}

// clearFilter handles Esc in a list that is being filtered: the filter is cleared (huh's own
// Esc only stops typing it, a second Esc clears it).
func (h *host) clearFilter() (tea.Cmd, bool) {
	var cmds []tea.Cmd
	handled := false
	for range 2 {
		if !filterKey(h.cur.field) {
			break
		}
		handled = true
		m, cmd := h.cur.field.Update(tea.KeyMsg{Type: tea.KeyEsc})
		h.cur.field = m.(huh.Field)
		cmds = append(cmds, h.tag(h.cur.id, cmd))
	}
	return tea.Batch(cmds...), handled
}

// filterKey reports whether Esc means something to the field now: it stops or clears a filter.
func filterKey(f huh.Field) bool {
	for _, b := range f.KeyBinds() {
		if b.Enabled() && (b.Help().Desc == "set filter" || b.Help().Desc == "clear filter") {
			return true
		}
	}
	return false
}

// askQuit shows "Quit without writing?" in place of the question.
func (h *host) askQuit() tea.Cmd {
	h.quitYes = false
	q := huh.NewConfirm().Title("Quit without writing?").
		Description("Your answers are dropped and nothing is written. Esc goes back to the question.").
		Affirmative("Yes").Negative("No").Value(&h.quitYes)
	h.quit = q.WithTheme(h.theme).WithKeyMap(h.keymap).WithPosition(position(true)).WithWidth(h.width())
	return h.quit.Focus()
}

func (h *host) quitKey(k tea.KeyMsg) tea.Cmd {
	if k.Type == tea.KeyEsc {
		h.quit = nil
		return nil
	}
	m, cmd := h.quit.Update(k)
	h.quit = m.(huh.Field)
	nav, rest := h.split(-1, cmd)
	if nav == navNext {
		if h.quitYes {
			return h.end(endQuit)
		}
		h.quit = nil
	}
	return rest
}

// Navigation a field asks for.
const (
	navNone = iota
	navNext
	navPrev
)

var (
	nextPC = reflect.ValueOf(huh.NextField).Pointer()
	prevPC = reflect.ValueOf(huh.PrevField).Pointer()
)

func isNav(msg tea.Msg) bool { return msg == huh.NextField() || msg == huh.PrevField() }

// split finds huh's NextField or PrevField in a field's command, at once: fields return them
// directly or inside tea.Batch, whose closure only lists the commands (running it is instant).
// The rest runs as usual, tagged with the question it belongs to.
func (h *host) split(id int, cmd tea.Cmd) (int, tea.Cmd) {
	if cmd == nil {
		return navNone, nil
	}
	switch reflect.ValueOf(cmd).Pointer() {
	case nextPC:
		return navNext, nil
	case prevPC:
		return navPrev, nil
	}
	if !isBatch(cmd) {
		return navNone, h.tag(id, cmd)
	}
	msg := cmd()
	b, ok := msg.(tea.BatchMsg)
	if !ok { // tea.Sequence: let the program run it
		return navNone, func() tea.Msg { return msg }
	}
	nav := navNone
	rest := make([]tea.Cmd, 0, len(b))
	for _, c := range b {
		n, r := h.split(id, c)
		if n != navNone {
			nav = n
		}
		rest = append(rest, r)
	}
	return nav, tea.Batch(rest...)
}

// isBatch reports whether cmd is the closure of tea.Batch or tea.Sequence (Bubble Tea's
// compactCmds; inlined, its name is "<caller>.Batch.compactCmds[...].funcN").
func isBatch(cmd tea.Cmd) bool {
	fn := runtime.FuncForPC(reflect.ValueOf(cmd).Pointer())
	return fn != nil && strings.Contains(fn.Name(), ".compactCmds[")
}

// tag wraps a field's command so that its message is delivered to that question only.
func (h *host) tag(id int, cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		msg := cmd()
		if msg == nil {
			return nil
		}
		return taggedMsg{id: id, msg: msg}
	}
}

// scrollPane scrolls the pane with ↑/↓, PgUp/PgDn, Home/End.
func (h *host) scrollPane(k tea.KeyMsg) bool {
	page := max(1, h.paneRoom()-1)
	switch k.String() {
	case "up":
		h.paneAt--
	case "down":
		h.paneAt++
	case "pgup":
		h.paneAt -= page
	case "pgdown":
		h.paneAt += page
	case "home":
		h.paneAt = 0
	case "end":
		h.paneAt = 1 << 20
	default:
		return false
	}
	return true
}
