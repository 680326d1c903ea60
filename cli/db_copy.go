package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/backup"
	"compozy.dev/setup/core/storage/dbcopy"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/internal/bytesize"
)

type dbCopyOptions struct {
	from, to string
	force    bool
	yes      bool
	json     bool
}

func newDBCopyCmd(f *Factory) *cobra.Command {
	opts := &dbCopyOptions{}
	cmd := &cobra.Command{
		Use:   "copy --to TARGET [--from SOURCE]",
		Short: "Copy all Compozy data between SQLite and PostgreSQL, verified",
		Long: `Copy every Compozy table (users, api_keys, workflow_states, task_states) from SOURCE into
TARGET, in foreign-key order, streaming rows with constant memory (COPY into PostgreSQL).
JSON, timestamps (as instants, with their time zone) and binary values convert faithfully.

SOURCE and TARGET are each a config file (.yaml/.yml), a SQLite path, or a PostgreSQL URL
(or keyword/value string); SOURCE defaults to the configured database. Keep passwords off the
command line: use a config file with ${VAR} references, or PGPASSWORD for a URL. The migrations are applied to TARGET first; SOURCE
must already be at the latest schema version and is only read.

A SQLite TARGET that holds tables Compozy does not know (another program's database) is refused,
with or without --force (exit 2, nothing changed). A TARGET that already holds rows is refused
unless --force, which replaces them: the rows it
holds are listed per table first (read without changing anything), a SQLite target is then
backed up next to it (NAME-pre-copy-UTCTIME.db, 0600, the newest three kept; the path and how
to restore it are printed), and for PostgreSQL the pg_dump command to run first is printed.
Source and target are printed (passwords redacted) and, on a terminal, confirmed (the question
names the rows --force replaces) before anything is written; elsewhere pass --yes. The copy ends with a verification of every table on both
sides: the row count and a checksum of every row's canonical content. Any difference fails
(exit 1) and names the table. An interrupted copy leaves TARGET marked unfinished (table
` + dbcopy.MarkerTable + `); rerun with --force to complete it. The backup such a rerun takes
(NAME-pre-copy-unfinished-UTCTIME.db) is counted apart: the backups of the data the target held
before the first copy are never removed to make room for it.

Copies into one TARGET run one at a time, whatever name reaches it (a symbolic or hard link, a
path with ../, another spelling of the URL): from before it looks at TARGET (so before the
listing, the question and the backup) to the end, a copy holds a lock on TARGET (SQLite: TARGET.copy.lock beside the real file, an flock
the kernel drops if the process dies, removed when the copy ends; PostgreSQL: a session
advisory lock on the database). A second copy is refused at once (exit 2), naming the other
copy's PID, and changes nothing; run it again once the first is done. Through a transaction
pooler, where a session lock does not hold, the copy is refused as migrate is: use the
server's direct address. A SQLite TARGET file that group or others may read (an empty file
created by hand, 0644) is made 0600, like every database compozy creates, and the copy says so.

Stop Compozy (or anything else writing to SOURCE) during the copy: writes made meanwhile
may be missed, and the verification then fails.`,
		Example: `  compozy db copy --from ./data/compozy.db --to postgres://compozy@db:5432/compozy
  compozy db copy --to ./data/compozy.db --from postgres://compozy@db:5432/compozy --yes
  compozy db copy --from compozy.yaml --to postgres.yaml --force`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDBCopy(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.from, "from", "", "`SOURCE`: config file, SQLite path or PostgreSQL URL (default: the configured database)")
	fl.StringVar(&opts.to, "to", "", "`TARGET`: config file, SQLite path or PostgreSQL URL")
	fl.BoolVar(&opts.force, "force", false, "replace the rows TARGET already holds")
	fl.BoolVar(&opts.yes, "yes", false, "do not ask before writing")
	fl.BoolVar(&opts.json, "json", false, "print JSON for machines")
	return cmd
}

// copyDoc is the `db copy --json` document.
type copyDoc struct {
	SchemaVersion int `json:"schema_version"`
	*dbcopy.Result
	OK bool `json:"ok"`
	// Backup is the backup of a SQLite target taken before its rows were replaced.
	Backup string `json:"backup,omitempty"`
	// Error is set when the copy failed.
	Error string `json:"error,omitempty"`
}

func runDBCopy(ctx context.Context, f *Factory, opts *dbCopyOptions) error {
	if opts.to == "" {
		return usageErrorf("db copy: --to TARGET is required (a config file, a SQLite path or a PostgreSQL URL)")
	}
	var src config.Database
	if opts.from == "" {
		cfg, err := f.LoadConfig(ctx)
		if err != nil {
			return err
		}
		src = cfg.Database
	} else {
		var err error
		if src, err = resolveDBArg(ctx, f, "--from", opts.from); err != nil {
			return err
		}
	}
	dst, err := resolveDBArg(ctx, f, "--to", opts.to)
	if err != nil {
		return err
	}
	out, errOut := f.IO.Out, f.IO.ErrOut
	info := out
	if opts.json {
		info = errOut
	}
	fmt.Fprintf(info, "Source: %s\nTarget: %s\n", factory.Target(src), factory.Target(dst))
	// A copy onto its own source is refused before anyone is asked to confirm it.
	if _, _, err := dbcopy.Distinct(ctx, src, dst); err != nil {
		var same *dbcopy.SameDatabaseError
		if errors.As(err, &same) {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("db copy: %w", err)}
		}
		return err
	}
	// Copies into one target are serialised: the lock is taken before the target is looked at
	// and held to the end, so a copy already running is named and this one refused at once,
	// before any listing or question, with nothing changed; and what is shown and agreed to
	// stays what the target holds.
	lock, err := dbcopy.LockTarget(ctx, dst)
	if err != nil {
		if dbcopy.IsBusy(err) {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("db copy: %w", err)}
		}
		return err
	}
	defer lock.Release()
	// What the target holds, read through the read-only door: nothing is changed before the
	// user agrees to replace it.
	state, err := dbcopy.Inspect(ctx, dst)
	if err != nil {
		return err
	}
	if len(state.Foreign) > 0 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("db copy: %w; nothing was changed", &dbcopy.ForeignError{Target: state.Target, Tables: state.Foreign})}
	}
	if state.Holds() && !opts.force {
		return &ExitError{Code: ExitFailed, Err: state.NotEmpty()}
	}
	if state.Holds() {
		printReplaced(info, state, dst)
	}
	if dst.Driver == config.DriverPostgres {
		n, err := dbcopy.SubMicrosecond(ctx, src)
		if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(info, "Note: %d timestamp(s) of the source have nanoseconds; PostgreSQL keeps microseconds, so they are rounded down to the microsecond (the verification compares microseconds).\n", n)
		}
	}
	if !opts.yes {
		if !f.IO.CanPrompt() {
			if state.Holds() {
				return usageErrorf("db copy --force would replace %s; nothing was changed: pass --yes to confirm (there is no terminal to ask on)", replacedSummary(state))
			}
			return usageErrorf("db copy writes to %s: pass --yes to confirm (there is no terminal to ask on)", factory.Target(dst))
		}
		question := "Copy every Compozy table from the source into the target?"
		if state.Holds() {
			question = fmt.Sprintf("Replace %s with a copy of the source?", replacedSummary(state))
		}
		ok, err := confirmCopy(f.IO.In, info, question)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(info, "Nothing was changed.")
			return ErrAborted
		}
	}
	var backupPath string
	if state.Dialect == config.DriverSQLite && state.Total() > 0 {
		res, removed, err := backup.BeforeCopy(ctx, dst, time.Now(), keepCopyBackups, state.Unfinished)
		if err != nil {
			return fmt.Errorf("db copy: back up the target before replacing its rows (nothing was changed): %w", err)
		}
		backupPath = res.Path
		kind := ""
		if state.Unfinished {
			// Part of an interrupted copy, not the data: counted apart from the backups of the
			// data, which its rotation never removes.
			kind = " of unfinished copies"
			fmt.Fprintf(info, "Backup of the target as the unfinished copy left it: %s (%d rows, %s, mode 0600)\n", res.Path, res.TotalRows(), bytesize.Format(res.Bytes))
		} else {
			fmt.Fprintf(info, "Backup: %s (%d rows, %s, mode 0600)\n", res.Path, res.TotalRows(), bytesize.Format(res.Bytes))
		}
		fmt.Fprintf(info, "  To restore it: %s\n", backup.RestoreHint(res.Path, state.Path))
		for _, r := range removed {
			fmt.Fprintf(info, "  Removed the oldest backup%s %s (the newest %d are kept)\n", kind, r, keepCopyBackups)
		}
	}

	o := dbcopy.Options{Force: opts.force, Lock: lock}
	progress := f.IO.IsStderrTTY()
	if progress {
		var last time.Time
		o.Progress = func(p dbcopy.Progress) {
			if now := time.Now(); now.Sub(last) >= 100*time.Millisecond || p.Rows == p.TableRows {
				last = now
				drawCopyProgress(errOut, p)
			}
		}
	}
	res, err := dbcopy.Copy(ctx, src, dst, o)
	if progress {
		fmt.Fprint(errOut, "\r\033[K")
	}
	if opts.json && res != nil {
		doc := copyDoc{SchemaVersion: dbSchemaVersion, Result: res, OK: err == nil, Backup: backupPath}
		if err != nil {
			doc.Error = err.Error()
		}
		if werr := writeJSON(out, doc); werr != nil {
			return werr
		}
		if err != nil {
			return &ExitError{Code: ExitFailed, Err: err, Silent: true}
		}
		return nil
	}
	if res != nil {
		printCopyResult(out, res)
	}
	var ne *dbcopy.NotEmptyError
	var mm *dbcopy.MismatchError
	var same *dbcopy.SameDatabaseError
	switch {
	case errors.As(err, &ne):
		return &ExitError{Code: ExitFailed, Err: err}
	case errors.As(err, &mm):
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%w; the target stays marked unfinished", err)}
	case dbcopy.IsBusy(err):
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("db copy: %w", err)}
	case errors.As(err, &same):
		// Exit 2 like a usage error (the arguments name one database twice), without the
		// "see --help" line: the message says what is wrong and --help would not help.
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("db copy: %w", err)}
	case err != nil:
		return err
	}
	fmt.Fprintf(out, "Copied %d rows in %.1fs (%.0f rows/s); verified in %.1fs: every table matches.\n",
		res.Rows, res.CopySeconds, res.RowsPerSec, res.VerifySeconds)
	return nil
}

// keepCopyBackups is how many of the backups db copy takes of a SQLite target are kept.
const keepCopyBackups = 3

// printReplaced lists what --force replaces in the target and how it is kept: a SQLite target
// is backed up first; for PostgreSQL, the pg_dump command to run first.
func printReplaced(w io.Writer, st *dbcopy.TargetState, db config.Database) {
	fmt.Fprintf(w, "The target holds data that --force replaces:\n")
	for _, r := range st.Rows {
		fmt.Fprintf(w, "  %s: %s\n", r.Table, plural(r.Rows, "row"))
	}
	if st.Unfinished {
		fmt.Fprintf(w, "  the mark of an unfinished copy (%s)\n", st.Mark)
	}
	if st.Total() == 0 {
		return
	}
	switch st.Dialect {
	case config.DriverSQLite:
		fmt.Fprintln(w, "A backup of it is written next to it before anything is replaced.")
	case config.DriverPostgres:
		fmt.Fprintln(w, "Back it up first (pg_dump, custom format; restore with pg_restore):")
		name := ""
		if cs, err := factory.PostgresConnSettings(db); err == nil {
			name = cs.Database
		}
		if dump, err := backup.NewPgDump(db, backup.DefaultPostgresPath(".", name, time.Now())); err == nil {
			fmt.Fprintf(w, "  %s\n", dump.Command())
		}
	}
}

// replacedSummary is what --force replaces, for the question and the refusal: "the 5004 rows
// the target postgres://... holds (workflow_states: 5000 rows, users: 4 rows)".
func replacedSummary(st *dbcopy.TargetState) string {
	if st.Total() == 0 {
		return "the unfinished copy in the target " + st.Target
	}
	return fmt.Sprintf("the %s the target %s holds (%s)", plural(st.Total(), "row"), st.Target, st.Summary())
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func printCopyResult(w io.Writer, res *dbcopy.Result) {
	if res.RoundedTimestamps > 0 {
		fmt.Fprintf(w, "Rounded %d timestamp(s) with nanoseconds down to microseconds (PostgreSQL's precision).\n", res.RoundedTimestamps)
	}
	if res.Migrated > 0 {
		fmt.Fprintf(w, "Applied %s to the target.\n", countMigrations(res.Migrated))
	}
	if res.Cleared {
		fmt.Fprintln(w, "Replaced the rows the target held (--force).")
	}
	if res.TightenedMode != "" {
		fmt.Fprintf(w, "Made the target file private: mode %s -> 0600 (it holds API key hashes; every database compozy creates is 0600).\n", res.TightenedMode)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSOURCE ROWS\tTARGET ROWS\tSOURCE CHECKSUM\tTARGET CHECKSUM\tRESULT")
	for _, t := range res.Tables {
		verdict := "ok"
		if !t.Match {
			verdict = "DIFFERENT"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", t.Table, t.SourceRows, t.TargetRows, t.SourceChecksum, t.TargetChecksum, verdict)
	}
	tw.Flush()
}

func drawCopyProgress(w io.Writer, p dbcopy.Progress) {
	if p.Phase == dbcopy.PhaseVerify {
		fmt.Fprintf(w, "\r\033[Kverifying %s...", p.Table)
		return
	}
	const width = 30
	filled := width
	if p.Total > 0 {
		filled = int(float64(width) * float64(p.Done) / float64(p.Total))
	}
	fmt.Fprintf(w, "\r\033[K[%s%s] %d/%d rows  %s %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		p.Done, p.Total, p.Table, p.Rows, p.TableRows)
}

// confirmCopy asks a yes/no question on a terminal; only "y" or "yes" is yes.
func confirmCopy(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	default:
		return false, nil
	}
}
