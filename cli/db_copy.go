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
	"compozy.dev/setup/core/storage/dbcopy"
	"compozy.dev/setup/core/storage/factory"
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

A TARGET that already holds rows is refused unless --force, which replaces them. Source and
target are printed (passwords redacted) and, on a terminal, confirmed before anything is
written; elsewhere pass --yes. The copy ends with a verification of every table on both
sides: the row count and a checksum of every row's canonical content. Any difference fails
(exit 1) and names the table. An interrupted copy leaves TARGET marked unfinished (table
` + dbcopy.MarkerTable + `); rerun with --force to complete it.

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
	if !opts.yes {
		if !f.IO.CanPrompt() {
			return usageErrorf("db copy writes to %s: pass --yes to confirm (there is no terminal to ask on)", factory.Target(dst))
		}
		ok, err := confirmCopy(f.IO.In, info, "Copy every Compozy table from the source into the target?")
		if err != nil {
			return err
		}
		if !ok {
			return ErrAborted
		}
	}

	o := dbcopy.Options{Force: opts.force}
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
		doc := copyDoc{SchemaVersion: dbSchemaVersion, Result: res, OK: err == nil}
		if err != nil {
			doc.Error = err.Error()
		}
		if werr := writeDBJSON(out, doc); werr != nil {
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

func printCopyResult(w io.Writer, res *dbcopy.Result) {
	if res.Migrated > 0 {
		fmt.Fprintf(w, "Applied %s to the target.\n", countMigrations(res.Migrated))
	}
	if res.Cleared {
		fmt.Fprintln(w, "Replaced the rows the target held (--force).")
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
