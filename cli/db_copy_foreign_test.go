package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDBCopyRefusesAnotherProgramsFile: a SQLite target that holds tables Compozy does not
// know (another program's database) is refused with exit 2, with or without --force, and is
// left byte for byte as it was (a trial got Compozy's tables and 60,100 rows written beside an
// invoices table, and with a users table of its own a copy that failed part-way).
func TestDBCopyRefusesAnotherProgramsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := migratedSQLite(t, dir)
	other := t.TempDir()
	target := filepath.Join(other, "app.db")
	execSQLite(t, target, `CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (9.5), (12)`)
	before := treeState(t, other)
	for _, force := range [][]string{nil, {"--force"}} {
		args := append([]string{"db", "copy", "--from", src, "--to", target, "--yes"}, force...)
		r := runCLI(t, dir, nil, args...)
		if r.code != ExitUsage || !strings.Contains(r.errOut, "is not a Compozy database: it holds tables Compozy does not know (invoices)") ||
			!strings.Contains(r.errOut, "nothing was changed") {
			t.Errorf("%v: exit %d, want %d\n%s%s", force, r.code, ExitUsage, r.out, r.errOut)
		}
		sameFolder(t, "db copy into another program's file", before, treeState(t, other))
	}
	if n := sqliteCount(t, target, "invoices"); n != 2 {
		t.Errorf("invoices holds %d rows, want 2", n)
	}
}
