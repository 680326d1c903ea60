// Package doctorpane is the live terminal pane of `compozy doctor`: checks appear with spinners
// and settle to ✓ ! ✗, grouped; the arrow keys move, Enter expands the detail and fix (wrapped
// to the width, scrolled with the arrows, PgUp/PgDn, Home/End and g/G), r runs the checks again,
// f applies the fix of the selected check, q or Esc quits. It only renders doctor data: the
// checks run in tea.Cmds through doctor.RunOne-style runs, so Update never blocks.
//
// The pane never asks the terminal anything (no background-colour or cursor query): its colours
// read on a dark and a light background alike, so it draws its first screen at once even on a
// terminal that never answers, and keys typed meanwhile reach it.
package doctorpane

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"compozy.dev/setup/doctor"
)

// Session is one run's worth of checks, built fresh for every run (re-run, after a fix).
type Session struct {
	// Target is the database checked, secrets redacted.
	Target string
	Checks []doctor.Check
	// Shown[i] says whether Checks[i] is displayed (dependencies pulled in by --only are not).
	Shown []bool
	// Close releases what the checks opened.
	Close func()
	// ConfigInvalid marks a run whose configuration did not load. It belongs to the session:
	// a re-run after the user fixed the file loads it again.
	ConfigInvalid bool
}

// Options configure the pane.
type Options struct {
	// Prepare builds the checks for a run.
	Prepare func(ctx context.Context) (*Session, error)
	// Timeout bounds each check (doctor.RunOptions.Timeout: 0 is the default limit, and none
	// for an Unbounded check).
	Timeout time.Duration
	// Strict makes warnings fail the run (for the exit code and the summary).
	Strict bool
}

// KeyMap is the pane's keys; help is generated from it.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Expand, Rerun, Fix, Yes, Quit key.Binding
}

// DefaultKeyMap returns the pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "end")),
		Expand:   key.NewBinding(key.WithKeys("enter", " "), key.WithHelp("enter", "details")),
		Rerun:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-run")),
		Fix:      key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "fix")),
		Yes:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "apply")),
		Quit:     key.NewBinding(key.WithKeys("q", "esc", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// Styles are the pane's colours, built from one renderer. They use no adaptive colour: each
// reads on a dark and a light background, so the pane needs no background query.
type Styles struct {
	Title, Group, Pass, Warn, Fail, Skip, Error, Cursor, Detail, Help, Note lipgloss.Style
}

// NewStyles builds the styles on r.
func NewStyles(r *lipgloss.Renderer) Styles {
	return Styles{
		Title:  r.NewStyle().Bold(true),
		Group:  r.NewStyle().Bold(true).Foreground(lipgloss.Color("5")), // the terminal's own magenta
		Pass:   r.NewStyle().Foreground(lipgloss.Color("2")),
		Warn:   r.NewStyle().Foreground(lipgloss.Color("214")),
		Fail:   r.NewStyle().Foreground(lipgloss.Color("196")).Bold(true),
		Skip:   r.NewStyle().Faint(true),
		Error:  r.NewStyle().Foreground(lipgloss.Color("201")).Bold(true),
		Cursor: r.NewStyle().Bold(true).Foreground(lipgloss.Color("99")),
		Detail: r.NewStyle().Faint(true),
		Help:   r.NewStyle().Faint(true),
		Note:   r.NewStyle().Italic(true),
	}
}

// item is one displayed check.
type item struct {
	check  doctor.Check
	index  int // in the session's Checks
	result doctor.Result
	done   bool
}

// Model is the pane.
type Model struct {
	ctx    context.Context
	opts   Options
	keys   KeyMap
	styles Styles
	spin   spinner.Model

	session *Session
	items   []item
	// progress is what running checks last reported, shared with the run's goroutines.
	progress *progressBoard
	gen      int // run generation: results of older runs are dropped
	running  bool
	start    time.Time
	elapsed  time.Duration

	cursor int
	// moved is set once the user moved the cursor; until then it follows the first failure
	// (or warning) as results come in.
	moved    bool
	offset   int // the first body line shown
	expanded map[string]bool
	confirm  bool // asking whether to apply the selected fix
	note     string
	width    int
	height   int
	quitting bool
	aborted  bool
}

// New returns the pane. ctx bounds every run; it is the program's lifetime.
func New(ctx context.Context, opts Options, r *lipgloss.Renderer) Model {
	sp := spinner.New(spinner.WithSpinner(spinner.MiniDot))
	return Model{ctx: ctx, opts: opts, keys: DefaultKeyMap(), styles: NewStyles(r), spin: sp,
		expanded: map[string]bool{}, width: 100, height: 30, gen: 1, running: true, progress: &progressBoard{}}
}

// progressBoard holds the last progress (doctor.Progress) of each running check of one run.
// The checks write it from their goroutines; the view reads it at every redraw (the spinner
// redraws several times a second), so progress needs no message of its own.
type progressBoard struct {
	mu   sync.Mutex
	gen  int
	text map[int]string
}

func (b *progressBoard) set(gen, i int, text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen {
		b.gen, b.text = gen, map[int]string{}
	}
	b.text[i] = text
}

// get is the last progress of check i in run gen, "" when it reported none.
func (b *progressBoard) get(gen, i int) string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen {
		return ""
	}
	return b.text[i]
}

// Messages.
type (
	sessionMsg struct {
		gen     int
		session *Session
		err     error
	}
	resultMsg struct {
		gen    int
		index  int
		result doctor.Result
		ch     <-chan indexed
	}
	runDoneMsg struct{ gen int }
	fixedMsg   struct {
		label, plan string
		err         error
	}
)

type indexed struct {
	i int
	r doctor.Result
}

// Init starts the first run.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.spin.Tick, m.prepare(m.gen))
}

func (m Model) prepare(gen int) tea.Cmd {
	ctx, prep := m.ctx, m.opts.Prepare
	return func() tea.Msg {
		s, err := prep(ctx)
		return sessionMsg{gen: gen, session: s, err: err}
	}
}

// startRun runs the session's checks in the background and returns the command that waits for
// the first result.
func startRun(ctx context.Context, gen int, s *Session, timeout time.Duration, progress *progressBoard) tea.Cmd {
	ch := make(chan indexed, len(s.Checks))
	go func() {
		doctor.Run(ctx, s.Checks, doctor.RunOptions{Timeout: timeout, OnResult: func(i int, r doctor.Result) {
			ch <- indexed{i, r}
		}, OnProgress: func(i int, text string) { progress.set(gen, i, text) }})
		close(ch)
	}()
	return wait(gen, ch)
}

func wait(gen int, ch <-chan indexed) tea.Cmd {
	return func() tea.Msg {
		x, ok := <-ch
		if !ok {
			return runDoneMsg{gen: gen}
		}
		return resultMsg{gen: gen, index: x.i, result: x.r, ch: ch}
	}
}

// Update records results and moves the cursor; it never waits for a check.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	nm, cmd := m.update(msg)
	nm.settle()
	return nm, cmd
}

func (m Model) update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case sessionMsg:
		if msg.gen != m.gen {
			if msg.session != nil && msg.session.Close != nil {
				msg.session.Close()
			}
			return m, nil
		}
		if msg.err != nil {
			m.note = "cannot prepare the checks: " + msg.err.Error()
			m.running = false
			return m, nil
		}
		m.closeSession()
		m.session = msg.session
		m.items = m.items[:0]
		for i, c := range msg.session.Checks {
			if i < len(msg.session.Shown) && !msg.session.Shown[i] {
				continue
			}
			m.items = append(m.items, item{check: c, index: i})
		}
		m.cursor = min(m.cursor, max(len(m.items)-1, 0))
		m.running, m.start = true, time.Now()
		return m, startRun(m.ctx, m.gen, msg.session, m.opts.Timeout, m.progress)
	case resultMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		for i := range m.items {
			if m.items[i].index == msg.index {
				m.items[i].result, m.items[i].done = msg.result, true
			}
		}
		if !m.moved {
			m.cursor = m.firstProblem()
			m.showSelected()
		}
		return m, wait(msg.gen, msg.ch)
	case runDoneMsg:
		if msg.gen == m.gen {
			m.running = false
			m.elapsed = time.Since(m.start)
		}
		return m, nil
	case fixedMsg:
		if msg.err != nil {
			m.note = fmt.Sprintf("fix of %s failed: %v", msg.label, msg.err)
			return m, nil
		}
		m.note = fmt.Sprintf("fixed %s: %s; checking again", msg.label, msg.plan)
		return m, m.rerun()
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

// firstProblem is the index of the first failed (or crashed) check, else of the first warning,
// else 0.
func (m Model) firstProblem() int {
	warn := -1
	for i, it := range m.items {
		if !it.done {
			continue
		}
		switch it.result.Status {
		case doctor.StatusFail, doctor.StatusError:
			return i
		case doctor.StatusWarn:
			if warn < 0 {
				warn = i
			}
		}
	}
	return max(warn, 0)
}

func (m *Model) rerun() tea.Cmd {
	m.running = true
	m.gen++
	for i := range m.items {
		m.items[i].done = false
	}
	return m.prepare(m.gen)
}

func (m *Model) closeSession() {
	if m.session != nil && m.session.Close != nil {
		m.session.Close()
	}
	m.session = nil
}

func (m Model) key(msg tea.KeyMsg) (Model, tea.Cmd) {
	if msg.Type == tea.KeyCtrlC {
		m.quitting, m.aborted = true, true
		return m, tea.Quit
	}
	if m.confirm {
		m.confirm = false
		if key.Matches(msg, m.keys.Yes) {
			return m, m.applyFix()
		}
		m.note = "fix cancelled"
		return m, nil
	}
	// Several runes typed at once arrive as one KeyMsg ("jj"): handle each.
	keys := []tea.KeyMsg{msg}
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 {
		keys = keys[:0]
		for _, r := range msg.Runes {
			keys = append(keys, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		}
	}
	var cmds []tea.Cmd
	for _, k := range keys {
		switch {
		case key.Matches(k, m.keys.Quit):
			m.quitting = true
			return m, tea.Quit
		case key.Matches(k, m.keys.Up):
			m.moved = true
			m.lineUp()
		case key.Matches(k, m.keys.Down):
			m.moved = true
			m.lineDown()
		case key.Matches(k, m.keys.PageUp):
			m.moved = true
			m.page(-1)
		case key.Matches(k, m.keys.PageDown):
			m.moved = true
			m.page(1)
		case key.Matches(k, m.keys.Top):
			m.moved = true
			m.cursor, m.offset = 0, 0
		case key.Matches(k, m.keys.Bottom):
			m.moved = true
			m.cursor = max(len(m.items)-1, 0)
			m.offset = 1 << 30 // settle clamps it to the last page
		case key.Matches(k, m.keys.Expand):
			if it, ok := m.selected(); ok {
				id := key2(it)
				m.expanded[id] = !m.expanded[id]
				m.moved = true
				m.showSelected()
			}
		case key.Matches(k, m.keys.Rerun):
			if !m.running {
				m.note = ""
				cmds = append(cmds, m.rerun())
			}
		case key.Matches(k, m.keys.Fix):
			it, ok := m.selected()
			switch {
			case !ok || !it.done:
			case !it.result.Fixable || it.check.Repair == nil:
				m.note = it.check.ID + " has no automatic fix"
				if !it.result.Fix.IsZero() {
					m.note += "; press enter for what to do"
				}
			case it.check.Repair.Flag != "":
				// Ending another program's session (--terminate) is only for doctor --fix with
				// that flag, never a key press.
				m.note = fmt.Sprintf("%s: run compozy doctor --fix %s to %s", it.check.ID, it.check.Repair.Flag, it.check.Repair.Plan(it.result))
			case m.running:
				m.note = "wait for the run to finish"
			default:
				m.confirm = true
				m.note = ""
			}
		}
	}
	return m, tea.Batch(cmds...)
}

func key2(it item) string { return it.check.ID + "@" + it.check.Entry }

func (m Model) selected() (item, bool) {
	if m.cursor < 0 || m.cursor >= len(m.items) {
		return item{}, false
	}
	return m.items[m.cursor], true
}

func (m Model) applyFix() tea.Cmd {
	it, ok := m.selected()
	if !ok {
		return nil
	}
	ctx, r, rep := m.ctx, it.result, it.check.Repair
	label, plan := label(it.result), rep.Plan(it.result)
	return func() tea.Msg {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return fixedMsg{label: label, plan: plan, err: rep.Apply(fctx, r)}
	}
}

func label(r doctor.Result) string {
	if r.Entry != "" {
		return r.ID + " [" + r.Entry + "]"
	}
	return r.ID
}

func itemLabel(it item) string { return label(doctor.Result{ID: it.check.ID, Entry: it.check.Entry}) }

// Report is the last finished run, for the exit code and the plain report printed after quitting.
func (m Model) Report() doctor.Report {
	r := doctor.Report{Strict: m.opts.Strict, Duration: m.elapsed}
	if m.session != nil {
		r.Target = m.session.Target
		r.ConfigInvalid = m.session.ConfigInvalid
	}
	for _, it := range m.items {
		res := it.result
		if !it.done {
			res = doctor.Result{ID: it.check.ID, Group: it.check.Group, Title: it.check.Title, Entry: it.check.Entry,
				Status: doctor.StatusSkip, Summary: "not finished when the pane closed", Fix: doctor.Fix{Commands: []string{}}}
		}
		r.Results = append(r.Results, res)
	}
	return r
}

// Aborted reports whether the user left with Ctrl-C.
func (m Model) Aborted() bool { return m.aborted }

// Close releases the last session.
func (m *Model) Close() { m.closeSession() }

func (m Model) mark(it item) string {
	s := m.styles
	if !it.done {
		return m.spin.View()
	}
	switch it.result.Status {
	case doctor.StatusPass:
		return s.Pass.Render("✓")
	case doctor.StatusWarn:
		return s.Warn.Render("!")
	case doctor.StatusFail:
		return s.Fail.Render("✗")
	case doctor.StatusError:
		return s.Error.Render("☠")
	}
	return s.Skip.Render("-")
}
