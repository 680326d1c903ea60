package pgvector

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"compozy.dev/setup/core/storage/managed"
	"compozy.dev/setup/core/vector"
)

// Extension is what the server says about pgvector.
type Extension struct {
	// ServerVersion is PostgreSQL's version ("15.18"); ServerMajor its major number.
	ServerVersion string
	ServerMajor   int
	// Available is the default version in pg_available_extensions; "" when not available.
	Available string
	// Installed is the version in this database's pg_extension; "" when not installed.
	Installed string
	// Trusted says the extension may be created by a non-superuser with CREATE on the database.
	Trusted bool
	// Superuser and CreateOnDB are the role's relevant rights; CanCreate combines them.
	Superuser  bool
	CreateOnDB bool
	CanCreate  bool
	Role       string
	Database   string
	// Service is the managed service the host shows (Amazon RDS, Supabase, ...), whose own
	// rule says who may create the extension; zero for a server of one's own.
	Service managed.Service
}

// Extension reads the facts about pgvector.
func (s *Store) Extension(ctx context.Context) (Extension, error) {
	var e Extension
	var num int
	pool, err := s.db(ctx, "connect and read server facts")
	if err != nil {
		return Extension{}, err
	}
	err = pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('server_version_num')::int,
		coalesce((SELECT default_version FROM pg_available_extensions WHERE name = 'vector'), ''),
		coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), ''),
		coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false),
		has_database_privilege(current_database(), 'CREATE'),
		current_user, current_database()`).Scan(&e.ServerVersion, &num, &e.Available, &e.Installed, &e.Superuser, &e.CreateOnDB, &e.Role, &e.Database)
	if err != nil {
		return Extension{}, s.fail(ctx, "connect and read server facts", err)
	}
	e.ServerMajor = num / 10000
	if e.Available != "" && num >= 130000 {
		if err := pool.QueryRow(ctx, `SELECT coalesce(bool_or(trusted), false) FROM pg_available_extension_versions
			WHERE name = 'vector' AND version = $1`, e.Available).Scan(&e.Trusted); err != nil {
			return Extension{}, s.fail(ctx, "read extension facts", err)
		}
	}
	e.CanCreate = e.Superuser || (e.Trusted && e.CreateOnDB)
	e.Service = managed.FromHost(s.host)
	return e, nil
}

// ExtensionProblem says what is wrong with the extension facts, or nil when pgvector is
// installed. When it is available and this role may create it, the error wraps ErrNotFound
// (Ensure creates it); otherwise ErrUnsupported (not on the server) or ErrPermission (a
// superuser must create it), with the exact commands: psql(user, sql) is the psql command
// that runs sql on the server as user ("" for the store's own role), as Store.PSQLAs.
func ExtensionProblem(e Extension, target string, psql func(user, sql string) string) *vector.Error {
	mk := func(kind error, msg string, fix vector.Fix) *vector.Error {
		err := vector.NewError(nil, Provider, "check extension", target, kind, nil)
		err.Msg, err.Fix = msg, fix
		return err
	}
	create := "CREATE EXTENSION IF NOT EXISTS vector;"
	if e.Service.Kind == managed.Supabase {
		create = "create extension if not exists vector with schema extensions;"
	}
	svc := e.Service.ExtensionFix()
	switch {
	case e.Installed != "":
		return nil
	case e.Available == "":
		major := strconv.Itoa(e.ServerMajor)
		if e.ServerMajor == 0 {
			major = "<major>"
		}
		msg := fmt.Sprintf("the pgvector extension is not available on this PostgreSQL %s server (pg_available_extensions has no \"vector\")", e.ServerVersion)
		if svc != "" {
			return mk(vector.ErrUnsupported, msg, vector.Fix{
				Text: e.Service.Name + " installs the extensions itself: " + svc + "; where it does not offer pgvector on this PostgreSQL version, upgrade the server, or use a qdrant, redis or filesystem vector DB instead",
			})
		}
		return mk(vector.ErrUnsupported, msg,
			vector.Fix{
				Text: "install pgvector on the database server (package postgresql-" + major + "-pgvector from the PostgreSQL apt repository apt.postgresql.org, " +
					"or the pgvector/pgvector:pg" + major + " image), then create the extension; or use a qdrant, redis or filesystem vector DB instead",
				Commands: []string{
					"sudo apt-get install postgresql-" + major + "-pgvector",
					psql("", create),
				},
			})
	case !e.CanCreate:
		why := "it is not a trusted extension and the role is not a superuser"
		if e.Trusted {
			why = "the role lacks CREATE on the database"
		}
		msg := fmt.Sprintf("pgvector %s is available but not installed in database %q, and role %q may not create it (%s)", e.Available, e.Database, e.Role, why)
		if svc != "" {
			return mk(vector.ErrPermission, msg, vector.Fix{Text: svc,
				Commands: []string{psql("", create)}})
		}
		return mk(vector.ErrPermission, msg,
			vector.Fix{
				Text: fmt.Sprintf("a superuser must run, in database %q on the vector server %s: %s (the command connects as postgres; name another superuser there if yours differs)",
					e.Database, target, create),
				Commands: []string{psql("postgres", create)},
			})
	}
	return mk(vector.ErrNotFound,
		fmt.Sprintf("pgvector %s is available but not installed in database %q; role %q may create it", e.Available, e.Database, e.Role),
		vector.Fix{Text: "Compozy creates it on first use (`compozy doctor --fix` creates it now), or run this SQL on the vector server " + target + ":",
			Commands: []string{psql("", create)}})
}

// requireExtension returns the extension problem as an error, ErrNotFound included.
func (s *Store) requireExtension(ctx context.Context) (Extension, error) {
	e, err := s.Extension(ctx)
	if err != nil {
		return e, err
	}
	if p := ExtensionProblem(e, s.target, s.PSQLAs); p != nil {
		return e, p
	}
	return e, nil
}

// extensionAware turns "type vector does not exist" and "table does not exist" into the
// precise extension or table error.
func (s *Store) extensionAware(ctx context.Context, op string, err error) error {
	e := s.fail(ctx, op, err)
	if errors.Is(e, vector.ErrUnsupported) || errors.Is(e, vector.ErrNotFound) {
		if _, xerr := s.requireExtension(ctx); xerr != nil {
			return xerr
		}
	}
	return e
}
