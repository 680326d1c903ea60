package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/dbcopy"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/doctor/report"
)

// reportStdout is --report's value when no FILE is given: the report goes to standard output.
const reportStdout = "-"

// doctorArgs takes the FILE of `--report FILE` (written with a space, the value of a flag whose
// value may be left out arrives as an argument); any other argument is a usage error.
func doctorArgs(opts *doctorOptions) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 1 && opts.report == reportStdout && cmd.Flags().Changed("report") {
			opts.report = args[0]
			return nil
		}
		return noArgs(cmd, args)
	}
}

// checkModes refuses the combinations of --report and --watch with the other outputs: each is
// an output of its own, and neither may change anything.
func (o *doctorOptions) checkModes() error {
	switch {
	case o.report != "" && (o.json || o.fix || o.watch):
		return usageErrorf("--report is an output of its own: it goes without --json, --fix and --watch")
	case o.watch && (o.json || o.fix):
		return usageErrorf("--watch only reads and draws: it goes without --json and --fix")
	case o.count != 0 && !o.watch:
		return usageErrorf("--count goes with --watch: it says after how many samples the watch stops")
	}
	return nil
}

// runDoctorReport runs the checks (read-only, as doctor without --fix does) and writes the
// Markdown report for a support ticket to standard output or, atomically and 0600, to the
// file --report names. The exit code is the doctor's.
func runDoctorReport(ctx context.Context, f *Factory, opts *doctorOptions, d *doctorRun) error {
	path := opts.report
	if path != reportStdout {
		if !filepath.IsAbs(path) && f.workDir != "" {
			path = filepath.Join(f.workDir, path)
		}
		if err := reportTargetFree(opts.report, path, d.cfg); err != nil {
			return err
		}
	}
	d.run(ctx, opts.checkTimeout(), nil)
	in := report.Input{Generated: time.Now(), Command: "compozy doctor --report", Report: d.report,
		Facts: report.Machine(f.Build.Version)}
	var secrets []string
	if cfg := d.cfg; cfg != nil {
		in.Facts = append(in.Facts, databaseFacts(ctx, cfg.Database, opts.timeout)...)
		in.ConfigFile, in.Config, in.Warnings = cfg.File, cfg.Values(), cfg.Warnings
		secrets = knownSecrets(cfg, f.IO.Environ())
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, in, secrets); err != nil {
		return err
	}
	if opts.report == reportStdout {
		if _, err := f.IO.Out.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("write doctor report: %w", err)
		}
		return doctorExit(d.report)
	}
	if err := writeNewFile(path, buf.Bytes()); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return reportExists(opts.report)
		}
		return fmt.Errorf("write doctor report: %w", err)
	}
	fmt.Fprintf(f.IO.ErrOut, "Wrote %s (mode 0600): %s\n", opts.report, doctor.SummaryLine(d.report.Summarize()))
	return doctorExit(d.report)
}

// reportTargetFree refuses, before any check runs, a --report FILE that names something that
// exists (name as given, path resolved): the report never replaces a file, so that a slip of the
// finger cannot turn the database, its -wal file or compozy.yaml into a Markdown document. A
// symbolic link counts as existing, even when it leads nowhere. It also refuses the names SQLite
// and compozy give the configured database's files when they do not exist yet (the file itself,
// -wal, -shm, -journal, the migration and copy locks): a report there would be read as a damaged database
// or a crashed write. A folder that does not exist is said as such.
func reportTargetFree(name, path string, cfg *config.Config) error {
	if _, err := os.Lstat(path); err == nil {
		return reportExists(name)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("doctor --report: %w", err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return refusef("doctor --report: the folder %s does not exist; create it first, or name a file in a folder that exists", filepath.Dir(name))
	}
	if cfg == nil || cfg.Database.Driver != config.DriverSQLite || cfg.Database.Path == "" || cfg.Database.Path == ":memory:" {
		return nil
	}
	db, err := sqlitefile.Resolve(cfg.Database.Path)
	if err != nil {
		return nil // the doctor says what is wrong with the database's path
	}
	target, err := sqlitefile.Resolve(path)
	if err != nil {
		return fmt.Errorf("doctor --report: %w", err)
	}
	for _, suffix := range []string{"", sqlitefile.WALSuffix, sqlitefile.SHMSuffix, sqlitefile.JournalSuffix, migrate.LockSuffix, dbcopy.LockSuffix} {
		if target == db+suffix {
			return refusef("doctor --report: %s is the name of the database's own file %s; name the report another file", name, filepath.Base(db+suffix))
		}
	}
	return nil
}

// reportExists is the refusal of a --report FILE that exists.
func reportExists(name string) error {
	return refusef("doctor --report: %s already exists, and the report never replaces a file; name a new file, or remove that one first", name)
}

// writeNewFile writes data to path, 0600, atomically and only under a name that is still free
// when the file is complete (an error wrapping fs.ErrExist otherwise).
func writeNewFile(path string, data []byte) error {
	p, err := atomicfile.Create(path, 0o600)
	if err != nil {
		return err
	}
	defer p.Abort()
	if err := os.WriteFile(p.Path, data, 0o600); err != nil {
		return err
	}
	return p.CommitNew()
}

// databaseFacts opens db read-only through the door, within timeout, and reads its facts. A
// SQLite file not created yet still gives the library's version (from an in-memory database,
// which leaves no file) and the filesystem of its folder.
func databaseFacts(ctx context.Context, db config.Database, timeout time.Duration) []report.Fact {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h, err := factory.Open(ctx, db, factory.ReadOnly)
	if err == nil {
		defer h.Close()
		return report.Database(ctx, h)
	}
	facts := []report.Fact{report.Unavailable(db.Driver, err)}
	if db.Driver == config.DriverSQLite && factory.IsNotExist(err) {
		if m, merr := factory.Open(ctx, config.Database{Driver: config.DriverSQLite, Path: ":memory:"}, factory.ReadWrite); merr == nil {
			defer m.Close()
			facts = report.Database(ctx, m)
			facts = append(facts, report.Fact{Name: "SQLite file", Value: db.Path + " (not created yet)"})
		}
		facts = append(facts, report.Filesystem(existingParent(filepath.Dir(db.Path))))
	}
	return facts
}

// existingParent is dir, or the nearest folder above it that exists.
func existingParent(dir string) string {
	for {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// knownSecrets are the secrets the report must not carry in any spelling: the database
// passwords (used, and conn_string's), the client key's passphrase, the vector DBs' URL
// passwords and API keys, and every environment variable whose name says it holds a secret.
func knownSecrets(cfg *config.Config, environ []string) []string {
	secrets := []string{cfg.Database.Password}
	if cs, err := factory.PostgresConnSettings(cfg.Database); err == nil {
		secrets = append(secrets, cs.Password, cs.SSLPassword)
	}
	for _, v := range cfg.Knowledge.VectorDBs {
		u, err := url.Parse(v.URL)
		if err != nil {
			continue
		}
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p)
		}
		for k, vals := range u.Query() {
			if secretName(k) {
				secrets = append(secrets, vals...)
			}
		}
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && secretName(k) && !strings.HasSuffix(strings.ToUpper(k), "_FILE") {
			secrets = append(secrets, v)
		}
	}
	return secrets
}

// secretName reports whether a variable or parameter name says it holds a secret.
func secretName(name string) bool {
	n := strings.ToUpper(name)
	for _, w := range []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "API-KEY"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// declareReportWatchFlags declares --report, --watch, --interval and --count.
func declareReportWatchFlags(fl *pflag.FlagSet, opts *doctorOptions) {
	fl.StringVar(&opts.report, "report", "", "write a Markdown report for a support ticket (versions, machine, every check, config show; secrets redacted) to a new `FILE` (0600; never replaces one), or to standard output without FILE")
	fl.Lookup("report").NoOptDefVal = reportStdout
	fl.BoolVar(&opts.watch, "watch", false, "show the database's live state every --interval, changing nothing: a pane on a terminal, one line per interval in a pipe")
	fl.DurationVar(&opts.interval, "interval", time.Second, "with --watch: time between two samples")
	fl.IntVar(&opts.count, "count", 0, "with --watch: stop after `N` samples (0: until q, Ctrl-C or SIGINT)")
}
