package filesystem

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/vector"
)

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
