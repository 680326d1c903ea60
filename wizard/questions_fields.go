package wizard

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/huh"

	"compozy.dev/setup/wizard/prompt"
)

// selectQ is a list question.
func selectQ[T comparable](title, desc string, v *T, opts []huh.Option[T], label func(T) string) prompt.Question {
	f := huh.NewSelect[T]().Title(title).Options(opts...).Value(v)
	if desc != "" {
		f = f.Description(desc)
	}
	return prompt.Question{Title: title, Field: f, Answer: func() string { return "✓ " + title + " " + label(*v) }}
}

// confirmQ is a yes/no question.
func (r *Run) confirmQ(title, desc, yes, no string, v *bool) prompt.Question {
	f := huh.NewConfirm().Title(title).Affirmative(yes).Negative(no).Value(v)
	if desc != "" {
		f = f.Description(desc)
	}
	return prompt.Question{Title: title, Field: f, Answer: func() string {
		if *v {
			return "✓ " + title + " " + yes
		}
		return "✓ " + title + " " + no
	}}
}

// input asks for one text value, checked as it is typed. In accessible mode an empty line
// keeps the current value, which the title shows (the prompt itself does not).
func (r *Run) input(title, desc string, v *string, check func(string) error) prompt.Question {
	def := *v
	shown := title
	if r.opts.Accessible && def != "" {
		shown += " (Enter for " + def + ")"
	}
	validate := func(s string) error {
		if strings.TrimSpace(s) == "" && r.opts.Accessible && def != "" {
			return nil
		}
		if check != nil {
			return check(s)
		}
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("enter the %s", strings.ToLower(title))
		}
		return nil
	}
	f := huh.NewInput().Title(shown).Value(v).Validate(validate)
	if desc != "" {
		f = f.Description(desc)
	}
	return prompt.Question{Title: title, Field: f, Answer: func() string { return "✓ " + title + ": " + strings.TrimSpace(*v) }}
}

func options[T ~string](vals []T, label func(T) string) []huh.Option[T] {
	out := make([]huh.Option[T], len(vals))
	for i, v := range vals {
		out[i] = huh.NewOption(label(v), v)
	}
	return out
}
