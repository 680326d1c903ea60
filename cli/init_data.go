package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/dbcopy"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/wizard"
)

// dataChoice is what `init --update` does when the answers move the database away from one
// that holds Compozy data.
type dataChoice int

const (
	// keepDatabase writes the file with its current database: section.
	keepDatabase dataChoice = iota
	// switchAndCopy writes the new database and copies the data into it with db copy.
	switchAndCopy
	// switchAnyway writes the new database; the data stays where it is.
	switchAnyway
)

// heldData is the database the file names today, when it holds Compozy data the answers would
// leave behind.
type heldData struct {
	db     config.Database
	target string
	rows   map[string]int64
	total  int64
}

// orphanedData reports whether the file being updated names a database that holds Compozy data
// and the new content names another one (by identity: another file, another server or database;
// not just another spelling). It only reads: the current database is opened read-only, and a
// database that cannot be read (missing, unreachable) holds nothing to lose here.
func orphanedData(ctx context.Context, f *Factory, t configTarget, existing []byte, next config.Database) (*heldData, error) {
	cur, err := config.LoadBytes(ctx, t.path, existing, config.LoadOptions{WorkDir: f.workDir, Getenv: f.IO.Getenv, Environ: f.IO.Environ})
	if err != nil {
		return nil, nil // a file that does not load names no database we could read
	}
	db := cur.Database
	if db.Driver == config.DriverSQLite && (db.Path == "" || db.Path == config.MemoryPath) {
		return nil, nil
	}
	curID, err := factory.Identify(ctx, db)
	if err != nil {
		return nil, nil
	}
	if nextID, err := factory.Identify(ctx, next); err == nil && curID.Same(nextID) {
		return nil, nil
	}
	h, err := factory.Open(ctx, db, factory.ReadOnly)
	if err != nil {
		return nil, nil
	}
	defer h.Close()
	rows, err := h.Migrator.RowCounts(ctx)
	if err != nil {
		return nil, nil
	}
	held := &heldData{db: db, target: h.Target, rows: rows}
	for _, n := range rows {
		held.total += n
	}
	if held.total == 0 {
		return nil, nil
	}
	return held, nil
}

func (d *heldData) describe() string {
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(d.rows)) {
		parts = append(parts, fmt.Sprintf("%s %d", t, d.rows[t]))
	}
	return strings.Join(parts, ", ")
}

// databaseFlagsGiven reports whether a --db-* flag named the database explicitly.
func databaseFlagsGiven(g wizard.Given) bool {
	return g.Driver || g.SQLitePath || g.ConnString || g.Host || g.Port || g.User || g.Name
}

// guardData asks (or, without questions, decides) what to do when the answers would leave the
// data of the current database behind. With --yes the current database is kept unless a
// --db-* flag named the new one.
func (r *initRun) guardData(ctx context.Context, held *heldData, next string, interactive bool) (dataChoice, error) {
	out := r.f.IO.Out
	fmt.Fprintf(out, "! %s names %s, which holds Compozy data (%s); the answers point at %s.\n",
		r.target.shown, held.target, held.describe(), next)
	if !interactive {
		if databaseFlagsGiven(r.given) {
			fmt.Fprintf(out, "  The --db-* flags name the new database, so it is written; the data stays in %s.\n", held.target)
			fmt.Fprintf(out, "  Copy it over with: compozy db copy --from %s --to %s\n", shellQuoteArg(copyArg(held)), shellQuoteArg(r.target.shown))
			return switchAnyway, nil
		}
		fmt.Fprintf(out, "  Keeping the current database (name another with --db-path, --db-driver or --db-conn-string to switch).\n")
		return keepDatabase, nil
	}
	choice, err := r.form.Choose(ctx, "The current database holds Compozy data.",
		fmt.Sprintf("%s holds %d rows (%s). The answers point at %s.", held.target, held.total, held.describe(), next),
		"Keep the current database", "Switch, and copy the data into the new database (compozy db copy)", "Switch anyway (the data stays where it is)")
	if err != nil {
		return 0, abortErr(err)
	}
	return dataChoice(choice), nil
}

// copyArg is how a db copy command names the held database: its SQLite path, or the config
// file (a PostgreSQL URL would need the password on the command line).
func copyArg(h *heldData) string {
	if h.db.Driver == config.DriverSQLite {
		return h.db.Path
	}
	return "OLD-CONFIG.yaml"
}

// copyHeld copies the held data into the database of the new file, verified, after it was
// written.
func copyHeld(ctx context.Context, w io.Writer, held *heldData, next config.Database) error {
	fmt.Fprintf(w, "Copying the data from %s into %s…\n", held.target, factory.Target(next))
	res, err := dbcopy.Copy(ctx, held.db, next, dbcopy.Options{})
	if res != nil {
		printCopyResult(w, res)
	}
	if err != nil {
		return fmt.Errorf("copy the data into the new database (compozy.yaml already names it; the data is still in %s): %w", held.target, err)
	}
	fmt.Fprintf(w, "✓ Copied %d rows; every table verified.\n", res.Rows)
	return nil
}
