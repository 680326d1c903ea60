package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/charmbracelet/huh"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/wizard/prompt"
)

// Env is what a run needs from the command that starts it.
type Env struct {
	Target Target
	Load   LoadEnv
	// Out and ErrOut are the command's streams: a run without questions prints to them; a run
	// with questions prints through its UI.
	Out, ErrOut io.Writer
	// Copy copies the data of the database the new file leaves behind into the new one (the
	// "switch and copy" answer), printing its progress to w.
	Copy func(ctx context.Context, w io.Writer, held *Held, next config.Database) error
}

// Options are the command's switches.
type Options struct {
	Force, Update, Yes, DryRun, SkipTest, Migrate bool
	// Interactive says the UI may ask; Accessible that it asks line by line.
	Interactive, Accessible bool
}

// Run is one `compozy init`: the answers and settings the flags gave, completed by questions
// (or by the defaults), then the file rendered, checked, tested and written.
type Run struct {
	env  Env
	opts Options
	ui   prompt.UI

	A Answers
	S Settings
	G Given
	// Password is the PostgreSQL password the connection test uses; the file never holds it.
	Password string
	// PasswordFrom says where a Password given before the questions came from ("flag
	// --db-password-stdin", "env COMPOZY_DB_PASSWORD", "flag --db-conn-string"), for the message
	// of an authentication failure.
	PasswordFrom string

	urlPassword   bool   // Password came from a connection string typed in the form
	passwordTyped bool   // Password was typed at the password question
	how           string // how the form connects to PostgreSQL: "fields" or "url"
	sslOffered    string // the ssl_mode the form preselected last
	accept        bool   // the recommendation was accepted
	pgvWhere      string // where pgvector lives: pgvSame or pgvOther ("" before it is asked)
	pwNoted       bool
}

// Result is what a finished run wrote, and what the command does next.
type Result struct {
	Config *config.Config
	// Envs are the variables the written file reads (the password, a vector DB's secrets).
	Envs []string
	// RunNow says to apply the migrations and run the doctor now (--migrate, or the answer).
	RunNow bool
	// DryRun says the YAML was printed, and nothing written.
	DryRun bool
	// Getenv is the environment with the secrets the answers held (for the doctor's checks).
	Getenv func(string) string
}

// QuitError ends a run that the user left on purpose: Message says so; the exit status is 0.
type QuitError struct{ Message string }

func (e *QuitError) Error() string { return e.Message }

// RefusedError is a run refused before anything was asked or written (exit 2): the message
// says what to do.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// FailedError is a connection test that failed in a run without questions (exit 1).
type FailedError struct{ Err error }

func (e *FailedError) Error() string { return e.Err.Error() }
func (e *FailedError) Unwrap() error { return e.Err }

// ErrInterrupted is returned after Ctrl-C: nothing was written.
var ErrInterrupted = prompt.ErrInterrupted

// NewRun prepares a run. a, s and g come from the flags; password is the one given on standard
// input, in the environment or in --db-conn-string (for the connection test only).
func NewRun(env Env, opts Options, ui prompt.UI, a Answers, s Settings, g Given, password string) *Run {
	r := &Run{env: env, opts: opts, ui: ui, A: a, S: s, G: g, Password: password, accept: true, sslOffered: s.SSLMode}
	if r.S.ConnString != "" {
		r.how = "url"
	} else {
		r.how = "fields"
	}
	if password != "" {
		r.S.Password = true
	}
	return r
}

// passwordFrom says where the password the connection test uses came from.
func (r *Run) passwordFrom() string {
	switch {
	case r.urlPassword:
		return "the connection string typed in init"
	case r.PasswordFrom != "" && !r.passwordTyped:
		return r.PasswordFrom
	}
	return "the password typed in init"
}

func (r *Run) println(format string, args ...any) { r.ui.Println(fmt.Sprintf(format, args...)) }

// base is the config file's folder: relative paths in it are relative to it.
func (r *Run) base() string { return filepath.Dir(r.env.Target.Path) }

// Getenv is the environment, with the secrets taken out of a vector DB URL: the written file
// reads them from ${VAR} references, and the connection test uses what the URL held, as the
// user's environment will.
func (r *Run) Getenv(k string) string {
	for _, sec := range r.S.VectorSecrets {
		if sec.Env == k {
			return sec.Value
		}
	}
	return r.env.Load.Getenv(k)
}

func (r *Run) loadEnv() LoadEnv {
	return LoadEnv{WorkDir: r.env.Load.WorkDir, Getenv: r.Getenv, Environ: r.env.Load.Environ}
}

// direct says the driver and the vector DB were both named by flags without a use case: the
// matrix questions are not asked, and neither are the settings (their defaults and flags
// stand).
func (r *Run) direct() bool { return r.G.ByFlags() && !r.G.UseCase }

// Do runs the wizard to the end: questions (or defaults), the file, the checks, the connection
// test, the write.
func (r *Run) Do(ctx context.Context) (*Result, error) {
	t := r.env.Target
	existing, exists, err := t.Read()
	if err != nil {
		return nil, err
	}
	if exists {
		// A file that does not load is said before the first question, not after the last.
		if err := r.checkExisting(ctx, existing); err != nil {
			return nil, err
		}
	}
	if exists && !r.opts.Force && !r.opts.Update && !r.opts.DryRun {
		if !r.opts.Interactive {
			return nil, &RefusedError{fmt.Errorf("%s exists and is kept: pass --update to replace only its database: and knowledge.vector_dbs (a backup is written first), or -o FILE to write another file", t.Shown)}
		}
		ok := true
		title := fmt.Sprintf("%s exists. Update its database: and knowledge.vector_dbs, keeping everything else (a backup is written first)?", t.Shown)
		if _, err := r.ui.Ask(ctx, prompt.Question{Title: title, First: true,
			Field:  huh.NewConfirm().Title(title).Affirmative("Yes").Negative("No").Value(&ok),
			Answer: func() string { return "✓ Update " + t.Shown + ": " + yesNo(ok) }}); err != nil {
			return nil, err
		}
		if !ok {
			return nil, &QuitError{Message: t.Shown + " is kept as it is; nothing was written."}
		}
		r.opts.Update = true
	}

	from := ""
	again := false
	for {
		var plan Plan
		if again && !r.direct() {
			plan, err = r.plan()
		} else {
			plan, err = r.settle(ctx, from)
		}
		again = false
		if err != nil {
			return nil, err
		}
		from = stepRecommend
		content, err := r.render(existing, exists, plan)
		var cfg *config.Config
		if err == nil {
			cfg, err = r.load(ctx, content)
		}
		if err != nil {
			if !r.opts.Interactive || r.opts.DryRun || r.direct() || errors.As(err, new(*RefusedError)) {
				return nil, err
			}
			// Keep the answers: say what is wrong and go back to the recommendation.
			r.println("✗ %v\n  Change the answers below.", err)
			continue
		}
		var held *Held
		choice := KeepCurrent
		if exists {
			held = HeldData(ctx, t.Path, existing, r.env.Load, cfg.Database)
		}
		if held != nil {
			if choice, err = r.guard(ctx, held, factory.Target(cfg.Database)); err != nil {
				return nil, err
			}
			if choice == KeepCurrent {
				if content, err = KeepDatabase(existing, content); err != nil {
					return nil, fmt.Errorf("keep the current database section of %s: %w", t.Shown, err)
				}
				if cfg, err = r.load(ctx, content); err != nil {
					return nil, fmt.Errorf("keeping the current database: %w (choose the vector DB with --vector-provider)", err)
				}
			}
		}
		if r.opts.DryRun {
			fmt.Fprintf(r.env.ErrOut, "Dry run: %s would be written as below; nothing was written.\n", t.Shown)
			if _, err := r.env.Out.Write(content); err != nil {
				return nil, err
			}
			return &Result{Config: cfg, DryRun: true, Getenv: r.Getenv}, nil
		}
		if !r.opts.Interactive {
			r.printPlan(plan)
		}
		nx, err := r.test(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if nx == nextAgain {
			// A choice changed the settings: render and test again, asking nothing.
			again = true
			continue
		}
		if nx == nextAsk {
			// Every answer is asked again, the flags' too, starting at the recommendation.
			r.G = Given{PasswordFromEnv: r.G.PasswordFromEnv}
			if r.A.UseCase == "" {
				from = ""
			}
			continue
		}
		if r.opts.Interactive {
			r.println("\n%s to be written:\n\n%s", t.Shown, strings.TrimRight(string(content), "\n"))
			if ok, err := r.confirm(ctx, "Write "+t.Shown+"?", true); err != nil {
				return nil, err
			} else if !ok {
				return nil, &QuitError{Message: "Nothing was written."}
			}
		}
		backup, err := t.Write(content, exists, HoldsSecret(cfg))
		if err != nil {
			return nil, err
		}
		if backup != "" {
			r.println("✓ Updated %s (backup of the previous file: %s)", t.Shown, backup)
		} else {
			r.println("✓ Wrote %s", t.Shown)
		}
		if held != nil && choice == SwitchAndCopy && r.env.Copy != nil {
			if err := r.env.Copy(ctx, lineWriter{r.ui}, held, cfg.Database); err != nil {
				return nil, err
			}
		}
		res := &Result{Config: cfg, Envs: r.envs(cfg), RunNow: r.opts.Migrate, Getenv: r.Getenv}
		if r.opts.Interactive && !res.RunNow {
			if res.RunNow, err = r.confirm(ctx, "Run compozy migrate up and compozy doctor now?", true); err != nil {
				if errors.Is(err, prompt.ErrQuit) {
					return res, nil // the file is written: leaving now only skips the next step
				}
				return nil, err
			}
		}
		return res, nil
	}
}

// envs lists the variables the written file reads: the database password, a vector DB's
// secrets.
func (r *Run) envs(cfg *config.Config) []string {
	var envs []string
	if cfg.Database.Driver == config.DriverPostgres && r.S.Password {
		envs = append(envs, PasswordEnv)
	}
	if len(cfg.Knowledge.VectorDBs) > 0 {
		for _, v := range References(r.S.VectorURL) {
			if !slices.Contains(envs, v) {
				envs = append(envs, v)
			}
		}
	}
	return envs
}
