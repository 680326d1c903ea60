package wizard

import (
	"context"
	"strings"

	"github.com/charmbracelet/huh"

	"compozy.dev/setup/wizard/prompt"
)

// choose asks one question with fixed answers and returns the index chosen. Shift-Tab is not
// offered: what it answers was computed from everything before.
func (r *Run) choose(ctx context.Context, title, description string, choices ...string) (int, error) {
	idx := 0
	opts := make([]huh.Option[int], len(choices))
	for i, c := range choices {
		opts[i] = huh.NewOption(c, i)
	}
	_, err := r.ui.Ask(ctx, prompt.Question{Title: title, First: true,
		Field:  huh.NewSelect[int]().Title(title).Description(description).Options(opts...).Value(&idx),
		Answer: func() string { return "✓ " + title + " " + choices[idx] }})
	return idx, err
}

// confirm asks a yes/no question.
func (r *Run) confirm(ctx context.Context, title string, def bool) (bool, error) {
	v := def
	_, err := r.ui.Ask(ctx, prompt.Question{Title: title, First: true,
		Field:  huh.NewConfirm().Title(title).Affirmative("Yes").Negative("No").Value(&v),
		Answer: func() string { return "✓ " + title + " " + yesNo(v) }})
	return v, err
}

// lineWriter shows what is written to it through a UI, line by line.
type lineWriter struct{ ui prompt.UI }

func (w lineWriter) Write(p []byte) (int, error) {
	w.ui.Println(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}
