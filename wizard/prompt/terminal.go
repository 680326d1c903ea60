package prompt

import (
	"context"
	"io"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
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

func (h *host) width() int {
	if h.w <= 0 {
		return 80
	}
	return min(h.w, 100)
}

func (h *host) height() int {
	if h.h <= 0 {
		return 24
	}
	return h.h
}

// fit sizes the field to the terminal: its width, and a list's height when the terminal is
// too short to show every option.
func (h *host) fit() {
	if h.cur == nil {
		return
	}
	f := h.cur.field.WithWidth(h.width())
	if isSelect(f) {
		f = f.WithHeight(0)
		if need, room := lipgloss.Height(f.View()), h.height()-1; need > room {
			f = f.WithHeight(max(room, 2))
		}
	}
	h.cur.field = f
	if h.quit != nil {
		h.quit = h.quit.WithWidth(h.width())
	}
}

// isSelect reports whether f is a huh Select (of any value type).
func isSelect(f huh.Field) bool {
	return strings.HasPrefix(reflect.TypeOf(f).String(), "*huh.Select[")
}

// paneRoom is how many lines the pane may use.
func (h *host) paneRoom() int {
	if h.cur == nil {
		return 0
	}
	return h.height() - lipgloss.Height(h.fieldView()) - 2 // a blank line and the help
}

// fieldView is the field (or the quit question), with its error.
func (h *host) fieldView() string {
	if h.quit != nil {
		return h.quit.View()
	}
	v := h.cur.field.View()
	if h.cur.q.Mask != nil {
		v = h.cur.q.Mask(v)
	}
	if err := h.cur.field.Error(); err != nil {
		v += "\n" + h.theme.Focused.ErrorMessage.Render(err.Error())
	}
	return v
}

// View draws the question: the pane (scrolled to fit), the field, its error and the keys,
// never taller than the terminal so that the question's title stays on screen.
func (h *host) View() string {
	if h.closing || h.ended.Load() != endNone {
		return ""
	}
	if h.cur == nil {
		if h.busy == "" {
			return ""
		}
		return spinnerFrames[h.frame%len(spinnerFrames)] + " " + h.busy
	}
	height, width := h.height(), h.width()
	field := strings.Split(h.fieldView(), "\n")
	if len(field) > height {
		field = field[:height]
	}
	var top []string
	if h.cur.q.Pane != "" && h.quit == nil {
		room := height - len(field) - 2
		top = h.pane(width, room)
	}
	binds := h.cur.field.KeyBinds()
	if h.quit != nil {
		binds = h.quit.KeyBinds()
	} else {
		if h.cur.q.Pane != "" && h.paneOverflows(width) {
			binds = append(binds, h.scroll)
		}
		if !filterKey(h.cur.field) {
			binds = append(binds, h.escHelp)
		}
	}
	h.help.Width = width
	lines := append(top, field...)
	if used := len(lines); used+2 <= height {
		lines = append(lines, "", h.help.ShortHelpView(binds))
	} else if used+1 <= height {
		lines = append(lines, h.help.ShortHelpView(binds))
	}
	return strings.Join(lines, "\n")
}

// pane returns at most room lines of the pane, from where it is scrolled to; when it does not
// fit, the last line says how much more there is.
func (h *host) pane(width, room int) []string {
	if room <= 0 {
		return nil
	}
	all := Wrap(h.cur.q.Pane, width-1)
	all = append(all, "")
	if len(all) <= room {
		h.paneAt = 0
		return all
	}
	show := room - 1 // the last line tells where we are
	h.paneAt = max(0, min(h.paneAt, len(all)-show))
	out := append([]string(nil), all[h.paneAt:h.paneAt+show]...)
	hint := ""
	switch below := len(all) - h.paneAt - show; {
	case show <= 0:
		hint = "(↑/↓ to read the recommendation)"
	case below > 0:
		hint = "↓ " + plural(below, "more line") + " (↑/↓ scroll)"
	default:
		hint = "↑ scroll up for the top"
	}
	out = append(out, h.theme.Focused.Description.Render(truncate(hint, width)))
	return out
}

func (h *host) paneOverflows(width int) bool {
	return len(Wrap(h.cur.q.Pane, width-1))+1 > h.height()-len(strings.Split(h.fieldView(), "\n"))-2
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return itoa(n) + " " + what + "s"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func truncate(s string, width int) string {
	r := []rune(s)
	if width <= 1 || len(r) <= width {
		return s
	}
	return string(r[:width-1]) + "…"
}

// Wrap breaks text into lines of at most width runes at spaces. A line that starts with
// spaces, a dash or a bullet keeps its continuation lines indented under its text.
func Wrap(text string, width int) []string {
	var out []string
	width = max(width, 10)
	for _, line := range strings.Split(text, "\n") {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		rest := line[indent:]
		hang := indent
		for _, bullet := range []string{"- ", "* ", "• "} {
			if strings.HasPrefix(rest, bullet) {
				hang = indent + len([]rune(bullet))
			}
		}
		words := strings.Fields(rest)
		if len(words) == 0 {
			out = append(out, "")
			continue
		}
		cur := strings.Repeat(" ", indent)
		fresh := true // cur holds no word yet
		for _, w := range words {
			for _, part := range chop(w, width-hang) {
				switch {
				case fresh:
					cur += part
				case len([]rune(cur))+1+len([]rune(part)) > width:
					out = append(out, cur)
					cur = strings.Repeat(" ", hang) + part
				default:
					cur += " " + part
				}
				fresh = false
			}
		}
		out = append(out, cur)
	}
	return out
}

// chop cuts a word longer than width into pieces of width runes.
func chop(w string, width int) []string {
	r := []rune(w)
	width = max(width, 1)
	var out []string
	for len(r) > width {
		out = append(out, string(r[:width]))
		r = r[width:]
	}
	return append(out, string(r))
}
