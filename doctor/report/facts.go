package report

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/managed"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor/checks"
)

// Machine is the facts about this binary and this machine: compozy's version, Go's, and the
// operating system (os-release's name, the kernel, the architecture).
func Machine(version string) []Fact {
	return []Fact{
		{"compozy", version},
		{"Go", runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH},
		{"OS", osName()},
	}
}

func osName() string {
	var parts []string
	if f, err := os.Open("/etc/os-release"); err == nil {
		sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
				parts = append(parts, strings.Trim(v, `"'`))
				break
			}
		}
		f.Close()
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		parts = append(parts, unix.ByteSliceToString(u.Sysname[:])+" "+unix.ByteSliceToString(u.Release[:])+" "+unix.ByteSliceToString(u.Machine[:]))
	}
	if len(parts) == 0 {
		return runtime.GOOS
	}
	return strings.Join(parts, ", ")
}

// Database is the facts about the database h (opened read-only through the door): for
// SQLite the library's version, the file, its journal mode and page size, and the filesystem
// it is on; for PostgreSQL the server's version, whether it is a standby, the connection's
// TLS, the managed service its host shows, the pooler found, and the extensions. A fact that
// cannot be read says why instead.
func Database(ctx context.Context, h *factory.Handle) []Fact {
	if h.Dialect == config.DriverSQLite {
		return sqliteFacts(ctx, h)
	}
	return postgresFacts(ctx, h)
}

func sqliteFacts(ctx context.Context, h *factory.Handle) []Fact {
	facts := []Fact{{"SQLite", query1(ctx, h, "SELECT sqlite_version()")}}
	if h.Path == "" || h.Path == ":memory:" {
		return facts
	}
	facts = append(facts,
		Fact{"SQLite file", h.Path},
		Fact{"Journal mode", journalMode(h.Path)},
		Fact{"Page size", query1(ctx, h, "PRAGMA page_size")},
	)
	return append(facts, Filesystem(filepath.Dir(h.Path)))
}

// journalMode is what the file's header says: wal, or a rollback journal (a read-only
// connection reads the mode it opened with, not the file's).
func journalMode(path string) string {
	hd, err := sqlitefile.ReadHeader(path)
	switch {
	case err != nil:
		return "unknown (" + oneLine(err.Error()) + ")"
	case hd.WAL:
		return "wal"
	}
	return "rollback journal (not wal)"
}

// Filesystem is the fact of the filesystem the folder dir is on.
func Filesystem(dir string) Fact {
	name, err := checks.FilesystemName(dir)
	if err != nil {
		name = "unknown (" + err.Error() + ")"
	}
	return Fact{"Filesystem", name + " (" + dir + ")"}
}

func postgresFacts(ctx context.Context, h *factory.Handle) []Fact {
	db := h.Config()
	facts := []Fact{
		{"PostgreSQL", query1(ctx, h, "SELECT current_setting('server_version')")},
		{"Server", query1(ctx, h, "SELECT version()")},
		{"Standby (in recovery)", query1(ctx, h, "SELECT CASE WHEN pg_is_in_recovery() THEN 'yes' ELSE 'no' END")},
		{"Connection TLS", query1(ctx, h, `SELECT coalesce((SELECT CASE WHEN ssl THEN 'on, ' || version || ' ' || cipher ELSE 'off' END
			FROM pg_stat_ssl WHERE pid = pg_backend_pid()), 'unknown')`)},
	}
	if cs, err := factory.PostgresConnSettings(db); err == nil {
		if s := managed.FromHost(cs.Host); s.Known() {
			facts = append(facts, Fact{"Managed service", s.Name})
		}
	}
	if h.Pooler.Found() {
		facts = append(facts, Fact{"Pooler", h.Pooler.Name()})
	}
	facts = append(facts,
		Fact{"Extensions", query1(ctx, h, "SELECT coalesce(string_agg(extname || ' ' || extversion, ', ' ORDER BY extname), 'none') FROM pg_extension")},
		Fact{"pgvector available", query1(ctx, h, "SELECT coalesce((SELECT default_version FROM pg_available_extensions WHERE name = 'vector'), 'no')")},
	)
	return facts
}

// query1 is the one value q returns, as text, or why it could not be read.
func query1(ctx context.Context, h *factory.Handle, q string) string {
	var v string
	if err := h.SQL.QueryRowContext(ctx, q).Scan(&v); err != nil {
		return "unknown (" + oneLine(config.Redact(err.Error())) + ")"
	}
	return v
}

// Unavailable is the database fact when it could not be opened: why, redacted.
func Unavailable(dialect string, err error) Fact {
	name := "Database"
	switch dialect {
	case config.DriverSQLite:
		name = "SQLite"
	case config.DriverPostgres:
		name = "PostgreSQL"
	}
	return Fact{name, fmt.Sprintf("not read (%s)", oneLine(config.Redact(err.Error())))}
}
