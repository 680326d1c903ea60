package migrate

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"strings"
)

// VersionPgvector is the migration that creates the pgvector extension on PostgreSQL. Compozy's
// own copy of it runs CREATE EXTENSION vector and fails wherever the server refuses; this
// binary's skips the extension there (and counts as applied), so that Compozy runs with another
// vector DB. Both facts decide what doctor and migrate status may promise.
const VersionPgvector int64 = 20251012060000

// Pgvector is what a PostgreSQL server says about the extension the VersionPgvector migration
// creates.
type Pgvector struct {
	// Installed: CREATE EXTENSION vector was run in this database.
	Installed bool `json:"installed"`
	// Available: the server offers it (pg_available_extensions).
	Available bool `json:"available"`
	// MayCreate: this role may create it (a superuser, or a trusted extension and CREATE on the
	// database).
	MayCreate bool `json:"may_create"`
}

// Refusal says why CREATE EXTENSION vector fails on this server for this role, or "" when it
// is installed or would succeed.
func (p Pgvector) Refusal() string {
	switch {
	case p.Installed:
		return ""
	case !p.Available:
		return "pgvector is not available on this server"
	case !p.MayCreate:
		return "this role may not create the extension (not a superuser, and vector is not a trusted extension here)"
	}
	return ""
}

// pgvector reads the facts about the extension (PostgreSQL only).
func (m *Migrator) pgvector(ctx context.Context) (Pgvector, error) {
	var p Pgvector
	err := m.db.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector'),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector'),
		coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
		  OR (coalesce((SELECT bool_or(trusted) FROM pg_available_extension_versions WHERE name = 'vector'), false)
		      AND has_database_privilege(current_database(), 'CREATE'))`).Scan(&p.Installed, &p.Available, &p.MayCreate)
	if err != nil {
		return Pgvector{}, fmt.Errorf("read the pgvector extension's state: %w", err)
	}
	return p, nil
}

// changesNoSchema reports whether a migration file's Up section only runs `SELECT 1`: a version
// kept so that both dialects carry the same versions (SQLite's parity with PostgreSQL), which
// Compozy's own migration set for that dialect does not have.
func changesNoSchema(fsys fs.FS, file string) (bool, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return false, fmt.Errorf("read migration %s: %w", file, err)
	}
	defer f.Close()
	var up strings.Builder
	inUp := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "-- +goose Up"):
			inUp = true
		case strings.HasPrefix(line, "-- +goose Down"):
			inUp = false
		case !inUp, line == "", strings.HasPrefix(line, "--"):
		default:
			up.WriteString(line)
			up.WriteByte(' ')
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("read migration %s: %w", file, err)
	}
	stmt := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(up.String()), ";"))
	return strings.EqualFold(stmt, "SELECT 1"), nil
}
