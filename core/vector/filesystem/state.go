package filesystem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/internal/shellquote"
)

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
