package doctorpane

import (
	"context"
	"fmt"
	"io"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/tui/termbg"
)

// Result is how the pane ended.
type Result struct {
	// Report is the last run, as it stood when the user quit.
	Report doctor.Report
	// Aborted is set when the user pressed Ctrl-C.
	Aborted bool
}

// Run shows the pane on the terminal behind in and out until the user quits.
func Run(ctx context.Context, opts Options, in io.Reader, out io.Writer, color bool) (Result, error) {
	// Ask the terminal for its background now, before the program owns the terminal (start-up
	// does not ask: see package termbg). A new renderer would otherwise ask on its first
	// AdaptiveColor, while the program reads the terminal and the reply is lost: a 5 s stall.
	termbg.Detect(out)
	r := lipgloss.NewRenderer(out)
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
