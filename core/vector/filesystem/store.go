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
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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

// Check IDs of this provider.
const (
	// CheckFolder: the folder exists (or can be created), is writable and not open to others.
	CheckFolder = "vector.filesystem.folder"
	// CheckData: the log exists, its header and records are intact, the file is 0600.
	CheckData = "vector.filesystem.data"
)

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

// state is what was read from the log.
type state struct {
	closed bool
	exists bool
	dim    int
	metric vector.Metric
	file   os.FileInfo
	// committed is the offset after the last committed batch that has been applied; seen is
	// the file size at the last read. Bytes between them are an interrupted (or in-progress)
	// write: why says what was found there.
	committed int64
	seen      int64
	why       string
	// keepTail says the next write copies those bytes to NAME.log.torn-<UTC time> before it
	// cuts them off: they are not what a killed writer leaves, and may hold a damaged last
	// record (logMap.tailKept).
	keepTail bool
	// damage lists the damaged ranges before committed (damage in the middle): the records
	// around them were applied, the ones inside are lost, and writes are refused until
	// `compozy doctor --fix` rewrites the log.
	damage []damagedRange
	// records counts the committed intact records applied.
	records int

	// chunks hold the vectors, chunkVecs per chunk; every chunk but the last is full, so
	// growing never copies more than one chunk and never doubles the whole store.
	chunks   [][]float32
	ids      []string
	payloads [][]byte
	index    map[string]int
	// live and dead are the log bytes of current and superseded entries, to decide when to
	// compact.
	live, dead int64
}

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

// Upsert appends the points to the log, fsyncs, and then makes them visible.
func (s *Store) Upsert(ctx context.Context, points []vector.Point) error {
	if err := vector.ValidatePoints(Provider, s.dir, s.opts.Dimension, s.opts.Metric, points); err != nil {
		return err
	}
	if len(points) == 0 {
		return nil
	}
	ids := make([]string, len(points))
	payloads := make([][]byte, len(points))
	vecs := make([][]float32, len(points))
	for i, p := range points {
		if len(p.ID) > math.MaxUint16 {
			return s.fail(ctx, "upsert", vector.ErrInvalid, nil, fmt.Sprintf("point ID is %d bytes; the filesystem store takes at most %d", len(p.ID), math.MaxUint16))
		}
		ids[i] = p.ID
		vecs[i] = p.Vector
		if len(p.Payload) > 0 {
			b, err := json.Marshal(p.Payload)
			if err != nil {
				return s.fail(ctx, "upsert", vector.ErrInvalid, err, fmt.Sprintf("encode payload of %q", p.ID))
			}
			payloads[i] = b
		}
	}
	// Cosine vectors are stored normalised: scale each on its way to the log and the slab,
	// without copying the batch (the caller's vectors are not changed).
	var scales []float32
	if s.opts.Metric == vector.Cosine {
		scales = make([]float32, len(points))
		for i, v := range vecs {
			scales[i] = invNorm(v)
		}
	}
	return s.write(ctx, "upsert", false, func(st *state) error {
		if err := s.shapeErr(ctx, "upsert", st); err != nil {
			return err
		}
		enc := &encoder{dim: st.dim, table: s.table}
		if err := s.appendRecords(ctx, "upsert", st, func(emit func([]byte) error) error {
			return enc.upsertRecords(ids, payloads, vecs, scales, emit)
		}); err != nil {
			return err
		}
		s.mu.Lock()
		st.reserve(len(ids))
		for i, id := range ids {
			slot := st.slot(id, payloads[i])
			row := st.row(slot)
			if scales == nil {
				copy(row, vecs[i])
				continue
			}
			for j, x := range vecs[i] {
				row[j] = x * scales[i]
			}
		}
		s.mu.Unlock()
		return s.maybeCompact(ctx, st)
	})
}

// Delete appends delete records for the IDs the store holds.
func (s *Store) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.write(ctx, "delete", false, func(st *state) error {
		var present []string
		seen := map[string]bool{}
		for _, id := range ids {
			if _, ok := st.index[id]; ok && !seen[id] {
				seen[id] = true
				present = append(present, id)
			}
		}
		if len(present) == 0 {
			return nil
		}
		enc := &encoder{dim: st.dim, table: s.table}
		if err := s.appendRecords(ctx, "delete", st, func(emit func([]byte) error) error {
			return enc.deleteRecords(present, emit)
		}); err != nil {
			return err
		}
		s.mu.Lock()
		for _, id := range present {
			st.del(id)
		}
		s.mu.Unlock()
		return s.maybeCompact(ctx, st)
	})
}

// write runs fn with the writer locks held and the state caught up with the log. create says
// whether fn may run when the store does not exist yet.
func (s *Store) write(ctx context.Context, op string, create bool, fn func(st *state) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.isClosed() {
		return s.fail(ctx, op, vector.ErrInvalid, nil, "the store is closed")
	}
	if _, err := os.Stat(s.dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return s.notFound(ctx, op)
		}
		return s.osErr(ctx, op, err)
	}
	unlock, err := flock(ctx, s.lockPath)
	if err != nil {
		return s.osErr(ctx, "lock "+s.lockPath, err)
	}
	defer unlock()
	if err := s.refreshLocked(ctx); err != nil {
		return err
	}
	if !s.st.exists && !create {
		return s.notFound(ctx, op)
	}
	return fn(&s.st)
}

// appendRecords refuses a log damaged in the middle, cuts off a torn tail, appends the records
// gen emits and fsyncs.
func (s *Store) appendRecords(ctx context.Context, op string, st *state, gen func(emit func([]byte) error) error) error {
	if len(st.damage) > 0 {
		return s.damagedErr(ctx, op, st)
	}
	f, err := os.OpenFile(s.logPath, os.O_WRONLY, 0o600)
	if err != nil {
		return s.osErr(ctx, op, err)
	}
	defer f.Close()
	if st.seen != st.committed {
		// We hold the flock, so no other writer is mid-write: these bytes are the torn tail of
		// a crashed one. Unless they are what a killed writer leaves, keep a copy first.
		if st.keepTail {
			if err := s.keepTorn(st); err != nil {
				return s.osErr(ctx, "keep the bytes after the last committed write", err)
			}
		}
		if err := f.Truncate(st.committed); err != nil {
			return s.osErr(ctx, "cut torn tail", err)
		}
	}
	off := st.committed
	records := 0
	err = gen(func(rec []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := f.WriteAt(rec, off)
		off += int64(n)
		records++
		return err
	})
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		// Whatever was written is an uncommitted tail; cut it now (the next writer would too).
		_ = f.Truncate(st.committed)
		return s.osErr(ctx, op, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return s.osErr(ctx, op, err)
	}
	s.mu.Lock()
	st.file, st.committed, st.seen, st.why, st.keepTail = fi, off, off, "", false
	st.records += records
	s.mu.Unlock()
	return nil
}

// maybeCompact rewrites the log when superseded entries outweigh live ones. The write that
// triggered it is already committed, so a failed compaction is not the caller's error: the old
// log stays valid (the rename never happened) and the next write tries again.
func (s *Store) maybeCompact(ctx context.Context, st *state) error {
	if st.dead >= 4<<20 && st.dead >= st.live {
		_ = s.compact(ctx, st)
	}
	return nil
}

// compact writes the live entries to a new log and moves it over the old one atomically
// (core/atomicfile: a temporary file in the same folder, synced, checked and renamed, and the
// folder synced). A reader that has the old file open keeps reading it and reloads on its next
// call.
func (s *Store) compact(ctx context.Context, st *state) error {
	if len(st.damage) > 0 {
		// The in-memory state lacks the damaged records: rewriting from it would drop the
		// damaged bytes without keeping them. Only the repair rewrites a damaged log.
		return s.damagedErr(ctx, "compact", st)
	}
	vecs := make([][]float32, len(st.ids))
	for i := range st.ids {
		vecs[i] = st.row(i)
	}
	var size int64
	var records int
	write := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if _, err := bw.Write(encodeHeader(st.dim, st.metric)); err != nil {
			return err
		}
		enc := &encoder{dim: st.dim, table: s.table}
		if err := enc.upsertRecords(st.ids, st.payloads, vecs, nil, func(rec []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			_, err := bw.Write(rec)
			return err
		}); err != nil {
			return err
		}
		return bw.Flush()
	}
	check := func(tmp string) error {
		m, err := s.mapFile(tmp)
		if err != nil {
			return err
		}
		if len(m.damage) > 0 || m.committed != m.size || m.upserts != len(st.ids) {
			return fmt.Errorf("the new log does not read back: %d entries of %d, %d damaged ranges", m.upserts, len(st.ids), len(m.damage))
		}
		size, records = m.size, m.intact()
		return nil
	}
	s.sweep()
	if err := atomicfile.Write(s.logPath, 0o600, write, check, atomicfile.OwnedLike(s.dir)); err != nil {
		return s.osErr(ctx, "compact", err)
	}
	fi, err := os.Stat(s.logPath)
	if err != nil {
		return s.osErr(ctx, "compact", err)
	}
	s.mu.Lock()
	st.file, st.committed, st.seen, st.why, st.keepTail, st.dead, st.records = fi, size, size, "", false, 0, records
	s.mu.Unlock()
	return nil
}

// sweep removes the temporary files of the log that killed processes left behind. The caller
// holds the flock.
func (s *Store) sweep() {
	base := filepath.Base(s.logPath)
	_, _ = atomicfile.Sweep(s.dir, func(name string) bool { return name == base })
}

// mapFile reads the log at path (the header and every record) without decoding entries.
func (s *Store) mapFile(path string) (logMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return logMap{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return logMap{}, err
	}
	hdr := make([]byte, min(fi.Size(), headerSize))
	if _, err := io.ReadFull(f, hdr); err != nil {
		return logMap{}, err
	}
	if _, _, err := decodeHeader(hdr); err != nil {
		return logMap{}, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	rr := &recordReader{r: f, size: fi.Size(), table: s.table}
	return rr.mapLogStable(headerSize), nil
}

// Query scans every vector and returns the k best, best first.
func (s *Store) Query(ctx context.Context, v []float32, k int) ([]vector.Match, error) {
	if err := vector.ValidateQuery(Provider, s.dir, s.opts.Dimension, s.opts.Metric, v, k); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, s.osErr(ctx, "query", err)
	}
	// Catch up with other processes' writes, unless another goroutine is already reading the
	// log or writing: then this query runs on the state as it is.
	if s.rmu.TryLock() {
		err := s.refreshLocked(ctx)
		s.rmu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := &s.st
	switch {
	case st.closed:
		return nil, s.fail(ctx, "query", vector.ErrInvalid, nil, "the store is closed")
	case !st.exists:
		return nil, s.notFound(ctx, "query")
	}
	if err := s.shapeErr(ctx, "query", st); err != nil {
		return nil, err
	}
	q := slices.Clone(v)
	if st.metric == vector.Cosine {
		normalize(q)
	}
	hits := s.scan(q, k)
	out := make([]vector.Match, len(hits))
	for i, h := range hits {
		m := vector.Match{ID: st.ids[h.slot], Score: h.good}
		if st.metric == vector.Euclid {
			m.Score = float32(math.Sqrt(float64(-h.good)))
		}
		if p := st.payloads[h.slot]; len(p) > 0 {
			if err := json.Unmarshal(p, &m.Payload); err != nil {
				return nil, s.fail(ctx, "query", vector.ErrCorrupt, err, fmt.Sprintf("decode payload of %q", m.ID))
			}
		}
		out[i] = m
	}
	return out, nil
}

// scan returns the k best slots for q, best first. The caller holds mu for reading.
func (s *Store) scan(q []float32, k int) []hit {
	st := &s.st
	n := len(st.ids)
	workers := s.opts.Workers
	// Below about a quarter of a million values a second goroutine costs more than it saves.
	if n*st.dim < 1<<18 {
		workers = 1
	}
	workers = max(1, min(workers, n))
	euclid := st.metric == vector.Euclid
	parts := make([]*topK, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		t := newTopK(k)
		parts[w] = t
		work := func() {
			dim, cv := st.dim, st.chunkVecs()
			floor := float32(math.Inf(-1))
			for i := lo; i < hi; {
				chunk := st.chunks[i/cv]
				end := min(hi, (i/cv+1)*cv)
				for off := (i % cv) * dim; i < end; i, off = i+1, off+dim {
					row := chunk[off : off+dim : off+dim]
					var g float32
					if euclid {
						g = -sqdist(q, row)
					} else {
						g = dot(q, row)
					}
					if g > floor || len(t.h) < k {
						t.push(hit{slot: i, good: g})
						if len(t.h) == k {
							floor = t.h[0].good
						}
					}
				}
			}
		}
		if w == workers-1 {
			work()
		} else {
			wg.Go(work)
		}
	}
	wg.Wait()
	all := newTopK(k)
	for _, t := range parts {
		for _, h := range t.h {
			all.push(h)
		}
	}
	res := all.h
	slices.SortFunc(res, func(a, b hit) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	return res
}

// Checks returns the folder, data, dimension and metric checks.
func (s *Store) Checks() []vector.Check {
	entry := s.opts.Entry
	checks := []vector.Check{
		{ID: CheckFolder, Entry: entry, Title: "Vector folder exists and is private", Run: s.checkFolder},
		{ID: CheckData, Entry: entry, Title: "Vector log is intact", DependsOn: []string{CheckFolder}, Run: s.checkData,
			Repair: &vector.Repair{
				Plan: func(ctx context.Context) string {
					r, err := s.PlanRepair(ctx)
					if err != nil {
						return fmt.Sprintf("rewrite %s with every intact record and keep the damaged file beside it (cannot read it now: %v)", s.logPath, err)
					}
					return r.String()
				},
				Apply: func(ctx context.Context) error {
					_, err := s.Repair(ctx)
					return err
				},
			}},
	}
	drop := vector.Fix{Commands: []string{fmt.Sprintf("mv %s %s", shellquote.Quote(s.logPath), shellquote.Quote(s.logPath+".old"))}}
	shape := vector.ShapeChecks(s, entry, s.opts.Dimension, s.opts.Metric, drop, CheckData)
	for i := range shape {
		shape[i].Run = s.unlessNew(shape[i].Run)
	}
	return append(checks, shape...)
}

// unlessNew skips a shape check while the store has no log yet: there is nothing to compare,
// and the first write creates the log with the configured dimension and metric.
func (s *Store) unlessNew(run func(context.Context) vector.Result) func(context.Context) vector.Result {
	return func(ctx context.Context) vector.Result {
		if _, err := os.Stat(s.logPath); errors.Is(err, fs.ErrNotExist) {
			return vector.Result{Status: vector.StatusSkip,
				Summary: fmt.Sprintf("no vectors stored yet: %s is created on first write with dimension %d, metric %s", s.logPath, s.opts.Dimension, s.opts.Metric)}
		}
		return run(ctx)
	}
}

func (s *Store) checkFolder(ctx context.Context) vector.Result {
	h, err := s.Health(ctx)
	if err != nil {
		r := vector.FailResult(err)
		if errors.Is(err, vector.ErrNotFound) {
			// A missing folder is created on first use, if its parent lets us.
			parent := filepath.Dir(s.dir)
			for {
				if _, err := os.Stat(parent); err == nil || filepath.Dir(parent) == parent {
					break
				}
				parent = filepath.Dir(parent)
			}
			if werr := writable(parent); werr == nil {
				r.Status = vector.StatusWarn
				r.Summary = fmt.Sprintf("folder %s does not exist yet; Compozy creates it (0700) on first use", s.dir)
			} else {
				r.Summary = fmt.Sprintf("folder %s does not exist and %s is not writable: %v", s.dir, parent, werr)
			}
		}
		return r
	}
	if len(h.Warnings) > 0 {
		return vector.Result{Status: vector.StatusWarn, Summary: h.Warnings[0], Detail: h.Detail,
			Fix: vector.Fix{Text: "keep the vectors private to the user running Compozy", Commands: []string{"chmod 0700 " + shellquote.Quote(s.dir)}}}
	}
	return vector.Result{Status: vector.StatusPass, Summary: fmt.Sprintf("folder %s exists and is writable", s.dir), Detail: h.Detail}
}

func (s *Store) checkData(ctx context.Context) vector.Result {
	info, err := s.Describe(ctx)
	if errors.Is(err, vector.ErrNotFound) {
		r := vector.FailResult(err)
		r.Status = vector.StatusWarn
		r.Summary = fmt.Sprintf("no vectors stored yet: %s is created on first write", s.logPath)
		return r
	}
	if err != nil {
		return vector.FailResult(err)
	}
	fi, err := os.Stat(s.logPath)
	if err != nil {
		return vector.FailResult(s.osErr(ctx, "stat log", err))
	}
	detail := fmt.Sprintf("%s: %d bytes, %d vectors of %d dimensions, metric %s", s.logPath, fi.Size(), info.Count, info.Dimension, info.Metric)
	s.mu.RLock()
	damage := slices.Clone(s.st.damage)
	s.mu.RUnlock()
	if len(damage) > 0 {
		return s.damageResult(damage, detail)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return vector.Result{Status: vector.StatusWarn, Summary: fmt.Sprintf("%s has mode %04o; other users can read the vectors", s.logPath, fi.Mode().Perm()),
			Detail: detail, Fix: vector.Fix{Commands: []string{"chmod 0600 " + shellquote.Quote(s.logPath)}}}
	}
	if len(info.Notes) > 0 {
		return vector.Result{Status: vector.StatusWarn, Summary: info.Notes[0], Detail: detail,
			Fix: vector.Fix{Text: "nothing to do if no write is running: the next write cuts the interrupted one off (only those bytes: nothing intact follows them, and a copy is kept unless they are what a killed writer leaves); earlier data is intact"}}
	}
	summary := fmt.Sprintf("%d vectors, every record's checksum verified", info.Count)
	kept := func(kind, what string) {
		names := s.keptCopies(kind)
		if len(names) == 0 {
			return
		}
		// Say where the kept bytes are, until they are deleted.
		summary += fmt.Sprintf("; %s is kept as %s", what, names[len(names)-1])
		if len(names) > 1 {
			summary += fmt.Sprintf(" (and %d older)", len(names)-1)
		}
		detail += fmt.Sprintf("\ndelete the %s copies once the knowledge base is known to be complete", kind)
	}
	kept(".damaged-", "the damaged log of a repair")
	kept(".torn-", "the damaged end of the log a write cut off")
	return vector.Result{Status: vector.StatusPass, Summary: summary, Detail: detail}
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

// refresh catches up with the log. wait says whether to wait for a refresh or write in
// progress.
func (s *Store) refresh(ctx context.Context, wait bool) error {
	if wait {
		s.rmu.Lock()
	} else if !s.rmu.TryLock() {
		return nil
	}
	defer s.rmu.Unlock()
	return s.refreshLocked(ctx)
}

// refreshLocked reads what changed in the log since the last read: nothing when its size is
// the same, the new tail when it grew, everything when it was replaced (compaction) or
// shrank. The caller holds rmu.
func (s *Store) refreshLocked(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return s.osErr(ctx, "read log", err)
	}
	s.mu.RLock()
	cur := s.st
	s.mu.RUnlock()
	if cur.closed {
		return s.fail(ctx, "read log", vector.ErrInvalid, nil, "the store is closed")
	}
	fi, err := os.Stat(s.logPath)
	if errors.Is(err, fs.ErrNotExist) {
		if cur.exists {
			s.mu.Lock()
			s.st = state{}
			s.mu.Unlock()
		}
		return nil
	}
	if err != nil {
		return s.osErr(ctx, "read log", err)
	}
	if cur.exists && os.SameFile(fi, cur.file) && fi.Size() == cur.seen {
		return nil
	}
	f, err := os.Open(s.logPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) { // replaced between Stat and Open: next call
			return nil
		}
		return s.osErr(ctx, "read log", err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return s.osErr(ctx, "read log", err)
	}
	if cur.exists && os.SameFile(fi, cur.file) && fi.Size() >= cur.committed {
		return s.readTail(ctx, f, fi)
	}
	st, err := s.load(ctx, f, fi)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	return nil
}

// readTail applies the committed batches after st.committed.
func (s *Store) readTail(ctx context.Context, f *os.File, fi os.FileInfo) error {
	rr := &recordReader{r: f, size: fi.Size(), table: s.table}
	s.mu.RLock()
	from := s.st.committed
	s.mu.RUnlock()
	m := rr.mapLogStable(from)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.st
	if m.committed > from {
		st.reserve(m.upserts)
		if err := s.applyMap(ctx, rr, st, &m); err != nil {
			return err
		}
	}
	// The counts of the map start at from: add the records before it to the new ranges, and
	// the new records to the old ranges.
	added := m.intact()
	for i := range st.damage {
		st.damage[i].after += added
	}
	for _, d := range m.middle() {
		d.before += st.records
		st.damage = append(st.damage, d)
	}
	st.records += added
	st.file, st.committed, st.seen, st.why, st.keepTail = fi, m.committed, fi.Size(), m.tailWhy(), m.tailKept()
	return nil
}

// load reads a whole log.
func (s *Store) load(ctx context.Context, f *os.File, fi os.FileInfo) (state, error) {
	hdr := make([]byte, headerSize)
	if _, err := io.ReadFull(f, hdr); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return state{}, s.osErr(ctx, "read log", err)
	}
	dim, metric, err := decodeHeader(hdr[:min(int64(headerSize), fi.Size())])
	if err != nil {
		e := s.fail(ctx, "read log", vector.ErrCorrupt, nil, fmt.Sprintf("%s: %v", s.logPath, err))
		e.Fix = vector.Fix{Text: "move the file aside and re-index the documents (the header is written once, atomically, so this file was damaged or is not a compozy store)",
			Commands: []string{fmt.Sprintf("mv %s %s", shellquote.Quote(s.logPath), shellquote.Quote(s.logPath+".broken"))}}
		return state{}, e
	}
	rr := &recordReader{r: f, size: fi.Size(), table: s.table}
	m := rr.mapLogStable(headerSize)
	st := state{exists: true, dim: dim, metric: metric, file: fi, committed: m.committed, seen: fi.Size(), why: m.tailWhy(),
		keepTail: m.tailKept(), damage: m.middle(), records: m.intact(), index: make(map[string]int, m.upserts)}
	st.reserve(m.upserts)
	if err := s.applyMap(ctx, rr, &st, &m); err != nil {
		return state{}, err
	}
	return st, nil
}

// applyMap decodes the committed intact records of m into st, in log order, skipping the
// damaged ranges between them.
func (s *Store) applyMap(ctx context.Context, rr *recordReader, st *state, m *logMap) error {
	for _, seg := range m.segs {
		if seg.from >= m.committed {
			break
		}
		if err := s.apply(ctx, rr, st, seg.from, min(seg.to, m.committed)); err != nil {
			return err
		}
	}
	return nil
}

// apply decodes the records in [from, to) into st.
func (s *Store) apply(ctx context.Context, rr *recordReader, st *state, from, to int64) error {
	for off := from; off < to; {
		body, next, bad := rr.next(off)
		if bad != "" {
			return s.fail(ctx, "read log", vector.ErrCorrupt, nil, fmt.Sprintf("%s changed while it was read: %s", s.logPath, bad))
		}
		err := decodeBody(body, st.dim, visitor{
			upsert: func(id string, payload, vec []byte) error {
				slot := st.slot(id, bytes.Clone(payload))
				decodeFloats(st.row(slot), vec)
				return nil
			},
			del: st.del,
		})
		if err != nil {
			return s.fail(ctx, "read log", vector.ErrCorrupt, err, fmt.Sprintf("%s: record at offset %d passed its checksum but does not decode", s.logPath, off))
		}
		off = next
	}
	return nil
}

// reserve makes room for n more vectors without reallocating on each.
func (st *state) reserve(n int) {
	if st.index == nil {
		st.index = make(map[string]int, n)
	}
	st.ids = slices.Grow(st.ids, n)
	st.payloads = slices.Grow(st.payloads, n)
}

// slot returns the slot for id, adding one at the end when id is new, and records the
// payload. The caller fills the vector.
func (st *state) slot(id string, payload []byte) int {
	size := entrySize(id, payload, st.dim)
	if slot, ok := st.index[id]; ok {
		old := entrySize(id, st.payloads[slot], st.dim)
		st.dead += old
		st.live += size - old
		if len(payload) == 0 {
			payload = nil
		}
		st.payloads[slot] = payload
		return slot
	}
	slot := len(st.ids)
	st.index[id] = slot
	st.ids = append(st.ids, id)
	if len(payload) == 0 {
		payload = nil
	}
	st.payloads = append(st.payloads, payload)
	cv := st.chunkVecs()
	if slot%cv == 0 { // the last chunk is full (or there is none)
		first := cv
		if len(st.chunks) == 0 {
			first = min(cv, 64) // small stores stay small; the chunk grows to cv vectors
		}
		st.chunks = append(st.chunks, make([]float32, 0, first*st.dim))
	}
	last := len(st.chunks) - 1
	c := st.chunks[last]
	if len(c)+st.dim > cap(c) {
		grown := make([]float32, len(c), min(max(2*cap(c), len(c)+st.dim), cv*st.dim))
		copy(grown, c)
		c = grown
	}
	st.chunks[last] = c[:len(c)+st.dim]
	st.live += size
	return slot
}

// del removes id, moving the last vector into its slot so the slab stays dense.
func (st *state) del(id string) {
	slot, ok := st.index[id]
	if !ok {
		return
	}
	size := entrySize(id, st.payloads[slot], st.dim)
	st.live -= size
	st.dead += size + int64(2+len(id))
	last := len(st.ids) - 1
	if slot != last {
		copy(st.row(slot), st.row(last))
		st.ids[slot] = st.ids[last]
		st.payloads[slot] = st.payloads[last]
		st.index[st.ids[slot]] = slot
	}
	st.payloads[last] = nil
	st.ids[last] = ""
	st.ids = st.ids[:last]
	st.payloads = st.payloads[:last]
	lc := len(st.chunks) - 1
	st.chunks[lc] = st.chunks[lc][:len(st.chunks[lc])-st.dim]
	if len(st.chunks[lc]) == 0 {
		st.chunks[lc] = nil
		st.chunks = st.chunks[:lc]
	}
	delete(st.index, id)
}

// chunkBytes is the size of a full chunk of the vector slab.
const chunkBytes = 4 << 20

// chunkVecs is the number of vectors in a full chunk.
func (st *state) chunkVecs() int { return max(1, chunkBytes/(4*st.dim)) }

// row is the vector in slot.
func (st *state) row(slot int) []float32 {
	cv := st.chunkVecs()
	off := (slot % cv) * st.dim
	return st.chunks[slot/cv][off : off+st.dim : off+st.dim]
}

func entrySize(id string, payload []byte, dim int) int64 {
	return int64(2 + len(id) + 4 + len(payload) + 4*dim)
}
