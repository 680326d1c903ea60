package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// validate checks the resolved values against each other. Keys that already have a problem (a
// wrong type, say) are not checked again.
func (l *loader) validate() {
	c := l.cfg
	d := &c.Database
	switch d.Driver {
	case DriverSQLite:
		l.validateSQLite()
	case DriverPostgres:
		l.validatePostgres()
	}
	if d.MaxIdleConns > d.MaxOpenConns && !l.hasProblem("database.max_open_conns") {
		// Not an error: database/sql lowers the idle limit to the open limit by itself. But the
		// setting says something the pool will not do, so say so.
		l.warn(CodePoolIdleConns, l.sourceOf("database.max_idle_conns"), "database.max_idle_conns",
			fmt.Sprintf("max_idle_conns (%d) is more than max_open_conns (%d); only %d connections can be idle", d.MaxIdleConns, d.MaxOpenConns, d.MaxOpenConns),
			fmt.Sprintf("set max_idle_conns to %d or less", d.MaxOpenConns))
	}
	l.validateVectorDBs()
	l.plaintextSecrets()
}

// validateSQLite checks what SQLite needs: a path, no pgvector, a vector DB for knowledge bases,
// and settings that keep "database is locked" away.
func (l *loader) validateSQLite() {
	c := l.cfg
	d := &c.Database
	driverSrc := l.sourceOf("database.driver")
	if d.Path == "" && !l.hasProblem("database.path") {
		l.problem(CodeValueRequired, driverSrc, "database.path", "driver sqlite needs a database file: set a file path or :memory:",
			`set path: ./data/compozy.db (or path: ":memory:" for a database that lasts as long as the process), or use --db-path / COMPOZY_DB_PATH`)
	}
	for i, v := range c.Knowledge.VectorDBs {
		if v.Provider == "pgvector" {
			key := "knowledge.vector_dbs[" + strconv.Itoa(i) + "].provider"
			l.problem(CodeVectorPgvectorSQLite, l.sourceOf(key), key, "pgvector provider is incompatible with SQLite driver",
				"use qdrant, redis or filesystem as the provider of this vector DB (for example provider: qdrant with url: http://localhost:6333), or set driver: postgres")
		}
	}
	if len(c.Knowledge.VectorDBs) == 0 {
		l.warn(CodeVectorMissing, driverSrc, "knowledge.vector_dbs", "SQLite has no vector search and no vector DB is configured: knowledge bases will not work",
			"add a qdrant, redis or filesystem entry under knowledge.vector_dbs")
	}
	if n := c.Runtime.MaxConcurrentWorkflows; n > SQLiteSafeConcurrentWorkflows {
		key := "runtime.max_concurrent_workflows"
		l.warn(CodeSQLiteConcurrency, l.sourceOf(key), key,
			fmt.Sprintf("%d concurrent workflows is above %d, the most measured safe for SQLite in one process (docs/benchmarks.md)", n, SQLiteSafeConcurrentWorkflows),
			fmt.Sprintf("lower max_concurrent_workflows to %d, or use driver: postgres", SQLiteSafeConcurrentWorkflows))
	}
	if d.Path != MemoryPath && d.Path != "" {
		if d.BusyTimeout == 0 && !l.hasProblem("database.busy_timeout") {
			l.warn(CodeSQLiteBusyTimeout, l.sourceOf("database.busy_timeout"), "database.busy_timeout",
				"busy_timeout 0 makes every lock wait fail at once with \"database is locked\"", "set busy_timeout: 5s")
		}
		if d.JournalMode == "off" && !l.hasProblem("database.journal_mode") {
			// With no rollback journal, ROLLBACK is undefined: a failed migration or workflow
			// transaction can corrupt the file.
			l.problem(CodeSQLiteJournalOff, l.sourceOf("database.journal_mode"), "database.journal_mode",
				"journal_mode off has no rollback journal: a failed transaction or migration can corrupt the database file",
				"set journal_mode: wal")
		} else if d.JournalMode != "wal" && !l.hasProblem("database.journal_mode") {
			l.warn(CodeSQLiteJournalMode, l.sourceOf("database.journal_mode"), "database.journal_mode",
				"journal_mode "+d.JournalMode+" blocks readers while a workflow writes; concurrent workflows will hit \"database is locked\"",
				"set journal_mode: wal")
		}
	}
	l.ignoredKeys(DriverPostgres)
}

// validatePostgres checks the connection string: its form, and the settings it carries
// (sslmode, port, connect_timeout) as strictly as the separate keys. No message quotes the
// string: it may hold a password.
func (l *loader) validatePostgres() {
	d := &l.cfg.Database
	if d.ConnString != "" && !l.hasProblem("database.conn_string") {
		key := "database.conn_string"
		src := l.sourceOf(key)
		if scheme, _, ok := strings.Cut(d.ConnString, "://"); ok && isScheme(scheme) {
			if scheme != "postgres" && scheme != "postgresql" {
				l.problem(CodeURLScheme, src, key, fmt.Sprintf("expected a postgres:// or postgresql:// URL, got scheme %q", scheme),
					"write postgres://user@host:5432/compozy?sslmode=require")
			} else if u, err := url.Parse(d.ConnString); err != nil {
				l.problem(CodeURLInvalid, src, key, "not a valid URL: "+urlErrorReason(err),
					"percent-encode special characters in the user and password (@ as %40, / as %2F, ? as %3F, # as %23, space as %20), or set the password apart: password: ${COMPOZY_DB_PASSWORD}")
			} else if ambiguousURL(u, d.ConnString) {
				// postgres://app:pa/ss@host/db parses as host "app", port "pa" and a database
				// name holding the rest of the password: connecting would send it as a name.
				l.problem(CodeURLAmbiguous, src, key, "the user or password holds a character that ends the host part of a URL (/, ? or #), so the URL does not say which host to use",
					"percent-encode special characters in the user and password (/ as %2F, ? as %3F, # as %23, @ as %40), or set the password apart: password: ${COMPOZY_DB_PASSWORD}")
			} else if strayAt(d.ConnString) {
				l.problem(CodeURLAmbiguous, src, key, atProblem, atFix+", or set the password apart: password: ${COMPOZY_DB_PASSWORD}")
			} else {
				l.connParams(src, urlParams(u))
			}
		} else if !strings.Contains(d.ConnString, "=") {
			l.problem(CodeConnStringInvalid, src, key, "expected a postgres:// URL or key=value pairs (host=... dbname=...)",
				"write postgres://user@host:5432/compozy?sslmode=require")
		} else if pairs, bad := parseKeyValue(d.ConnString); bad != "" {
			l.problem(CodeConnStringInvalid, src, key, "not a valid key=value connection string: "+bad,
				"write key=value pairs separated by spaces, for example host=db dbname=compozy sslmode=require")
		} else {
			params := map[string][]string{}
			for _, p := range pairs {
				params[p.key] = append(params[p.key], p.value)
			}
			l.connParams(src, params)
		}
		l.shadowedByConnString()
		if src.Kind == SourceFlag && Redact(d.ConnString) != d.ConnString {
			l.secretWarn(CodeSecretCommandLine, src, key, "a password on the command line is visible to other users (ps) and kept in shell history",
				"set COMPOZY_DB_CONN_STRING instead, or leave the password out and use COMPOZY_DB_PASSWORD or --db-password-stdin")
		}
	}
	l.ignoredKeys(DriverSQLite)
}

// ambiguousURL reports whether u (parsed from raw) can only be explained by a user, password or
// api_key holding /, ? or #: an @ outside the user part, or a #, which no connection URL uses.
func ambiguousURL(u *url.URL, raw string) bool {
	return strings.Contains(u.Path, "@") || strings.Contains(raw, "#") || strings.Contains(u.RawQuery, "@") && u.User == nil
}

// atProblem and atFix are said of a postgres:// URL whose user part holds an @ that is not
// percent-encoded: Go's URL parser takes the last @ to end the user part, PostgreSQL's driver
// the first, so the driver would send the rest of the password to DNS as the host name.
const (
	atProblem = "the user or password holds an @ that is not percent-encoded, so the URL does not say which host to use"
	atFix     = "write @ as %40 in the user and password"
)

// strayAt reports whether the user part of the URL s holds more than one @.
func strayAt(s string) bool {
	_, rest, _ := strings.Cut(s, "://")
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	return strings.Count(rest, "@") > 1
}

// urlParams are the settings a postgres:// URL carries: its query parameters, and the port of
// each host ("h1:5432,h2:5433").
func urlParams(u *url.URL) map[string][]string {
	params := map[string][]string(u.Query())
	for _, h := range strings.Split(u.Host, ",") {
		if strings.HasPrefix(h, "[") { // [::1]:5432
			if end := strings.IndexByte(h, ']'); end >= 0 {
				h = h[end+1:]
			}
		}
		if _, port, ok := strings.Cut(h, ":"); ok {
			params["port"] = append(params["port"], port)
		}
	}
	return params
}

// connParams checks the settings a connection string carries the way the separate keys are
// checked: sslmode, port and connect_timeout.
func (l *loader) connParams(src Source, params map[string][]string) {
	key := "database.conn_string"
	for _, v := range params["sslmode"] {
		f, _ := l.field(SectionDatabase, "ssl_mode")
		if slices.Contains(f.Enum, v) {
			continue
		}
		e := enumError(f, stringScalar(v))
		fix := "set sslmode in conn_string to one of: " + strings.Join(f.Enum, ", ")
		if best := suggest(strings.ToLower(v), f.Enum); best != "" {
			fix = "sslmode=" + best + " in conn_string"
		}
		l.problem(e.code, src, key, "sslmode in conn_string: "+e.msg, fix)
	}
	for _, v := range params["port"] {
		f, _ := l.field(SectionDatabase, "port")
		for _, p := range strings.Split(v, ",") { // one port per host
			if p == "" {
				continue // postgres://host:/db: the default port
			}
			n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil {
				l.problem(CodeValueType, src, key, "port in conn_string: expected an integer, got "+stringScalar(p).describe(false),
					"write the port as a whole number from 1 to 65535, such as 5432")
				continue
			}
			if n < int64(*f.Min) || n > int64(*f.Max) {
				e := rangeError(f, n)
				l.problem(e.code, src, key, "port in conn_string: "+e.msg, e.fix)
			}
		}
	}
	for _, v := range params["connect_timeout"] {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
			continue
		}
		l.problem(CodeValueType, src, key, "connect_timeout in conn_string: expected a whole number of seconds (0 or more), got "+stringScalar(v).describe(false),
			"write connect_timeout=5 (seconds; 0 waits forever), or leave it out of conn_string and set connect_timeout: 5s")
	}
}

// shadowedByConnString refuses host, port, user, name and ssl_mode set next to conn_string:
// the connection string decides them, so a value set apart (for example --db-name staging)
// would be silently ignored and a command could act on another database than the one named.
// The password is the exception: it may be set apart, and then it wins. A legacy DB_* variable
// only gets a warning, since such variables often belong to other programs.
func (l *loader) shadowedByConnString() {
	cs := l.sourceOf("database.conn_string")
	for _, name := range []string{"host", "port", "user", "name", "ssl_mode"} {
		key := "database." + name
		src := l.cfg.Sources[key]
		if src.Kind == SourceDefault || src.Kind == "" || l.hasProblem(key) {
			continue
		}
		msg := fmt.Sprintf("%s has no effect: conn_string (%s) decides the %s", name, cs, strings.ReplaceAll(name, "_", " "))
		fix := fmt.Sprintf("put the %s in conn_string, or remove conn_string and use the separate keys", strings.ReplaceAll(name, "_", " "))
		if src.Kind == SourceEnv && strings.HasPrefix(src.Name, "DB_") {
			l.warn(CodeConnStringConflict, src, key, msg+"; the legacy variable is ignored", "unset "+src.Name+", or "+fix)
			continue
		}
		l.problem(CodeConnStringConflict, src, key, msg, fix)
	}
}

// ignoredKeys warns about keys of the other driver set in the file or on the command line. (The
// environment is left out: legacy DB_* variables often belong to other programs.)
func (l *loader) ignoredKeys(other string) {
	for _, f := range l.fields {
		if f.Driver != other {
			continue
		}
		key := f.Key()
		src := l.cfg.Sources[key]
		if src.Kind != SourceFile && src.Kind != SourceFlag || l.hasProblem(key) {
			continue
		}
		if f.get(l.cfg, 0) == "" {
			continue
		}
		l.warn(CodeKeyOtherDriver, src, key, fmt.Sprintf("%s applies to driver %s only; it is ignored with driver %s", f.Name, other, l.cfg.Database.Driver),
			"remove it, or set driver: "+other)
	}
}

// validateVectorDBs checks each entry: required keys, unique ids, what each provider needs.
func (l *loader) validateVectorDBs() {
	ids := map[string]int{}
	for i, v := range l.cfg.Knowledge.VectorDBs {
		entry := "knowledge.vector_dbs[" + strconv.Itoa(i) + "]"
		if l.hasProblem(entry) {
			continue // not a mapping: its keys cannot be checked
		}
		entrySrc := l.sourceOf(entry)
		key := func(name string) string { return entry + "." + name }
		switch j, dup := ids[v.ID]; {
		case v.ID == "":
			if !l.hasProblem(key("id")) {
				l.problem(CodeValueRequired, entrySrc, key("id"), "id is required", "give every vector DB a unique id, for example id: main")
			}
		case dup:
			first := l.sourceOf("knowledge.vector_dbs[" + strconv.Itoa(j) + "].id")
			l.problem(CodeVectorDuplicateID, l.sourceOf(key("id")), key("id"), fmt.Sprintf("duplicate vector DB id %q (also the id of knowledge.vector_dbs[%d], %s)", v.ID, j, first),
				"give every vector DB a unique id")
		default:
			ids[v.ID] = i
		}
		if v.Provider == "" && !l.hasProblem(key("provider")) {
			l.problem(CodeValueRequired, entrySrc, key("provider"), "provider is required", "set provider to one of: pgvector, qdrant, redis, filesystem")
		}
		if v.Dimension == 0 && !l.hasProblem(key("dimension")) {
			l.problem(CodeValueRequired, entrySrc, key("dimension"), "dimension is required",
				"set dimension to the length of the embedding model's vectors, for example 1536")
		}
		switch v.Provider {
		case "qdrant":
			l.vectorURL(i, v, entrySrc, "http://localhost:6333", "http", "https", "grpc", "grpcs")
		case "redis":
			l.vectorURL(i, v, entrySrc, "redis://localhost:6379", "redis", "rediss", "unix")
		case "pgvector":
			if v.URL != "" {
				l.vectorURL(i, v, entrySrc, "", "postgres", "postgresql")
			}
		case "filesystem":
			if v.Path == "" && !l.hasProblem(key("path")) {
				l.problem(CodeValueRequired, entrySrc, key("path"), "provider filesystem needs a folder", "set path: ./data/vectors")
			}
		}
	}
}

// vectorURL checks that entry i has a URL with one of the schemes.
func (l *loader) vectorURL(i int, v VectorDB, entrySrc Source, example string, schemes ...string) {
	key := "knowledge.vector_dbs[" + strconv.Itoa(i) + "].url"
	if l.hasProblem(key) {
		return
	}
	if v.URL == "" {
		l.problem(CodeValueRequired, entrySrc, key, "provider "+v.Provider+" needs a url", "set url: "+example)
		return
	}
	src := l.sourceOf(key)
	u, err := url.Parse(v.URL)
	if err != nil {
		l.problem(CodeURLInvalid, src, key, "not a valid URL: "+urlErrorReason(err),
			"percent-encode special characters in the password (@ as %40, / as %2F, ? as %3F, # as %23, space as %20)")
		return
	}
	if ambiguousURL(u, v.URL) {
		l.problem(CodeURLAmbiguous, src, key, "the user, password or api_key holds a character that ends a part of a URL (/, ? or #), so the URL does not say which host or key to use",
			"percent-encode special characters in the password or api_key (/ as %2F, ? as %3F, # as %23, @ as %40)")
		return
	}
	if (strings.EqualFold(u.Scheme, "postgres") || strings.EqualFold(u.Scheme, "postgresql")) && strayAt(v.URL) {
		l.problem(CodeURLAmbiguous, src, key, atProblem, atFix)
		return
	}
	for _, s := range schemes {
		if strings.EqualFold(u.Scheme, s) {
			if u.Host == "" && s != "unix" {
				l.problem(CodeURLHost, src, key, fmt.Sprintf("%s has no host", Redact(v.URL)), "set url: "+example)
			}
			return
		}
	}
	fix := "write " + strings.Join(schemes, "://, ") + "://..."
	if example != "" {
		fix = "set url: " + example
	}
	l.problem(CodeURLScheme, src, key, fmt.Sprintf("provider %s expects a %s:// URL, got %s", v.Provider, schemes[0], Redact(v.URL)), fix)
}

// plaintextSecrets warns about passwords written out in the config file.
func (l *loader) plaintextSecrets() {
	for _, key := range slices.Sorted(maps.Keys(l.raw)) {
		rv := l.raw[key]
		raw := rv.text
		if l.hasProblem(key) {
			continue
		}
		var msg, fix string
		switch {
		case key == "database.password":
			if hasReference(raw) || raw == "" {
				continue
			}
			msg, fix = "plaintext password in the config file", "write password: ${COMPOZY_DB_PASSWORD} and set COMPOZY_DB_PASSWORD in the environment"
		case plaintextSecret(raw):
			msg = "plaintext password in the config file"
			fix = "replace the password with a ${VAR} reference, for example ${VECTOR_DB_PASSWORD}, and set the variable in the environment"
			if key == "database.conn_string" {
				fix = "write conn_string: ${COMPOZY_DB_CONN_STRING}, or put ${COMPOZY_DB_PASSWORD} where the password is"
			}
		default:
			continue
		}
		l.warn(CodeSecretPlaintext, rv.src, key, msg, fix)
	}
}

// sourceOf is where key's value came from (the default when unknown).
func (l *loader) sourceOf(key string) Source {
	if s, ok := l.cfg.Sources[key]; ok {
		return s
	}
	return Source{Kind: SourceDefault}
}

// urlErrorReason says why url.Parse refused a URL without quoting any of it: url.Error quotes
// the whole URL, and its reasons quote the part that failed ("invalid port \":Secret\" after
// host"), which is often a piece of the password.
func urlErrorReason(err error) string {
	var ee url.EscapeError
	var he url.InvalidHostError
	switch {
	case errors.As(err, &ee):
		return "a % that does not start a %XX escape (write % as %25)"
	case errors.As(err, &he):
		return "the host part holds a character a host name cannot have (is there a / ? # or @ in the password?)"
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "invalid port"):
		return "the text after the last : of the host part is not a port number (is there a / ? or # in the password?)"
	case strings.Contains(msg, "invalid userinfo"):
		return "the user or password holds a character that must be percent-encoded (a space, or one of \" < > \\ ^ ` { | })"
	case strings.Contains(msg, "invalid control character"):
		return "it holds a control character (a tab or line break, for example)"
	case strings.Contains(msg, "missing protocol scheme"):
		return "it has no scheme"
	case strings.Contains(msg, "missing ']' in host"):
		return "an IPv6 host has no closing ]"
	}
	return "cannot parse it"
}
