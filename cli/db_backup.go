package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/backup"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/internal/bytesize"
)

type dbBackupOptions struct {
	to   string
	json bool
}

func newDBBackupCmd(f *Factory) *cobra.Command {
	opts := &dbBackupOptions{}
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Take a consistent hot backup of the database",
		Long: `Take a consistent backup of the configured database while Compozy keeps running.

SQLite: VACUUM INTO on a read-only connection of its own writes a snapshot of one moment, even
while writers keep writing; nothing is created beside the database and its folder need not be
writable. The copy is written under a temporary name in the target's folder (mode 0600),
checked with PRAGMA quick_check, and only then given its name, which must be free: a killed
backup never leaves a file under that name. The default file is next to the database, named
after it with the UTC time.

PostgreSQL: runs pg_dump (custom format; restore with pg_restore) with the configured
connection and connect_timeout, the password passed in its environment, never on its command
line; the dump is written and renamed the same way. Without pg_dump installed, prints the
exact command to run elsewhere.`,
		Example: `  compozy db backup
  compozy db backup --to /backups/compozy.db
  compozy db backup --db-driver postgres --to compozy.dump`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDBBackup(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.to, "to", "", "backup `FILE` (default: a timestamped name next to the SQLite database, or in the current folder for PostgreSQL)")
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON for machines")
	return cmd
}

// backupDoc is the `db backup --json` document.
type backupDoc struct {
	SchemaVersion int              `json:"schema_version"`
	Driver        string           `json:"driver"`
	Target        string           `json:"target"`
	File          string           `json:"file"`
	Bytes         int64            `json:"bytes"`
	DurationMS    float64          `json:"duration_ms"`
	Check         string           `json:"check,omitempty"`
	Rows          map[string]int64 `json:"rows,omitempty"`
	// Command is set when pg_dump is not installed: the command to run by hand.
	Command string `json:"command,omitempty"`
}

func runDBBackup(ctx context.Context, f *Factory, opts *dbBackupOptions) error {
	cfg, err := f.LoadConfig(ctx)
	if err != nil {
		return err
	}
	db := cfg.Database
	target := factory.Target(db)
	out := f.IO.Out
	if !opts.json {
		fmt.Fprintf(out, "Source: %s\n", target)
	}
	doc := backupDoc{SchemaVersion: dbSchemaVersion, Driver: db.Driver, Target: target}
	switch db.Driver {
	case config.DriverSQLite:
		if db.Path == "" || db.Path == config.MemoryPath {
			return refusef("db backup: the SQLite database is %q; only a database file can be backed up", db.Path)
		}
		dst := opts.to
		if dst == "" {
			real, err := sqlitefile.Resolve(db.Path)
			if err != nil {
				return fmt.Errorf("db backup: source %s: %w", db.Path, err)
			}
			dst = freeName(backup.DefaultSQLitePath(real, time.Now()))
		}
		dst, err = filepath.Abs(dst)
		if err != nil {
			return fmt.Errorf("db backup: resolve %s: %w", dst, err)
		}
		res, err := backup.SQLite(ctx, db, dst)
		if err != nil {
			return err
		}
		doc.File, doc.Bytes, doc.Check, doc.Rows = res.Path, res.Bytes, res.Check, res.Rows
		doc.DurationMS = float64(res.Duration.Microseconds()) / 1000
	case config.DriverPostgres:
		dst := opts.to
		if dst == "" {
			name := ""
			if cs, err := factory.PostgresConnSettings(db); err == nil {
				name = cs.Database
			}
			dst = freeName(backup.DefaultPostgresPath(".", name, time.Now()))
		}
		dst, err = filepath.Abs(dst)
		if err != nil {
			return fmt.Errorf("db backup: resolve %s: %w", dst, err)
		}
		dump, err := backup.NewPgDump(db, dst)
		if err != nil {
			return err
		}
		res, err := dump.Run(ctx)
		if errors.Is(err, backup.ErrPgDumpMissing) {
			doc.File, doc.Command = dst, dump.Command()
			if opts.json {
				return writeJSON(out, doc)
			}
			fmt.Fprintln(out, "pg_dump is not installed here. Install the PostgreSQL client tools (Debian: apt-get install postgresql-client), or run this where they are:")
			fmt.Fprintf(out, "  %s\n", doc.Command)
			return &ExitError{Code: ExitFailed, Err: errors.New("pg_dump is not installed"), Silent: true}
		}
		if err != nil {
			return err
		}
		doc.File, doc.Bytes = res.Path, res.Bytes
		doc.DurationMS = float64(res.Duration.Microseconds()) / 1000
	default:
		return refusef("db backup: unknown database driver %q (want %q or %q)", db.Driver, config.DriverPostgres, config.DriverSQLite)
	}
	if opts.json {
		return writeJSON(out, doc)
	}
	fmt.Fprintf(out, "Backup: %s (%s, mode 0600)\n", doc.File, bytesize.Format(doc.Bytes))
	if doc.Check != "" {
		fmt.Fprintf(out, "Check:  quick_check %s\n", doc.Check)
	}
	if len(doc.Rows) > 0 {
		names := make([]string, 0, len(doc.Rows))
		for t := range doc.Rows {
			names = append(names, t)
		}
		sort.Strings(names)
		fmt.Fprint(out, "Rows:  ")
		for _, t := range names {
			fmt.Fprintf(out, " %s %d", t, doc.Rows[t])
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Done in %s.\n", fmtDuration(time.Duration(doc.DurationMS*float64(time.Millisecond))))
	if db.Driver == config.DriverPostgres {
		fmt.Fprintf(out, "Restore with: pg_restore --clean --if-exists --dbname=DATABASE %s\n", doc.File)
	}
	return nil
}

// freeName is path, or, when a file has that name (a second backup within the same second),
// path with -2, -3, ... before its extension.
func freeName(path string) string {
	ext := filepath.Ext(path)
	stem := strings.TrimSuffix(path, ext)
	for i, p := 2, path; ; i++ {
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return p
		}
		p = fmt.Sprintf("%s-%d%s", stem, i, ext)
	}
}
