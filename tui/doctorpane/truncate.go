package doctorpane

import "github.com/charmbracelet/x/ansi"

func ansiTruncate(s string, w int) string { return ansi.Truncate(s, w, "…") }
