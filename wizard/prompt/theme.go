package prompt

import (
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
)

// bracket marks the chosen button with [ and ], which colour alone does without colour.
var bracket = lipgloss.Border{Left: "[", Right: "]"}

// Theme is huh's Charm theme; without colour the chosen Yes/No button reads [Yes] and the other
// one pads to the same width, so that the choice is visible in plain text too (a list's choice
// already has its "> ").
func Theme(color bool) *huh.Theme {
	t := huh.ThemeCharm()
	if color {
		return t
	}
	for _, s := range []*huh.FieldStyles{&t.Focused, &t.Blurred} {
		s.FocusedButton = lipgloss.NewStyle().Border(bracket, false, true, false, true).MarginRight(1)
		s.BlurredButton = lipgloss.NewStyle().Padding(0, 1).MarginRight(1)
	}
	return t
}
