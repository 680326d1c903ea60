package checks

import (
	"context"
	"strings"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor"
)

// Set is the checks built for one configuration, and what they share (the database opened
// once, read-only, through the one door; closed by Close).
type Set struct {
	// Checks are in report order.
	Checks []doctor.Check
	// Target is the database, secrets redacted ("" when the configuration did not load).
	Target string

	db     *dbProbe
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
	if db.Driver == config.DriverSQLite && db.Path != "" && db.Path != config.MemoryPath {
		// The database is its real file: every check looks at the file a symbolic link leads
		// to, as the door opens it.
		if real, err := sqlitefile.Resolve(db.Path); err == nil {
			db.Path = real
		}
	}
	probe := db
	if db.Driver == config.DriverPostgres {
		probe.MaxOpenConns = 4 // the checks run a few queries at once; leave the server's slots alone
	}
	s.db = &dbProbe{cfg: probe}
	s.closer = append(s.closer, s.db.close)
	var ms *migrationSource
	switch db.Driver {
	case config.DriverSQLite:
		s.Checks = append(s.Checks, s.sqliteChecks(db)...)
		if db.Path != config.MemoryPath {
			ms = &migrationSource{open: s.db.open}
		}
	case config.DriverPostgres:
		s.pg = &pgProbe{cfg: db, db: s.db}
		s.Checks = append(s.Checks, s.postgresChecks(db)...)
		ms = &migrationSource{open: func(context.Context) (*factory.Handle, error) { return s.db.handle() }}
	}
	if ms != nil {
		s.Checks = append(s.Checks, s.migrationChecks(db, ms)...)
		s.Checks = append(s.Checks, s.roundTripCheck(db), s.copyIncompleteCheck(ms))
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
