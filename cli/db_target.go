package cli

import (
	"context"
	"path/filepath"
	"strings"

	"compozy.dev/setup/core/config"
)

// resolveDBArg turns a --from/--to/--compare value into database settings: a PostgreSQL URL
// (postgres://, postgresql://, or keyword/value such as "host=db dbname=compozy"), a config file
// (.yaml or .yml, read with the environment layer but not the command's --db-* flags, which
// describe the configured database), or a SQLite path. A URL's password may come from
// PGPASSWORD, which pgx reads, so that it stays off the command line.
func resolveDBArg(ctx context.Context, f *Factory, flag, value string) (config.Database, error) {
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		return config.Database{}, usageErrorf("%s is empty: give a config file, a SQLite path or a PostgreSQL URL", flag)
	case strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://") || isKeywordValue(v):
		return config.Database{Driver: config.DriverPostgres, ConnString: v}, nil
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
		return config.Database{Driver: config.DriverSQLite, Path: v}, nil
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
