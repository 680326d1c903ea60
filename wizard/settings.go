package wizard

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"compozy.dev/setup/templates"
)

// PasswordEnv is the variable the written file reads the PostgreSQL password from.
const PasswordEnv = "COMPOZY_DB_PASSWORD"

// The variables the written file reads a vector DB's secrets from: the password of its URL
// (redis://:${COMPOZY_VECTOR_PASSWORD}@host:6379), and an API key or token given as a query
// parameter (http://host:6333?api_key=${COMPOZY_VECTOR_API_KEY}). Each holds the secret as
// written in the URL, percent-encoding included: it is put back into the URL as it is.
const (
	VectorPasswordEnv = "COMPOZY_VECTOR_PASSWORD"
	VectorAPIKeyEnv   = "COMPOZY_VECTOR_API_KEY"
)

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

	// The vector DB entry. VectorURL holds no secret: SplitVectorURL has put ${VAR} references
	// in their place, and VectorSecrets holds what the variables are to be set to (for the
	// connection test; never written).
	VectorID      string
	VectorURL     string
	VectorSecrets []VectorSecret
	VectorPath    string
	Dimension     int
	Metric        string
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

// VectorSecret is a secret taken out of a vector DB URL: the written file reads it from Env.
type VectorSecret struct {
	Env   string
	Value string
}

// SplitVectorURL returns raw with its password and its secret query parameters (api_key,
// token, password, ...) replaced by ${VAR} references, and the secrets it took out, as written
// in the URL. A secret that already is a ${VAR} reference is kept. The error, when raw is not a
// URL, quotes none of it.
func SplitVectorURL(raw string) (clean string, secrets []VectorSecret, err error) {
	if !strings.Contains(raw, "://") {
		return raw, nil, nil // no user part, no query: nothing to take out
	}
	// A ${VAR} reference is not valid in a URL: check the URL as it is meant to read.
	if _, perr := url.Parse(refPattern.ReplaceAllString(raw, "x")); perr != nil {
		return "", nil, errors.New("not a valid URL: percent-encode special characters in the password (@ as %40, / as %2F, ? as %3F, # as %23, space as %20)")
	}
	add := func(env, value string) (string, error) {
		if hasRef(value) {
			return value, nil
		}
		for _, sec := range secrets {
			if sec.Env == env && sec.Value != value {
				return "", fmt.Errorf("the URL holds two different secrets for %s; keep one", env)
			}
		}
		secrets = append(secrets, VectorSecret{Env: env, Value: value})
		return "${" + env + "}", nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw, nil, nil
	}
	authEnd := len(rest)
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authEnd = i
	}
	var b strings.Builder
	b.WriteString(scheme + "://")
	if at := strings.LastIndexByte(rest[:authEnd], '@'); at >= 0 {
		user, pw, hasPW := strings.Cut(rest[:at], ":")
		b.WriteString(user)
		if hasPW && pw != "" {
			// The variable holds the password itself: a reference in the user part is
			// percent-encoded when it is expanded, so an encoded value would be encoded twice.
			if dec, err := url.PathUnescape(pw); err == nil {
				pw = dec
			}
			ref, err := add(VectorPasswordEnv, pw)
			if err != nil {
				return "", nil, err
			}
			b.WriteString(":" + ref)
		} else if hasPW {
			b.WriteString(":")
		}
		b.WriteString(rest[at:authEnd])
	} else {
		b.WriteString(rest[:authEnd])
	}
	tail := rest[authEnd:]
	path, query, hasQuery := strings.Cut(tail, "?")
	b.WriteString(path)
	if hasQuery {
		query, fragment, hasFragment := strings.Cut(query, "#")
		parts := strings.Split(query, "&")
		for i, part := range parts {
			key, value, ok := strings.Cut(part, "=")
			env := secretParamEnv(key)
			if !ok || env == "" || value == "" {
				continue
			}
			ref, err := add(env, value)
			if err != nil {
				return "", nil, err
			}
			parts[i] = key + "=" + ref
		}
		b.WriteString("?" + strings.Join(parts, "&"))
		if hasFragment {
			b.WriteString("#" + fragment)
		}
	}
	return b.String(), secrets, nil
}

// secretParamEnv is the variable a secret query parameter is read from, or "" for a parameter
// that is not secret.
func secretParamEnv(key string) string {
	switch strings.ToLower(key) {
	case "password", "pass", "sslpassword":
		return VectorPasswordEnv
	case "api_key", "apikey", "api-key", "token", "access_token", "secret":
		return VectorAPIKeyEnv
	}
	return ""
}

// References lists the variables s refers to as ${VAR} or ${VAR:-default}, in order, each once.
func References(s string) []string {
	var names []string
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			i += 2
		case strings.HasPrefix(s[i:], "${"):
			j := i + 2
			for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			if name := s[i+2 : j]; name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
			i = j - 1
		}
	}
	return names
}

// refPattern matches a ${VAR} or ${VAR:-default} reference.
var refPattern = regexp.MustCompile(`\$\{[^}]*\}`)

// hasRef reports whether s holds a ${VAR} reference.
func hasRef(s string) bool { return References(s) != nil }

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
			v.Server = PgvectorServer(s.VectorURL)
		}
		v.SecretEnvs = References(v.URL)
		d.VectorDBs = []templates.VectorDB{v}
	}
	return d
}
