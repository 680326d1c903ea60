package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/vector"
	vfactory "compozy.dev/setup/core/vector/factory"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/shellquote"
	"compozy.dev/setup/wizard"
)

func newQuickstartCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "quickstart",
		Short: "Set up SQLite and a filesystem vector store in ./data, with no questions",
		Long: `Set up a working local installation with no questions: SQLite at ./data/compozy.db and a
filesystem vector store at ./data/vectors, written to compozy.yaml (or added to an existing
compozy.yaml that has no database: section, keeping everything else), then the migrations
applied, the vector store created, and the doctor run.

Running it again changes nothing and says so. For PostgreSQL, Qdrant or Redis, use
'compozy init'.`,
		Example: `  compozy quickstart
  go run . quickstart`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQuickstart(cmd.Context(), f)
		},
	}
}

// quickstartPlan is what quickstart writes: the matrix's local-development row with a
// filesystem vector store.
func quickstartPlan() (wizard.Plan, wizard.Settings, error) {
	p, err := wizard.Decide(wizard.Answers{UseCase: wizard.UseDev, Workflows: wizard.Workflows1to10, Vectors: true, Available: wizard.AvailNone})
	if err != nil {
		return wizard.Plan{}, wizard.Settings{}, fmt.Errorf("quickstart plan: %w", err)
	}
	p.Row = "quickstart: " + p.Row
	return p, wizard.DefaultSettings(), nil
}

func runQuickstart(ctx context.Context, f *Factory) error {
	start := time.Now()
	out := f.IO.Out
	target, err := f.configTarget()
	if err != nil {
		return err
	}
	plan, settings, err := quickstartPlan()
	if err != nil {
		return err
	}
	changed := false

	// 1. compozy.yaml.
	existing, exists, err := target.read()
	if err != nil {
		return err
	}
	var content []byte
	switch {
	case !exists:
		if content, err = renderFile(plan, settings); err != nil {
			return err
		}
	default:
		hasDB, hasVectors, err := wizard.Sections(existing)
		if err != nil {
			return fmt.Errorf("quickstart: read %s: %w", target.shown, err)
		}
		if !hasDB {
			data := wizard.Data(plan, settings)
			if hasVectors {
				data.VectorDBs = nil // the file's own vector DBs stay
			}
			if content, err = wizard.Merge(existing, data); err != nil {
				return fmt.Errorf("quickstart: add the database section to %s: %w", target.shown, err)
			}
		}
	}
	if fl := f.global.flags.Lookup("db-driver"); fl != nil && fl.Changed && fl.Value.String() != config.DriverSQLite {
		return usageErrorf("--db-driver %s: quickstart sets up SQLite only; use 'compozy init' for PostgreSQL", fl.Value.String())
	}
	if content != nil {
		cfg, err := checkContent(ctx, f, target, content, "")
		if err != nil {
			return err
		}
		if d := cfg.Database.Driver; d != config.DriverSQLite {
			// The environment (COMPOZY_DB_DRIVER or DB_DRIVER) overrides the file: refuse
			// before writing anything rather than after.
			src := cfg.Sources["database.driver"]
			return refusef("%s sets driver %s; quickstart sets up SQLite only and wrote nothing. Unset it, or use 'compozy init' for PostgreSQL", src, d)
		}
		if err := quickstartFolders(cfg); err != nil {
			return err
		}
		backup, err := target.write(content, exists, holdsSecret(cfg))
		if err != nil {
			return err
		}
		changed = true
		if exists {
			fmt.Fprintf(out, "✓ Added database: to %s (the rest is unchanged; backup %s)\n", target.shown, backup)
		} else {
			fmt.Fprintf(out, "✓ Wrote %s: SQLite at %s, filesystem vectors at %s\n", target.shown, settings.SQLitePath, settings.VectorPath)
		}
	} else {
		fmt.Fprintf(out, "✓ %s already configures the database; left as it is\n", target.shown)
	}

	cfg, err := f.LoadConfig(ctx)
	if err != nil {
		return err
	}
	if cfg.Database.Driver != config.DriverSQLite {
		return refusef("%s configures driver %s; quickstart sets up SQLite only. Run 'compozy migrate up' and 'compozy doctor' for this setup, or 'compozy init --force' to choose again",
			target.shown, cfg.Database.Driver)
	}

	// 2. Vector stores that live on this machine.
	for _, entry := range cfg.Knowledge.VectorDBs {
		if entry.Provider != vector.ProviderFilesystem {
			continue
		}
		created, err := ensureVectorStore(ctx, cfg, entry, f.IO.Getenv)
		if err != nil {
			return err
		}
		if created {
			changed = true
			fmt.Fprintf(out, "✓ Created vector store %q at %s (%d dimensions, %s)\n", entry.ID, displayPath(f, entry.Path), entry.Dimension, orDefault(entry.Metric, "cosine"))
		} else {
			fmt.Fprintf(out, "✓ Vector store %q at %s exists\n", entry.ID, displayPath(f, entry.Path))
		}
	}

	// 3. Migrations.
	applied, version, err := migrateUp(ctx, out, cfg.Database)
	if err != nil {
		return err
	}
	if applied > 0 {
		changed = true
		fmt.Fprintf(out, "✓ Applied %s to %s; the database is at version %d\n", countMigrations(applied), factory.Target(cfg.Database), version)
	} else {
		fmt.Fprintf(out, "✓ Database %s is up to date at version %d\n", factory.Target(cfg.Database), version)
	}

	// 4. The doctor.
	report := runChecks(ctx, cfg, f.IO.Getenv)
	code := report.ExitCode()
	if code == ExitOK && report.Summarize().Warn == 0 {
		fmt.Fprintf(out, "✓ Doctor: %s\n", doctor.SummaryLine(report.Summarize()))
	} else {
		fmt.Fprintln(out, "Doctor:")
		if err := doctor.WritePlain(out, report); err != nil {
			return err
		}
	}
	if code != ExitOK {
		return &ExitError{Code: code, Err: fmt.Errorf("quickstart: the doctor found problems"), Silent: true}
	}
	if !changed {
		fmt.Fprintf(out, "\nThe setup is already healthy; nothing was changed (%s).\n", fmtDuration(time.Since(start)))
	} else {
		fmt.Fprintf(out, "\nReady in %s.\n", fmtDuration(time.Since(start)))
	}
	printNextStepsAs(out, f.self(), target, false)
	return nil
}

// ensureVectorStore creates a vector store that does not exist yet; it reports whether it did.
func ensureVectorStore(ctx context.Context, cfg *config.Config, entry config.VectorDB, getenv func(string) string) (bool, error) {
	st, err := vfactory.Open(ctx, entry, vfactory.Options{Database: cfg.Database, Getenv: getenv})
	if err != nil {
		return false, fmt.Errorf("open vector DB %q: %w", entry.ID, err)
	}
	defer st.Close()
	_, err = st.Describe(ctx)
	switch {
	case err == nil:
		return false, nil
	case !errors.Is(err, vector.ErrNotFound):
		return false, fmt.Errorf("read vector DB %q: %w", entry.ID, err)
	}
	if err := st.Ensure(ctx); err != nil {
		return false, fmt.Errorf("create vector DB %q: %w", entry.ID, err)
	}
	return true, nil
}

// migrateUp applies every pending migration through the one door, as `compozy migrate up`
// does: a SQLite file that holds rows is backed up first (the backup is named on out). It
// returns how many migrations were applied and the version reached.
func migrateUp(ctx context.Context, out io.Writer, db config.Database) (int, int64, error) {
	if t := db.MigrationTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	h, err := factory.Open(ctx, db, factory.ReadWrite)
	if err != nil {
		return 0, 0, err // the door's errors name the database and the step
	}
	defer h.Close()
	s := &migrateSession{cfg: &config.Config{Database: db}, h: h, m: h.Migrator, target: h.Target, out: out}
	plan, err := h.Migrator.Plan(ctx, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("plan the migrations of %s: %w", h.Target, err)
	}
	if len(plan) > 0 {
		v, err := h.Migrator.Version(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("read the schema version of %s: %w", h.Target, err)
		}
		if err := s.backupFirst(ctx, v.Current); err != nil {
			return 0, 0, err
		}
	}
	res, err := h.Migrator.Up(ctx)
	if err != nil {
		return len(res), 0, fmt.Errorf("apply migrations to %s: %w", h.Target, err)
	}
	v, err := h.Migrator.Version(ctx)
	if err != nil {
		return len(res), 0, fmt.Errorf("read the schema version of %s: %w", h.Target, err)
	}
	return len(res), v.Current, nil
}

// runChecks runs every doctor check on cfg.
func runChecks(ctx context.Context, cfg *config.Config, getenv func(string) string) doctor.Report {
	start := time.Now()
	set := buildChecks(cfg, nil, getenv, false)
	defer set.Close()
	results := doctor.Run(ctx, set.Checks, doctor.RunOptions{Timeout: doctor.DefaultTimeout})
	return doctor.Report{Target: set.Target, Results: results, Duration: time.Since(start)}
}

// printNextSteps says what to run next, as `compozy ...`.
func printNextSteps(w io.Writer, target configTarget, migrateFirst bool) {
	printNextStepsAs(w, "compozy", target, migrateFirst)
}

// printNextStepsAs says what to run next, each command starting with self: the way this
// binary was run (see Invocation), so that the hint works for a user without compozy on PATH.
func printNextStepsAs(w io.Writer, self string, target configTarget, migrateFirst bool) {
	cfgFlag := ""
	if target.flag != "" {
		cfgFlag = " --config " + shellquote.Quote(target.flag)
	}
	type step struct{ cmd, why string }
	var steps []step
	if migrateFirst {
		steps = append(steps, step{self + " migrate up" + cfgFlag, "create the tables"})
	}
	steps = append(steps, step{self + " doctor" + cfgFlag, "check the setup at any time"},
		step{self + " config show" + cfgFlag, "every setting and where it came from"})
	if !migrateFirst {
		steps = append(steps, step{self + " init", "choose another setup (PostgreSQL, Qdrant, Redis) step by step"})
	}
	width := 0
	for _, s := range steps {
		width = max(width, len(s.cmd))
	}
	fmt.Fprintln(w, "\nNext:")
	for _, s := range steps {
		fmt.Fprintf(w, "  %-*s  # %s\n", width, s.cmd, s.why)
	}
}

// displayPath shows path relative to the working directory when it lies below it.
func displayPath(f *Factory, path string) string {
	wd := f.workDir
	if wd == "" {
		wd, _ = os.Getwd()
	}
	if rel, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(rel, "..") {
		return "./" + rel
	}
	return path
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fileMode is the mode a config file is written with: 0600 when it holds a plaintext secret,
// else the existing file's mode, else 0644.
func fileMode(path string, secret bool) os.FileMode {
	if secret {
		return 0o600
	}
	if fi, err := os.Stat(path); err == nil {
		return fi.Mode().Perm()
	}
	return 0o644
}

// quickstartFolders refuses, before anything is written, a setup whose database or vector
// folder cannot be made: on the way to it stands a file, or a symbolic link that leads nowhere
// (./data left from something else). Without this compozy.yaml was written first and the run
// failed after it with "mkdir data: file exists".
func quickstartFolders(cfg *config.Config) error {
	dirs := []string{filepath.Dir(cfg.Database.Path)}
	for _, v := range cfg.Knowledge.VectorDBs {
		if v.Provider == vector.ProviderFilesystem && v.Path != "" {
			dirs = append(dirs, v.Path)
		}
	}
	for _, dir := range dirs {
		if err := folderBlocked(dir); err != nil {
			return refusef("quickstart: %v; remove it or make it a folder (nothing was written)", err)
		}
	}
	return nil
}

// folderBlocked says what stops dir from being a folder: the first thing on its path that
// exists and is neither a folder nor a link to one. nil when dir is, or can be made.
func folderBlocked(dir string) error {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			if up := filepath.Dir(p); up != p {
				continue
			}
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			to, _ := os.Readlink(p)
			st, serr := os.Stat(p)
			switch {
			case serr != nil:
				return fmt.Errorf("%s is a symbolic link to %s, which does not exist", p, to)
			case !st.IsDir():
				return fmt.Errorf("%s is a symbolic link to %s, which is not a folder", p, to)
			}
			return nil
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is a file, not a folder", p)
		}
		return nil
	}
}
