package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/huh"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/internal/shellquote"
	"compozy.dev/setup/templates"
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

// answered says the conflict is in the vector DB entry the answers make (not one an existing
// file keeps), so that the answers can resolve it.
func (r *Run) answered(c *Conflict) bool {
	return c.Entry == r.S.VectorID && c.WantDimension == r.S.Dimension
}

// resolve offers the ways out of a vector collection of another shape: use it as it is, name
// another collection (or folder), change the answers, write anyway, quit. Nothing is dropped
// or changed. Without questions it refuses (exit 2) and names the flags that resolve it.
func (r *Run) resolve(ctx context.Context, c *Conflict) (next, error) {
	useFlags := "--dimension " + strconv.Itoa(c.Dimension)
	if c.Metric != "" && c.Metric != c.WantMetric {
		useFlags += " --metric " + c.Metric
	}
	if c.Dimension == c.WantDimension {
		useFlags = "--metric " + c.Metric
	}
	other, otherFlag := "another vector DB id (a new "+c.kind()+" "+c.nameFor("ID")+")", "--vector-id ID"
	if c.Provider == ProviderFilesystem {
		other, otherFlag = "another folder", "--vector-path DIR"
	}
	if !r.opts.Interactive {
		return nextWrite, &RefusedError{fmt.Errorf("vector DB %q: %s %s; nothing was written, and the %s is left as it is: "+
			"pass %s to use it as it is (if the embedding model produces such vectors), or %s to use %s",
			c.Entry, c.What(), c.Differs(), c.kind(), useFlags, otherFlag, other)}
	}
	use := fmt.Sprintf("Use it as it is: dimension %d", c.Dimension)
	if c.Metric != "" {
		use += ", metric " + c.Metric
	}
	for {
		choice, err := r.choose(ctx, "The vector DB already holds a "+c.kind()+" of another shape.",
			fmt.Sprintf("%s %s. Nothing is dropped or changed.", c.What(), c.Differs()),
			use, "Use "+other, "Change the answers", "Write anyway", "Quit without writing")
		if err != nil {
			return nextWrite, err
		}
		switch choice {
		case 0:
			r.S.Dimension = c.Dimension
			if c.Metric != "" {
				r.S.Metric = c.Metric
			}
			return nextAgain, nil
		case 1:
			ok, err := r.askOther(ctx, c)
			if err != nil {
				return nextWrite, err
			}
			if !ok {
				continue // back: the choice again
			}
			return nextAgain, nil
		case 2:
			return nextAsk, nil
		case 3:
			return nextWrite, nil
		}
		return nextWrite, &QuitError{Message: "Nothing was written."}
	}
}

// askOther asks for another vector DB id (or, for the filesystem store, another folder). It
// returns false when the user went back.
func (r *Run) askOther(ctx context.Context, c *Conflict) (bool, error) {
	var q prompt.Question
	var v string
	done := func() {}
	if c.Provider == ProviderFilesystem {
		v = r.S.VectorPath
		q = r.input("Vector store folder", "Another folder than "+c.Target+"; relative to "+r.env.Target.Shown+"'s folder.", &v,
			func(s string) error {
				if err := ValidateFolder(r.base(), s); err != nil {
					return err
				}
				if filepath.Clean(r.abs(strings.TrimSpace(s))) == filepath.Clean(r.abs(r.S.VectorPath)) {
					return errors.New("enter another folder than the one that holds the store")
				}
				return nil
			})
		done = func() { r.S.VectorPath = strings.TrimSpace(v) }
	} else {
		v = r.S.VectorID + "_" + strconv.Itoa(r.S.Dimension)
		q = r.input("Vector DB id", "Knowledge bases refer to it; the "+c.kind()+" is "+c.nameFor("ID")+".", &v,
			func(s string) error {
				if err := ValidateVectorID(s); err != nil {
					return err
				}
				if strings.TrimSpace(s) == r.S.VectorID {
					return errors.New("enter another id than " + r.S.VectorID)
				}
				return nil
			})
		done = func() { r.S.VectorID = strings.TrimSpace(v) }
	}
	q.First = false
	out, err := r.ui.Ask(ctx, q)
	if err != nil {
		return false, err
	}
	if out == prompt.Back {
		return false, nil
	}
	done()
	return true, nil
}

// abs is p relative to the config file's folder.
func (r *Run) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.base(), p)
}

// guard asks (or, without questions, decides) what to do when the answers would leave the data
// of the current database behind. Without questions the current database is kept unless a
// --db-* flag named the new one.
func (r *Run) guard(ctx context.Context, held *Held, next string) (DataChoice, error) {
	if held.Unreadable != "" {
		r.println("! %s names %s, which compozy cannot read now (%s): it may hold Compozy data; the answers point at %s.",
			r.env.Target.Shown, held.Target, held.Unreadable, next)
	} else {
		r.println("! %s names %s, which holds Compozy data (%s); the answers point at %s.",
			r.env.Target.Shown, held.Target, held.Describe(), next)
	}
	if !r.opts.Interactive {
		if r.G.DatabaseNamed() {
			r.println("  The --db-* flags name the new database, so it is written; the data stays in %s.", held.Target)
			r.println("  Copy it over with: compozy db copy --from %s --to %s", shellquote.Quote(held.CopyFrom()), shellquote.Quote(r.env.Target.Shown))
			return SwitchAnyway, nil
		}
		r.println("  Keeping the current database (name another with --db-path, --db-driver or --db-conn-string to switch).")
		return KeepCurrent, nil
	}
	if held.Unreadable != "" {
		// A database that cannot be read cannot be copied either: keep it, or leave it knowingly.
		choice, err := r.choose(ctx, "The current database may hold Compozy data.",
			fmt.Sprintf("%s cannot be read now (%s). The answers point at %s.", held.Target, held.Unreadable, next),
			"Keep the current database", "Switch anyway (whatever it holds stays there)")
		if choice == 1 {
			return SwitchAnyway, err
		}
		return KeepCurrent, err
	}
	choice, err := r.choose(ctx, "The current database holds Compozy data.",
		fmt.Sprintf("%s holds %d rows (%s). The answers point at %s.", held.Target, held.Total, held.Describe(), next),
		"Keep the current database", "Switch, and copy the data into the new database (compozy db copy)", "Switch anyway (the data stays where it is)")
	return DataChoice(choice), err
}

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
