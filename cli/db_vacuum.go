package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/maintenance"
	"compozy.dev/setup/internal/bytesize"
)

type dbVacuumOptions struct {
	json bool
}

func newDBVacuumCmd(f *Factory) *cobra.Command {
	opts := &dbVacuumOptions{}
	cmd := &cobra.Command{
		Use:   "vacuum",
		Short: "Give back the space deleted rows left in the database",
		Long: `Reclaim the space that deleted workflows and tasks leave behind.

SQLite: a database file never shrinks by itself; its free pages are reused, not given back.
VACUUM rewrites the file without them. It needs the database to itself (it is refused,
naming the processes, while Compozy or anything else has the file open) and room for a new
copy beside it (checked first). The file's -wal is truncated afterwards.

PostgreSQL: VACUUM (ANALYZE) on each of Compozy's tables, with the dead rows before and
after; it runs while Compozy keeps working.`,
		Example: `  compozy db vacuum
  compozy db vacuum --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDBVacuum(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON for machines")
	return cmd
}

func runDBVacuum(ctx context.Context, f *Factory, opts *dbVacuumOptions) error {
	cfg, err := f.LoadConfig(ctx)
	if err != nil {
		return err
	}
	out, errOut := f.IO.Out, f.IO.ErrOut
	if !opts.json {
		fmt.Fprintf(out, "Target: %s\n", factory.Target(cfg.Database))
	}
	var progress func(maintenance.Progress)
	if f.IO.IsStderrTTY() && !opts.json {
		progress = func(p maintenance.Progress) {
			label := "vacuum"
			if p.Table != "" {
				label += " " + p.Table
			}
			if p.Total > 0 {
				fmt.Fprintf(errOut, "\r\033[K%s: %d%% (%s of about %s)", label, min(100, p.Done*100/p.Total), bytesize.Format(p.Done), bytesize.Format(p.Total))
			} else {
				fmt.Fprintf(errOut, "\r\033[K%s…", label)
			}
		}
	}
	res, err := maintenance.Vacuum(ctx, cfg.Database, progress)
	if progress != nil {
		fmt.Fprint(errOut, "\r\033[K")
	}
	var busy *maintenance.BusyError
	var space *maintenance.SpaceError
	switch {
	case errors.As(err, &busy), errors.As(err, &space):
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("db vacuum: %w; nothing was changed", err)}
	case err != nil:
		return err
	}
	if opts.json {
		return writeJSON(out, struct {
			SchemaVersion int `json:"schema_version"`
			*maintenance.Result
			DurationMS float64 `json:"duration_ms"`
		}{dbSchemaVersion, res, float64(res.Duration.Microseconds()) / 1000})
	}
	if res.Tables == nil {
		fmt.Fprintf(out, "Vacuumed in %s: %s → %s (%s of free pages given back).\n",
			fmtDuration(res.Duration), bytesize.Format(res.BytesBefore), bytesize.Format(res.BytesAfter), bytesize.Format(max(0, res.BytesBefore-res.BytesAfter)))
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSIZE BEFORE\tSIZE AFTER\tLIVE ROWS\tDEAD ROWS BEFORE\tDEAD ROWS AFTER")
	for _, t := range res.Tables {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\n", t.Table, bytesize.Format(t.Bytes), bytesize.Format(t.BytesAfter), t.LiveRows, t.DeadRows, t.DeadAfter)
	}
	tw.Flush()
	fmt.Fprintf(out, "Vacuumed and analysed %d tables in %s.\n", len(res.Tables), fmtDuration(res.Duration.Round(time.Millisecond)))
	return nil
}
