package config

// Code names a kind of finding: every Problem and Warning that Load reports carries one. Codes
// are stable. Programs route by code (doctor's config checks, init's file mode, scripts reading
// `compozy config validate --json`), never by Message, whose wording may change in any release.
// A new kind of finding gets a new code; a code never takes another meaning. Codes lists them
// all; docs/cli/config.md documents them.
type Code string

// The config file as a whole: it cannot be found, read or parsed.
const (
	// CodeFileNotFound: the config file named by --config or COMPOZY_CONFIG_FILE does not exist.
	CodeFileNotFound Code = "file.not_found"
	// CodeFileUnreadable: the config file exists but cannot be read (a folder, no permission).
	CodeFileUnreadable Code = "file.unreadable"
	// CodeFileTooLarge: the config file is over MaxFileSize; it is not parsed.
	CodeFileTooLarge Code = "file.too_large"
	// CodeFileTooDeep: the config file nests deeper than MaxDepth; it is not parsed.
	CodeFileTooDeep Code = "file.too_deep"
	// CodeYAMLSyntax: the file is not valid YAML.
	CodeYAMLSyntax Code = "yaml.syntax"
	// CodeYAMLDocuments: the file holds more than one YAML document (a --- separator).
	CodeYAMLDocuments Code = "yaml.documents"
	// CodeYAMLTopLevel: the top level of the file is not a mapping of sections.
	CodeYAMLTopLevel Code = "yaml.top_level"
)

// Keys in the sections compozy owns (database:, knowledge.vector_dbs[]).
const (
	// CodeKeyUnknown: a key the section does not have (with the closest valid key).
	CodeKeyUnknown Code = "key.unknown"
	// CodeKeyDuplicate: a key and its alias are both set (name and dbname).
	CodeKeyDuplicate Code = "key.duplicate"
	// CodeKeyInvalid: a key that is not a plain name (a list, a mapping).
	CodeKeyInvalid Code = "key.invalid"
	// CodeKeyMerge: a YAML merge key (<<) in a section compozy owns.
	CodeKeyMerge Code = "key.merge"
	// CodeKeyUnread (warning): a key outside the owned sections that looks like a misspelt one
	// (datbase:, knowledge.vectordbs:); it is not read.
	CodeKeyUnread Code = "key.unread"
	// CodeKeyOtherDriver (warning): a key of the other driver is set; it is ignored.
	CodeKeyOtherDriver Code = "key.other_driver"
	// CodeKeyFlag: a command-line flag names a key the table does not have (a bug in compozy).
	CodeKeyFlag Code = "key.flag"
)

// Values.
const (
	// CodeValueType: a value of the wrong type (a list for a string, text for an integer, a
	// duration without a unit), also for the settings inside conn_string.
	CodeValueType Code = "value.type"
	// CodeValueEnum: a value outside the allowed set (driver, ssl_mode, provider, ...), also
	// sslmode inside conn_string.
	CodeValueEnum Code = "value.enum"
	// CodeValueRange: a number outside its bounds, a negative duration, a busy_timeout longer
	// than SQLite can wait, a port inside conn_string outside 1-65535.
	CodeValueRange Code = "value.range"
	// CodeValueRequired: a required value is missing (database.path for SQLite; a vector DB's
	// id, provider, dimension, url or path).
	CodeValueRequired Code = "value.required"
	// CodeValueAlias: a YAML alias (*name) that refers to no anchor.
	CodeValueAlias Code = "value.alias"
	// CodeValueReference: a malformed ${VAR} reference (unterminated, a bad name, nested too deep).
	CodeValueReference Code = "value.reference"
)

// Environment variables, secret files and passwords.
const (
	// CodeEnvUnset: a ${VAR} without a default names a variable that is not set.
	CodeEnvUnset Code = "env.unset"
	// CodeEnvFileConflict: VAR and VAR_FILE are both set, so which value counts is not clear.
	CodeEnvFileConflict Code = "env.file_conflict"
	// CodeEnvShadowed (warning): a variable is ignored because another name of the same key
	// (COMPOZY_DB_HOST over DB_HOST) is set too, with another value.
	CodeEnvShadowed Code = "env.shadowed"
	// CodeEnvUnknown (warning): a COMPOZY_DB_* variable that sets no key (a typo).
	CodeEnvUnknown Code = "env.unknown"
	// CodeSecretFileInvalid: the file a *_FILE variable names cannot be used (missing, not a
	// regular file, empty, larger than MaxSecretFileSize, unreadable).
	CodeSecretFileInvalid Code = "secret_file.invalid"
	// CodeSecretFileReadable (warning): the file a *_FILE variable names is readable by the
	// group or others.
	CodeSecretFileReadable Code = "secret_file.readable"
	// CodeSecretPlaintext (warning): a password written out in the config file (password:,
	// or inside conn_string or a vector DB url).
	CodeSecretPlaintext Code = "secret.plaintext"
	// CodeSecretCommandLine (warning): a password on the command line (--db-conn-string).
	CodeSecretCommandLine Code = "secret.command_line"
	// CodePasswordConflict (warning): two places give different database passwords; the
	// warning names the one used.
	CodePasswordConflict Code = "password.conflict"
)

// Paths.
const (
	// CodePathReference: a path holds a literal ${ once expanded.
	CodePathReference Code = "path.reference"
	// CodePathURI: database.path is a SQLite URI (file:...) instead of a path.
	CodePathURI Code = "path.uri"
	// CodePathHome: a path starts with ~ and HOME is not set.
	CodePathHome Code = "path.home"
)

// URLs and connection strings.
const (
	// CodeURLInvalid: a URL (conn_string, a vector DB url) does not parse.
	CodeURLInvalid Code = "url.invalid"
	// CodeURLAmbiguous: the user or password of a URL holds @ / ? or # unencoded, so the URL
	// does not say which host to use.
	CodeURLAmbiguous Code = "url.ambiguous"
	// CodeURLScheme: a URL of the wrong scheme for its use (mysql:// for conn_string, http://
	// for redis).
	CodeURLScheme Code = "url.scheme"
	// CodeURLHost: a vector DB url has no host.
	CodeURLHost Code = "url.host"
	// CodeConnStringInvalid: conn_string is neither a postgres:// URL nor valid key=value pairs.
	CodeConnStringInvalid Code = "conn_string.invalid"
	// CodeConnStringConflict: host, port, user, name or ssl_mode is set next to conn_string,
	// which decides them. An error; a warning when a legacy DB_* variable sets it.
	CodeConnStringConflict Code = "conn_string.conflict"
)

// Driver and vector DBs.
const (
	// CodeVectorPgvectorSQLite: a pgvector vector DB with driver sqlite ("pgvector provider is
	// incompatible with SQLite driver").
	CodeVectorPgvectorSQLite Code = "vector.pgvector_sqlite"
	// CodeVectorMissing (warning): driver sqlite with no vector DB: knowledge bases will not work.
	CodeVectorMissing Code = "vector.missing"
	// CodeVectorDuplicateID: two vector DBs with one id.
	CodeVectorDuplicateID Code = "vector.duplicate_id"
	// CodeVectorTooMany: more than MaxVectorDBs entries in knowledge.vector_dbs.
	CodeVectorTooMany Code = "vector.too_many"
)

// SQLite and pool settings.
const (
	// CodeSQLiteJournalOff: journal_mode off for a database file (no rollback journal).
	CodeSQLiteJournalOff Code = "sqlite.journal_off"
	// CodeSQLiteJournalMode (warning): a journal mode other than wal blocks readers.
	CodeSQLiteJournalMode Code = "sqlite.journal_mode"
	// CodeSQLiteBusyTimeout (warning): busy_timeout 0 for a database file.
	CodeSQLiteBusyTimeout Code = "sqlite.busy_timeout"
	// CodeSQLiteConcurrency (warning): runtime.max_concurrent_workflows above what was measured
	// safe for SQLite.
	CodeSQLiteConcurrency Code = "sqlite.concurrency"
	// CodePoolIdleConns (warning): max_idle_conns above max_open_conns.
	CodePoolIdleConns Code = "pool.idle_conns"
)

// The report itself.
const (
	// CodeProblemsTruncated: more problems than one report shows; the rest are counted.
	CodeProblemsTruncated Code = "problems.truncated"
	// CodeWarningsTruncated (warning): more warnings than one report shows; the rest are counted.
	CodeWarningsTruncated Code = "warnings.truncated"
)

// CodeInfo describes a code.
type CodeInfo struct {
	Code Code
	// Error and Warning say whether the code is given to a Problem, a Warning or both.
	Error, Warning bool
	// Summary says what the finding is, for the docs.
	Summary string
}

// Severity is "error", "warning" or "error or warning".
func (c CodeInfo) Severity() string {
	switch {
	case c.Error && c.Warning:
		return "error or warning"
	case c.Warning:
		return "warning"
	}
	return "error"
}

// Codes lists every code, grouped as documented. The slice is new on every call.
func Codes() []CodeInfo {
	e := func(c Code, s string) CodeInfo { return CodeInfo{Code: c, Error: true, Summary: s} }
	w := func(c Code, s string) CodeInfo { return CodeInfo{Code: c, Warning: true, Summary: s} }
	return []CodeInfo{
		e(CodeFileNotFound, "the config file named by --config or COMPOZY_CONFIG_FILE does not exist"),
		e(CodeFileUnreadable, "the config file cannot be read (a folder, no permission)"),
		e(CodeFileTooLarge, "the config file is over 1 MB; it is not parsed"),
		e(CodeFileTooDeep, "the config file nests more than 64 levels; it is not parsed"),
		e(CodeYAMLSyntax, "the file is not valid YAML"),
		e(CodeYAMLDocuments, "the file holds more than one YAML document"),
		e(CodeYAMLTopLevel, "the top level is not a mapping of sections"),

		e(CodeKeyUnknown, "a key that database: or a vector DB entry does not have, or a misspelled database: or knowledge: section that is missing (with the closest valid key)"),
		e(CodeKeyDuplicate, "a key and its alias are both set (name and dbname, ssl_mode and sslmode)"),
		e(CodeKeyInvalid, "a key that is not a plain name"),
		e(CodeKeyMerge, "a YAML merge key (<<) in database: or a vector DB entry"),
		w(CodeKeyUnread, "a top-level or knowledge: key that looks misspelt (datbase:); it is not read"),
		w(CodeKeyOtherDriver, "a key of the other driver is set; it is ignored"),
		e(CodeKeyFlag, "a flag names a key compozy does not have (a bug; please report it)"),

		e(CodeValueType, "a value of the wrong type, also a setting inside conn_string"),
		e(CodeValueEnum, "a value outside the allowed set, also sslmode inside conn_string"),
		e(CodeValueRange, "a number out of its bounds, a negative duration, a busy_timeout over 2^31-1 ms"),
		e(CodeValueRequired, "a required value is missing (path for SQLite; a vector DB's id, provider, dimension, url or path)"),
		e(CodeValueAlias, "a YAML alias that refers to no anchor"),
		e(CodeValueReference, "a malformed ${VAR} reference"),

		e(CodeEnvUnset, "a ${VAR} without a default names a variable that is not set"),
		e(CodeEnvFileConflict, "VAR and VAR_FILE are both set"),
		w(CodeEnvShadowed, "a variable is ignored: another name of the key (COMPOZY_DB_HOST over DB_HOST) is set too"),
		w(CodeEnvUnknown, "a COMPOZY_DB_* variable that sets no key"),
		e(CodeSecretFileInvalid, "the file a *_FILE variable names cannot be used (missing, empty, too large, not a file)"),
		w(CodeSecretFileReadable, "the file a *_FILE variable names is readable by the group or others"),
		w(CodeSecretPlaintext, "a password written out in the config file"),
		w(CodeSecretCommandLine, "a password on the command line"),
		w(CodePasswordConflict, "two places give different database passwords"),

		e(CodePathReference, "a path holds a literal ${"),
		e(CodePathURI, "database.path is a SQLite URI (file:...), not a path"),
		e(CodePathHome, "a path starts with ~ and HOME is not set"),

		e(CodeURLInvalid, "a URL does not parse"),
		e(CodeURLAmbiguous, "a URL's user or password holds @ / ? or # unencoded"),
		e(CodeURLScheme, "a URL of the wrong scheme"),
		e(CodeURLHost, "a vector DB url has no host"),
		e(CodeConnStringInvalid, "conn_string is neither a postgres:// URL nor key=value pairs"),
		{Code: CodeConnStringConflict, Error: true, Warning: true,
			Summary: "host, port, user, name or ssl_mode set next to conn_string, which decides them (a warning for a legacy DB_* variable)"},

		e(CodeVectorPgvectorSQLite, "pgvector provider is incompatible with SQLite driver"),
		w(CodeVectorMissing, "SQLite with no vector DB: knowledge bases will not work"),
		e(CodeVectorDuplicateID, "two vector DBs with one id"),
		e(CodeVectorTooMany, "more than 100 vector DBs"),

		e(CodeSQLiteJournalOff, "journal_mode off for a database file"),
		w(CodeSQLiteJournalMode, "a journal mode other than wal"),
		w(CodeSQLiteBusyTimeout, "busy_timeout 0 for a database file"),
		w(CodeSQLiteConcurrency, "runtime.max_concurrent_workflows above what was measured safe for SQLite"),
		w(CodePoolIdleConns, "max_idle_conns above max_open_conns"),

		e(CodeProblemsTruncated, "more than 50 problems; the rest are counted"),
		w(CodeWarningsTruncated, "more than 50 warnings; the rest are counted"),
	}
}
