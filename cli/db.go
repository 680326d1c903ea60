package cli

import (
	"github.com/spf13/cobra"
)

// dbSchemaVersion is the version of the `db ... --json` documents. Raise it when a field changes
// meaning or goes away; adding a field keeps it.
const dbSchemaVersion = 1

func newDBCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Back up, copy, vacuum and benchmark the database",
		Long: `Work with the data in Compozy's database.

  backup  a consistent hot backup (SQLite VACUUM INTO, or pg_dump for PostgreSQL)
  copy    copy every Compozy table between SQLite and PostgreSQL, verified row by row
  bench   measure what the configured database sustains on this machine, on a scratch
          database (your data is never touched)
  vacuum  give back the space deleted rows left (SQLite VACUUM, PostgreSQL VACUUM ANALYZE)`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDBBackupCmd(f), newDBBenchCmd(f), newDBCopyCmd(f), newDBVacuumCmd(f))
	return cmd
}
