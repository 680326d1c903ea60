package wizard

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
)

// DataChoice is what `init --update` does when the answers move the database away from one
// that holds Compozy data.
type DataChoice int

const (
	// KeepCurrent writes the file with its current database: section.
	KeepCurrent DataChoice = iota
	// SwitchAndCopy writes the new database and copies the data into it (compozy db copy).
	SwitchAndCopy
	// SwitchAnyway writes the new database; the data stays where it is.
	SwitchAnyway
)

// Held is the database a file names today, when it holds Compozy data the answers would
// leave behind.
type Held struct {
	DB     config.Database
	Target string
	Rows   map[string]int64
	Total  int64
	// Unreadable says why the database could not be read (a hot journal, a server that does not
	// answer, a password that is not set): it may hold data, and is treated as if it did.
	Unreadable string
}

// HeldData reports whether the file being updated (existing) names a database that holds
// Compozy data while the new content names another one (by identity: another file, another
// server or database; not just another spelling). It only reads: the current database is
// opened read-only, and one that cannot be read (missing, unreachable) holds nothing to lose
// here.
func HeldData(ctx context.Context, path string, existing []byte, env LoadEnv, next config.Database) *Held {
	cur, err := config.LoadBytes(ctx, path, existing, config.LoadOptions{WorkDir: env.WorkDir, Getenv: env.Getenv, Environ: env.Environ})
	if err != nil {
		return nil // a file that does not load is reported before any question
	}
	db := cur.Database
	if db.Driver == config.DriverSQLite && (db.Path == "" || db.Path == config.MemoryPath) {
		return nil
	}
	if hasDB, _, err := Sections(existing); err != nil || !hasDB {
		return nil // no database: section, so no database named: the defaults are nobody's data
	}
	unreadable := func(err error) *Held {
		if nothingThere(err) {
			return nil
		}
		return &Held{DB: db, Target: factory.Target(db), Unreadable: config.Redact(err.Error())}
	}
	curID, err := factory.Identify(ctx, db)
	if err != nil {
		return unreadable(err)
	}
	if nextID, err := factory.Identify(ctx, next); err == nil && curID.Same(nextID) {
		return nil
	}
	h, err := factory.Open(ctx, db, factory.ReadOnly)
	switch {
	case err != nil && factory.IsNotExist(err):
		return nil // no database file yet: nothing to leave behind
	case err != nil:
		return unreadable(err)
	}
	defer h.Close()
	rows, err := h.Migrator.RowCounts(ctx)
	if err != nil {
		return unreadable(err)
	}
	held := &Held{DB: db, Target: h.Target, Rows: rows}
	for _, n := range rows {
		held.Total += n
	}
	if held.Total == 0 {
		return nil
	}
	return held
}

// Describe lists the tables and their rows, or says the database could not be read.
func (d *Held) Describe() string {
	if d.Unreadable != "" {
		return "it could not be read, so it may hold data: " + d.Unreadable
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(d.Rows)) {
		parts = append(parts, fmt.Sprintf("%s %d", t, d.Rows[t]))
	}
	return strings.Join(parts, ", ")
}

// CopyFrom is how a db copy command names the held database: its SQLite path, or the old
// config file (a PostgreSQL URL would need the password on the command line).
func (d *Held) CopyFrom() string {
	if d.DB.Driver == config.DriverSQLite {
		return d.DB.Path
	}
	return "OLD-CONFIG.yaml"
}

// nothingThere reports whether err says that no database is where the settings point: a host
// name that does not exist, or a server without that database. Anything else (a server that
// does not answer, a refused password, a file that cannot be read) may hide data.
func nothingThere(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "3D000" // invalid_catalog_name
}
