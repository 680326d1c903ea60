package filesystem

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// Damage and resynchronisation.
//
// The sequential scan stops at the first record that is short, has a bad magic or fails its
// checksum. That is either the torn tail of an interrupted write (nothing valid follows: a
// writer appends, fsyncs, and the next writer cuts an uncommitted tail off before it appends)
// or damage in the middle of the log (a disk fault, a bad copy, an edit), with intact records
// behind it. To tell them apart, resync searches the bytes after a bad record for the next
// position where a well-formed record starts: the "VREC" magic, a length that fits in the
// file, a body that starts with a known operation and a plausible entry count, and a body
// whose crc32c matches. A record found that way is as trustworthy as any other: the chance
// that garbage passes all of that is about 2^-32 per magic found.
//
// Work is bounded: the file is searched once, in windows of resyncWindow bytes, and the bodies
// of candidates that fail their checksum may cost at most twice the file size plus
// resyncSlack in all; beyond that the rest of the file is reported as not searched (and
// treated as damage in the middle, so nothing is discarded on a guess).

const (
	resyncWindow = 1 << 20
	resyncSlack  = 16 << 20
	// crcChunk is how much of a candidate's body is read at a time: a garbage length never
	// makes resync allocate more than this.
	crcChunk = 64 << 10
)

// segment is a run of intact records, back to back, in [from, to).
type segment struct {
	from, to int64
	// committed is the offset after the last record of the run that ends a batch; from when
	// none does.
	committed int64
	// records counts the run's records, committedRecords those before committed.
	records, committedRecords int
	upserts                   int
}

// damagedRange is a stretch of the log that holds no intact record: from a record that is
// short, has a bad magic or fails its checksum, to the next intact record or the end of the
// file.
type damagedRange struct {
	from, to int64
	// why is what was wrong with the record at from.
	why string
	// records estimates the records lost: the bad record at from and every record magic
	// after it in the range.
	records int
	// before and after count the committed intact records before and after the range.
	before, after int
	// short says the bad record at from runs past the end of the file.
	short bool
	// unsearched is set when the range was not searched for intact records to its end
	// (resync ran out of its work budget): it may hide intact records.
	unsearched bool
}

// logMap is the result of reading every record of the log from start, resynchronising after
// each damaged range.
type logMap struct {
	start, size int64
	segs        []segment
	damage      []damagedRange
	// committed is the offset after the last record, anywhere in the file, that ends a batch;
	// start when none does. A writer appends only after cutting an uncommitted tail off, so
	// every record before committed belonged to a committed batch (even one whose last
	// record was later damaged). Damage before committed is damage in the middle; damage
	// after it is the torn tail of an interrupted write.
	committed int64
	upserts   int
}

// mapLog reads the records from start to the end of the file.
func (rr *recordReader) mapLog(start int64) logMap {
	m := logMap{start: start, size: rr.size, committed: start}
	budget := 2*rr.size + resyncSlack
	off := start
	for off < rr.size {
		res := rr.scan(off)
		if res.end > off {
			m.segs = append(m.segs, segment{from: off, to: res.end, committed: res.committed,
				records: res.records, committedRecords: res.committedRecords, upserts: res.upserts})
			m.upserts += res.upserts
			if res.committed > off {
				m.committed = res.committed
			}
		}
		if res.bad == "" {
			break
		}
		next, magics, ok := rr.resync(res.end, &budget)
		m.damage = append(m.damage, damagedRange{from: res.end, to: next, why: res.bad, short: res.short, records: 1 + magics, unsearched: !ok})
		off = next
	}
	for i := range m.damage {
		d := &m.damage[i]
		for _, s := range m.segs {
			if s.to <= d.from {
				d.before += m.intactIn(s)
			} else if s.from >= d.to {
				d.after += m.intactIn(s)
			}
		}
	}
	return m
}

// mapLogStable is mapLog for a reader that may race a writer in another process. A writer
// appends records in order, so a record that read as incomplete but has an intact record
// after it was being written at that moment, and reads intact when read again: damage in the
// middle is reported only when it is still there on a second look (a few tries at most).
func (rr *recordReader) mapLogStable(start int64) logMap {
	for try := 0; ; try++ {
		m := rr.mapLog(start)
		if try == 2 || m.settled(rr) {
			return m
		}
	}
}

// settled reports whether every damaged range in the middle still starts with a bad record.
func (m *logMap) settled(rr *recordReader) bool {
	for _, d := range m.middle() {
		if _, _, bad := rr.next(d.from); bad == "" {
			return false
		}
	}
	return true
}

// intactIn counts the committed records of s.
func (m *logMap) intactIn(s segment) int {
	switch {
	case s.to <= m.committed:
		return s.records
	case s.from < m.committed:
		return s.committedRecords
	}
	return 0
}

// intact counts the committed records whose checksum holds.
func (m *logMap) intact() int {
	n := 0
	for _, s := range m.segs {
		n += m.intactIn(s)
	}
	return n
}

// middle returns the damaged ranges that are not part of the torn tail: those before the
// last commit, and any that could not be searched to the end.
func (m *logMap) middle() []damagedRange {
	var out []damagedRange
	for _, d := range m.damage {
		if d.from < m.committed || d.unsearched {
			out = append(out, d)
		}
	}
	return out
}

// tailWhy says why the bytes after committed are not committed data: the first damage there,
// or "" when they are intact records of a batch that has not ended (a write running now, or a
// crashed one that wrote whole records only).
func (m *logMap) tailWhy() string {
	for _, d := range m.damage {
		if d.from >= m.committed && !d.unsearched {
			return d.why
		}
	}
	if m.size > m.committed {
		return "records of a batch that has not ended"
	}
	return ""
}

// tailKept says whether the bytes after committed must be kept before a write cuts them off:
// a process killed while writing leaves whole records of an unfinished batch and then a record
// cut short, nothing else. A tail that starts with a complete record failing its checksum, or
// with bytes that are no record, may be a committed last record that was damaged (or what an
// operating-system crash left); the writer cannot tell, so it keeps a copy.
func (m *logMap) tailKept() bool {
	for _, d := range m.damage {
		if d.from >= m.committed && !d.unsearched {
			return !d.short
		}
	}
	return false
}

// resync finds the first intact record that starts after from, the start of a bad record. It
// returns its offset (the file size when there is none), the number of record magics in
// (from, next), and false when the budget ran out before the search ended.
func (rr *recordReader) resync(from int64, budget *int64) (next int64, magics int, ok bool) {
	if cap(rr.buf) < resyncWindow {
		rr.buf = make([]byte, resyncWindow)
	}
	magic := []byte(recMagic)
	for pos := from; pos+recHeaderSize <= rr.size; {
		w := rr.buf[:min(int64(resyncWindow), rr.size-pos)]
		n, err := rr.r.ReadAt(w, pos)
		if n < len(w) && err != nil {
			// A file that shrank under us (a writer cutting its torn tail): what is gone
			// holds nothing to find.
			return rr.size, magics, true
		}
		for i := 0; ; {
			j := bytes.Index(w[i:], magic)
			if j < 0 {
				break
			}
			cand := pos + int64(i+j)
			i += j + 1
			if cand == from {
				continue
			}
			valid, spent := rr.verify(cand, *budget)
			*budget -= spent
			if valid {
				return cand, magics, true
			}
			magics++
			if *budget < 0 {
				return rr.size, magics, false
			}
		}
		if int64(len(w)) < int64(resyncWindow) {
			break
		}
		// The windows overlap by len(magic)-1 bytes so a magic across their boundary is seen.
		pos += int64(len(w) - len(magic) + 1)
	}
	return rr.size, magics, true
}

// verify reports whether an intact record starts at off, and how many body bytes it read to
// find out. It reads the body in pieces, so a garbage length costs no memory, and gives up
// without reading when the body is larger than budget.
func (rr *recordReader) verify(off, budget int64) (bool, int64) {
	var hdr [recHeaderSize + 5]byte
	if off+int64(len(hdr)) > rr.size {
		return false, 0
	}
	if _, err := rr.r.ReadAt(hdr[:], off); err != nil {
		return false, 0
	}
	n := int64(binary.LittleEndian.Uint32(hdr[4:]))
	if string(hdr[:4]) != recMagic || n < 5 || n > maxBody || off+recHeaderSize+n > rr.size {
		return false, 0
	}
	flags := hdr[recHeaderSize]
	op := flags & opMask
	count := int64(binary.LittleEndian.Uint32(hdr[recHeaderSize+1:]))
	if (op != opUpsert && op != opDelete) || flags&^(opMask|flagMore) != 0 || count < 1 || count > (n-5)/2 {
		return false, 0
	}
	if n > budget {
		return false, n
	}
	if rr.crcBuf == nil {
		rr.crcBuf = make([]byte, crcChunk)
	}
	chunk := rr.crcBuf
	var crc uint32
	for done := int64(0); done < n; {
		c := chunk[:min(int64(len(chunk)), n-done)]
		if _, err := rr.r.ReadAt(c, off+recHeaderSize+done); err != nil {
			return false, done
		}
		crc = crc32.Update(crc, rr.table, c)
		done += int64(len(c))
	}
	return crc == binary.LittleEndian.Uint32(hdr[8:]), n
}
