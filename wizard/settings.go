package wizard

import (
	"fmt"
	"net/url"

	"compozy.dev/setup/templates"
)

// PasswordEnv is the variable the written file reads the PostgreSQL password from.
const PasswordEnv = "COMPOZY_DB_PASSWORD"

// Defaults of the driver and vector settings.
const (
	DefaultSQLitePath  = "./data/compozy.db"
	DefaultVectorPath  = "./data/vectors"
	DefaultVectorID    = "main"
	DefaultDimension   = 1536
	DefaultMetric      = "cosine"
	DefaultQdrantURL   = "http://localhost:6333"
	DefaultRedisURL    = "redis://localhost:6379"
	DefaultHost        = "localhost"
	DefaultPort        = 5432
	DefaultUser        = "compozy"
	DefaultName        = "compozy"
	DefaultSSLMode     = "disable"
	defaultBusyTimeout = "5s"
	defaultJournalMode = "wal"
	defaultSynchronous = "normal"
	defaultMaxOpen     = 25
)

// Settings are the driver's and the vector DB's settings: the questions after the matrix.
type Settings struct {
	// SQLitePath is the database file, or ":memory:".
	SQLitePath string

	// PostgreSQL: ConnString (without a password), or the separate keys.
	ConnString string
	Host       string
	Port       int
	User       string
	Name       string
	SSLMode    string
	// Password says the server wants a password: the file gets password: ${COMPOZY_DB_PASSWORD}.
	Password bool

	// The vector DB entry.
	VectorID   string
	VectorURL  string
	VectorPath string
	Dimension  int
	Metric     string
}

// DefaultSettings are the settings the form starts from and --yes takes.
func DefaultSettings() Settings {
	return Settings{
		SQLitePath: DefaultSQLitePath,
		Host:       DefaultHost, Port: DefaultPort, User: DefaultUser, Name: DefaultName, SSLMode: DefaultSSLMode,
		VectorID: DefaultVectorID, VectorPath: DefaultVectorPath, Dimension: DefaultDimension, Metric: DefaultMetric,
	}
}

// DefaultVectorURL is the URL a provider is expected at when the user names none.
func DefaultVectorURL(provider string) string {
	switch provider {
	case ProviderQdrant:
		return DefaultQdrantURL
	case ProviderRedis:
		return DefaultRedisURL
	}
	return ""
}

// SplitPassword returns a postgres:// URL without its password, and the password. A
// key=value string is returned as it is, with an error when it holds a password: the file
// must not.
func SplitPassword(connString string) (clean, password string, err error) {
	u, perr := url.Parse(connString)
	if perr != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		if containsKey(connString, "password") {
			return "", "", fmt.Errorf("the connection string holds a password, which compozy.yaml must not: leave it out and set %s", PasswordEnv)
		}
		return connString, "", nil
	}
	if u.User == nil {
		return connString, "", nil
	}
	pw, ok := u.User.Password()
	if !ok {
		return connString, "", nil
	}
	u.User = url.User(u.User.Username())
	return u.String(), pw, nil
}

func containsKey(kv, key string) bool {
	for i := 0; i+len(key) < len(kv); i++ {
		if kv[i:i+len(key)] == key && (i == 0 || kv[i-1] == ' ') {
			rest := kv[i+len(key):]
			for len(rest) > 0 && rest[0] == ' ' {
				rest = rest[1:]
			}
			if len(rest) > 0 && rest[0] == '=' {
				return true
			}
		}
	}
	return false
}

// Data is what templates render for the plan and the settings.
func Data(p Plan, s Settings) templates.Data {
	d := templates.Data{Row: p.Row, Reasons: p.Reasons, Warnings: p.Warnings}
	switch p.Driver {
	case DriverSQLite:
		d.Database = templates.Database{Driver: DriverSQLite, Path: s.SQLitePath,
			JournalMode: defaultJournalMode, BusyTimeout: defaultBusyTimeout, Synchronous: defaultSynchronous}
	default:
		d.Database = templates.Database{Driver: DriverPostgres, ConnString: s.ConnString, MaxOpenConns: defaultMaxOpen}
		if s.ConnString == "" {
			d.Database.Host, d.Database.Port, d.Database.User, d.Database.Name, d.Database.SSLMode = s.Host, s.Port, s.User, s.Name, s.SSLMode
		}
		if s.Password {
			d.Database.PasswordEnv = PasswordEnv
		}
	}
	if p.Provider != ProviderNone && p.Provider != "" {
		v := templates.VectorDB{ID: s.VectorID, Provider: p.Provider, Dimension: s.Dimension, Metric: s.Metric}
		switch p.Provider {
		case ProviderFilesystem:
			v.Path = s.VectorPath
		case ProviderQdrant, ProviderRedis:
			v.URL = s.VectorURL
			if v.URL == "" {
				v.URL = DefaultVectorURL(p.Provider)
			}
		case ProviderPgvector:
			v.URL = s.VectorURL // "" means the database above
		}
		d.VectorDBs = []templates.VectorDB{v}
	}
	return d
}
