package wizard

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"compozy.dev/setup/core/config"
)

// The checks of single answers. The form runs them as each answer is typed (the cursor stays
// on the question until it passes); the flags run the same checks before anything is asked.
// Their messages say what is wanted, and never repeat what was typed (it may hold a secret).

// ParsePort reads a PostgreSQL port: a whole number from 1 to 65535.
func ParsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, errors.New("enter a port between 1 and 65535 (PostgreSQL listens on 5432 unless told otherwise)")
	}
	return p, nil
}

// ValidateHost checks a PostgreSQL host name, IP address or Unix socket folder.
func ValidateHost(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return errors.New("enter the host name or IP address of the PostgreSQL server (localhost for this machine)")
	case strings.Contains(s, "://"):
		return errors.New("enter the host name only; for a postgres:// URL choose \"A connection string\" (Shift-Tab goes back)")
	case strings.ContainsFunc(s, unicode.IsSpace):
		return errors.New("a host name has no spaces")
	}
	return nil
}

// ValidateName checks a PostgreSQL user or database name: not empty.
func ValidateName(what string) func(string) error {
	return func(s string) error {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("enter the %s", what)
		}
		return nil
	}
}

// NormalizeURL removes the white space a URL cannot hold: line breaks and indentation that
// come with a URL pasted across lines.
func NormalizeURL(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// errBadURL is the message for a URL that does not parse; it quotes none of it.
var errBadURL = errors.New("not a valid URL: percent-encode special characters in the password (@ as %40, / as %2F, ? as %3F, # as %23, space as %20)")

// ValidateConnString checks a PostgreSQL connection string typed in the form: a postgres:// or
// postgresql:// URL.
func ValidateConnString(s string) error {
	s = NormalizeURL(s)
	scheme, _, ok := strings.Cut(s, "://")
	if !ok || (scheme != "postgres" && scheme != "postgresql") {
		return errors.New("enter a URL that starts with postgres:// or postgresql:// (postgres://user@host:5432/compozy)")
	}
	u, err := url.Parse(refPattern.ReplaceAllString(s, "x"))
	if err != nil {
		return errBadURL
	}
	if u.Port() != "" {
		if _, err := ParsePort(u.Port()); err != nil {
			return fmt.Errorf("the port in the URL: %w", err)
		}
	}
	return nil
}

// ValidateConnStringFlag checks --db-conn-string: a postgres:// URL as in the form, or a
// key=value connection string (host=... dbname=...), which libpq and pgx accept too.
func ValidateConnStringFlag(s string) error {
	if !strings.Contains(s, "://") && strings.Contains(s, "=") {
		return nil
	}
	return ValidateConnString(s)
}

// ValidateVectorURL checks the URL of a Qdrant (http, https, grpc, grpcs) or Redis (redis,
// rediss) vector DB, or of the PostgreSQL server that holds pgvector when it is not the
// database's own (postgres, postgresql).
func ValidateVectorURL(provider, s string) error {
	s = NormalizeURL(s)
	var schemes []string
	switch provider {
	case ProviderQdrant:
		schemes = []string{"http", "https", "grpc", "grpcs"}
	case ProviderRedis:
		schemes = []string{"redis", "rediss"}
	case ProviderPgvector:
		return validatePgvectorURL(s)
	default:
		return nil
	}
	u, err := url.Parse(refPattern.ReplaceAllString(s, "x"))
	if err != nil {
		return errBadURL
	}
	if !strings.Contains(s, "://") || !contains(schemes, strings.ToLower(u.Scheme)) {
		return fmt.Errorf("enter a %s URL that starts with %s:// (%s)", provider, strings.Join(schemes, "://, "), DefaultVectorURL(provider))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("the URL names no host (%s)", DefaultVectorURL(provider))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("the port in the URL must be between 1 and 65535")
		}
	}
	if _, _, err := SplitVectorURL(s); err != nil {
		return err
	}
	return nil
}

// validatePgvectorURL checks the URL of another PostgreSQL server for pgvector: a postgres://
// URL that names a host (or a socket folder with ?host=), as --db-conn-string's form takes it.
// A key=value string holds its password where no ${VAR} can replace it, so it is refused.
func validatePgvectorURL(s string) error {
	if err := ValidateConnString(s); err != nil {
		return err
	}
	u, _ := url.Parse(refPattern.ReplaceAllString(s, "x"))
	if u.Hostname() == "" && u.Query().Get("host") == "" {
		return errors.New("the URL names no host (postgres://user@host:5432/compozy)")
	}
	if _, _, err := SplitVectorURL(s); err != nil {
		return err
	}
	return nil
}

// PgvectorServer names the PostgreSQL server a pgvector URL points at, as host:port/database
// (no user, no password), for the comments and the messages; "" when the URL is not a
// postgres:// URL (pgvector is then in the database's own PostgreSQL).
func PgvectorServer(raw string) string {
	raw = NormalizeURL(raw)
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok || (scheme != "postgres" && scheme != "postgresql") {
		return ""
	}
	u, err := url.Parse(refPattern.ReplaceAllString(raw, "x"))
	if err != nil {
		return ""
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = u.Query().Get("host")
	}
	if port == "" {
		port = "5432"
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		db = u.Query().Get("dbname")
	}
	server := net.JoinHostPort(host, port)
	if strings.HasPrefix(host, "/") {
		server = host
	}
	if db != "" {
		server += "/" + db
	}
	return server
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ParseDimension reads an embedding dimension: a whole number above 0.
func ParseDimension(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, errors.New("enter a whole number above 0: the length of the embedding model's vectors (1536 for text-embedding-3-small, 768 or 384 for many local models)")
	}
	if n > 65536 {
		return 0, errors.New("no embedding model has more than 65536 dimensions; enter the length of your model's vectors")
	}
	return n, nil
}

// ValidateVectorID checks a vector DB id: knowledge bases refer to it, and the providers name
// the collection after it (compozy_vectors_ID for pgvector, compozy_ID for qdrant and redis),
// so it is kept to letters, digits and _ (a letter first, at most 40).
func ValidateVectorID(s string) error {
	s = strings.TrimSpace(s)
	ok := s != "" && len(s) <= 40 && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			ok = false
		}
	}
	if !ok {
		return errors.New("enter a letter then letters, digits or _ (at most 40), for example docs or main_384")
	}
	return nil
}

// ValidateSQLitePath checks a SQLite database file, relative to base (the config file's
// folder): ":memory:", or a file whose folder exists and may be written, or can be created.
// Probing leaves nothing behind.
func ValidateSQLitePath(base, p string) error {
	p = strings.TrimSpace(p)
	if p == "" {
		return errors.New("enter the database file (./data/compozy.db), or :memory:")
	}
	if p == config.MemoryPath {
		return nil
	}
	abs := absUnder(base, p)
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a folder: name the database file inside it (%s)", p, filepath.Join(p, "compozy.db"))
	}
	return writableFolder(filepath.Dir(abs))
}

// ValidateFolder checks the folder of the filesystem vector store, relative to base: it exists
// and may be written, or can be created. Probing leaves nothing behind.
func ValidateFolder(base, p string) error {
	p = strings.TrimSpace(p)
	if p == "" {
		return errors.New("enter the folder of the vector store (./data/vectors)")
	}
	return writableFolder(absUnder(base, p))
}

func absUnder(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// writableFolder checks that dir is a folder a file can be created in, or that it can be
// created: the folder, or its nearest existing parent, may be written by this user, on a file
// system that takes files (not read-only, not /proc or /sys). It writes nothing: --dry-run
// changes no file, not even a folder's time.
func writableFolder(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s is a file, not a folder: choose another path", dir)
	case err == nil:
		if err := canCreateIn(dir); err != nil {
			return fmt.Errorf("cannot write in %s (%s): choose a folder you may write to, or fix its permissions", dir, err)
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot use %s (%s): choose another folder", dir, reason(err))
	}
	parent := filepath.Dir(dir)
	for {
		fi, err := os.Stat(parent)
		if err == nil && !fi.IsDir() {
			return fmt.Errorf("cannot create the folder %s (%s is a file): choose another path", dir, parent)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(parent) == parent {
			return fmt.Errorf("cannot create the folder %s (%s): choose a folder you may write to", dir, reason(err))
		}
		parent = filepath.Dir(parent)
	}
	if err := canCreateIn(parent); err != nil {
		return fmt.Errorf("cannot create the folder %s (%s: %s): choose a folder you may write to", dir, parent, err)
	}
	return nil
}

// reason is the system's reason for err, without the path it repeats.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// IsLocalHost reports whether a PostgreSQL host is this machine: localhost, a loopback
// address, or a Unix socket folder.
func IsLocalHost(host string) bool {
	host = strings.TrimSpace(host)
	if host == "" || strings.HasPrefix(host, "/") || strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// SSLModes are the values of ssl_mode, weakest first.
var SSLModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// ValidateSSLMode checks an ssl_mode.
func ValidateSSLMode(s string) error {
	if !contains(SSLModes, s) {
		return fmt.Errorf("want one of %s (require, or verify-full with the server's CA, for a server on another host)", strings.Join(SSLModes, ", "))
	}
	return nil
}

// SSLModeFor is the ssl_mode to preselect for host: disable on this machine (DefaultSSLMode),
// require on any other (the connection crosses a network). verify-full is stronger still, and
// needs the server's CA certificate (sslrootcert), which only the user has.
func SSLModeFor(host string) string {
	if IsLocalHost(host) {
		return DefaultSSLMode
	}
	return "require"
}

// SSLExplanation says why the preselected ssl_mode is what it is, and what verify-full adds.
func SSLExplanation(host string) string {
	if IsLocalHost(host) {
		return "A server on this machine: disable is fine. For a server on another host use require (encrypted), or verify-full (encrypted, and the server's certificate and name checked against your CA: set sslrootcert)."
	}
	return host + " is not on this machine, so require is preselected: the connection is encrypted. verify-full also checks the server's certificate and name against your CA (set sslrootcert in the connection settings): use it on a network you do not trust."
}

// urlHost is the host of a postgres:// URL, "" when it names none.
func urlHost(conn string) string {
	u, err := url.Parse(refPattern.ReplaceAllString(conn, "x"))
	if err != nil {
		return ""
	}
	if h := u.Query().Get("host"); h != "" && u.Hostname() == "" {
		return h
	}
	return u.Hostname()
}

// ConnStringSSLNote is a warning for a connection string to another machine that does not say
// sslmode: pgx then uses prefer, which encrypts only when the server offers it and checks
// nothing. "" when there is nothing to say.
func ConnStringSSLNote(conn string) string {
	if !strings.Contains(conn, "://") {
		return ""
	}
	host := urlHost(conn)
	if IsLocalHost(host) || strings.Contains(strings.ToLower(conn), "sslmode=") {
		return ""
	}
	return "the connection string sets no sslmode and " + host + " is not on this machine: the connection is encrypted only if the server offers it, and the server is not checked. Add sslmode=require (or sslmode=verify-full with sslrootcert)."
}
