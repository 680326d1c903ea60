package wizard

import (
	"context"
	"errors"
	"strings"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/wizard/prompt"
)

// next is what the run does after the connection test.
type next int

const (
	nextWrite next = iota // write the file
	nextAsk               // ask the answers again, from the recommendation
	nextAgain             // render and test again: a choice changed the settings (no question)
)

// test checks the connections before anything is written. It says whether to write, to ask
// the answers again, or to test again with settings a choice changed.
func (r *Run) test(ctx context.Context, cfg *config.Config) (next, error) {
	if r.opts.SkipTest {
		return nextWrite, nil
	}
	stop := r.ui.Busy("Testing the connections…")
	results := TestConnections(ctx, cfg, r.Getenv)
	stop()
	if ctx.Err() != nil {
		return nextWrite, ErrInterrupted
	}
	var failed []string
	var conflict *Conflict
	others := 0
	noPgvector := false
	for _, res := range results {
		mark := "✓"
		if !res.OK {
			mark = "✗"
			failed = append(failed, res.Line)
			noPgvector = noPgvector || res.NoPgvector
			if res.Conflict != nil && conflict == nil && r.answered(res.Conflict) {
				conflict = res.Conflict
			} else {
				others++
			}
		}
		r.println("%s %s", mark, res.Line)
	}
	if len(failed) == 0 {
		return nextWrite, nil
	}
	if conflict != nil && others == 0 {
		return r.resolve(ctx, conflict)
	}
	if !r.opts.Interactive {
		msg := "connection test failed; nothing was written (fix the settings, or pass --skip-test to write anyway)"
		if noPgvector {
			msg += "\n  " + noPgvectorHint + ": name it with --vector-url " + pgvectorURLExample
		}
		return nextWrite, &FailedError{errors.New(msg)}
	}
	desc := strings.Join(failed, "\n")
	choices := []string{"Change the answers", "Write anyway", "Quit without writing"}
	if noPgvector {
		desc += "\n" + noPgvectorHint + " (in a script: --vector-url " + pgvectorURLExample + ")."
		choices = append([]string{"Use another PostgreSQL server for pgvector"}, choices...)
	}
	for {
		choice, err := r.choose(ctx, "The connection test failed.", desc, choices...)
		if err != nil {
			return nextWrite, err
		}
		if noPgvector {
			if choice == 0 {
				ok, err := r.askPgvectorURL(ctx)
				if err != nil {
					return nextWrite, err
				}
				if !ok {
					continue // back: the choice again
				}
				return nextAgain, nil
			}
			choice--
		}
		switch choice {
		case 0:
			return nextAsk, nil
		case 1:
			return nextWrite, nil
		}
		return nextWrite, &QuitError{Message: "Nothing was written."}
	}
}

// noPgvectorHint is what to do about a PostgreSQL that has no pgvector to create; the
// connection test's line has said what the server lacks.
const noPgvectorHint = "This PostgreSQL has no pgvector extension: put pgvector on another PostgreSQL server that has it " +
	"(or install it on this one, or choose another vector DB)"

// pgvectorURLExample is the shape of a pgvector server's URL, for the messages.
const pgvectorURLExample = "postgres://USER@HOST:5432/DB"

// askPgvectorURL asks for the URL of another PostgreSQL server for pgvector (the form's own
// question). It returns false when the user went back.
func (r *Run) askPgvectorURL(ctx context.Context) (bool, error) {
	st := r.vectorURLStep()
	q, err := st.ask()
	if err != nil {
		return false, err
	}
	for {
		out, err := r.ui.Ask(ctx, q)
		if err != nil {
			return false, err
		}
		if out == prompt.Back {
			return false, nil
		}
		if err := st.done(); err != nil {
			r.println("✗ %s: %v", q.Title, err)
			continue
		}
		r.pgvWhere = pgvOther
		return true, nil
	}
}
