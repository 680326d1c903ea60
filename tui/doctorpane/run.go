package doctorpane

import (
	"context"
	"fmt"
	"io"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/xo/terminfo"

	"compozy.dev/setup/doctor"
)

// Result is how the pane ended.
type Result struct {
	// Report is the last run, as it stood when the user quit.
	Report doctor.Report
	// Aborted is set when the user pressed Ctrl-C.
	Aborted bool
}

// CanDraw reports whether a terminal of type term (the TERM variable) can show the pane: the
// pane redraws in place, so the terminal must move its cursor. TERM=dumb, no TERM, and a type
// whose terminfo entry has no cursor addressing (cup) cannot; they get the plain report. A type
// the terminfo database here does not know is assumed to be able to, as Bubble Tea does.
func CanDraw(term string) bool {
	switch term {
	case "", "dumb":
		return false
	}
	ti, err := terminfo.Load(term)
	if err != nil {
		return true
	}
	return len(ti.Strings[terminfo.CursorAddress]) > 0
}

// Run shows the pane on the terminal behind in and out until the user quits. Nothing is asked
// of the terminal: the styles need no background colour (see NewStyles), so the first screen is
// drawn at once, and keys typed before it reach the pane.
func Run(ctx context.Context, opts Options, in io.Reader, out io.Writer, color bool) (Result, error) {
	r := lipgloss.NewRenderer(out)
	// Known, so that the renderer never asks (start-up set the default; see package termbg).
	r.SetHasDarkBackground(lipgloss.HasDarkBackground())
	if !color {
		r.SetColorProfile(termenv.Ascii)
	}
	m := New(ctx, opts, r)
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen())
	final, err := p.Run()
	fm, ok := final.(Model)
	if ok {
		defer fm.Close()
	}
	if err != nil {
		if ctx.Err() != nil { // interrupted from outside (SIGINT, SIGTERM)
			return Result{Aborted: true}, nil
		}
		return Result{}, fmt.Errorf("doctor pane: %w", err)
	}
	if !ok {
		return Result{}, fmt.Errorf("doctor pane: unexpected final model %T", final)
	}
	return Result{Report: fm.Report(), Aborted: fm.Aborted()}, nil
}
