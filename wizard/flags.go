package wizard

import (
	"errors"
	"fmt"
)

// Given says which answers and settings came from flags: the form does not ask them again.
type Given struct {
	UseCase, Workflows, Vectors, Server, Available bool
	Driver, Provider                               bool
	SQLitePath, ConnString, Host, Port, User, Name bool
	SSLMode, VectorURL, VectorPath, Dimension      bool
	VectorID                                       bool
	// PasswordFromEnv says the password is already known (environment or stdin).
	PasswordFromEnv bool
}

// ByFlags reports whether the driver and the vector DB are both named by flags
// (--db-driver and --vector-provider), so that the matrix questions are not needed.
func (g Given) ByFlags() bool { return g.Driver && g.Provider }

// DatabaseNamed reports whether a --db-* flag named the database explicitly.
func (g Given) DatabaseNamed() bool {
	return g.Driver || g.SQLitePath || g.ConnString || g.Host || g.Port || g.User || g.Name
}

// MissingFlags names the flags a run without questions still needs: with --yes only what the
// setup is for; without it every matrix question. None when the driver and the vector DB are
// named directly.
func MissingFlags(a Answers, g Given, yes bool) []string {
	if g.ByFlags() {
		return nil
	}
	if yes {
		if !g.UseCase {
			return []string{"--use-case"}
		}
		return nil
	}
	var missing []string
	for _, m := range []struct {
		ok   bool
		flag string
	}{{g.UseCase, "--use-case"}, {g.Workflows, "--workflows"}, {g.Vectors, "--vectors"}, {g.Server, "--server"}} {
		if !m.ok {
			missing = append(missing, m.flag)
		}
	}
	if g.Vectors && a.Vectors && !g.Available && !g.Provider {
		missing = append(missing, "--vector-available")
	}
	return missing
}

// Defaults answers what --yes leaves open: the smallest band, knowledge bases wanted, a server
// for production and single-tenant (or when the postgres driver is named), nothing available
// for vector search yet.
func Defaults(a *Answers, g Given) {
	if !g.Workflows {
		a.Workflows = Workflows1to10
	}
	if !g.Vectors {
		a.Vectors = true
	}
	if !g.Server {
		a.Server = a.UseCase == UseProduction || a.UseCase == UseSingleTenant || a.Driver == DriverPostgres
	}
	if a.Vectors && !g.Available {
		a.Available = AvailNone
	}
}

// SettingsDefaults fills what the flags leave open of the settings: the ssl_mode of a host
// that is not on this machine is require.
func SettingsDefaults(s *Settings, g Given) {
	if !g.SSLMode && s.ConnString == "" {
		s.SSLMode = SSLModeFor(s.Host)
	}
}

// FlagError is a flag whose value is wrong: it names the flag.
type FlagError struct {
	Flag string
	Err  error
}

func (e *FlagError) Error() string { return e.Flag + ": " + e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// Validate checks the settings plan p needs, as flags give them (a run without questions): the
// error names each flag to fix. base is the config file's folder (relative paths).
func (s *Settings) Validate(p Plan, base string) error {
	var errs []error
	add := func(flag string, err error) {
		if err != nil {
			errs = append(errs, &FlagError{Flag: flag, Err: err})
		}
	}
	switch p.Driver {
	case DriverSQLite:
		add("--db-path", ValidateSQLitePath(base, s.SQLitePath))
	case DriverPostgres:
		if s.ConnString == "" {
			add("--db-host", ValidateHost(s.Host))
			if s.Port < 1 || s.Port > 65535 {
				_, err := ParsePort(fmt.Sprint(s.Port))
				add("--db-port", err)
			}
			add("--db-user", ValidateName("PostgreSQL user")(s.User))
			add("--db-name", ValidateName("PostgreSQL database")(s.Name))
		}
	}
	switch p.Provider {
	case ProviderQdrant, ProviderRedis:
		url := s.VectorURL
		if url == "" {
			url = DefaultVectorURL(p.Provider)
		}
		add("--vector-url", ValidateVectorURL(p.Provider, url))
	case ProviderPgvector:
		if s.VectorURL != "" {
			add("--vector-url", ValidateVectorURL(p.Provider, s.VectorURL))
		}
	case ProviderFilesystem:
		add("--vector-path", ValidateFolder(base, s.VectorPath))
	}
	if p.Provider != ProviderNone && p.Provider != "" && s.Dimension <= 0 {
		_, err := ParseDimension(fmt.Sprint(s.Dimension))
		add("--dimension", err)
	}
	return errors.Join(errs...)
}
