package wizard

import (
	"context"
	"fmt"
	"strings"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/templates"
)

// checkExisting reports a file that does not load before anything is asked. When the fault is
// in the sections init replaces, it says so and goes on; otherwise (or when the file cannot be
// updated in place) it stops here, so that no answer is lost to it.
func (r *Run) checkExisting(ctx context.Context, existing []byte) error {
	t := r.env.Target
	_, loadErr := config.LoadBytes(ctx, t.Path, existing, config.LoadOptions{WorkDir: r.env.Load.WorkDir, Getenv: r.env.Load.Getenv, Environ: r.env.Load.Environ})
	if loadErr == nil {
		return nil
	}
	probe, _ := Decide(Answers{UseCase: UseDev, Workflows: Workflows1to10, Vectors: true, Available: AvailNone})
	merged, err := Merge(existing, Data(probe, DefaultSettings()))
	if err != nil {
		if r.opts.Force {
			return nil // replaced whole (render says so)
		}
		return &RefusedError{fmt.Errorf("%s cannot be updated in place: %w; fix the file, or pass --force to replace it whole (a backup is kept)", t.Shown, err)}
	}
	if _, err := LoadContent(ctx, t.Path, merged, r.env.Load, ""); err != nil {
		return &RefusedError{fmt.Errorf("%s does not load: %v\n  init replaces only database: and knowledge.vector_dbs, so fix the rest first (compozy config validate lists every problem), or pass -o FILE to write another file", t.Shown, loadErr)}
	}
	r.println("! %s does not load as it is (%s); init replaces the sections at fault.", t.Shown, firstLine(loadErr.Error()))
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// render produces the file's new content: the whole file, or the existing one with the owned
// sections replaced.
func (r *Run) render(existing []byte, exists bool, plan Plan) ([]byte, error) {
	if exists {
		if _, hasVectors, err := Sections(existing); err == nil && hasVectors {
			plan = plan.KeepingVectorDBs()
		}
	}
	data := Data(plan, r.S)
	if !exists {
		return templates.Render(data)
	}
	out, err := Merge(existing, data)
	if err == nil {
		return out, nil
	}
	if r.opts.Force {
		r.println("%s cannot be updated in place (%v); --force replaces it whole (a backup is kept).", r.env.Target.Shown, err)
		return templates.Render(data)
	}
	return nil, &RefusedError{fmt.Errorf("update %s: %w; fix the file, or pass --force to replace it whole (a backup is kept)", r.env.Target.Shown, err)}
}

// load loads content as the file it will be, with the password the test will use.
func (r *Run) load(ctx context.Context, content []byte) (*config.Config, error) {
	cfg, err := LoadContent(ctx, r.env.Target.Path, content, r.loadEnv(), r.Password)
	if err != nil {
		return nil, fmt.Errorf("the file to write does not load (nothing was written): %w", err)
	}
	if r.Password == "" {
		cfg.Database.Password = ""
	} else {
		cfg.Database.PasswordSource = r.passwordFrom()
	}
	return cfg, nil
}
