// Package termbg keeps Bubble Tea v1 from stalling start-up on a terminal that never answers.
//
// Bubble Tea v1's package init asks the terminal for its background colour (OSC 11) and waits
// up to five seconds for the answer, in every command, even `compozy --version`. This package's
// init runs first and tells Lip Gloss the background is already known, so nothing is asked at
// start-up; Detect asks later, only when a TUI is about to start.
//
// The ordering is guaranteed by the Go specification (since Go 1.21): packages are initialised
// in the order of their sorted import paths, as soon as their own imports are initialised. This
// package imports only Lip Gloss and termenv, and the module path (compozy.dev/setup) sorts
// before github.com/charmbracelet/bubbletea, so this init runs before Bubble Tea's. A test
// checks that the built binary writes no query to a terminal.
package termbg

import (
	"io"
	"os"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func init() {
	// Dark is what the query would default to when the terminal does not answer.
	lipgloss.SetHasDarkBackground(true)
}

// Detect asks the terminal behind out for its background colour, and tells Lip Gloss. Call it
// just before a Bubble Tea program or huh form starts, while nothing else reads the terminal.
// It does nothing unless out is a terminal.
func Detect(out io.Writer) {
	f, ok := out.(*os.File)
	if !ok {
		return
	}
	lipgloss.SetHasDarkBackground(termenv.NewOutput(f).HasDarkBackground())
}
