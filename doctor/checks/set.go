package checks

import (
	"context"
	"strings"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor"
)

// Set is the checks built for one configuration, and what they share (the database opened
// once, read-only, through the caller's door; closed by Close).
type Set struct {
	// Checks are in report order.
	Checks []doctor.Check
	// Target is the database, secrets redacted ("" when the configuration did not load).
	Target string

	// in is what the checks read through (Build fills the defaults).
	in Inputs
	// db is the database section, the SQLite path resolved to the real file.
	db config.Database
	// src is the read-only connection, opened once.
	src *source
	// connStringFrom is where database.conn_string came from (a fix that changes it says where
	// to change it: the file, the flag or the variable).
	connStringFrom config.Source
	// pooler is what src says of the pooler, asked once (poolerFinding).
	pooler poolerCache
	// writable opens where the round trip writes (doorWritable; tests replace it).
	writable func(ctx context.Context) (st storage.Store, where string, close func() error, err error)
	closer   []func()
}

// Build returns the checks for cfg, reading through in. When loading the configuration failed,
// cfg is nil and loadErr says why: only the config checks are built.
func Build(cfg *config.Config, loadErr error, in Inputs) *Set {
	s := &Set{}
	s.Checks = ConfigChecks(cfg, loadErr)
	if cfg == nil {
		return s
	}
	db := cfg.Database
	s.Target = factory.Target(db)
	s.connStringFrom = cfg.Sources["database.conn_string"]
	if db.Driver == config.DriverSQLite && db.Path != "" && db.Path != config.MemoryPath {
		// The database is its real file: every check looks at the file a symbolic link leads
		// to, as the door opens it.
		if real, err := sqlitefile.Resolve(db.Path); err == nil {
			db.Path = real
		}
	}
	if db.Driver == config.DriverPostgres {
		// No statement of the doctor queues behind another session's lock (postgres.locks
		// names that session).
		db.LockTimeout = DefaultLockTimeout
		db.ApplicationName = ApplicationName
	}
	probe := db
	if db.Driver == config.DriverPostgres {
		probe.MaxOpenConns = 4 // the checks run a few queries at once; leave the server's slots alone
	}
	if in.Door == nil {
		in.Door = noDoor{}
	}
	s.init(db, in.withDefaults(), doorSource(in.Door, probe))
	s.Checks = append(s.Checks, s.databaseChecks()...)
	s.Checks = append(s.Checks, s.vectorChecks(cfg.Knowledge.VectorDBs)...)
	return s
}

// init sets what the checks share.
func (s *Set) init(db config.Database, in Inputs, src *source) {
	s.db, s.in, s.src = db, in, src
	s.writable = s.doorWritable
	s.closer = append(s.closer, src.close)
}

// databaseChecks returns the checks of the configured database: the driver's group, then the
// migrations and storage groups (not for an in-memory SQLite database, which starts empty in
// every process).
func (s *Set) databaseChecks() []doctor.Check {
	var out []doctor.Check
	var ms *migrationSource
	switch s.db.Driver {
	case config.DriverSQLite:
		out = s.sqliteChecks()
		if s.db.Path != config.MemoryPath {
			ms = &migrationSource{open: func(ctx context.Context) (MigrationConn, error) { return s.src.get(ctx) }}
		}
	case config.DriverPostgres:
		out = append(s.postgresChecks(), s.poolerCheck(), s.locksCheck(), s.tlsCheck())
		// postgres.connect opens the connection after its DNS and TCP steps; the migration
		// checks (which depend on it) use what it opened.
		ms = &migrationSource{open: func(context.Context) (MigrationConn, error) { return s.src.current() }}
	}
	if ms != nil {
		out = append(out, s.migrationChecks(ms)...)
		out = append(out, s.driftCheck(ms))
		out = append(out, s.roundTripCheck(), s.copyIncompleteCheck(ms))
	}
	return out
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
