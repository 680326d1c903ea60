package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/vector"
	vfactory "compozy.dev/setup/core/vector/factory"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/templates"
	"compozy.dev/setup/tui/termbg"
	"compozy.dev/setup/wizard"
)

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
	vectorPath                    string
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

On a terminal this is an interactive form; --accessible (or ACCESSIBLE=1) asks plain numbered
questions for screen readers and piped answers. Every question also has a flag; --yes takes
the recommendation (and the defaults) for whatever the flags leave open. Without a terminal,
the matrix questions must come from flags (or --use-case with --yes).

An existing file is never overwritten: --update (or --force) replaces only database: and
knowledge.vector_dbs, keeps every other section and comment as it is, and writes a backup first.
The password is never written: the file reads ${COMPOZY_DB_PASSWORD}.`,
		Example: `  compozy init
  compozy init --use-case dev --yes
  compozy init --use-case production --workflows 100+ --vectors --server --vector-available pgvector \
      --db-host db.internal --db-user compozy --db-ssl-mode require --yes
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
	fl.StringVar(&opts.vectorURL, "vector-url", "", "URL of the qdrant or redis vector DB (or a postgres:// URL for pgvector elsewhere)")
	fl.StringVar(&opts.vectorPath, "vector-path", "", "folder of the filesystem vector store (default ./data/vectors)")
	fl.IntVar(&opts.dimension, "dimension", 0, "embedding dimension (default 1536)")
	fl.StringVar(&opts.metric, "metric", "", "distance metric: cosine, dot or euclid (default cosine)")
	return cmd
}

// initRun is the state of one `compozy init`.
type initRun struct {
	f        *Factory
	cmd      *cobra.Command
	opts     *initOptions
	target   configTarget
	answers  wizard.Answers
	settings wizard.Settings
	given    wizard.Given
	password string
	form     *wizard.Form
}

func runInit(ctx context.Context, f *Factory, cmd *cobra.Command, opts *initOptions) error {
	r := &initRun{f: f, cmd: cmd, opts: opts, settings: wizard.DefaultSettings()}
	target, err := f.configTarget()
	if err != nil {
		return err
	}
	if opts.output != "" {
		if target, err = f.namedTarget(opts.output); err != nil {
			return err
		}
	}
	r.target = target
	if err := r.fromFlags(); err != nil {
		return err
	}
	// huh turns accessible mode on by itself for TERM=dumb; decide it here so that the
	// one-line-per-read input wrapper is in place then too.
	accessible := opts.accessible || truthy(f.IO.Getenv("ACCESSIBLE")) || f.IO.Getenv("TERM") == "dumb"
	interactive := !opts.yes && (f.IO.CanPrompt() || accessible)
	if interactive {
		if !accessible {
			termbg.Detect(f.IO.Out) // the colour question start-up skipped: ask it now, before the form
		}
		r.form = wizard.NewForm(f.IO.In, f.IO.Out, accessible)
	} else if missing := r.missingFlags(); len(missing) > 0 {
		why := "standard input is not a terminal"
		if opts.yes {
			why = "--yes takes the recommendation, but the matrix needs to know what the setup is for"
		}
		return usageErrorf("%s: compozy init needs %s (or use --accessible to answer on standard input)\n  for example: compozy init --use-case dev --yes",
			why, strings.Join(missing, ", "))
	}

	// The existing file: refuse early, before any question.
	existing, exists, err := target.read()
	if err != nil {
		return err
	}
	if exists && !opts.force && !opts.update && !opts.dryRun {
		if !interactive {
			return usageErrorf("%s exists and is kept: pass --update to replace only its database: and knowledge.vector_dbs (a backup is written first), or -o FILE to write another file", target.shown)
		}
		ok, err := r.form.Confirm(ctx, fmt.Sprintf("%s exists. Update its database: and knowledge.vector_dbs, keeping everything else (a backup is written first)?", target.shown), true)
		if err != nil {
			return abortErr(err)
		}
		if !ok {
			fmt.Fprintf(f.IO.Out, "%s is kept as it is; nothing was written.\n", target.shown)
			return ErrAborted
		}
		opts.update = true
	}

	for {
		plan, err := r.ask(ctx, interactive)
		if err != nil {
			return err
		}
		content, err := r.render(existing, exists, plan)
		if err != nil {
			return err
		}
		cfg, err := r.check(ctx, content)
		if err != nil {
			return err
		}
		// Never orphan data: answers that move the database away from one that holds Compozy
		// data keep it, copy it over, or leave it knowingly.
		var held *heldData
		choice := keepDatabase
		if exists {
			if held, err = orphanedData(ctx, f, target, existing, cfg.Database); err != nil {
				return err
			}
		}
		if held != nil {
			if choice, err = r.guardData(ctx, held, factory.Target(cfg.Database), interactive); err != nil {
				return err
			}
			if choice == keepDatabase {
				if content, err = wizard.KeepDatabase(existing, content); err != nil {
					return fmt.Errorf("keep the current database section of %s: %w", target.shown, err)
				}
				if cfg, err = r.check(ctx, content); err != nil {
					return fmt.Errorf("keeping the current database: %w (choose the vector DB with --vector-provider)", err)
				}
			}
		}
		if opts.dryRun {
			fmt.Fprintf(f.IO.ErrOut, "Dry run: %s would be written as below; nothing was written.\n", target.shown)
			_, err := f.IO.Out.Write(content)
			return err
		}
		if !interactive {
			printInitPlan(f.IO.Out, plan)
		}
		retry, err := r.test(ctx, cfg, interactive)
		if err != nil {
			return err
		}
		if retry {
			continue
		}
		if interactive {
			fmt.Fprintf(f.IO.Out, "\n%s to be written:\n\n%s\n", target.shown, content)
			ok, err := r.form.Confirm(ctx, "Write "+target.shown+"?", true)
			if err != nil {
				return abortErr(err)
			}
			if !ok {
				fmt.Fprintln(f.IO.Out, "Nothing was written.")
				return ErrAborted
			}
		}
		if err := r.write(content, exists, holdsSecret(cfg)); err != nil {
			return err
		}
		if held != nil && choice == switchAndCopy {
			if err := copyHeld(ctx, f.IO.Out, held, cfg.Database); err != nil {
				return err
			}
		}
		return r.next(ctx, cfg, interactive)
	}
}

// fromFlags fills the answers and settings from the flags that were given.
func (r *initRun) fromFlags() error {
	fl, o := r.cmd.Flags(), r.opts
	a, s, g := &r.answers, &r.settings, &r.given
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
		f := r.f.global.flags.Lookup(name)
		if f == nil || !f.Changed {
			return "", false
		}
		return f.Value.String(), true
	}
	if v, ok := global("db-driver"); ok {
		a.Driver, g.Driver = strings.ToLower(v), true
	}
	if v, ok := global("db-path"); ok {
		s.SQLitePath, g.SQLitePath = v, true
	}
	if v, ok := global("db-conn-string"); ok {
		clean, pw, err := wizard.SplitPassword(v)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("--db-conn-string: %w", err)}
		}
		s.ConnString, g.ConnString = clean, true
		if pw != "" {
			r.password = pw
		}
	}
	if v, ok := global("db-host"); ok {
		s.Host, g.Host = v, true
	}
	if v, ok := global("db-port"); ok {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return usageErrorf("--db-port %q is not a port (1-65535)", v)
		}
		s.Port, g.Port = p, true
	}
	if v, ok := global("db-user"); ok {
		s.User, g.User = v, true
	}
	if v, ok := global("db-name"); ok {
		s.Name, g.Name = v, true
	}
	if v, ok := global("db-ssl-mode"); ok {
		s.SSLMode, g.SSLMode = v, true
	}
	if fl.Changed("vector-url") {
		clean, secrets, err := wizard.SplitVectorURL(o.vectorURL)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("--vector-url: %w", err)}
		}
		s.VectorURL, s.VectorSecrets, g.VectorURL = clean, secrets, true
		if len(secrets) > 0 {
			var envs []string
			for _, sec := range secrets {
				envs = append(envs, sec.Env)
			}
			fmt.Fprintf(r.f.IO.ErrOut, "warning: flag --vector-url: a password on the command line is visible to other users (ps) and kept in shell history\n"+
				"    fix: %s reads it from the environment (url: %s): set %s to what the URL held, and leave it out of --vector-url next time\n",
				r.target.shown, clean, strings.Join(envs, " and "))
		}
	}
	if fl.Changed("vector-path") {
		s.VectorPath, g.VectorPath = o.vectorPath, true
	}
	if fl.Changed("dimension") {
		s.Dimension, g.Dimension = o.dimension, true
	}
	if fl.Changed("metric") {
		s.Metric = o.metric
	}
	if r.f.global.passwordStdin {
		pw, err := readPassword(r.f.IO.In)
		if err != nil {
			return err
		}
		r.password = pw
	} else if pw := r.f.IO.Getenv(wizard.PasswordEnv); pw != "" && r.password == "" {
		r.password = pw
	}
	if r.password != "" {
		s.Password, g.PasswordFromEnv = true, true
	}
	if g.Driver && a.Driver != wizard.DriverSQLite && a.Driver != wizard.DriverPostgres {
		return usageErrorf("--db-driver %q: want sqlite or postgres", a.Driver)
	}
	// The file reads a vector DB URL's secrets from ${VAR} references: the connection test (and
	// --migrate) use what the URL held, as the user's environment will.
	getenv := r.f.IO.Getenv
	r.f.IO.Getenv = func(k string) string {
		for _, sec := range r.settings.VectorSecrets {
			if sec.Env == k {
				return sec.Value
			}
		}
		return getenv(k)
	}
	return nil
}

// byFlags reports whether the driver and the vector DB are both named by flags, so the
// matrix questions are not needed.
func (r *initRun) byFlags() bool {
	return r.given.Driver && r.given.Provider
}

// missingFlags names the flags a run without questions still needs.
func (r *initRun) missingFlags() []string {
	if r.byFlags() {
		return nil
	}
	g := r.given
	if r.opts.yes {
		if !g.UseCase {
			return []string{"--use-case"}
		}
		return nil
	}
	var missing []string
	for _, m := range []struct {
		ok   bool
		flag string
	}{{g.UseCase, "--use-case"}, {g.Workflows, "--workflows"}, {g.Vectors, "--vectors"}, {g.Server, "--server"}} {
		if !m.ok {
			missing = append(missing, m.flag)
		}
	}
	if g.Vectors && r.answers.Vectors && !g.Available && !g.Provider {
		missing = append(missing, "--vector-available")
	}
	return missing
}

// ask fills the answers (form or defaults) and returns the plan.
func (r *initRun) ask(ctx context.Context, interactive bool) (wizard.Plan, error) {
	a := &r.answers
	if r.byFlags() && !r.given.UseCase {
		return r.flagPlan()
	}
	if interactive {
		if err := r.form.AskMatrix(ctx, a, r.given); err != nil {
			return wizard.Plan{}, abortErr(err)
		}
		if err := r.form.AskChoice(ctx, a, r.given); err != nil {
			return wizard.Plan{}, abortErr(err)
		}
	} else {
		r.defaults()
	}
	plan, err := wizard.Decide(*a)
	if err != nil {
		return wizard.Plan{}, &UsageError{Err: err}
	}
	if interactive {
		if err := r.form.AskSettings(ctx, plan, &r.settings, r.given, &r.password); err != nil {
			return wizard.Plan{}, abortErr(err)
		}
	} else if err := r.settings.Validate(plan); err != nil {
		return wizard.Plan{}, &UsageError{Err: err}
	}
	return plan, nil
}

// defaults answers what --yes leaves open: the smallest band, knowledge bases wanted, a server
// for production only, nothing available for vector search yet.
func (r *initRun) defaults() {
	a, g := &r.answers, r.given
	if !g.Workflows {
		a.Workflows = wizard.Workflows1to10
	}
	if !g.Vectors {
		a.Vectors = true
	}
	if !g.Server {
		a.Server = a.UseCase == wizard.UseProduction || a.UseCase == wizard.UseSingleTenant || a.Driver == wizard.DriverPostgres
	}
	if a.Vectors && !g.Available {
		a.Available = wizard.AvailNone
	}
}

// flagPlan is the plan when --db-driver and --vector-provider name both choices.
func (r *initRun) flagPlan() (wizard.Plan, error) {
	p, err := wizard.Direct(r.answers.Driver, r.answers.Provider)
	if err != nil {
		return wizard.Plan{}, &UsageError{Err: err}
	}
	if err := r.settings.Validate(p); err != nil {
		return wizard.Plan{}, &UsageError{Err: err}
	}
	return p, nil
}

// render produces the file's new content: the whole file, or the existing one with the owned
// sections replaced.
func (r *initRun) render(existing []byte, exists bool, plan wizard.Plan) ([]byte, error) {
	if exists {
		if _, hasVectors, err := wizard.Sections(existing); err == nil && hasVectors {
			plan = plan.KeepingVectorDBs()
		}
	}
	data := wizard.Data(plan, r.settings)
	if !exists {
		return templates.Render(data)
	}
	out, err := wizard.Merge(existing, data)
	if err == nil {
		return out, nil
	}
	if r.opts.force {
		fmt.Fprintf(r.f.IO.ErrOut, "%s cannot be updated in place (%v); --force replaces it whole (a backup is kept).\n", r.target.shown, err)
		return templates.Render(data)
	}
	return nil, &UsageError{Err: fmt.Errorf("update %s: %w; fix the file, or pass --force to replace it whole (a backup is kept)", r.target.shown, err)}
}

// check loads content as the config file it will be, with the password the test will use.
func (r *initRun) check(ctx context.Context, content []byte) (*config.Config, error) {
	cfg, err := checkContent(ctx, r.f, r.target, content, r.password)
	if err != nil {
		return nil, err
	}
	if r.password == "" {
		cfg.Database.Password = ""
	}
	return cfg, nil
}

// test checks the connections before anything is written. It returns retry when the user
// wants to change the answers.
func (r *initRun) test(ctx context.Context, cfg *config.Config, interactive bool) (retry bool, err error) {
	if r.opts.skipTest {
		return false, nil
	}
	out := r.f.IO.Out
	var failed []string
	report := func(ok bool, line string) {
		mark := "✓"
		if !ok {
			mark = "✗"
			failed = append(failed, line)
		}
		fmt.Fprintf(out, "%s %s\n", mark, line)
	}
	stop := startSpinner(r.f.IO.ErrOut, r.f.IO.IsStderrTTY(), "Testing the connections…")
	results := testConnections(ctx, cfg, r.f.IO.Getenv)
	stop()
	for _, res := range results {
		report(res.ok, res.line)
	}
	if len(failed) == 0 {
		return false, nil
	}
	if !interactive {
		return false, &ExitError{Code: ExitFailed, Err: fmt.Errorf("connection test failed; nothing was written (fix the settings, or pass --skip-test to write anyway)")}
	}
	choice, err := r.form.Choose(ctx, "The connection test failed.", strings.Join(failed, "\n"),
		"Change the answers", "Write anyway", "Quit without writing")
	if err != nil {
		return false, abortErr(err)
	}
	switch choice {
	case 0:
		r.given = wizard.Given{PasswordFromEnv: r.given.PasswordFromEnv}
		return true, nil
	case 1:
		return false, nil
	}
	fmt.Fprintln(out, "Nothing was written.")
	return false, ErrAborted
}

// connResult is one line of the connection test.
type connResult struct {
	ok   bool
	line string
}

// testConnections connects to the database and to each vector DB, and says whether the
// database already holds a Compozy schema with data.
func testConnections(ctx context.Context, cfg *config.Config, getenv func(string) string) []connResult {
	var out []connResult
	db := cfg.Database
	target := factory.Target(db)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	switch {
	case db.Driver == config.DriverSQLite && db.Path == config.MemoryPath:
		out = append(out, connResult{true, "SQLite :memory: (nothing to test)"})
	case db.Driver == config.DriverSQLite && !fileExists(db.Path):
		out = append(out, connResult{true, fmt.Sprintf("SQLite %s does not exist yet; compozy migrate up creates it", db.Path)})
	default:
		out = append(out, testDatabase(ctx, db, target))
	}
	for _, entry := range cfg.Knowledge.VectorDBs {
		out = append(out, testVector(ctx, cfg, entry, getenv))
	}
	return out
}

func testDatabase(ctx context.Context, db config.Database, target string) connResult {
	// Read-only: testing the connection changes nothing, not even a file beside a SQLite database.
	h, err := factory.Open(ctx, db, factory.ReadOnly)
	if err != nil {
		msg := config.Redact(err.Error())
		if db.Password == "" && strings.Contains(msg, "password") {
			msg += " (set " + wizard.PasswordEnv + " for the test)"
		}
		return connResult{false, fmt.Sprintf("database %s: %s", target, msg)}
	}
	defer h.Close()
	if err := h.Ping(ctx); err != nil {
		return connResult{false, fmt.Sprintf("database %s: %s", target, config.Redact(err.Error()))}
	}
	line := fmt.Sprintf("database %s answers", target)
	if m := h.Migrator; m != nil {
		if v, err := m.Version(ctx); err == nil && v.Current > 0 {
			var n int64
			_ = h.SQL.QueryRowContext(ctx, "SELECT count(*) FROM workflow_states").Scan(&n)
			line += fmt.Sprintf("; it already holds a Compozy database at version %d with %d workflow(s), which will be used as it is", v.Current, n)
		}
	}
	return connResult{true, line}
}

func testVector(ctx context.Context, cfg *config.Config, entry config.VectorDB, getenv func(string) string) connResult {
	name := fmt.Sprintf("vector DB %q (%s)", entry.ID, entry.Provider)
	opts := vfactory.Options{Database: cfg.Database, Getenv: getenv}
	st, err := vfactory.Open(ctx, entry, opts)
	if err != nil {
		return connResult{false, name + ": " + config.Redact(err.Error())}
	}
	defer st.Close()
	if entry.Provider == vector.ProviderFilesystem {
		if _, err := st.Health(ctx); err != nil {
			if errors.Is(err, vector.ErrNotFound) {
				return connResult{true, fmt.Sprintf("%s: %s does not exist yet; it is created on first use", name, entry.Path)}
			}
			return connResult{false, name + ": " + config.Redact(err.Error())}
		}
	} else {
		// The provider's own checks that need no collection yet: the server answers, and has
		// what the provider needs (RediSearch 2.4+, the vector extension).
		checks, closeChecks := vfactory.Checks(ctx, entry, opts)
		defer func() { _ = closeChecks() }()
		for _, c := range checks {
			if !strings.HasSuffix(c.ID, ".reachable") && !strings.HasSuffix(c.ID, ".module") && !strings.HasSuffix(c.ID, ".extension") {
				continue
			}
			if r := c.Run(ctx); r.Status == vector.StatusFail {
				return connResult{false, name + ": " + config.Redact(r.Summary)}
			}
		}
	}
	line := fmt.Sprintf("%s at %s answers", name, config.Redact(st.Target()))
	if info, err := st.Describe(ctx); err == nil && info.Count > 0 {
		line += fmt.Sprintf("; it already holds %d vectors of %d dimensions", info.Count, info.Dimension)
	}
	return connResult{true, line}
}

// write writes the file atomically, after a backup of the existing one.
func (r *initRun) write(content []byte, exists, secret bool) error {
	backup, err := r.target.write(content, exists, secret)
	if err != nil {
		return err
	}
	if backup != "" {
		fmt.Fprintf(r.f.IO.Out, "✓ Updated %s (backup of the previous file: %s)\n", r.target.shown, backup)
	} else {
		fmt.Fprintf(r.f.IO.Out, "✓ Wrote %s\n", r.target.shown)
	}
	return nil
}

// next prints what to run next and runs it when asked.
func (r *initRun) next(ctx context.Context, cfg *config.Config, interactive bool) error {
	run := r.opts.migrate
	if interactive && !run {
		ok, err := r.form.Confirm(ctx, "Run compozy migrate up and compozy doctor now?", true)
		if err != nil {
			return abortErr(err)
		}
		run = ok
	}
	// The variables the written file reads (the database password, a vector DB's secrets).
	var envs []string
	if cfg.Database.Driver == config.DriverPostgres && r.settings.Password {
		envs = append(envs, wizard.PasswordEnv)
	}
	if len(cfg.Knowledge.VectorDBs) > 0 {
		for _, v := range wizard.References(r.settings.VectorURL) {
			if !slices.Contains(envs, v) {
				envs = append(envs, v)
			}
		}
	}
	if !run {
		printNextSteps(r.f.IO.Out, r.target, true)
		if len(envs) > 0 {
			fmt.Fprintf(r.f.IO.Out, "  (with %s set in the environment)\n", strings.Join(envs, " and "))
		}
		return nil
	}
	defer func() {
		if len(envs) > 0 {
			fmt.Fprintf(r.f.IO.Out, "\nSet %s in the environment where Compozy runs: %s reads them.\n", strings.Join(envs, " and "), r.target.shown)
		}
	}()
	out := r.f.IO.Out
	for _, entry := range cfg.Knowledge.VectorDBs {
		if entry.Provider != vector.ProviderFilesystem {
			continue
		}
		if created, err := ensureVectorStore(ctx, cfg, entry, r.f.IO.Getenv); err != nil {
			return err
		} else if created {
			fmt.Fprintf(out, "✓ Created vector store %q at %s\n", entry.ID, displayPath(r.f, entry.Path))
		}
	}
	applied, version, err := migrateUp(ctx, out, cfg.Database)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "✓ Applied %s; the database is at version %d\n", countMigrations(applied), version)
	report := runChecks(ctx, cfg, r.f.IO.Getenv)
	if err := doctor.WritePlain(out, report); err != nil {
		return err
	}
	if code := report.ExitCode(); code != ExitOK {
		return &ExitError{Code: code, Err: errors.New("init: the doctor found problems"), Silent: true}
	}
	return nil
}

func printInitPlan(w io.Writer, p wizard.Plan) {
	fmt.Fprintf(w, "Plan: %s + vector DB %s (%s)\n", p.Driver, p.Provider, p.Row)
	for _, reason := range p.Reasons {
		fmt.Fprintf(w, "  - %s\n", reason)
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "  ! %s\n", warn)
	}
}

// abortErr maps the form's abort to the command's.
func abortErr(err error) error {
	switch {
	case errors.Is(err, wizard.ErrAborted):
		return ErrAborted
	case errors.Is(err, wizard.ErrInputEnded):
		return &UsageError{Err: err}
	}
	return err
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// holdsSecret reports whether the file cfg was loaded from writes a password out (in a section
// compozy keeps as it is, since compozy itself writes ${VAR} references).
func holdsSecret(cfg *config.Config) bool {
	for _, w := range cfg.Warnings {
		if strings.Contains(w.Message, "plaintext password") {
			return true
		}
	}
	return false
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// startSpinner shows a spinner on w while a slow step runs, when w is a terminal; otherwise it
// prints the label once. The returned func stops it and clears the line.
func startSpinner(w io.Writer, tty bool, label string) func() {
	if !tty {
		fmt.Fprintln(w, label)
		return func() {}
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
		t := time.NewTicker(80 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r%s %s", frames[i%len(frames)], label)
			select {
			case <-done:
				fmt.Fprint(w, "\r\x1b[2K")
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// configTarget is the config file a command writes.
type configTarget struct {
	path  string // absolute
	shown string // as the user named it
	flag  string // the --config value that names it again ("" for the default)
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
func (t configTarget) read() ([]byte, bool, error) {
	data, err := os.ReadFile(t.path)
	switch {
	case err == nil:
		return data, true, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("read %s: %w", t.shown, err)
}

// write replaces the file atomically (core/atomicfile: a temporary file in the same folder,
// synced, then renamed), with mode 0600 when it holds a plaintext secret. When backup is set, the current file is first
// copied to a new FILE.YYYYMMDD-HHMMSS.bak, whose name is returned.
func (t configTarget) write(content []byte, backup, secret bool) (string, error) {
	dir := filepath.Dir(t.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write %s: create folder: %w", t.shown, err)
	}
	mode := fileMode(t.path, secret)
	bak := ""
	if backup {
		old, err := os.ReadFile(t.path)
		if err != nil {
			return "", fmt.Errorf("back up %s: %w", t.shown, err)
		}
		base := t.path + "." + time.Now().Format("20060102-150405")
		for i := 0; ; i++ {
			name := base + ".bak"
			if i > 0 {
				name = fmt.Sprintf("%s-%d.bak", base, i)
			}
			p, err := atomicfile.Create(name, mode)
			if err != nil {
				return "", fmt.Errorf("back up %s: %w", t.shown, err)
			}
			err = os.WriteFile(p.Path, old, mode)
			if err == nil {
				err = p.CommitNew()
			}
			p.Abort()
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("back up %s: %w", t.shown, err)
			}
			bak = name
			break
		}
	}
	// A config file that is a symbolic link is replaced where the link points, keeping the link.
	path := t.path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if err := atomicfile.WriteFile(path, content, mode); err != nil {
		return "", fmt.Errorf("write %s: %w", t.shown, err)
	}
	return shownBackup(t, bak), nil
}

func shownBackup(t configTarget, bak string) string {
	if bak == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(t.shown), filepath.Base(bak))
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
	getenv := func(k string) string {
		if k == wizard.PasswordEnv {
			if password != "" {
				return password
			}
			if v := f.IO.Getenv(k); v != "" {
				return v
			}
			return "stand-in"
		}
		return f.IO.Getenv(k)
	}
	environ := func() []string { return append(f.IO.Environ(), wizard.PasswordEnv+"="+getenv(wizard.PasswordEnv)) }
	cfg, err := config.LoadBytes(ctx, t.path, content, config.LoadOptions{WorkDir: f.workDir, Getenv: getenv, Environ: environ})
	if err != nil {
		return nil, fmt.Errorf("the file to write does not load (nothing was written): %w", err)
	}
	return cfg, nil
}
