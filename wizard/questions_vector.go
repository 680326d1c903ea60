package wizard

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/huh"

	"compozy.dev/setup/wizard/prompt"
)

// pgvectorElsewhere says the plan puts pgvector beside a PostgreSQL database, so that where it
// lives is a question: in that PostgreSQL, or on another server.
func (r *Run) pgvectorElsewhere() bool {
	p := r.planNow()
	return p.Driver == DriverPostgres && p.Provider == ProviderPgvector
}

// Where pgvector lives, as the form's answer.
const (
	pgvSame  = "same"
	pgvOther = "other"
)

// pgvectorWhereStep asks whether pgvector lives in the PostgreSQL above (the default) or on
// another server, whose URL the next question asks.
func (r *Run) pgvectorWhereStep() step {
	return step{id: stepPgvWhere,
		when: func() bool { return r.pgvectorElsewhere() && !r.G.VectorURL },
		ask: func() (prompt.Question, error) {
			if r.pgvWhere == "" {
				r.pgvWhere = pgvSame
				if r.S.VectorURL != "" && ValidateVectorURL(ProviderPgvector, r.S.VectorURL) == nil {
					r.pgvWhere = pgvOther
				}
			}
			opts := []huh.Option[string]{
				huh.NewOption("In the same PostgreSQL (CREATE EXTENSION vector there)", pgvSame),
				huh.NewOption("On another PostgreSQL server (its URL is asked next)", pgvOther),
			}
			return selectQ("Where is pgvector?", "The vector tables can live in the PostgreSQL above, or on another server that has the pgvector extension.",
				&r.pgvWhere, opts, func(s string) string {
					if s == pgvOther {
						return "on another PostgreSQL server"
					}
					return "in the same PostgreSQL"
				}), nil
		},
		done: func() error {
			if r.pgvWhere == pgvSame {
				r.S.VectorURL, r.S.VectorSecrets = "", nil
			}
			return nil
		}}
}

func (r *Run) vectorURLStep() step {
	var text, prev string
	provider := func() string { return r.planNow().Provider }
	return step{id: stepVectorURL,
		when: func() bool {
			p := provider()
			if p == ProviderPgvector {
				return r.pgvectorElsewhere() && r.pgvWhere == pgvOther && !r.G.VectorURL
			}
			return (p == ProviderQdrant || p == ProviderRedis) && !r.G.VectorURL
		},
		ask: func() (prompt.Question, error) {
			p := provider()
			if r.S.VectorURL == "" || ValidateVectorURL(p, r.S.VectorURL) != nil {
				r.S.VectorURL, r.S.VectorSecrets = DefaultVectorURL(p), nil
			}
			text, prev = r.S.VectorURL, r.S.VectorURL
			title, desc := p+" URL", "A password or api_key in it is moved out of the file: the file reads it from ${"+VectorPasswordEnv+"} or ${"+VectorAPIKeyEnv+"}."
			if p == ProviderPgvector {
				title = "pgvector server URL"
				desc = "The PostgreSQL server with the pgvector extension: postgres://user@host:5432/vectors?sslmode=require. " +
					"A password in it is moved out of the file: the file reads it from ${" + VectorPasswordEnv + "}."
			}
			q := r.input(title, desc, &text, func(s string) error { return ValidateVectorURL(p, s) })
			q.Mask = func(view string) string { return maskView(view, text, true) }
			q.Answer = func() string {
				clean, _, err := SplitVectorURL(NormalizeURL(text))
				if err != nil {
					return ""
				}
				if secrets := References(clean); len(secrets) > 0 {
					return "✓ " + title + ": " + clean + " (its secret goes to ${" + strings.Join(secrets, "} and ${") + "}, not into the file)"
				}
				return "✓ " + title + ": " + clean
			}
			return q, nil
		},
		done: func() error {
			clean, secrets, err := SplitVectorURL(NormalizeURL(text))
			if err != nil {
				return err
			}
			if clean != prev || len(secrets) > 0 {
				// Kept as it was (asked again), the URL still reads the secrets taken out of it
				// the first time.
				r.S.VectorURL, r.S.VectorSecrets = clean, secrets
			}
			return nil
		}}
}

func (r *Run) dimensionStep() step {
	var text string
	return step{id: stepDimension,
		when: func() bool {
			p := r.planNow().Provider
			return p != ProviderNone && p != "" && !r.G.Dimension
		},
		ask: func() (prompt.Question, error) {
			text = strconv.Itoa(r.S.Dimension)
			return r.input("Embedding dimension", "The length of the embedding model's vectors (1536 for OpenAI text-embedding-3-small).",
				&text, func(s string) error { _, err := ParseDimension(s); return err }), nil
		},
		done: func() error {
			d, err := ParseDimension(text)
			r.S.Dimension = d
			return err
		}}
}
