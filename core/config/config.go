// Package config loads compozy.yaml: defaults < file < environment < flags, with ${VAR}
// expansion, strict validation of the sections this tool owns, and the source of every value.
package config

import (
	"strconv"
	"time"
)

// Driver names.
const (
	DriverPostgres = "postgres"
	DriverSQLite   = "sqlite"
)

// MemoryPath is the SQLite path of an in-memory database.
const MemoryPath = ":memory:"

// DefaultFile is the config file read from the working directory when none is named.
const DefaultFile = "compozy.yaml"

// Config is the resolved configuration.
type Config struct {
	Database  Database  `json:"database"`
	Knowledge Knowledge `json:"knowledge"`
	Runtime   Runtime   `json:"runtime"`

	// File is the absolute path of the config file that was read ("" when none was found).
	File string `json:"-"`
	// Dir is the config file's folder, against which relative paths written in the file are
	// resolved (paths from the environment or flags are relative to the working directory); the
	// working directory when there is no file.
	Dir string `json:"-"`
	// Sources maps a dotted key ("database.port", "knowledge.vector_dbs[0].url") to where its
	// value came from. Every key of Fields has an entry (one per vector DB for entry keys), and
	// "knowledge.vector_dbs[0]" gives where the entry itself starts in the file.
	Sources map[string]Source `json:"-"`
	// Warnings are problems that do not stop the tool (for example SQLite without a vector DB).
	Warnings []Warning `json:"-"`
	// Unused maps a dotted key to why its value has no effect: a conn_string decides the host,
	// or a password from a higher layer wins. `config show` prints it beside the value.
	Unused map[string]string `json:"-"`
	// hiddenPassword is true when the password key was given but conn_string's password is
	// used instead (Database.Password is then ""), so that `config show` still shows it set.
	hiddenPassword bool
}

// Database is the `database:` section.
type Database struct {
	Driver     string `json:"driver"`
	ConnString string `json:"conn_string,omitempty"`
	Host       string `json:"host"`
	Port       int    `json:"port"`
	User       string `json:"user"`
	// Password is the password that is used: the one of the highest layer that gives one
	// (defaults < file < environment < flags and stdin; within a layer, the password key wins
	// over a password inside conn_string). It is "" when conn_string's own password is the
	// one used, or when none is given.
	Password string `json:"password,omitempty"`
	// PasswordSource says where the password that is used came from, for messages:
	// "COMPOZY_DB_PASSWORD", "compozy.yaml:4", "--db-password-stdin", "the conn_string URL, flag
	// --db-conn-string", "file /run/secrets/db (COMPOZY_DB_PASSWORD_FILE)"; "" when no password
	// is given. Never the password itself.
	PasswordSource   string        `json:"-"`
	Name             string        `json:"name"`
	SSLMode          string        `json:"ssl_mode"`
	MaxOpenConns     int           `json:"max_open_conns"`
	MaxIdleConns     int           `json:"max_idle_conns"`
	ConnMaxLifetime  time.Duration `json:"conn_max_lifetime"`
	ConnMaxIdleTime  time.Duration `json:"conn_max_idle_time"`
	ConnectTimeout   time.Duration `json:"connect_timeout"`
	MigrationTimeout time.Duration `json:"migration_timeout"`
	AutoMigrate      bool          `json:"auto_migrate"`
	// Path is the SQLite file, already resolved against Config.Dir, or MemoryPath.
	Path        string        `json:"path,omitempty"`
	BusyTimeout time.Duration `json:"busy_timeout"`
	JournalMode string        `json:"journal_mode,omitempty"`
	Synchronous string        `json:"synchronous,omitempty"`
	// ConnStringPasswordFrom is set when the password used is the one inside conn_string: where
	// conn_string came from ("flag --db-conn-string", "compozy.yaml:2"), so that a message can
	// point at conn_string without reading PasswordSource's wording. "" otherwise.
	ConnStringPasswordFrom string `json:"-"`
	// LockTimeout, when set, bounds how long each PostgreSQL statement waits for a lock
	// (lock_timeout): set by a caller that must not queue behind another session, such as the
	// doctor. Never read from a file, the environment or a flag.
	LockTimeout time.Duration `json:"-"`
	// ApplicationName, when set, is the application_name of the caller's PostgreSQL sessions
	// (the doctor's are "compozy doctor"), over any conn_string gives. Never read from a file.
	ApplicationName string `json:"-"`
}

// Knowledge is the part of the `knowledge:` section this tool owns.
type Knowledge struct {
	VectorDBs []VectorDB `json:"vector_dbs"`
}

// VectorDB is one entry of `knowledge.vector_dbs`.
type VectorDB struct {
	ID         string `json:"id"`
	Provider   string `json:"provider"`
	URL        string `json:"url,omitempty"`
	Path       string `json:"path,omitempty"`
	Dimension  int    `json:"dimension"`
	Collection string `json:"collection,omitempty"`
	Index      string `json:"index,omitempty"`
	Dialect    string `json:"dialect,omitempty"`
	Metric     string `json:"metric,omitempty"`
}

// Runtime is the part of the `runtime:` section this tool reads.
type Runtime struct {
	MaxConcurrentWorkflows int `json:"max_concurrent_workflows,omitempty"`
}

// Source says where a value came from.
type Source struct {
	Kind SourceKind `json:"kind"`
	// File is the config file as the user named it (or "compozy.yaml"), for file values.
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Name is the environment variable or flag name, for env and flag sources.
	Name string `json:"name,omitempty"`
	// SecretFile is the file a *_FILE variable (COMPOZY_DB_PASSWORD_FILE) named, whose content
	// is the value; Name is then the variable.
	SecretFile string `json:"secret_file,omitempty"`
}

// pos is the position of a file value.
func (s Source) pos() Pos { return Pos{File: s.File, Line: s.Line, Column: s.Column} }

// SourceKind is the layer a value came from.
type SourceKind string

// The layers, lowest precedence first.
const (
	SourceDefault SourceKind = "default"
	SourceFile    SourceKind = "file"
	SourceEnv     SourceKind = "env"
	SourceFlag    SourceKind = "flag"
	SourceStdin   SourceKind = "stdin"
)

// String renders the source for people: "default", "compozy.yaml:3", "env COMPOZY_DB_HOST",
// "file /run/secrets/db_password (COMPOZY_DB_PASSWORD_FILE)", "flag --db-driver", "stdin".
func (s Source) String() string {
	if s.SecretFile != "" {
		return "file " + s.SecretFile + " (" + s.Name + ")"
	}
	switch s.Kind {
	case SourceFile:
		if s.Line > 0 {
			return s.File + ":" + strconv.Itoa(s.Line)
		}
		return s.File
	case SourceEnv:
		return "env " + s.Name
	case SourceFlag:
		return "flag " + s.Name
	case SourceStdin:
		return "stdin"
	}
	return string(s.Kind)
}

// Warning is a validation finding that does not make the config invalid.
type Warning struct {
	// Code names the kind of warning; route by it, never by Message (see Code).
	Code Code   `json:"code"`
	Key  string `json:"key"`
	// Message says what is wrong, for people. Its wording may change in any release.
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	// Pos locates the value in the config file, when it came from there.
	Pos
	// Origin names where the value came from when not from the file: "env COMPOZY_DB_PORT",
	// "flag --db-port", "stdin".
	Origin string `json:"origin,omitempty"`
	// Secret marks a warning about the password or another secret that every command that
	// connects should print: two places that give different passwords, a secret file others
	// can read, a password on the command line.
	Secret bool `json:"-"`
}

// Where is the location of the warning: "compozy.yaml:3:5", "env DB_HOST", or "".
func (w Warning) Where() string { return where(w.File, w.Line, w.Column, w.Origin) }

// String renders the warning as "WHERE: KEY: MESSAGE" plus an indented fix line.
func (w Warning) String() string { return render(w.Where(), w.Key, w.Message, w.Fix) }
