package config

import (
	"strconv"
	"strings"
	"time"
)

// Type is the kind of value a key holds. It decides how a value is read from YAML, from the
// environment and from flags, and how it is documented.
type Type string

// The value types.
const (
	TypeString  Type = "string"
	TypeInteger Type = "integer"
	TypeBoolean Type = "boolean"
	// TypeDuration is a Go duration string: "30s", "5m", "1h30m". A bare 0 means "no limit".
	TypeDuration Type = "duration"
	// TypeMilliseconds is an integer number of milliseconds or a duration string: 5000 and "5s"
	// are the same.
	TypeMilliseconds Type = "milliseconds or duration"
	// TypePath is a file path. A relative path from the config file is relative to the file's
	// folder; from the environment or a flag, to the working directory. "~/" is the home folder.
	TypePath Type = "path"
)

// Section is the part of compozy.yaml a key lives in.
type Section string

// The sections this tool reads.
const (
	SectionDatabase Section = "database"
	// SectionVectorDB is one entry of the knowledge.vector_dbs list.
	SectionVectorDB Section = "knowledge.vector_dbs[]"
	// SectionRuntime is read for max_concurrent_workflows only; its other keys belong to Compozy.
	SectionRuntime Section = "runtime"
)

// Secrecy says whether a value may be printed.
type Secrecy int

// Secrecy levels.
const (
	// NotSecret values are printed as they are.
	NotSecret Secrecy = iota
	// Secret values are never printed: `config show` prints Redacted instead.
	Secret
	// HoldsSecret values are URLs or connection strings that may carry a password: the password
	// part is replaced by Redacted (see Redact).
	HoldsSecret
)

// SQLiteSafeConcurrentWorkflows is the highest runtime.max_concurrent_workflows measured safe for
// SQLite in one process: 0 lock errors at every level up to 200 with the settings this tool
// uses (WAL, busy_timeout, one writer connection). See docs/benchmarks.md.
const SQLiteSafeConcurrentWorkflows = 200

// MaxBusyTimeout is the longest busy_timeout SQLite takes: PRAGMA busy_timeout is a 32-bit count
// of milliseconds, and a larger value silently becomes 0 (no waiting at all).
const MaxBusyTimeout = (1<<31 - 1) * time.Millisecond

// Field describes one configuration key. The table returned by Fields drives decoding of the
// file, the environment and flags, the defaults, `config show`, the JSON Schema and the docs.
type Field struct {
	// Section is where the key lives.
	Section Section
	// Name is the key inside its section ("port").
	Name string
	// Aliases are other spellings accepted in the file and the environment ("dbname" for "name").
	Aliases []string
	// Type is the value type.
	Type Type
	// Default is the default value as it would be written in YAML; "" means none.
	Default string
	// Description says what the key does, for docs and the schema.
	Description string
	// Enum lists the valid values; nil means any value of Type. Enum values are matched without
	// regard to case and stored in lower case.
	Enum []string
	// Min and Max bound an integer value; nil means unbounded.
	Min, Max *int
	// Required keys must be set (vector DB entries only).
	Required bool
	// Secret says whether the value may be printed.
	Secret Secrecy
	// Driver is the database driver the key applies to; "" means both.
	Driver string
	// Env lists the environment variables that set the key, highest precedence first: the
	// documented COMPOZY_DB_* names, then the legacy DB_* names.
	Env []string
	// Flag is the global command-line flag that sets the key ("--db-port"); "" means none. The
	// root command declares its database flags from this table, so a flag is named here only.
	// The flag of a Secret key is a boolean that reads the value from standard input
	// (--db-password-stdin): secrets never go on the command line.
	Flag string
	// Usage is the flag's one-line help; set with Flag.
	Usage string

	// ref returns a pointer to the value in c (entry i for vector DB keys): *string, *int,
	// *bool or *time.Duration.
	ref func(c *Config, i int) any
}

// Key is the dotted key: "database.port", "knowledge.vector_dbs[].url",
// "runtime.max_concurrent_workflows".
func (f Field) Key() string { return string(f.Section) + "." + f.Name }

// KeyAt is the dotted key of the field in vector DB entry i ("knowledge.vector_dbs[0].url"); for
// the other sections it is Key.
func (f Field) KeyAt(i int) string {
	if f.Section != SectionVectorDB {
		return f.Key()
	}
	return "knowledge.vector_dbs[" + strconv.Itoa(i) + "]." + f.Name
}

// names is the key and its aliases.
func (f Field) names() []string { return append([]string{f.Name}, f.Aliases...) }

// Fields returns the table of every key this tool reads, in documentation order. The slice is
// new on every call; callers may keep it.
func Fields() []Field {
	return []Field{
		db(Field{Name: "driver", Type: TypeString, Default: DriverPostgres, Flag: "--db-driver",
			Usage:       "database driver: postgres or sqlite",
			Enum:        []string{DriverPostgres, DriverSQLite},
			Description: "Database engine for workflow and task state: postgres (production; several processes or hosts; pgvector) or sqlite (one process: laptops, CI, edge; needs an external vector DB)."},
			func(d *Database) any { return &d.Driver }),
		db(Field{Name: "conn_string", Type: TypeString, Driver: DriverPostgres, Secret: HoldsSecret, Flag: "--db-conn-string",
			Usage:       "PostgreSQL connection string (postgres://...); prefer COMPOZY_DB_CONN_STRING when it holds a password",
			Description: "PostgreSQL connection string, as a URL (postgres://user:pass@host:5432/db?sslmode=require) or key=value pairs. When set it decides host, port, user, name and ssl_mode; a password given apart wins over its own when given with the same or a higher layer. A ${VAR} in the URL's user part is percent-encoded when read. Prefer COMPOZY_DB_CONN_STRING (or COMPOZY_DB_CONN_STRING_FILE) when it holds a password."},
			func(d *Database) any { return &d.ConnString }),
		db(Field{Name: "host", Type: TypeString, Default: "localhost", Driver: DriverPostgres, Flag: "--db-host", Usage: "PostgreSQL host",
			Description: "PostgreSQL host name, IP address, or Unix socket folder."},
			func(d *Database) any { return &d.Host }),
		db(Field{Name: "port", Type: TypeInteger, Default: "5432", Driver: DriverPostgres, Flag: "--db-port", Usage: "PostgreSQL port", Min: intp(1), Max: intp(65535),
			Description: "PostgreSQL port."},
			func(d *Database) any { return &d.Port }),
		db(Field{Name: "user", Type: TypeString, Default: "postgres", Driver: DriverPostgres, Flag: "--db-user", Usage: "PostgreSQL user",
			Description: "PostgreSQL user."},
			func(d *Database) any { return &d.User }),
		db(Field{Name: "password", Type: TypeString, Driver: DriverPostgres, Secret: Secret, Flag: "--db-password-stdin",
			Usage:       "read the database password from the first line of standard input",
			Description: "PostgreSQL password. Keep it out of the file: set COMPOZY_DB_PASSWORD or COMPOZY_DB_PASSWORD_FILE (a file that holds it), or pipe it to --db-password-stdin; password: ${COMPOZY_DB_PASSWORD} says so in the file. Of several passwords the one of the highest layer wins (the file, then the environment, then flags and stdin), also over one inside conn_string."},
			func(d *Database) any { return &d.Password }),
		db(Field{Name: "name", Aliases: []string{"dbname"}, Type: TypeString, Default: "compozy", Driver: DriverPostgres, Flag: "--db-name", Usage: "PostgreSQL database name",
			Description: "PostgreSQL database name."},
			func(d *Database) any { return &d.Name }),
		db(Field{Name: "ssl_mode", Aliases: []string{"sslmode"}, Type: TypeString, Default: "disable", Driver: DriverPostgres, Flag: "--db-ssl-mode",
			Usage:       "PostgreSQL sslmode: disable, allow, prefer, require, verify-ca, verify-full",
			Enum:        []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"},
			Description: "PostgreSQL sslmode. Use require or verify-full for a server on another host."},
			func(d *Database) any { return &d.SSLMode }),
		db(Field{Name: "max_open_conns", Type: TypeInteger, Default: "25", Min: intp(1),
			Description: "Most connections open at once (PostgreSQL pool size; SQLite read pool). Keep it below the server's max_connections divided by the number of Compozy processes."},
			func(d *Database) any { return &d.MaxOpenConns }),
		db(Field{Name: "max_idle_conns", Type: TypeInteger, Default: "5", Min: intp(0),
			Description: "Most idle connections kept open; at most max_open_conns."},
			func(d *Database) any { return &d.MaxIdleConns }),
		db(Field{Name: "conn_max_lifetime", Type: TypeDuration, Default: "5m",
			Description: "Longest time a connection is reused before it is closed and replaced; 0 means no limit."},
			func(d *Database) any { return &d.ConnMaxLifetime }),
		db(Field{Name: "conn_max_idle_time", Type: TypeDuration, Default: "1m",
			Description: "Longest time a connection may sit idle before it is closed; 0 means no limit."},
			func(d *Database) any { return &d.ConnMaxIdleTime }),
		db(Field{Name: "connect_timeout", Type: TypeDuration, Default: "5s", Driver: DriverPostgres,
			Description: "How long to wait for a PostgreSQL connection (DNS, TCP, TLS and authentication); 0 means no limit."},
			func(d *Database) any { return &d.ConnectTimeout }),
		db(Field{Name: "migration_timeout", Type: TypeDuration, Default: "2m",
			Description: "How long schema migrations may run before they are cancelled; 0 means no limit."},
			func(d *Database) any { return &d.MigrationTimeout }),
		db(Field{Name: "auto_migrate", Type: TypeBoolean, Default: "true",
			Description: "Apply pending migrations when Compozy starts."},
			func(d *Database) any { return &d.AutoMigrate }),
		db(Field{Name: "path", Type: TypePath, Driver: DriverSQLite, Flag: "--db-path", Usage: "SQLite database file, or :memory:",
			Description: "SQLite database file, or :memory: for a database that lives as long as the process. A relative path in the file is relative to the config file's folder; from the environment or --db-path, to the working directory."},
			func(d *Database) any { return &d.Path }),
		db(Field{Name: "busy_timeout", Type: TypeMilliseconds, Default: "5s", Driver: DriverSQLite,
			Description: "How long SQLite waits for a lock before it reports \"database is locked\": milliseconds (5000) or a duration (5s)."},
			func(d *Database) any { return &d.BusyTimeout }),
		db(Field{Name: "journal_mode", Type: TypeString, Default: "wal", Driver: DriverSQLite,
			Enum:        []string{"wal", "delete", "truncate", "persist", "memory", "off"},
			Description: "SQLite journal mode. wal lets readers run while one writer writes; the other modes serialize readers and writers."},
			func(d *Database) any { return &d.JournalMode }),
		db(Field{Name: "synchronous", Type: TypeString, Default: "normal", Driver: DriverSQLite,
			Enum:        []string{"off", "normal", "full", "extra"},
			Description: "SQLite synchronous setting. normal (with wal) never corrupts the database but may lose the last commits on power loss; full loses nothing and writes about 3x slower."},
			func(d *Database) any { return &d.Synchronous }),

		vdb(Field{Name: "id", Type: TypeString, Required: true,
			Description: "Name of this vector DB; knowledge bases refer to it. Unique within vector_dbs."},
			func(v *VectorDB) any { return &v.ID }),
		vdb(Field{Name: "provider", Type: TypeString, Required: true,
			Enum:        []string{"pgvector", "qdrant", "redis", "filesystem"},
			Description: "Vector store: pgvector (PostgreSQL driver only), qdrant, redis (RediSearch 2.4 or later) or filesystem (development)."},
			func(v *VectorDB) any { return &v.Provider }),
		vdb(Field{Name: "url", Type: TypeString, Secret: HoldsSecret,
			Description: "Address of the store: http://host:6333 for qdrant (gRPC on 6334; grpc://host:PORT names the gRPC port), redis://host:6379 for redis, a postgres:// URL for pgvector (default: the database section's PostgreSQL)."},
			func(v *VectorDB) any { return &v.URL }),
		vdb(Field{Name: "path", Type: TypePath,
			Description: "Folder of a filesystem store. A relative path in the file is relative to the config file's folder."},
			func(v *VectorDB) any { return &v.Path }),
		vdb(Field{Name: "dimension", Type: TypeInteger, Required: true, Min: intp(1),
			Description: "Length of the embedding vectors; must match the embedding model (for example 1536)."},
			func(v *VectorDB) any { return &v.Dimension }),
		vdb(Field{Name: "collection", Type: TypeString,
			Description: "Collection (qdrant) or table (pgvector) that holds the vectors."},
			func(v *VectorDB) any { return &v.Collection }),
		vdb(Field{Name: "index", Type: TypeString,
			Description: "Index name (redis) or index type (pgvector)."},
			func(v *VectorDB) any { return &v.Index }),
		vdb(Field{Name: "dialect", Type: TypeString,
			Description: "Provider-specific query dialect, for example the RediSearch DIALECT for redis; passed to the provider unchanged."},
			func(v *VectorDB) any { return &v.Dialect }),
		vdb(Field{Name: "metric", Type: TypeString, Default: "cosine",
			Enum:        []string{"cosine", "dot", "euclid"},
			Description: "Distance metric: cosine, dot (inner product) or euclid."},
			func(v *VectorDB) any { return &v.Metric }),

		{Section: SectionRuntime, Name: "max_concurrent_workflows", Type: TypeInteger, Min: intp(0),
			Description: "Most workflows Compozy runs at once (read only, to warn when SQLite is asked for more than was measured safe; the rest of runtime belongs to Compozy).",
			ref:         func(c *Config, _ int) any { return &c.Runtime.MaxConcurrentWorkflows }},
	}
}

// db completes a database field: section, environment names and accessor.
func db(f Field, ref func(*Database) any) Field {
	f.Section = SectionDatabase
	f.ref = func(c *Config, _ int) any { return ref(&c.Database) }
	for _, prefix := range []string{"COMPOZY_DB_", "DB_"} {
		for _, n := range f.names() {
			f.Env = append(f.Env, prefix+strings.ToUpper(n))
		}
	}
	return f
}

// vdb completes a vector DB field: section and accessor.
func vdb(f Field, ref func(*VectorDB) any) Field {
	f.Section = SectionVectorDB
	f.ref = func(c *Config, i int) any { return ref(&c.Knowledge.VectorDBs[i]) }
	return f
}

func intp(n int) *int { return &n }

// get returns the value of f in c (entry i for vector DB keys).
func (f Field) get(c *Config, i int) any {
	switch p := f.ref(c, i).(type) {
	case *string:
		return *p
	case *int:
		return *p
	case *bool:
		return *p
	case *time.Duration:
		return *p
	}
	return nil
}

// set stores v, which convert produced for f, in c.
func (f Field) set(c *Config, i int, v any) {
	switch p := f.ref(c, i).(type) {
	case *string:
		*p = v.(string)
	case *int:
		*p = v.(int)
	case *bool:
		*p = v.(bool)
	case *time.Duration:
		*p = v.(time.Duration)
	}
}

// DefaultDatabase returns the database section with every default of the field table applied
// and nothing else: the starting point for settings built in code (a --to path or URL), so that
// they get the same busy_timeout, connect_timeout and pool settings as a loaded configuration.
func DefaultDatabase() Database {
	l := newLoader(LoadOptions{Getenv: func(string) string { return "" }, Environ: func() []string { return nil }}, "")
	l.defaults()
	return l.cfg.Database
}
