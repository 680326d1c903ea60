// Package migrations holds Compozy's schema migrations, one folder per SQL dialect, embedded in
// the binary. Both folders carry the same goose versions (Compozy's own numbers), so a database
// created by Compozy and one created by this tool are at the same, comparable version. Where a
// version has nothing to do in one dialect, its file there is an explicit no-op saying why.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

// Dialect names accepted by FS.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Dialects lists the dialects with a migration set, in a stable order.
func Dialects() []string { return []string{SQLite, Postgres} }

// FS returns the migration files of one dialect ("sqlite" or "postgres"), with the .sql files at
// its root, ready for goose.NewProvider.
func FS(dialect string) (fs.FS, error) {
	switch dialect {
	case SQLite, Postgres:
		sub, err := fs.Sub(files, dialect)
		if err != nil {
			return nil, fmt.Errorf("migrations: open %s folder: %w", dialect, err)
		}
		return sub, nil
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q (want %q or %q)", dialect, SQLite, Postgres)
	}
}
