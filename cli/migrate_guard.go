package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/backup"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/internal/bytesize"
)

// stillAsShown refuses a down whose plan, made again under the migration lock, is not the one
// shown, or which drops data that was not listed and confirmed (rows written meanwhile, another
// migrate that ran first). --yes accepts more data, not another plan.
func (s *migrateSession) stillAsShown(r migrateRun, shown migratePlan, plan []migrate.Migration, losses []migrate.Loss) error {
	if !samePlan(shown.plan, plan) {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("the database changed after the plan was made (another compozy migrate ran?): it would now revert %s; nothing was changed: run the command again", planFiles(plan))}
	}
	if r.yes {
		return nil
	}
	confirmed := map[string]int64{}
	for _, l := range shown.losses {
		confirmed[l.Table+"."+l.Column] = l.Rows
	}
	var more []migrate.Loss
	for _, l := range losses {
		if n, ok := confirmed[l.Table+"."+l.Column]; !ok || l.Rows > n {
			more = append(more, l)
		}
	}
	if len(more) > 0 {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("rows were written after the list was shown: the revert would now drop %s; nothing was changed: run the command again", lossSummary(more))}
	}
	return nil
}

func samePlan(a, b []migrate.Migration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Version != b[i].Version {
			return false
		}
	}
	return true
}

func planFiles(plan []migrate.Migration) string {
	names := make([]string, len(plan))
	for i, m := range plan {
		names[i] = m.File
	}
	return strings.Join(names, ", ")
}

// confirmLoss lists the data a down would drop and asks; without a terminal it needs --yes.
func (s *migrateSession) confirmLoss(r migrateRun, p migratePlan) error {
	out := s.f.IO.Out
	printLosses(out, p.losses)
	if s.cfg.Database.Driver == config.DriverPostgres {
		name := ""
		if cs, err := factory.PostgresConnSettings(s.cfg.Database); err == nil {
			name = cs.Database
		}
		if dump, err := backup.NewPgDump(s.cfg.Database, backup.DefaultPostgresPath(".", name, time.Now())); err == nil {
			fmt.Fprintf(out, "Back it up first (pg_dump, custom format; restore with pg_restore):\n  %s\n", dump.Command())
		}
	}
	if r.yes {
		return nil
	}
	if !s.f.IO.CanPrompt() {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("migrate down would drop %s; nothing was changed: pass --yes to confirm (there is no terminal to ask on), or --dry-run to see the plan", lossSummary(p.losses))}
	}
	ok, err := confirm(bufio.NewReader(s.f.IO.In), out, "Revert and drop this data? [y/N] ")
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(out, "Nothing was changed.")
		return ErrAborted
	}
	return nil
}

func printLosses(w io.Writer, losses []migrate.Loss) {
	fmt.Fprintln(w, "This drops data:")
	for _, l := range losses {
		fmt.Fprintf(w, "  %s (dropped by %s)\n", l, l.Migration.File)
	}
}

func lossSummary(losses []migrate.Loss) string {
	parts := make([]string, len(losses))
	for i, l := range losses {
		parts[i] = l.String()
	}
	return strings.Join(parts, ", ")
}

// backupFirst backs up a SQLite file that holds rows before its schema changes.
func (s *migrateSession) backupFirst(ctx context.Context, version int64) error {
	if s.h.Dialect != config.DriverSQLite || s.h.Path == config.MemoryPath {
		return nil
	}
	counts, err := s.m.RowCounts(ctx)
	if err != nil {
		return migrateErr(ctx, err)
	}
	var rows int64
	for _, n := range counts {
		rows += n
	}
	if rows == 0 {
		return nil
	}
	res, removed, err := backup.BeforeMigration(ctx, s.h, version, time.Now(), keepMigrationBackups)
	if err != nil {
		return fmt.Errorf("back up the database before changing its schema (pass --no-backup to skip it): %w", err)
	}
	out := s.out
	fmt.Fprintf(out, "Backup: %s (%d rows, %s, mode 0600)\n", res.Path, res.TotalRows(), bytesize.Format(res.Bytes))
	fmt.Fprintf(out, "  To restore it: %s\n", backup.RestoreHint(res.Path, s.h.Path))
	for _, r := range removed {
		fmt.Fprintf(out, "  Removed the oldest backup %s (the newest %d are kept)\n", r, keepMigrationBackups)
	}
	return nil
}

// keepMigrationBackups is how many of the backups migrate takes are kept per database.
const keepMigrationBackups = 3
