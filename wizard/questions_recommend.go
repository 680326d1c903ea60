package wizard

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/huh"

	"compozy.dev/setup/wizard/prompt"
)

// recommended is the matrix's plan for the answers, without the user's own choice.
func (r *Run) recommended() Plan {
	p, _ := r.decideUnchosen()
	return p
}

// decideUnchosen runs the matrix on the answers with the driver and provider left open unless
// a flag gave them.
func (r *Run) decideUnchosen() (Plan, error) {
	a := r.answers()
	if !r.G.Driver {
		a.Driver = ""
	}
	if !r.G.Provider {
		a.Provider = ""
	}
	return Decide(a)
}

func (r *Run) askRecommend() (prompt.Question, error) {
	p, err := r.decideUnchosen()
	if err != nil {
		return prompt.Question{}, &FlagError{Flag: "--vector-provider", Err: err}
	}
	title := fmt.Sprintf("Use %s with vector DB %s?", p.Driver, p.Provider)
	return prompt.Question{Title: title, Pane: Recommendation(p),
		Field: huh.NewConfirm().Title(title).Affirmative("Accept").Negative("Choose myself").Value(&r.accept),
		Answer: func() string {
			if r.accept {
				return fmt.Sprintf("✓ Recommendation: accepted (%s + %s)", p.Driver, p.Provider)
			}
			return "✓ Recommendation: choosing myself"
		}}, nil
}

func (r *Run) askProvider() (prompt.Question, error) {
	providers := []string{ProviderQdrant, ProviderRedis, ProviderFilesystem}
	desc := ""
	if r.A.Driver == DriverPostgres {
		providers = append([]string{ProviderPgvector}, providers...)
	} else {
		desc = "SQLite has no vector search, and pgvector is a PostgreSQL extension: with SQLite the vectors need an external vector DB."
	}
	if !contains(providers, r.A.Provider) {
		a := r.A
		a.Provider = ""
		p, err := Decide(a)
		if err != nil {
			return prompt.Question{}, err
		}
		r.A.Provider = p.Provider
	}
	return selectQ("Vector DB", desc, &r.A.Provider, huh.NewOptions(providers...), func(s string) string { return s }), nil
}

// Recommendation is the text that shows a plan: the matrix row, the choice, the reasons and
// the warnings. It is plain text (no markup): key names such as
// runtime.max_concurrent_workflows show as written.
func Recommendation(p Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Recommendation\nMatrix row: %s\n", p.Row)
	fmt.Fprintf(&b, "Database: %s · Vector DB: %s\n", p.RecommendedDriver, p.RecommendedProvider)
	b.WriteString("Why:\n")
	for _, r := range p.Reasons {
		fmt.Fprintf(&b, "  - %s\n", r)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "Warning: %s\n", w)
	}
	return strings.TrimRight(b.String(), "\n")
}
