package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"compozy.dev/setup/core/config"
)

// resolveDBArg turns a --from/--to/--compare value into database settings: a PostgreSQL URL
// (postgres://, postgresql://, or keyword/value such as "host=db dbname=compozy"), a config file
// (.yaml or .yml, read with the environment layer but not the command's --db-* flags, which
// describe the configured database), or a SQLite path. A URL's password may come from
// PGPASSWORD, which pgx reads, so that it stays off the command line; one written in the URL
// gets a warning. Settings built from a URL or path get the field table's defaults
// (connect_timeout, busy_timeout), as a loaded configuration does.
func resolveDBArg(ctx context.Context, f *Factory, flag, value string) (config.Database, error) {
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		return config.Database{}, usageErrorf("%s is empty: give a config file, a SQLite path or a PostgreSQL URL", flag)
	case strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://") || isKeywordValue(v):
		db := config.DefaultDatabase()
		db.Driver, db.ConnString = config.DriverPostgres, v
		if config.Redact(v) != v {
			fmt.Fprintf(f.IO.ErrOut, "Warning: %s: a password on the command line is visible to other users (ps) and kept in shell history; put it in PGPASSWORD, or use a config file with a ${VAR} reference\n", flag)
		}
		return db, nil
	case strings.HasSuffix(v, ".yaml") || strings.HasSuffix(v, ".yml"):
		cfg, err := config.Load(ctx, config.LoadOptions{File: v, FileRequired: true, FileFrom: flag,
			WorkDir: f.workDir, Getenv: f.IO.Getenv, Environ: f.IO.Environ})
		if err != nil {
			return config.Database{}, err
		}
		return cfg.Database, nil
	default:
		if !filepath.IsAbs(v) && f.workDir != "" {
			v = filepath.Join(f.workDir, v)
		}
		db := config.DefaultDatabase()
		db.Driver, db.Path = config.DriverSQLite, v
		return db, nil
	}
}

// isKeywordValue reports whether s starts like a keyword/value connection string: a lower-case
// keyword, then "=".
func isKeywordValue(s string) bool {
	k, _, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return false
	}
	for _, r := range k {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}
