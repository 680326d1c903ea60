package doctorpane

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"compozy.dev/setup/doctor"
)

func fakeSession(fixed *bool) *Session {
	mk := func(id, group string, run func(context.Context) doctor.Result) doctor.Check {
		return doctor.Check{Info: doctor.Info{ID: id, Group: group, Title: id}, Run: run}
	}
	warn := mk("sqlite.permissions", doctor.GroupSQLite, func(context.Context) doctor.Result {
		if *fixed {
			return doctor.Pass("mode 0600")
		}
		r := doctor.Warn("mode 0644 lets others read", "", doctor.Cmds("make it private", "chmod 600 db"))
		r.Fixable = true
		return r
	})
	warn.Repair = &doctor.Repair{Plan: func(doctor.Result) string { return "chmod 600 db" },
		Apply: func(context.Context, doctor.Result) error { *fixed = true; return nil }}
	return &Session{Target: "sqlite /x/db", Checks: []doctor.Check{
		mk("config.file", doctor.GroupConfig, func(context.Context) doctor.Result { return doctor.Pass("read compozy.yaml") }),
		mk("hidden.dep", doctor.GroupConfig, func(context.Context) doctor.Result { return doctor.Pass("") }),
		warn,
	}, Shown: []bool{true, false, true}}
}

// drive runs cmd and feeds its messages back into m until the run settles (no tick loop).
func drive(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		if batch, ok := msg.(tea.BatchMsg); ok {
			queue = append(queue, batch...)
			continue
		}
		if _, tick := msg.(spinner.TickMsg); tick || msg == nil {
			continue // the spinner would tick forever
		}
		nm, next := m.Update(msg)
		m = nm.(Model)
		queue = append(queue, next)
	}
	return m
}

func TestPaneRunExpandFixQuit(t *testing.T) {
	fixed := false
	m := New(t.Context(), Options{Prepare: func(context.Context) (*Session, error) { return fakeSession(&fixed), nil }},
		lipgloss.NewRenderer(io.Discard, termenv.WithProfile(termenv.Ascii)))
	m = drive(t, m, m.prepare(m.gen))
	v := m.View()
	for _, want := range []string{"compozy doctor  Target: sqlite /x/db", "Configuration", "> ✓ config.file", "! sqlite.permissions",
		"No failures; see the warnings. 1 passed, 1 warning (2 checks in"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "hidden.dep") {
		t.Errorf("a dependency pulled in by --only is shown:\n%s", v)
	}
	press := func(k string) tea.Cmd {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		nm, cmd := m.Update(msg)
		m = nm.(Model)
		return cmd
	}
	press("jj") // two runes in one message: moves once per rune, stops at the end
	press("enter")
	if v := m.View(); !strings.Contains(v, "> ! sqlite.permissions") || !strings.Contains(v, "$ chmod 600 db") ||
		!strings.Contains(v, "press f to apply: chmod 600 db") {
		t.Fatalf("expanded view:\n%s", v)
	}
	press("f")
	if v := m.View(); !strings.Contains(v, "Apply fix for sqlite.permissions: chmod 600 db? (y/n)") {
		t.Fatalf("no confirmation:\n%s", v)
	}
	m = drive(t, m, press("y"))
	if !fixed {
		t.Fatal("the fix was not applied")
	}
	if v := m.View(); !strings.Contains(v, "✓ sqlite.permissions") || !strings.Contains(v, "run 2") || !strings.Contains(v, "fixed sqlite.permissions") {
		t.Errorf("after the fix:\n%s", v)
	}
	if cmd := press("q"); cmd == nil {
		t.Fatal("q returned no command")
	}
	if got := m.Report().ExitCode(); got != 0 {
		t.Errorf("exit %d", got)
	}
}

// TestPaneRerunReloadsConfigState: the exit code follows the last run. A run whose config did not
// load exits 2; after the user mends the file and presses r, the new run decides.
func TestPaneRerunReloadsConfigState(t *testing.T) {
	fixed, runs := false, 0
	m := New(t.Context(), Options{Prepare: func(context.Context) (*Session, error) {
		runs++
		s := fakeSession(&fixed)
		s.ConfigInvalid = runs == 1
		return s, nil
	}}, lipgloss.NewRenderer(io.Discard, termenv.WithProfile(termenv.Ascii)))
	m = drive(t, m, m.prepare(m.gen))
	if got := m.Report().ExitCode(); got != 2 {
		t.Fatalf("first run, config invalid: exit %d, want 2", got)
	}
	nm, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")})
	m = drive(t, nm.(Model), cmd)
	if runs != 2 {
		t.Fatalf("r prepared %d runs, want 2", runs)
	}
	if got := m.Report().ExitCode(); got != 0 {
		t.Errorf("after the re-run with a valid config: exit %d, want 0", got)
	}
}
