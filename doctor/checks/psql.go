package checks

import (
	"strconv"
	"strings"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/internal/shellquote"
)

// psqlCmd is the shell command that runs sql with psql on the database db names, connecting as
// user ("" for the configured role): its URL without the password (psql asks for it, or reads
// PGPASSWORD), every word quoted for a shell. Every SQL fix of the doctor takes this form, as
// the pgvector store's do (pgvector.Store.PSQL): never a bare statement after a shell prompt.
// When the settings do not parse (a TLS file that cannot be read, say), the URL is built from
// what conn_string names and database.host, port, user and name.
func psqlCmd(db config.Database, user, sql string) string {
	cs, err := factory.PostgresConnSettings(db)
	if err != nil {
		cs = unparsedSettings(db)
	}
	if user != "" {
		cs.User = user
	}
	return "psql " + shellquote.Quote(cs.URL()) + " -c " + shellquote.Quote(sql)
}

// unparsedSettings are db's settings when PostgresConnSettings fails: conn_string's own
// (password and sslpassword left out), else database.*, else localhost:5432.
func unparsedSettings(db config.Database) factory.ConnSettings {
	named := factory.ConnStringParams(db)
	pick := func(key, def string) string {
		if v := named[key]; v != "" {
			return v
		}
		return def
	}
	cs := factory.ConnSettings{User: pick("user", db.User), Database: pick("dbname", db.Name), SSLMode: pick("sslmode", db.SSLMode), Params: map[string]string{}}
	host, port := pick("host", db.Host), db.Port
	if p, err := strconv.Atoi(named["port"]); err == nil {
		port = p
	}
	if host == "" {
		host = "localhost"
	}
	if port == 0 {
		port = 5432
	}
	cs.Hosts, cs.Ports = []string{host}, []int{port}
	for k, v := range named {
		switch k {
		case "host", "port", "user", "dbname", "sslmode", "connect_timeout", "statement_cache_capacity", "description_cache_capacity",
			"default_query_exec_mode", "min_read_buffer_size", "krbspn":
		default:
			if !strings.HasPrefix(k, "pool_") {
				cs.Params[k] = v
			}
		}
	}
	return cs
}
