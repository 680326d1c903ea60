package checks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/core/vector"
)

// Inputs are what the checks read (and what --fix writes) through, handed to Build by the
// caller: the checks open no database and no vector store themselves. Door and Vector come from
// the two factories (cli wires them); Files, Locks and Net default to this machine's.
type Inputs struct {
	// Door opens the configured database: read-only for the checks, read-write for --fix and
	// PostgreSQL's round trip. Without it every open fails (the checks say so).
	Door Opener
	// Schemas reads the live schema and builds the one the migrations make, for
	// migrations.drift; nil means the one door's (factory.LiveSchema, factory.ExpectedSchema).
	Schemas Schemas
	// Vector gives each knowledge.vector_dbs entry's checks. Without it no vector check is built.
	Vector VectorSource
	// Files answers the SQLite checks' questions about files and volumes; nil means this
	// machine's (os, statfs, access).
	Files Files
	// Locks finds the processes holding SQLite's locks; nil means this machine's
	// (/proc/locks on Linux).
	Locks Locks
	// Net resolves and dials for postgres.connect's DNS and TCP steps; nil means the real
	// network.
	Net Network
	// Certs reads the certificate the PostgreSQL server presents, for postgres.tls; nil means
	// the one door's (factory.ServerCertificates).
	Certs CertSource
	// Replicas is how many compozy processes share the database (doctor --replicas,
	// COMPOZY_REPLICAS), for postgres.connections' budget; 0 means 1.
	Replicas int

	// Deep runs what costs time in proportion to the data (compozy doctor --deep): SQLite's
	// quick_check of every page, however large the database.
	Deep bool
	// QuickCheckLimit is the size (database plus -wal) above which the default run leaves
	// quick_check to --deep; 0 means DefaultQuickCheckLimit.
	QuickCheckLimit int64
}

// Opener is the one door (core/storage/factory) as the checks use it; factory.Open and
// factory.MemoryCopy implement its methods.
type Opener interface {
	// Open opens the database db describes in mode.
	Open(ctx context.Context, db config.Database, mode factory.Mode) (*factory.Handle, error)
	// MemoryCopy returns an in-memory database, read-write, with the schema of the SQLite
	// database h and none of its rows.
	MemoryCopy(ctx context.Context, h *factory.Handle) (*factory.Handle, error)
}

// VectorSource gives the doctor a vector DB entry's checks and store (core/vector/factory's
// Checks and Open, with the options the caller knows: the database section, the environment).
type VectorSource interface {
	// Checks returns the entry's checks (vector.provider first) and a function that releases
	// what they hold, called when the checks have run.
	Checks(ctx context.Context, entry config.VectorDB) ([]vector.Check, func() error)
	// Open opens the entry's store, for --fix (Ensure).
	Open(ctx context.Context, entry config.VectorDB) (vector.Store, error)
}

// Files answers the SQLite checks' questions about files, folders and volumes.
type Files interface {
	Lstat(name string) (fs.FileInfo, error)
	Stat(name string) (fs.FileInfo, error)
	// Access reports whether this process may use name as mode (unix.R_OK|W_OK|X_OK) says.
	Access(name string, mode uint32) error
	// Header reads the SQLite header of name (sqlitefile.ReadHeader).
	Header(name string) (sqlitefile.Header, error)
	// WALIndex reads the wal-index header in the -shm of the database name
	// (sqlitefile.ReadWALIndex).
	WALIndex(name string) (sqlitefile.WALIndex, error)
	// Links is the number of names (hard links) of the file name.
	Links(name string) (uint64, error)
	// Names lists at most n names in the folder dir.
	Names(dir string, n int) ([]string, error)
	// Volume describes the filesystem dir is on.
	Volume(dir string) (Volume, error)
	// User is the user this process runs as, by name, and its effective uid.
	User() (name string, uid int)
	// Owner names the owner of fi ("root", or "uid 1234" when the id has no name).
	Owner(fi fs.FileInfo) string
}

// Volume is what statfs says about the filesystem a folder is on.
type Volume struct {
	// Name is the filesystem type ("ext4", "NFS", "tmpfs", "filesystem 0x1234").
	Name string
	// Kind says whether SQLite's WAL and locks are safe there.
	Kind fsKind
	// ReadOnly is set for a read-only mount.
	ReadOnly bool
	// Free is the space this user may still use, in bytes.
	Free int64
}

// Locks finds the other processes that hold SQLite's locks on a database.
type Locks interface {
	// Holders lists the other processes that hold the write lock of the database at path (or of
	// its -shm), the migration lock file lockPath, or any other lock on the database: each
	// described as "PID 1234 (command line)", secrets redacted. An error means they cannot be
	// known here (no /proc/locks).
	Holders(ctx context.Context, path, lockPath string) (LockHolders, error)
}

// LockHolders are the processes Locks found.
type LockHolders struct {
	// Writers hold SQLite's write lock (the WAL write lock in the -shm, or RESERVED/PENDING on
	// the database file).
	Writers []string
	// Migrators hold the migration lock file.
	Migrators []string
	// Open have the database or its -shm open with another lock (readers).
	Open []string
	// Readers are in a read transaction on a WAL database now: they hold a read mark in the
	// -shm, and until they end it no checkpoint can copy the WAL past their snapshot or start
	// the WAL over. (They are in Open too.)
	Readers []string
}

// Network is DNS and TCP for postgres.connect's first steps.
type Network interface {
	// LookupHost resolves host.
	LookupHost(ctx context.Context, host string) error
	// Dial opens a TCP connection to addr within timeout and closes it.
	Dial(ctx context.Context, addr string, timeout time.Duration) error
}

// withDefaults fills the inputs left nil with this machine's.
func (in Inputs) withDefaults() Inputs {
	if in.Files == nil {
		in.Files = osFiles{}
	}
	if in.Locks == nil {
		in.Locks = procLocks{}
	}
	if in.Net == nil {
		in.Net = realNet{}
	}
	if in.Certs == nil {
		in.Certs = doorCerts{}
	}
	return in
}

// osFiles is Files on this machine.
type osFiles struct{}

func (osFiles) Lstat(name string) (fs.FileInfo, error)        { return os.Lstat(name) }
func (osFiles) Stat(name string) (fs.FileInfo, error)         { return os.Stat(name) }
func (osFiles) Access(name string, mode uint32) error         { return unix.Access(name, mode) }
func (osFiles) Header(name string) (sqlitefile.Header, error) { return sqlitefile.ReadHeader(name) }
func (osFiles) WALIndex(name string) (sqlitefile.WALIndex, error) {
	return sqlitefile.ReadWALIndex(name)
}

func (osFiles) Links(name string) (uint64, error) {
	info, err := sqlitefile.Stat(name)
	return info.Links, err
}

func (osFiles) Names(dir string, n int) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(n)
}

func (osFiles) Volume(dir string) (Volume, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return Volume{}, err
	}
	name, kind := fsName(int64(st.Type))
	return Volume{Name: name, Kind: kind, ReadOnly: st.Flags&unix.ST_RDONLY != 0, Free: int64(st.Bavail) * st.Bsize}, nil
}

func (osFiles) User() (string, int) {
	if u, err := user.Current(); err == nil {
		return u.Username, os.Geteuid()
	}
	return strconv.Itoa(os.Geteuid()), os.Geteuid()
}

func (osFiles) Owner(fi fs.FileInfo) string { return ownerOf(fi) }

// ownerOf names the owner of fi: its user name, or "uid N".
func ownerOf(fi fs.FileInfo) string {
	uid, ok := uidOf(fi)
	if !ok {
		return "?"
	}
	id := strconv.Itoa(uid)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return "uid " + id
}

// uidOf is the owner's uid of fi, when the file system says.
func uidOf(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// realNet is Network on the real network.
type realNet struct{}

func (realNet) LookupHost(ctx context.Context, host string) error {
	_, err := net.DefaultResolver.LookupHost(ctx, host)
	return err
}

func (realNet) Dial(ctx context.Context, addr string, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// errNoDoor is what the database checks say when Build was given no door.
var errNoDoor = errors.New("no database opener was given to the checks")

// noDoor is the Opener of a Set built without one: every open fails with errNoDoor.
type noDoor struct{}

func (noDoor) Open(context.Context, config.Database, factory.Mode) (*factory.Handle, error) {
	return nil, errNoDoor
}

func (noDoor) MemoryCopy(context.Context, *factory.Handle) (*factory.Handle, error) {
	return nil, fmt.Errorf("memory copy: %w", errNoDoor)
}
