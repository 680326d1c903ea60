package doctorpane

import (
	"context"
	"io"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"compozy.dev/setup/doctor"
)

// A fix that needs a flag besides --fix (postgres.locks' --terminate) is never applied from the
// pane: f names the command instead of asking.
func TestPaneNeverAppliesAGuardedFix(t *testing.T) {
	applied := false
	locks := doctor.Check{Info: doctor.Info{ID: doctor.IDPostgresLocks, Group: doctor.GroupPostgres, Title: "locks"},
		Run: func(context.Context) doctor.Result {
			r := doctor.Fail("PID 42 holds a lock", "", doctor.Fix{})
			r.Fixable = true
			return r
		},
		Repair: &doctor.Repair{Flag: "--terminate", Plan: func(doctor.Result) string { return "terminate 1 session: PID 42" },
			Apply: func(context.Context, doctor.Result) error { applied = true; return nil }}}
	m := New(t.Context(), Options{Prepare: func(context.Context) (*Session, error) {
		return &Session{Target: "postgres://x", Checks: []doctor.Check{locks}, Shown: []bool{true}}, nil
	}}, lipgloss.NewRenderer(io.Discard, termenv.WithProfile(termenv.Ascii)))
	m = drive(t, m, m.prepare(m.gen))
	for _, k := range []tea.KeyMsg{{Type: tea.KeyEnter}, {Type: tea.KeyRunes, Runes: []rune("f")}, {Type: tea.KeyRunes, Runes: []rune("y")}} {
		nm, cmd := m.Update(k)
		m = drive(t, nm.(Model), cmd)
	}
	v := m.View()
	if applied {
		t.Fatal("the pane applied a fix that needs --terminate")
	}
	for _, want := range []string{"compozy doctor --fix --terminate can: terminate 1 session: PID 42",
		"postgres.locks: run compozy doctor --fix --terminate to terminate 1 session: PID 42"} {
		if !strings.Contains(strings.Join(strings.Fields(v), " "), want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
}
