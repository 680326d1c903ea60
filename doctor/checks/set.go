package checks

import (
	"context"
	"path/filepath"
	"strings"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
)

// Set is the checks built for one configuration, and what they share (connections opened
// once, closed by Close).
type Set struct {
	// Checks are in report order.
	Checks []doctor.Check
	// Target is the database, secrets redacted ("" when the configuration did not load).
	Target string

	sqlite *sqliteProbe
	pg     *pgProbe
	closer []func()
}

// Build returns the checks for cfg. When loading the configuration failed, cfg is nil and
// loadErr says why: only the config checks are built. getenv reads the environment (the Qdrant
// API key); nil means the process's.
func Build(cfg *config.Config, loadErr error, getenv func(string) string) *Set {
	s := &Set{}
	s.Checks = ConfigChecks(cfg, loadErr)
	if cfg == nil {
		return s
	}
	db := cfg.Database
	s.Target = factory.Target(db)
	var ms *migrationSource
	switch db.Driver {
	case config.DriverSQLite:
		if db.Path != config.MemoryPath {
			if abs, err := filepath.Abs(db.Path); err == nil {
				db.Path = abs
			}
		}
		s.sqlite = &sqliteProbe{cfg: db, path: db.Path}
		s.closer = append(s.closer, s.sqlite.close)
		s.Checks = append(s.Checks, s.sqliteChecks(db)...)
		if db.Path != config.MemoryPath {
			ms = &migrationSource{open: func(context.Context) (doctor.MigrationState, doctor.TableProber, error) {
				m, conn, err := s.sqlite.migrator()
				if err != nil {
					return nil, nil, err
				}
				return m, sqlTables{db: conn, dialect: config.DriverSQLite}, nil
			}}
		}
	case config.DriverPostgres:
		s.pg = &pgProbe{cfg: db}
		s.closer = append(s.closer, s.pg.close)
		s.Checks = append(s.Checks, s.postgresChecks(db)...)
		ms = &migrationSource{open: func(ctx context.Context) (doctor.MigrationState, doctor.TableProber, error) {
			sqlDB, err := s.pg.sqlDB(ctx)
			if err != nil {
				return nil, nil, err
			}
			m, err := migrate.New(sqlDB, config.DriverPostgres, migrate.Options{})
			if err != nil {
				return nil, nil, err
			}
			return m, sqlTables{db: sqlDB, dialect: config.DriverPostgres}, nil
		}}
	}
	if ms != nil {
		s.Checks = append(s.Checks, s.migrationChecks(db, ms)...)
		s.Checks = append(s.Checks, roundTripCheck(db))
	}
	s.Checks = append(s.Checks, s.vectorChecks(cfg, getenv)...)
	return s
}

// Close releases the connections the checks opened.
func (s *Set) Close() {
	for _, c := range s.closer {
		c()
	}
}

// redactArgs redacts secrets in a process's command line.
func redactArgs(cmd string) string {
	f := strings.Fields(cmd)
	for i, a := range f {
		f[i] = config.Redact(a)
	}
	return strings.Join(f, " ")
}
