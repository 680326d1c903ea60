package wizard

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParsePort(t *testing.T) {
	for in, want := range map[string]int{"5432": 5432, " 1 ": 1, "65535": 65535} {
		if got, err := ParsePort(in); err != nil || got != want {
			t.Errorf("ParsePort(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "-1", "65536", "99999", "54x", "5432.0"} {
		if _, err := ParsePort(in); err == nil || !strings.Contains(err.Error(), "between 1 and 65535") {
			t.Errorf("ParsePort(%q): %v", in, err)
		}
	}
}

func TestValidateHostAndNames(t *testing.T) {
	for _, ok := range []string{"localhost", "db.internal", "10.0.0.5", "::1", "/var/run/postgresql"} {
		if err := ValidateHost(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for in, want := range map[string]string{"": "enter the host name", "  ": "enter the host name",
		"postgres://x@y/z": "A connection string", "db internal": "no spaces"} {
		if err := ValidateHost(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	if err := ValidateName("PostgreSQL user")(" "); err == nil || err.Error() != "enter the PostgreSQL user" {
		t.Errorf("empty user: %v", err)
	}
}

func TestValidateConnString(t *testing.T) {
	for _, ok := range []string{"postgres://u@h/db", "postgresql://u:p@h:5433/db?sslmode=require", "postgres:///db?host=/tmp",
		"postgres://u:${DB_PASSWORD}@h/db", "postgres://u:p@h:5432/\n  db"} {
		if err := ValidateConnString(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for in, want := range map[string]string{"": "starts with postgres://", "mysql://u@h/db": "starts with postgres://",
		"host=h dbname=x": "starts with postgres://", "postgres://u:p/w@h/db": "not a valid URL", "postgres://u@h:99999/db": "port"} {
		err := ValidateConnString(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
		if err != nil && strings.Contains(in, "p/w") && strings.Contains(err.Error(), "p/w") {
			t.Errorf("the error quotes the password: %v", err)
		}
	}
	// The flag also takes a key=value string (without a password: SplitPassword refuses that).
	if err := ValidateConnStringFlag("host=h dbname=x"); err != nil {
		t.Errorf("key=value flag: %v", err)
	}
	if got := NormalizeURL(" postgres://u@h:5432/\r\n  db?sslmode=disable\n"); got != "postgres://u@h:5432/db?sslmode=disable" {
		t.Errorf("NormalizeURL: %q", got)
	}
}

func TestValidateVectorURL(t *testing.T) {
	for _, tc := range []struct{ provider, url, want string }{
		{ProviderQdrant, "http://localhost:6333", ""},
		{ProviderQdrant, "grpcs://q.example:6334?api_key=abc", ""},
		{ProviderQdrant, "redis://localhost:6379", "starts with http://, https://, grpc://, grpcs://"},
		{ProviderQdrant, "localhost:6333", "starts with http://"},
		{ProviderQdrant, "http://:6333", "names no host"},
		{ProviderQdrant, "http://q:70000", "between 1 and 65535"},
		{ProviderRedis, "rediss://:${COMPOZY_VECTOR_PASSWORD}@r:6380", ""},
		{ProviderRedis, "http://r:6379", "starts with redis://, rediss://"},
		{ProviderRedis, "redis://:se/cret@r:6379", "not a valid URL"},
		{ProviderFilesystem, "anything", ""},
	} {
		err := ValidateVectorURL(tc.provider, tc.url)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %q: %v, want %q", tc.provider, tc.url, err, tc.want)
		}
	}
}

func TestParseDimension(t *testing.T) {
	if d, err := ParseDimension(" 768 "); err != nil || d != 768 {
		t.Errorf("768: %d %v", d, err)
	}
	for _, in := range []string{"0", "-3", "x", "", "1.5", "70000"} {
		if _, err := ParseDimension(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// TestValidatePaths: the SQLite file's folder and the vector folder must exist and be writable,
// or be creatable; the check leaves nothing behind.
func TestValidatePaths(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "plain")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{":memory:", "./compozy.db", "data/deep/er/compozy.db", filepath.Join(base, "abs.db")} {
		if err := ValidateSQLitePath(base, ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for in, want := range map[string]string{"": "enter the database file", "/proc/x/compozy.db": "cannot create the folder /proc/x",
		"plain/compozy.db": "is a file, not a folder", ".": "is a folder: name the database file inside it"} {
		if err := ValidateSQLitePath(base, in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	if err := ValidateFolder(base, "./data/vectors"); err != nil {
		t.Errorf("vector folder: %v", err)
	}
	for in, want := range map[string]string{"": "enter the folder", "/proc/x/vectors": "cannot create the folder", "plain": "is a file"} {
		if err := ValidateFolder(base, in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("vector %q: %v, want %q", in, err, want)
		}
	}
	if entries, _ := os.ReadDir(base); len(entries) != 1 {
		t.Errorf("the checks left files behind: %v", entries)
	}
	if err := os.Chmod(base, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(base, 0o700) })
	if os.Geteuid() != 0 { // root writes anyway
		if err := ValidateSQLitePath(base, "x.db"); err == nil || !strings.Contains(err.Error(), "cannot write in") {
			t.Errorf("read-only folder: %v", err)
		}
	}
}

func TestSSLModeFor(t *testing.T) {
	for host, want := range map[string]string{"localhost": "disable", "127.0.0.1": "disable", "::1": "disable", "[::1]": "disable",
		"/var/run/postgresql": "disable", "": "disable", "db.internal": "require", "10.0.0.5": "require", "db.localhost": "disable"} {
		if got := SSLModeFor(host); got != want {
			t.Errorf("SSLModeFor(%q) = %s, want %s", host, got, want)
		}
	}
	if e := SSLExplanation("db.internal"); !strings.Contains(e, "require") || !strings.Contains(e, "verify-full") {
		t.Errorf("explanation: %s", e)
	}
	for conn, warn := range map[string]bool{"postgres://u@db.internal/x": true, "postgres://u@db.internal/x?sslmode=require": false,
		"postgres://u@localhost/x": false, "host=db.internal": false} {
		if got := ConnStringSSLNote(conn) != ""; got != warn {
			t.Errorf("ConnStringSSLNote(%q) = %v", conn, got)
		}
	}
}

func TestMissingFlagsAndDefaults(t *testing.T) {
	all := Given{UseCase: true, Workflows: true, Vectors: true, Server: true, Available: true}
	for _, tc := range []struct {
		a    Answers
		g    Given
		yes  bool
		want []string
	}{
		{Answers{}, Given{}, false, []string{"--use-case", "--workflows", "--vectors", "--server"}},
		{Answers{Vectors: true}, Given{UseCase: true, Workflows: true, Vectors: true}, false, []string{"--server", "--vector-available"}},
		{Answers{Vectors: true}, all, false, nil},
		{Answers{}, Given{}, true, []string{"--use-case"}},
		{Answers{}, Given{UseCase: true}, true, nil},
		{Answers{}, Given{Driver: true, Provider: true}, false, nil},
	} {
		if got := MissingFlags(tc.a, tc.g, tc.yes); !slices.Equal(got, tc.want) {
			t.Errorf("MissingFlags(%+v, %+v, %v) = %v, want %v", tc.a, tc.g, tc.yes, got, tc.want)
		}
	}
	a := Answers{UseCase: UseProduction}
	Defaults(&a, Given{UseCase: true})
	if a.Workflows != Workflows1to10 || !a.Vectors || !a.Server || a.Available != AvailNone {
		t.Errorf("production defaults: %+v", a)
	}
	a = Answers{UseCase: UseDev, Vectors: false}
	Defaults(&a, Given{UseCase: true, Vectors: true})
	if a.Server || a.Vectors || a.Available != "" {
		t.Errorf("dev defaults: %+v", a)
	}
	s := DefaultSettings()
	s.Host = "db.internal"
	SettingsDefaults(&s, Given{Host: true})
	if s.SSLMode != "require" {
		t.Errorf("remote host: ssl_mode %s", s.SSLMode)
	}
	s.SSLMode = "verify-full"
	SettingsDefaults(&s, Given{Host: true, SSLMode: true})
	if s.SSLMode != "verify-full" {
		t.Errorf("--db-ssl-mode overridden: %s", s.SSLMode)
	}
}

// TestSettingsValidateNamesFlags: a run without questions names the flag of each wrong setting.
func TestSettingsValidateNamesFlags(t *testing.T) {
	base := t.TempDir()
	pg, _ := Direct(DriverPostgres, ProviderRedis)
	s := DefaultSettings()
	s.Host, s.Port, s.User, s.VectorURL, s.Dimension = "", 99999, "", "http://r:6379", 0
	err := s.Validate(pg, base)
	for _, flag := range []string{"--db-host", "--db-port", "--db-user", "--vector-url", "--dimension"} {
		if err == nil || !strings.Contains(err.Error(), flag+":") {
			t.Errorf("%s not named: %v", flag, err)
		}
	}
	lite, _ := Direct(DriverSQLite, ProviderFilesystem)
	s = DefaultSettings()
	s.SQLitePath = "/proc/x/c.db"
	if err := s.Validate(lite, base); err == nil || !strings.Contains(err.Error(), "--db-path: cannot create the folder /proc/x") {
		t.Errorf("sqlite path: %v", err)
	}
	if s := DefaultSettings(); s.Validate(lite, base) != nil {
		err := s.Validate(lite, base)
		t.Errorf("defaults: %v", err)
	}
}

func TestSecretSpansAndMask(t *testing.T) {
	for _, tc := range []struct {
		value, view string
		params      bool
		want        string
	}{
		{"postgres://u:pw@h/db", "> postgres://u:pw@h/db", false, "> postgres://u:••@h/db"},
		{"postgres://u:secr", "> postgres://u:secr", false, "> postgres://u:••••"}, // still typing, before the @
		{"postgres://h:5432/db", "> postgres://h:5432/db", false, "> postgres://h:5432/db"},
		{"postgres://h:54", "> postgres://h:54", false, "> postgres://h:54"}, // a port being typed
		{"http://q:6333?api_key=abcd&x=1", "> http://q:6333?api_key=abcd&x=1", true, "> http://q:6333?api_key=••••&x=1"},
		{"http://q:6333?api_key=${K}", "> http://q:6333?api_key=${K}", true, "> http://q:6333?api_key=${K}"},
		// The view shows part of the value (scrolled): the secret is hidden where it shows.
		{"postgres://user:longsecret@host/db", "…ser:longsecret@host/db", false, "…ser:••••••••••@host/db"},
	} {
		if got := maskView(tc.view, tc.value, tc.params); got != tc.want {
			t.Errorf("maskView(%q) = %q, want %q", tc.value, got, tc.want)
		}
	}
}
