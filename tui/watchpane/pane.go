// Package watchpane draws `compozy doctor --watch` on a terminal: the latest sample of the
// database, redrawn every interval, until q (or Esc, Ctrl-C). It only draws doctor/watch's
// samples; the sampler reads, this package decides nothing.
package watchpane

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"compozy.dev/setup/doctor/watch"
)

// Sampler takes a sample (watch.Sampler).
type Sampler interface {
	Sample(ctx context.Context) watch.Sample
}

// Options shape the pane.
type Options struct {
	// Target is the database, redacted.
	Target   string
	Sampler  Sampler
	Interval time.Duration
	// Count stops the pane after that many samples; 0 means until the user quits.
	Count int
}

// Result is how the pane ended.
type Result struct {
	// Aborted is set for Esc, Ctrl-C, SIGINT or SIGTERM; q (or Count reached) is a normal end.
	Aborted bool
}

type keyMap struct{ Quit, Abort key.Binding }

var keys = keyMap{
	Quit:  key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	Abort: key.NewBinding(key.WithKeys("esc", "ctrl+c"), key.WithHelp("esc", "quit")),
}

type sampleMsg watch.Sample

type tickMsg struct{}

// Model is the pane.
type Model struct {
	ctx           context.Context
	opts          Options
	style         lipgloss.Style
	dim           lipgloss.Style
	last, prev    *watch.Sample
	n             int
	width, height int
	aborted, done bool
}

// New returns the pane's model.
func New(ctx context.Context, opts Options, r *lipgloss.Renderer) Model {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	return Model{ctx: ctx, opts: opts, width: 80, height: 24,
		style: r.NewStyle().Bold(true), dim: r.NewStyle().Faint(true)}
}

func (m Model) sample() tea.Cmd {
	return func() tea.Msg { return sampleMsg(m.opts.Sampler.Sample(m.ctx)) }
}

// Init takes the first sample.
func (m Model) Init() tea.Cmd { return m.sample() }

// Update records samples, schedules the next, and handles keys and resizes.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case sampleMsg:
		s := watch.Sample(msg)
		m.prev, m.last = m.last, &s
		m.n++
		if m.opts.Count > 0 && m.n >= m.opts.Count {
			m.done = true
			return m, tea.Quit
		}
		return m, tea.Tick(m.opts.Interval, func(time.Time) tea.Msg { return tickMsg{} })
	case tickMsg:
		return m, m.sample()
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, keys.Quit):
			m.done = true
			return m, tea.Quit
		case key.Matches(msg, keys.Abort):
			m.done, m.aborted = true, true
			return m, tea.Quit
		}
	}
	return m, nil
}

// Aborted reports whether the user left with Esc or Ctrl-C.
func (m Model) Aborted() bool { return m.aborted }

// View draws the latest sample, cut to the terminal's size.
func (m Model) View() string {
	lines := []string{
		m.style.Render("compozy doctor --watch") + "  " + m.opts.Target,
		m.dim.Render(fmt.Sprintf("every %s, changes nothing; q quits", m.opts.Interval)),
		"",
	}
	switch s := m.last; {
	case s == nil:
		lines = append(lines, "sampling…")
	case s.SQLite != nil:
		lines = append(lines, m.sqliteLines(s.SQLite)...)
	case s.Postgres != nil:
		lines = append(lines, postgresLines(s.Postgres)...)
	}
	if m.last != nil {
		lines = append(lines, "", m.dim.Render("sampled "+m.last.Time.Format(time.TimeOnly)))
		if m.last.Err != "" {
			lines = append(lines, "could not read: "+m.last.Err)
		}
	}
	if len(lines) > m.height && m.height > 0 {
		lines = lines[:m.height]
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.width, "…")
	}
	return strings.Join(lines, "\n")
}

func (m Model) sqliteLines(q *watch.SQLite) []string {
	writer := "none"
	if q.Writer != "" {
		writer = q.Writer
	}
	frames := "unknown (no -shm)"
	if q.WALFrames >= 0 {
		frames = fmt.Sprintf("%d frames, %d copied by checkpoints", q.WALFrames, q.Backfilled)
	}
	delta := ""
	if p := m.prev; p != nil && p.SQLite != nil {
		delta = fmt.Sprintf(" (%+d KB since the last sample)", (q.WALBytes-p.SQLite.WALBytes)/1024)
	}
	return []string{
		fmt.Sprintf("Database   %s, %d pages of %d bytes, %d free (%s)", size(q.DBBytes), q.Pages, q.PageSize, q.FreePages, size(q.FreePages*q.PageSize)),
		fmt.Sprintf("WAL        %s%s; %s", size(q.WALBytes), delta, frames),
		fmt.Sprintf("Checkpoints that restarted the WAL: %d", q.Restarts),
		fmt.Sprintf("Write lock %s; %s", writer, holders(q.Holders)),
		fmt.Sprintf("Busy       %d reads by this watch met a lock; the last took %s", q.Busy, q.ReadTime.Round(time.Millisecond)),
	}
}

// holders says how many processes hold a lock on the database file.
func holders(n int) string {
	if n == 1 {
		return "1 process holds a lock"
	}
	return strconv.Itoa(n) + " processes hold a lock"
}

func postgresLines(p *watch.Postgres) []string {
	blockers := "none"
	if len(p.Blockers) > 0 {
		ids := make([]string, len(p.Blockers))
		for i, b := range p.Blockers {
			ids[i] = "PID " + strconv.Itoa(b)
		}
		blockers = strings.Join(ids, ", ")
	}
	longest := "none"
	if p.LongestPID != 0 {
		longest = fmt.Sprintf("%s (PID %d)", p.LongestTx.Round(time.Millisecond), p.LongestPID)
	}
	dead := func(n int64) string {
		if n < 0 {
			return "no table"
		}
		return strconv.FormatInt(n, 10)
	}
	repl := fmt.Sprintf("%d standbys, largest replay lag %s", p.Replicas, p.Lag.Round(time.Millisecond))
	if p.Standby {
		repl = fmt.Sprintf("this server is a standby, %s behind its primary", p.Lag.Round(time.Millisecond))
	}
	return []string{
		fmt.Sprintf("Connections %d to this database: %d active, %d idle, %d idle in transaction, %d other", p.Total, p.Active, p.Idle, p.IdleInTx, p.Other),
		fmt.Sprintf("Budget      %d of %d client connections in use on the server", p.ServerTotal, p.Budget),
		fmt.Sprintf("Lock waits  %d, blocked by %s", p.LockWaits, blockers),
		fmt.Sprintf("Longest transaction %s", longest),
		fmt.Sprintf("Size        %s", size(p.DBBytes)),
		fmt.Sprintf("Dead tuples task_states %s, workflow_states %s", dead(p.DeadTasks), dead(p.DeadWorkflows)),
		fmt.Sprintf("Replication %s", repl),
	}
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Run shows the pane on the terminal behind in and out until the user quits, Count samples
// were drawn, or ctx ends (then Aborted).
func Run(ctx context.Context, opts Options, in io.Reader, out io.Writer, color bool) (Result, error) {
	r := lipgloss.NewRenderer(out)
	r.SetHasDarkBackground(lipgloss.HasDarkBackground()) // known: the renderer never asks
	if !color {
		r.SetColorProfile(termenv.Ascii)
	}
	p := tea.NewProgram(New(ctx, opts, r), tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen())
	final, err := p.Run()
	if err != nil {
		if ctx.Err() != nil {
			return Result{Aborted: true}, nil
		}
		return Result{}, fmt.Errorf("watch pane: %w", err)
	}
	fm, _ := final.(Model)
	return Result{Aborted: fm.Aborted()}, nil
}
