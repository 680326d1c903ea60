// Package filesystem is an embedded vector store for development: one append-only log file per
// store in a folder, loaded into memory and searched exactly (no approximate index).
//
// Durability: every Upsert or Delete appends checksummed records and fsyncs before it returns.
// A batch commits with its last record, so a crash in the middle of a write leaves the earlier
// data intact and none of the interrupted batch; the next writer cuts the torn tail off (only
// that: a torn tail is bad bytes with nothing intact after them). A record damaged in the middle
// of the log (intact records after it) is never cut off: reads skip it and serve every intact
// record, writes are refused, and Repair (compozy doctor --fix) rewrites the log with every
// intact record, keeping the damaged file beside it (repair.go). Every file the store writes
// other than by appending to the log (the new log, a compacted or repaired one) goes through
// core/atomicfile: a temporary file in the same folder, synced, checked and renamed, and the
// folder synced. When superseded records outweigh the live ones, the log is compacted that way.
//
// Concurrency: any number of goroutines and processes may read one store; writers are
// serialised by a flock on NAME.lock (across processes) and a mutex (within one). Readers pick
// up other processes' writes on their next call by reading the log's new tail.
//
// Memory: the vectors live in one preallocated []float32 slab (4 bytes per value), normalised
// once on write for the cosine metric; payloads stay as their JSON bytes. Query scans the slab
// on up to GOMAXPROCS goroutines, each keeping a k-sized heap.
//
// Files are created 0600 in a folder created 0700.
package filesystem

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/internal/shellquote"
)

// Provider is the provider name.
const Provider = vector.ProviderFilesystem

// DefaultName is the store name used when Options.Name is empty.
const DefaultName = "vectors"

// Options configures Open.
type Options struct {
	// Entry is the knowledge.vector_dbs id, for the checks.
	Entry string
	// Dir is the folder that holds the store's files.
	Dir string
	// Name names the files: NAME.log (the data) and NAME.lock. Default DefaultName.
	Name string
	// Dimension is the configured vector length.
	Dimension int
	// Metric is the configured metric; "" means cosine.
	Metric vector.Metric
	// Workers is the number of goroutines a query scans with; 0 means GOMAXPROCS.
	Workers int
}

// Store is a filesystem vector store. It implements vector.Store.
type Store struct {
	opts     Options
	dir      string
	logPath  string
	lockPath string
	table    *crc32.Table
	// link gives a file a second name (os.Link; tests replace it to exercise the copy made
	// where the file system has no hard links).
	link func(oldname, newname string) error

	// wmu serialises this process's writers (the flock serialises processes). rmu serialises
	// reading the log into st; writers hold it for their whole write.
	wmu sync.Mutex
	rmu sync.Mutex
	// mu guards st: queries hold it for reading while they scan.
	mu sync.RWMutex
	st state
}

var _ vector.Store = (*Store)(nil)

// Open returns the store in opts.Dir. It reads and writes nothing: the log is read on first
// use, and Ensure creates the folder and the log.
func Open(_ context.Context, opts Options) (*Store, error) {
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	m, err := vector.ParseMetric(string(opts.Metric))
	if err != nil {
		return nil, configErr(opts.Dir, err.Error())
	}
	opts.Metric = m
	switch {
	case strings.TrimSpace(opts.Dir) == "":
		return nil, configErr("", "no folder: set path in the vector DB entry")
	case opts.Dimension <= 0:
		return nil, configErr(opts.Dir, fmt.Sprintf("dimension must be at least 1, got %d", opts.Dimension))
	case strings.ContainsAny(opts.Name, `/\`) || opts.Name == "." || opts.Name == "..":
		return nil, configErr(opts.Dir, fmt.Sprintf("store name %q must be a plain file name", opts.Name))
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	dir := filepath.Clean(opts.Dir)
	return &Store{
		opts:     opts,
		dir:      dir,
		logPath:  filepath.Join(dir, opts.Name+".log"),
		lockPath: filepath.Join(dir, opts.Name+".lock"),
		table:    castagnoli(),
		link:     os.Link,
	}, nil
}

func configErr(target, msg string) error {
	e := vector.NewError(nil, Provider, "open", target, vector.ErrInvalid, nil)
	e.Msg = msg
	return e
}

// Provider returns "filesystem".
func (s *Store) Provider() string { return Provider }

// Target returns the folder.
func (s *Store) Target() string { return s.dir }

// LogPath returns the data file's path.
func (s *Store) LogPath() string { return s.logPath }

func (s *Store) fail(ctx context.Context, op string, kind, cause error, msg string) *vector.Error {
	e := vector.NewError(ctx, Provider, op, s.dir, kind, cause)
	e.Msg = msg
	return e
}

func (s *Store) notFound(ctx context.Context, op string) *vector.Error {
	e := s.fail(ctx, op, vector.ErrNotFound, nil, fmt.Sprintf("no store %q in this folder yet (%s does not exist)", s.opts.Name, s.logPath))
	e.Fix = vector.Fix{Text: "Compozy creates the store on first use; `compozy doctor --fix` creates it now"}
	return e
}

// osErr classifies a filesystem error.
func (s *Store) osErr(ctx context.Context, op string, err error) *vector.Error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		e := s.fail(ctx, op, vector.ErrPermission, err, "")
		e.Fix = vector.Fix{Text: "give the user running Compozy read and write access to the folder",
			Commands: []string{fmt.Sprintf("chown -R \"$(id -u)\" %s", shellquote.Quote(s.dir)), "chmod 0700 " + shellquote.Quote(s.dir)}}
		return e
	case errors.Is(err, fs.ErrNotExist):
		return s.fail(ctx, op, vector.ErrNotFound, err, "")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return s.fail(ctx, op, vector.ErrUnreachable, err, "")
	}
	return s.fail(ctx, op, vector.ErrInvalid, err, "")
}

// Health checks that the folder exists and is a writable directory.
func (s *Store) Health(ctx context.Context) (vector.Health, error) {
	if err := ctx.Err(); err != nil {
		return vector.Health{}, s.osErr(ctx, "health check", err)
	}
	fi, err := os.Stat(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		e := s.fail(ctx, "health check", vector.ErrNotFound, nil, "the folder does not exist")
		e.Fix = vector.Fix{Text: "Compozy creates it on first use; to create it now:",
			Commands: []string{"mkdir -p -m 0700 " + shellquote.Quote(s.dir)}}
		return vector.Health{}, e
	}
	if err != nil {
		return vector.Health{}, s.osErr(ctx, "health check", err)
	}
	if !fi.IsDir() {
		e := s.fail(ctx, "health check", vector.ErrInvalid, nil, "the path is a file, not a folder")
		e.Fix = vector.Fix{Text: "point path at a folder (the store keeps its files inside it)"}
		return vector.Health{}, e
	}
	if err := writable(s.dir); err != nil {
		return vector.Health{}, s.osErr(ctx, "health check", err)
	}
	h := vector.Health{Detail: fmt.Sprintf("folder %s (mode %04o), log format 1", s.dir, fi.Mode().Perm())}
	if fi.Mode().Perm()&0o027 != 0 {
		h.Warnings = append(h.Warnings, fmt.Sprintf("folder mode %04o lets other users read or write the vectors; 0700 or 0750 is expected", fi.Mode().Perm()))
	}
	return h, nil
}

// Describe reads the log's header and reports the store's shape.
func (s *Store) Describe(ctx context.Context) (vector.Info, error) {
	if err := s.refresh(ctx, true); err != nil {
		return vector.Info{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.st.exists {
		return vector.Info{}, s.notFound(ctx, "describe")
	}
	info := vector.Info{Provider: Provider, Target: s.dir, Name: s.opts.Name, Dimension: s.st.dim, Metric: s.st.metric,
		Count: int64(len(s.st.ids)), Index: "none (exact scan)"}
	if len(s.st.damage) > 0 {
		info.Notes = append(info.Notes, fmt.Sprintf("%s skipped (%s); the intact records around them are read; writes are refused until `compozy doctor --fix` rewrites the log",
			plural(lostRecords(s.st.damage), "damaged record", "damaged records"), describeDamage(s.st.damage, 3)))
	}
	if s.st.seen > s.st.committed {
		next := "the next write discards them"
		if s.st.keepTail {
			next = fmt.Sprintf("the next write keeps them as %s.torn-<UTC time> and cuts them off", filepath.Base(s.logPath))
		}
		info.Notes = append(info.Notes, fmt.Sprintf("%d bytes after the last committed write are from an interrupted or running write (%s); %s",
			s.st.seen-s.st.committed, s.st.why, next))
	}
	return info, nil
}

// Ensure creates the folder (0700) and the log (0600) when missing. It returns an error
// wrapping ErrDimension when the store holds vectors of another length, and ErrInvalid when it
// uses another metric. Run as root, the folder takes the owner of the folder it is made in and
// the files in it the folder's owner (core/atomicfile), so the service user can still write a
// store that a root `doctor --fix` or `migrate up` created.
func (s *Store) Ensure(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return s.osErr(ctx, "ensure", err)
	}
	if err := atomicfile.MkdirAll(s.dir, 0o700); err != nil {
		return s.osErr(ctx, "create folder", err)
	}
	return s.write(ctx, "ensure", true, func(st *state) error {
		if st.exists {
			return s.shapeErr(ctx, "ensure", st)
		}
		// Every writer holds the flock and the log does not exist, so the rename replaces
		// nothing (and, unlike a hard link, works on every file system).
		if err := atomicfile.WriteFile(s.logPath, encodeHeader(s.opts.Dimension, s.opts.Metric), 0o600, atomicfile.OwnedLike(s.dir)); err != nil {
			return s.osErr(ctx, "create log", err)
		}
		return s.refreshLocked(ctx)
	})
}

// shapeErr reports a stored dimension or metric that differs from the configured one.
func (s *Store) shapeErr(ctx context.Context, op string, st *state) error {
	if st.dim != s.opts.Dimension {
		e := s.fail(ctx, op, vector.ErrDimension, nil,
			fmt.Sprintf("store %q holds %d-dimension vectors but the config says %d", s.opts.Name, st.dim, s.opts.Dimension))
		e.Fix = vector.Fix{Text: fmt.Sprintf("set dimension: %d in compozy.yaml, or move the store aside and re-index with the new model", st.dim),
			Commands: []string{fmt.Sprintf("mv %s %s", shellquote.Quote(s.logPath), shellquote.Quote(s.logPath+".old"))}}
		return e
	}
	if st.metric != s.opts.Metric {
		e := s.fail(ctx, op, vector.ErrInvalid, nil,
			fmt.Sprintf("store %q uses metric %s but the config says %s", s.opts.Name, st.metric, s.opts.Metric))
		e.Fix = vector.Fix{Text: fmt.Sprintf("set metric: %s in compozy.yaml, or move the store aside and re-index", st.metric)}
		return e
	}
	return nil
}

// Close releases the memory. Later calls fail.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = state{closed: true}
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.st.closed
}
