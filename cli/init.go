package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/templates"
	"compozy.dev/setup/tui/termbg"
	"compozy.dev/setup/wizard"
	"compozy.dev/setup/wizard/prompt"
)

// init wires flags and the terminal to package wizard, which holds the rules (defaults,
// missing flags, per-answer checks, the connection test, the write) and the questions.

type initOptions struct {
	output     string
	force      bool
	update     bool
	yes        bool
	dryRun     bool
	accessible bool
	skipTest   bool
	migrate    bool

	useCase, workflows, available string
	vectors, server               bool
	provider, vectorURL           string
	vectorPath, vectorID          string
	dimension                     int
	metric                        string
}

func newInitCmd(f *Factory) *cobra.Command {
	opts := &initOptions{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Choose the database and vector DB for this setup and write compozy.yaml",
		Long: `Walk the decision matrix (what the setup is for, how many workflows run at once, whether
knowledge bases are needed, whether a PostgreSQL server can be run or reached, and what exists
for vector search), show the recommendation with its reasons, ask the driver's settings, test
the connections, show the YAML and write compozy.yaml (or -o FILE) atomically.

On a terminal this is an interactive form: each answer is checked as it is typed, Shift-Tab
goes back one question, Esc asks whether to quit without writing, Ctrl-C quits at once.
--accessible (or ACCESSIBLE=1, or TERM=dumb) asks plain numbered questions for screen readers
and piped answers. Every question also has a flag; --yes takes the recommendation (and the
defaults) for whatever the flags leave open. Without a terminal, the matrix questions must come
from flags (or --use-case with --yes).

An existing file is never overwritten: --update (or --force) replaces only database: and
knowledge.vector_dbs, keeps every other section and comment as it is, and writes a backup first.
No password is ever written or shown: the file reads ${COMPOZY_DB_PASSWORD} (and a vector DB's
secrets from ${COMPOZY_VECTOR_PASSWORD} or ${COMPOZY_VECTOR_API_KEY}), and the last lines name
the variables to set. A PostgreSQL host that is not this machine gets ssl_mode require.

The connection test also looks at what the vector DB entry would meet: a table, collection,
index or store that already exists with another dimension or metric is never dropped or
changed. The form offers to use it as it is, to use another vector DB id (another folder for
the filesystem store), to change the answers, to write anyway or to quit; without questions init
exits 2 and names the flags that resolve it (--dimension N, or --vector-id ID).

With PostgreSQL and pgvector the form asks whether pgvector is in the same PostgreSQL (the
default) or on another server, and then that server's URL (--vector-url without questions). A
server without the pgvector extension fails the test with a choice to use another server.`,
		Example: `  compozy init
  compozy init --use-case dev --yes
  compozy init --use-case production --workflows 100+ --vectors --server --vector-available pgvector \
      --db-host db.internal --db-user compozy --yes
  compozy init --db-driver sqlite --vector-provider qdrant --vector-url http://qdrant:6333 --yes --dry-run
  printf '1\n1\nn\nn\n\n\ny\nn\n' | compozy init --accessible`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInit(cmd.Context(), f, cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.output, "output", "o", "", "write this `FILE` instead of compozy.yaml (or --config)")
	fl.BoolVar(&opts.force, "force", false, "update an existing file (backup first); replace it whole when it cannot be updated")
	fl.BoolVar(&opts.update, "update", false, "update database: and knowledge.vector_dbs of an existing file, keeping the rest (backup first)")
	fl.BoolVarP(&opts.yes, "yes", "y", false, "accept the recommendation and the defaults for every question the flags leave open")
	fl.BoolVar(&opts.dryRun, "dry-run", false, "print the YAML that would be written, and write nothing")
	fl.BoolVar(&opts.accessible, "accessible", false, "plain numbered prompts for screen readers and piped answers (also ACCESSIBLE=1)")
	fl.BoolVar(&opts.skipTest, "skip-test", false, "write without testing the connections first")
	fl.BoolVar(&opts.migrate, "migrate", false, "after writing, apply the migrations and run the doctor")
	fl.StringVar(&opts.useCase, "use-case", "", "what the setup is for: dev, ci, edge, single-tenant or production")
	fl.StringVar(&opts.workflows, "workflows", "", "how many workflows run at once: 1-10, 10-25, 25-100 or 100+")
	fl.BoolVar(&opts.vectors, "vectors", false, "knowledge bases (vector search) are needed (--vectors=false: not needed)")
	fl.BoolVar(&opts.server, "server", false, "a PostgreSQL server can be run or reached (--server=false: it cannot)")
	fl.StringVar(&opts.available, "vector-available", "", "what exists for vector search: pgvector, qdrant, redis or none")
	fl.StringVar(&opts.provider, "vector-provider", "", "override the vector DB: pgvector, qdrant, redis, filesystem or none")
	fl.StringVar(&opts.vectorURL, "vector-url", "", "URL of the qdrant or redis vector DB, or the postgres:// URL of another PostgreSQL server for pgvector (default: the database's own)")
	fl.StringVar(&opts.vectorPath, "vector-path", "", "folder of the filesystem vector store (default ./data/vectors)")
	fl.StringVar(&opts.vectorID, "vector-id", "", "`ID` of the vector DB entry (default main); pgvector's table is compozy_vectors_ID, qdrant's collection and redis's index compozy_ID")
	fl.IntVar(&opts.dimension, "dimension", 0, "embedding dimension (default 1536)")
	fl.StringVar(&opts.metric, "metric", "", "distance metric: cosine, dot or euclid (default cosine)")
	return cmd
}

func runInit(ctx context.Context, f *Factory, cmd *cobra.Command, opts *initOptions) error {
	target, err := f.configTarget()
	if err != nil {
		return err
	}
	if opts.output != "" {
		if target, err = f.namedTarget(opts.output); err != nil {
			return err
		}
	}
	// huh turns accessible mode on by itself for TERM=dumb; decide it here so that the
	// line-by-line input is in place then too.
	accessible := opts.accessible || truthy(f.IO.Getenv("ACCESSIBLE")) || f.IO.Getenv("TERM") == "dumb"
	interactive := !opts.yes && (f.IO.CanPrompt() || accessible)
	in, err := initFlags(ctx, f, cmd, opts, target)
	if err != nil {
		return err
	}
	if !interactive {
		if missing := wizard.MissingFlags(in.a, in.g, opts.yes); len(missing) > 0 {
			why := "standard input is not a terminal"
			if opts.yes {
				why = "--yes takes the recommendation, but the matrix needs to know what the setup is for"
			}
			return usageErrorf("%s: compozy init needs %s (or use --accessible to answer on standard input)\n  for example: compozy init --use-case dev --yes",
				why, strings.Join(missing, ", "))
		}
	}

	var ui prompt.UI
	endTerminal := func() {}
	parent := ctx
	switch {
	case interactive && accessible:
		lipgloss.SetColorProfile(termenv.Ascii) // a screen reader reads no colour codes
		ui = prompt.NewAccessible(ctx, f.IO.In, f.IO.Out)
	case interactive:
		ui, ctx, endTerminal = startTerminal(ctx, f)
	default:
		ui = &prompt.Plain{Out: f.IO.Out, ErrOut: f.IO.ErrOut, ErrTTY: f.IO.IsStderrTTY()}
	}
	env := wizard.Env{
		Target: target.wizard(),
		Load:   wizard.LoadEnv{WorkDir: f.workDir, Getenv: f.IO.Getenv, Environ: f.IO.Environ},
		Out:    f.IO.Out, ErrOut: f.IO.ErrOut,
		Copy: func(ctx context.Context, w io.Writer, held *wizard.Held, next config.Database) error {
			return copyHeld(ctx, w, held, next)
		},
	}
	wopts := wizard.Options{Force: opts.force, Update: opts.update, Yes: opts.yes, DryRun: opts.dryRun, SkipTest: opts.skipTest,
		Migrate: opts.migrate, Interactive: interactive, Accessible: accessible}
	run := wizard.NewRun(env, wopts, ui, in.a, in.s, in.g, in.password)
	run.PasswordFrom = in.passwordFrom
	res, err := run.Do(ctx)
	ui.Close()
	endTerminal()
	if err != nil {
		return initError(f, err)
	}
	if res.DryRun {
		return nil
	}
	return initNext(parent, f, target, res)
}

// startTerminal starts the interactive form on the terminal: one session for the whole wizard
// (raw mode, the background asked at most once without waiting for it, every key read once),
// one Bubble Tea program reading it. Without colour (NO_COLOR, --no-color, TERM=dumb) nothing is
// asked of the terminal.
func startTerminal(ctx context.Context, f *Factory) (prompt.UI, context.Context, func()) {
	color := f.IO.ColorEnabled()
	if !color {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	var input io.Reader = f.IO.In
	var session *termbg.Session
	stdin, okIn := f.IO.In.(*os.File)
	stdout, okOut := f.IO.Out.(*os.File)
	if okIn && okOut {
		if s, err := termbg.Start(stdin, stdout, color && termbg.Allowed(f.IO.Getenv)); err == nil {
			input, session = s, s
		}
	}
	ui, work := prompt.NewTerminal(ctx, input, f.IO.Out, prompt.Options{Color: color})
	if session == nil {
		return ui, work, func() {}
	}
	// The first question shows at once, in the colours of a dark background; when the terminal
	// says its background, the question is drawn again in the right ones.
	session.OnAnswer(func(bool) { ui.Refresh() })
	return ui, work, func() { _ = session.Close() }
}

// initError maps how the wizard ended to the command's exit.
func initError(f *Factory, err error) error {
	var quit *wizard.QuitError
	var ended *prompt.InputEndedError
	var flag *wizard.FlagError
	var refused *wizard.RefusedError
	var failed *wizard.FailedError
	switch {
	case errors.As(err, &quit):
		fmt.Fprintln(f.IO.Out, quit.Message)
		return nil
	case errors.Is(err, prompt.ErrQuit):
		fmt.Fprintln(f.IO.Out, "Nothing was written.")
		return nil
	case errors.Is(err, prompt.ErrInterrupted), errors.Is(err, context.Canceled):
		return ErrAborted
	case errors.As(err, &ended):
		return &ExitError{Code: ExitUsage, Err: err}
	case errors.As(err, &flag):
		return &UsageError{Err: err}
	case errors.As(err, &refused):
		return &ExitError{Code: ExitUsage, Err: err}
	case errors.As(err, &failed):
		return &ExitError{Code: ExitFailed, Err: err}
	}
	return err
}

// initFlagValues is what the flags say: answers, settings, which of them were given, and the
// password for the connection test.
type initFlagValues struct {
	a        wizard.Answers
	s        wizard.Settings
	g        wizard.Given
	password string
	// passwordFrom says where password came from, for an authentication failure's message.
	passwordFrom string
}

// initFlags reads the flags that were given, each checked as the form checks its answer.
func initFlags(ctx context.Context, f *Factory, cmd *cobra.Command, o *initOptions, target configTarget) (initFlagValues, error) {
	v := initFlagValues{s: wizard.DefaultSettings()}
	fl := cmd.Flags()
	a, s, g := &v.a, &v.s, &v.g
	base := filepath.Dir(target.path)
	bad := func(flag string, err error) error { return &UsageError{Err: fmt.Errorf("%s: %w", flag, err)} }
	if fl.Changed("use-case") {
		a.UseCase, g.UseCase = wizard.UseCase(o.useCase), true
	}
	if fl.Changed("workflows") {
		a.Workflows, g.Workflows = wizard.Workflows(o.workflows), true
	}
	if fl.Changed("vectors") {
		a.Vectors, g.Vectors = o.vectors, true
	}
	if fl.Changed("server") {
		a.Server, g.Server = o.server, true
	}
	if fl.Changed("vector-available") {
		a.Available, g.Available = wizard.Available(o.available), true
	}
	if fl.Changed("vector-provider") {
		a.Provider, g.Provider = o.provider, true
		if !g.Vectors {
			a.Vectors, g.Vectors = o.provider != wizard.ProviderNone, true
		}
	}
	global := func(name string) (string, bool) {
		f := f.global.flags.Lookup(name)
		if f == nil || !f.Changed {
			return "", false
		}
		return f.Value.String(), true
	}
	if val, ok := global("db-driver"); ok {
		a.Driver, g.Driver = strings.ToLower(val), true
		if a.Driver != wizard.DriverSQLite && a.Driver != wizard.DriverPostgres {
			return v, usageErrorf("--db-driver %q: want sqlite or postgres", a.Driver)
		}
	}
	if val, ok := global("db-path"); ok {
		if err := wizard.ValidateSQLitePath(base, val); err != nil {
			return v, bad("--db-path", err)
		}
		s.SQLitePath, g.SQLitePath = val, true
	}
	if val, ok := global("db-conn-string"); ok {
		if err := wizard.ValidateConnStringFlag(val); err != nil {
			return v, bad("--db-conn-string", err)
		}
		clean, pw, err := wizard.SplitPassword(wizard.NormalizeURL(val))
		if err != nil {
			return v, bad("--db-conn-string", err)
		}
		s.ConnString, g.ConnString = clean, true
		if pw != "" {
			v.password, v.passwordFrom = pw, "the --db-conn-string URL"
			fmt.Fprintf(f.IO.ErrOut, "warning: flag --db-conn-string: a password on the command line is visible to other users (ps) and kept in shell history\n"+
				"    fix: %s reads it from the environment (conn_string: %s): set %s to it, and leave it out of --db-conn-string next time\n",
				target.shown, clean, wizard.PasswordEnv)
		}
	}
	if val, ok := global("db-host"); ok {
		if err := wizard.ValidateHost(val); err != nil {
			return v, bad("--db-host", err)
		}
		s.Host, g.Host = strings.TrimSpace(val), true
	}
	if val, ok := global("db-port"); ok {
		p, err := wizard.ParsePort(val)
		if err != nil {
			return v, bad("--db-port", err)
		}
		s.Port, g.Port = p, true
	}
	if val, ok := global("db-user"); ok {
		if err := wizard.ValidateName("PostgreSQL user")(val); err != nil {
			return v, bad("--db-user", err)
		}
		s.User, g.User = val, true
	}
	if val, ok := global("db-name"); ok {
		if err := wizard.ValidateName("PostgreSQL database")(val); err != nil {
			return v, bad("--db-name", err)
		}
		s.Name, g.Name = val, true
	}
	if val, ok := global("db-ssl-mode"); ok {
		if err := wizard.ValidateSSLMode(val); err != nil {
			return v, bad("--db-ssl-mode", err)
		}
		s.SSLMode, g.SSLMode = val, true
	}
	if fl.Changed("vector-url") {
		if g.Provider {
			if err := wizard.ValidateVectorURL(o.provider, o.vectorURL); err != nil {
				return v, bad("--vector-url", err)
			}
		}
		clean, secrets, err := wizard.SplitVectorURL(wizard.NormalizeURL(o.vectorURL))
		if err != nil {
			return v, bad("--vector-url", err)
		}
		s.VectorURL, s.VectorSecrets, g.VectorURL = clean, secrets, true
		if len(secrets) > 0 {
			var envs []string
			for _, sec := range secrets {
				envs = append(envs, sec.Env)
			}
			fmt.Fprintf(f.IO.ErrOut, "warning: flag --vector-url: a password on the command line is visible to other users (ps) and kept in shell history\n"+
				"    fix: %s reads it from the environment (url: %s): set %s to the secret the URL held (decoded: %%40 is @), and leave it out of --vector-url next time\n",
				target.shown, clean, strings.Join(envs, " and "))
		}
	}
	if fl.Changed("vector-path") {
		if err := wizard.ValidateFolder(base, o.vectorPath); err != nil {
			return v, bad("--vector-path", err)
		}
		s.VectorPath, g.VectorPath = o.vectorPath, true
	}
	if fl.Changed("vector-id") {
		if err := wizard.ValidateVectorID(o.vectorID); err != nil {
			return v, bad("--vector-id", err)
		}
		s.VectorID, g.VectorID = strings.TrimSpace(o.vectorID), true
	}
	if fl.Changed("dimension") {
		d, err := wizard.ParseDimension(strconv.Itoa(o.dimension))
		if err != nil {
			return v, bad("--dimension", err)
		}
		s.Dimension, g.Dimension = d, true
	}
	if fl.Changed("metric") {
		s.Metric = o.metric
	}
	switch {
	case f.global.passwordStdin:
		var pw string
		var err error
		if f.IO.IsStdinTTY() {
			pw, err = f.stdinPassword(ctx) // typed, with the echo off
		} else {
			// One byte per read: in accessible mode the answers follow the password's line.
			pw, err = readPassword(byteReader{f.IO.In})
		}
		if err != nil {
			return v, err
		}
		v.password, v.passwordFrom = pw, "--db-password-stdin"
	case v.password == "":
		v.password, v.passwordFrom = f.IO.Getenv(wizard.PasswordEnv), wizard.PasswordEnv
	}
	if v.password != "" {
		s.Password, g.PasswordFromEnv = true, true
	}
	return v, nil
}

// byteReader returns at most one byte per Read, so that a reader that buffers reads no further
// than the line it wants.
type byteReader struct{ r io.Reader }

func (b byteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return b.r.Read(p)
}

// needsMigrate reports whether the database the file names is not at the latest schema yet
// (it does not exist, or migrations are pending, or it cannot be read now), read-only.
func needsMigrate(ctx context.Context, db config.Database) bool {
	h, err := factory.Open(ctx, db, factory.ReadOnly)
	if err != nil {
		return true
	}
	defer h.Close()
	c, err := h.Migrator.Check(ctx)
	return err != nil || len(c.Pending) > 0
}

// initNext applies the migrations and runs the doctor when asked, and says what to run next
// and which variables to set.
func initNext(ctx context.Context, f *Factory, target configTarget, res *wizard.Result) error {
	out := f.IO.Out
	cfg := res.Config
	if !res.RunNow {
		printNextStepsAs(out, f.self(), target, needsMigrate(ctx, cfg.Database))
		if len(res.Envs) > 0 {
			fmt.Fprintf(out, "  (with %s set in the environment)\n", strings.Join(res.Envs, " and "))
		}
		return nil
	}
	defer func() {
		if len(res.Envs) > 0 {
			fmt.Fprintf(out, "\nSet %s in the environment where Compozy runs: %s reads them.\n", strings.Join(res.Envs, " and "), target.shown)
		}
	}()
	for _, entry := range cfg.Knowledge.VectorDBs {
		if entry.Provider != vector.ProviderFilesystem {
			continue
		}
		if created, err := ensureVectorStore(ctx, cfg, entry, res.Getenv); err != nil {
			return err
		} else if created {
			fmt.Fprintf(out, "✓ Created vector store %q at %s\n", entry.ID, displayPath(f, entry.Path))
		}
	}
	applied, version, err := migrateUp(ctx, out, cfg.Database)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "✓ Applied %s; the database is at version %d\n", countMigrations(applied), version)
	// A pgvector table lives in the database just migrated (whose migrations create the
	// extension where it is available): create it now, as Compozy would on first use, so the
	// doctor below finds the setup complete.
	for _, entry := range cfg.Knowledge.VectorDBs {
		if entry.Provider != vector.ProviderPgvector {
			continue
		}
		if created, err := ensureVectorStore(ctx, cfg, entry, res.Getenv); err != nil {
			return err
		} else if created {
			fmt.Fprintf(out, "✓ Created the pgvector table of vector DB %q (%d dimensions, %s)\n", entry.ID, entry.Dimension, entry.Metric)
		}
	}
	report := runChecks(ctx, cfg, res.Getenv)
	if err := doctor.WritePlain(out, report); err != nil {
		return err
	}
	if code := report.ExitCode(); code != ExitOK {
		return &ExitError{Code: code, Err: errors.New("init: the doctor found problems"), Silent: true}
	}
	return nil
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// configTarget is the config file a command writes (quickstart and init).
type configTarget struct {
	path  string // absolute
	shown string // as the user named it
	flag  string // the --config value that names it again ("" for the default)
}

func (t configTarget) wizard() wizard.Target {
	return wizard.Target{Path: t.path, Shown: t.shown, Flag: t.flag}
}

// configTarget is the file named by --config or COMPOZY_CONFIG_FILE, else ./compozy.yaml.
func (f *Factory) configTarget() (configTarget, error) {
	name := f.global.configFile
	if name == "" {
		name = f.IO.Getenv("COMPOZY_CONFIG_FILE")
	}
	if name == "" {
		t, err := f.namedTarget(config.DefaultFile)
		t.flag = ""
		return t, err
	}
	return f.namedTarget(name)
}

// namedTarget is the file name, relative to the working directory.
func (f *Factory) namedTarget(name string) (configTarget, error) {
	path := name
	if !filepath.IsAbs(path) {
		wd := f.workDir
		if wd == "" {
			var err error
			if wd, err = os.Getwd(); err != nil {
				return configTarget{}, fmt.Errorf("find working directory: %w", err)
			}
		}
		path = filepath.Join(wd, path)
	}
	return configTarget{path: filepath.Clean(path), shown: name, flag: name}, nil
}

// read returns the file's content and whether it exists.
func (t configTarget) read() ([]byte, bool, error) { return t.wizard().Read() }

// write replaces the file atomically, after a backup of the existing one when backup is set
// (see wizard.Target.Write); it returns the backup's name.
func (t configTarget) write(content []byte, backup, secret bool) (string, error) {
	return t.wizard().Write(content, backup, secret)
}

// renderFile renders a whole compozy.yaml for the plan.
func renderFile(p wizard.Plan, s wizard.Settings) ([]byte, error) {
	out, err := templates.Render(wizard.Data(p, s))
	if err != nil {
		return nil, fmt.Errorf("render compozy.yaml: %w", err)
	}
	return out, nil
}

// checkContent loads content as the config file at t would be loaded, so that nothing is
// written that compozy cannot read. password, when set, is what ${COMPOZY_DB_PASSWORD} reads;
// otherwise a stand-in lets the file validate.
func checkContent(ctx context.Context, f *Factory, t configTarget, content []byte, password string) (*config.Config, error) {
	cfg, err := wizard.LoadContent(ctx, t.path, content, wizard.LoadEnv{WorkDir: f.workDir, Getenv: f.IO.Getenv, Environ: f.IO.Environ}, password)
	if err != nil {
		return nil, fmt.Errorf("the file to write does not load (nothing was written): %w", err)
	}
	return cfg, nil
}

// holdsSecret reports whether the file cfg was loaded from writes a password out.
func holdsSecret(cfg *config.Config) bool { return wizard.HoldsSecret(cfg) }
