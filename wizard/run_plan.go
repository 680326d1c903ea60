package wizard

import (
	"context"
	"fmt"
)

// settle completes the answers and settings: by questions from step from (interactive), or
// by the defaults and the flags; it returns the plan.
func (r *Run) settle(ctx context.Context, from string) (Plan, error) {
	if r.opts.Interactive && !r.direct() {
		if err := r.questions(ctx, from); err != nil {
			return Plan{}, err
		}
		return r.plan()
	}
	var p Plan
	var err error
	if r.direct() {
		p, err = Direct(r.A.Driver, r.A.Provider)
	} else {
		Defaults(&r.A, r.G)
		p, err = Decide(r.answers())
	}
	if err != nil {
		return Plan{}, &FlagError{Flag: "the flags", Err: err}
	}
	SettingsDefaults(&r.S, r.G)
	if err := r.S.Validate(p, r.base()); err != nil {
		return Plan{}, err
	}
	if p.Driver == DriverPostgres {
		if note := ConnStringSSLNote(r.S.ConnString); note != "" {
			fmt.Fprintln(r.env.ErrOut, "warning: --db-conn-string: "+note)
		}
	}
	return p, nil
}

// plan is the plan of the answers so far.
func (r *Run) plan() (Plan, error) {
	if r.direct() {
		return Direct(r.A.Driver, r.A.Provider)
	}
	return Decide(r.answers())
}

// answers are the matrix answers with the server pgvector is on, from the vector URL (none:
// inside the database's own PostgreSQL).
func (r *Run) answers() Answers {
	a := r.A
	a.PgvectorServer = PgvectorServer(r.S.VectorURL)
	return a
}

func (r *Run) printPlan(p Plan) {
	r.println("Plan: %s + vector DB %s (%s)", p.Driver, p.Provider, p.Row)
	for _, reason := range p.Reasons {
		r.println("  - %s", reason)
	}
	for _, warn := range p.Warnings {
		r.println("  ! %s", warn)
	}
	if p.Driver == DriverPostgres && r.S.ConnString == "" && !IsLocalHost(r.S.Host) && r.S.SSLMode == "require" && !r.G.SSLMode {
		r.println("  - ssl_mode require: %s", SSLExplanation(r.S.Host))
	}
}
