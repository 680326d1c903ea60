package migrate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrReadOnly is returned by the runs that write on a migrator made for reading.
var ErrReadOnly = errors.New("migrate: the database was opened read-only")

// NewerError is returned when the database holds versions above the latest this binary knows:
// a newer Compozy migrated it, and this binary must not touch the schema.
type NewerError struct {
	Versions []int64 // unknown versions above Latest
	Latest   int64
}

// Error says which versions are newer and what to do.
func (e *NewerError) Error() string {
	return fmt.Sprintf("database has migration %s, newer than the latest this binary knows (%d); it was migrated by a newer Compozy: upgrade compozy",
		joinVersions(e.Versions), e.Latest)
}

// UnknownVersionError is returned by Down when the migration to revert is one this binary does
// not know, so it has no Down for it.
type UnknownVersionError struct {
	Version int64
}

// Error names the version that cannot be reverted.
func (e *UnknownVersionError) Error() string {
	return fmt.Sprintf("cannot revert version %d: this binary does not know that migration (use the compozy that applied it)", e.Version)
}

// OutOfOrderError is returned by Up when known migrations are pending below the database's
// current version; goose applies migrations in order only.
type OutOfOrderError struct {
	Versions []int64
	Current  int64
}

// Error names the pending versions and the current one.
func (e *OutOfOrderError) Error() string {
	return fmt.Sprintf("migration %s is pending but older than the database's current version %d: the database was migrated out of order; check `compozy migrate status`",
		joinVersions(e.Versions), e.Current)
}

// RunError is returned when a migration fails. Applied lists what succeeded before the
// failure, in the order it ran; Failed is the migration that failed.
type RunError struct {
	Direction Direction
	Applied   []Result
	Failed    Result
	Err       error
}

// Error names the migration that failed and how many ran before it.
func (e *RunError) Error() string {
	return fmt.Sprintf("migrate %s: %s failed after %d applied: %v", e.Direction, e.Failed.File, len(e.Applied), e.Err)
}

// Unwrap returns the error of the failed migration.
func (e *RunError) Unwrap() error { return e.Err }

// PoolerError is returned by the runs that write when the connection goes through a
// transaction pooler: goose's migration lock is a session advisory lock, which a pooler drops
// or leaves behind on a server session the next transaction does not get, so two migrators
// could run at once, and an unlock could miss its lock. Nothing is changed.
type PoolerError struct {
	// Pooler names what was found ("PgBouncer 1.18.0 (transaction pooling)").
	Pooler string
	// Direct is the server's direct host:port, when known.
	Direct string
	// UpCommand is `compozy migrate up` through the server's direct URL, without the password
	// (quoted for a shell), when the direct server is known; "" otherwise.
	UpCommand string
}

// Error names the pooler and the fix.
func (e *PoolerError) Error() string {
	return "migrate: refused, nothing was changed: " + e.Reason()
}

// Reason is why a writing run is refused and what to do instead, without the "refused" prefix:
// for a dry run, which says the real run would be refused.
func (e *PoolerError) Reason() string {
	direct := "the server's direct URL (not the pooler's)"
	if e.Direct != "" {
		direct = "the server's direct URL (" + e.Direct + ", not the pooler's)"
	}
	how := "for example with --db-conn-string or COMPOZY_DB_CONN_STRING"
	if e.UpCommand != "" {
		how = "for example " + e.UpCommand + " (the password from COMPOZY_DB_PASSWORD or PGPASSWORD)"
	}
	return fmt.Sprintf("the connection goes through %s, where the migration lock "+
		"(a session advisory lock) does not hold, so two migrators could run at once; run migrations through %s, "+
		"%s, and keep the pooled URL for Compozy", e.Pooler, direct, how)
}

// UpAdvice is what to run to apply pending migrations when the connection goes through the
// pooler: the direct URL's command when known.
func (e *PoolerError) UpAdvice() string {
	if e.UpCommand != "" {
		return fmt.Sprintf("run %s (the server's direct URL: migrate up refuses to run through %s)", e.UpCommand, e.Pooler)
	}
	return fmt.Sprintf("run 'compozy migrate up' through the server's direct URL, with --db-conn-string or COMPOZY_DB_CONN_STRING (it refuses to run through %s)", e.Pooler)
}

func joinVersions(vs []int64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, ", ")
}
