package filesystem

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"

	"compozy.dev/setup/core/vector"
)

// The log file: a 24-byte header, then records.
//
//	header: magic "CZVLOG\x00\x01" (8) | dimension u32 | metric u8 | 3 zero bytes | 4 zero bytes | crc32c of bytes 0..20 (4)
//	record: magic "VREC" (4) | body length u32 | crc32c of body u32 | body
//	body:   flags u8 (op in the low bits; flagMore when the batch goes on in the next record)
//	        | count u32 | count entries
//	upsert entry: id length u16 | id | payload length u32 | payload (JSON object of strings) | dimension float32
//	delete entry: id length u16 | id
//
// All integers and floats are little-endian. A batch (one Upsert or Delete call) is one or more
// records; only the record without flagMore commits it, so a crash in the middle of a batch
// leaves none of it. A record that is short, has a bad magic or fails its checksum is either
// the torn tail of an interrupted write (nothing intact follows it) or damage in the middle
// (intact records follow it); mapLog tells them apart by resynchronising on the next intact
// record (see resync).
const (
	headerSize    = 24
	recHeaderSize = 12
	// maxBody bounds a record body when reading; a larger length is garbage.
	maxBody = 1 << 30
	// targetBody is the body size a writer aims for: large enough to amortise the header and
	// checksum, small enough to keep the read buffer small.
	targetBody = 1 << 20

	opUpsert = 1
	opDelete = 2
	opMask   = 0x0f
	flagMore = 0x80
)

const fileMagic = "CZVLOG\x00\x01"
const recMagic = "VREC"

func metricCode(m vector.Metric) byte {
	switch m {
	case vector.Dot:
		return 2
	case vector.Euclid:
		return 3
	}
	return 1
}

func metricFromCode(c byte) (vector.Metric, bool) {
	switch c {
	case 1:
		return vector.Cosine, true
	case 2:
		return vector.Dot, true
	case 3:
		return vector.Euclid, true
	}
	return "", false
}

func castagnoli() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

func encodeHeader(dim int, m vector.Metric) []byte {
	h := make([]byte, headerSize)
	copy(h, fileMagic)
	binary.LittleEndian.PutUint32(h[8:], uint32(dim))
	h[12] = metricCode(m)
	binary.LittleEndian.PutUint32(h[20:], crc32.Checksum(h[:20], castagnoli()))
	return h
}

// decodeHeader reads the header; the error says what is wrong with it.
func decodeHeader(h []byte) (int, vector.Metric, error) {
	if len(h) < headerSize {
		return 0, "", fmt.Errorf("file is %d bytes, shorter than the %d-byte header", len(h), headerSize)
	}
	if string(h[:8]) != fileMagic {
		return 0, "", fmt.Errorf("not a compozy vector log (bad magic %q)", h[:8])
	}
	if crc32.Checksum(h[:20], castagnoli()) != binary.LittleEndian.Uint32(h[20:]) {
		return 0, "", errors.New("header checksum mismatch")
	}
	dim := int(binary.LittleEndian.Uint32(h[8:]))
	m, ok := metricFromCode(h[12])
	if !ok || dim <= 0 {
		return 0, "", fmt.Errorf("header has dimension %d and metric code %d", dim, h[12])
	}
	return dim, m, nil
}

// encoder turns a batch into records of about targetBody bytes.
type encoder struct {
	dim   int
	table *crc32.Table
	buf   []byte
}

// upsertRecords calls emit for each record of the batch, in order: ids[i] with its encoded
// payload and vector, multiplied by scales[i] when scales is not nil. The record slice is
// reused after emit returns.
func (e *encoder) upsertRecords(ids []string, payloads [][]byte, vecs [][]float32, scales []float32, emit func([]byte) error) error {
	entry := func(i int) int { return 2 + len(ids[i]) + 4 + len(payloads[i]) + 4*e.dim }
	start := 0
	for start < len(ids) {
		end, size := start, 0
		for end < len(ids) && (end == start || size+entry(end) <= targetBody) {
			size += entry(end)
			end++
		}
		e.begin(opUpsert, end < len(ids), end-start, size)
		for i := start; i < end; i++ {
			e.id(ids[i])
			e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(payloads[i])))
			e.buf = append(e.buf, payloads[i]...)
			scale := float32(1)
			if scales != nil {
				scale = scales[i]
			}
			e.floats(vecs[i], scale)
		}
		if err := emit(e.finish()); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func (e *encoder) deleteRecords(ids []string, emit func([]byte) error) error {
	start := 0
	for start < len(ids) {
		end, size := start, 0
		for end < len(ids) && (end == start || size+2+len(ids[end]) <= targetBody) {
			size += 2 + len(ids[end])
			end++
		}
		e.begin(opDelete, end < len(ids), end-start, size)
		for i := start; i < end; i++ {
			e.id(ids[i])
		}
		if err := emit(e.finish()); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// begin starts a record whose entries take size bytes, growing the buffer once.
func (e *encoder) begin(op byte, more bool, count, size int) {
	e.buf = slices.Grow(e.buf[:0], recHeaderSize+5+size)
	e.buf = append(e.buf, recMagic...)
	e.buf = append(e.buf, 0, 0, 0, 0, 0, 0, 0, 0) // length and checksum, filled by finish
	if more {
		op |= flagMore
	}
	e.buf = append(e.buf, op)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(count))
}

func (e *encoder) id(id string) {
	e.buf = binary.LittleEndian.AppendUint16(e.buf, uint16(len(id)))
	e.buf = append(e.buf, id...)
}

func (e *encoder) floats(v []float32, scale float32) {
	n := len(e.buf)
	e.buf = append(e.buf, make([]byte, 4*len(v))...)
	out := e.buf[n:]
	if scale == 1 {
		for i, x := range v {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
		}
		return
	}
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x*scale))
	}
}

func (e *encoder) finish() []byte {
	body := e.buf[recHeaderSize:]
	binary.LittleEndian.PutUint32(e.buf[4:], uint32(len(body)))
	binary.LittleEndian.PutUint32(e.buf[8:], crc32.Checksum(body, e.table))
	return e.buf
}

// scanResult is what one pass over a run of intact records found.
type scanResult struct {
	// committed is the offset just after the last record that ends a batch; the start when
	// none does.
	committed int64
	// end is the offset where reading stopped: the end of the file, or the first bad record.
	end int64
	// bad says why reading stopped before the end of the file ("" when it did not).
	bad string
	// short says the bad record runs past the end of the file (or its header does): what a
	// process killed while writing leaves. A complete record that fails its checksum is not.
	short bool
	// records counts the intact records read; committedRecords those before committed.
	records, committedRecords int
	// upserts counts the upsert entries of the records read.
	upserts int
}

// recordReader reads records from a file range with one reused buffer.
type recordReader struct {
	r     io.ReaderAt
	size  int64
	table *crc32.Table
	hdr   [recHeaderSize]byte
	body  []byte
	// buf is resync's window of the file; crcBuf holds a piece of a candidate record's body
	// while verify checksums it.
	buf, crcBuf []byte
}

// next reads the record at off. It returns the body, the offset after the record, and a
// reason when the record is torn or corrupt (io.EOF-like end when off == size).
func (rr *recordReader) next(off int64) (body []byte, next int64, bad string) {
	if off+recHeaderSize > rr.size {
		return nil, off, fmt.Sprintf("%d trailing bytes are shorter than a record header", rr.size-off)
	}
	if _, err := rr.r.ReadAt(rr.hdr[:], off); err != nil {
		return nil, off, "read record header: " + err.Error()
	}
	if string(rr.hdr[:4]) != recMagic {
		return nil, off, fmt.Sprintf("bad record magic at offset %d", off)
	}
	n := int64(binary.LittleEndian.Uint32(rr.hdr[4:]))
	if n < 5 || n > maxBody || off+recHeaderSize+n > rr.size {
		return nil, off, fmt.Sprintf("record at offset %d is cut short (needs %d bytes, %d remain)", off, recHeaderSize+n, rr.size-off)
	}
	if int64(cap(rr.body)) < n {
		rr.body = make([]byte, n)
	}
	body = rr.body[:n]
	if _, err := rr.r.ReadAt(body, off+recHeaderSize); err != nil {
		return nil, off, "read record: " + err.Error()
	}
	if crc32.Checksum(body, rr.table) != binary.LittleEndian.Uint32(rr.hdr[8:]) {
		return nil, off, fmt.Sprintf("record at offset %d fails its checksum", off)
	}
	return body, off + recHeaderSize + n, ""
}

// short reports whether the record at off runs past the end of the file, going by its header.
func (rr *recordReader) short(off int64) bool {
	var hdr [recHeaderSize]byte
	if off+recHeaderSize > rr.size {
		return true
	}
	if _, err := rr.r.ReadAt(hdr[:], off); err != nil || string(hdr[:4]) != recMagic {
		return false
	}
	n := int64(binary.LittleEndian.Uint32(hdr[4:]))
	return n >= 5 && n <= maxBody && off+recHeaderSize+n > rr.size
}

// scan checks the records from start until the end of the file or the first bad record,
// without decoding them.
func (rr *recordReader) scan(start int64) scanResult {
	res := scanResult{committed: start, end: start}
	off := start
	for off < rr.size {
		body, next, bad := rr.next(off)
		if bad != "" {
			res.bad, res.short = bad, rr.short(off)
			break
		}
		if body[0]&opMask == opUpsert {
			res.upserts += int(binary.LittleEndian.Uint32(body[1:]))
		}
		res.records++
		off = next
		if body[0]&flagMore == 0 {
			res.committed = off
			res.committedRecords = res.records
		}
	}
	res.end = off
	return res
}

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

// decoded visits the entries of one record body.
type visitor struct {
	upsert func(id string, payload []byte, vec []byte) error
	del    func(id string)
}

func decodeBody(body []byte, dim int, v visitor) error {
	op := body[0] & opMask
	count := int(binary.LittleEndian.Uint32(body[1:]))
	p := body[5:]
	for range count {
		if len(p) < 2 {
			return errors.New("entry cut short")
		}
		n := int(binary.LittleEndian.Uint16(p))
		if len(p) < 2+n {
			return errors.New("id cut short")
		}
		id := string(p[2 : 2+n])
		p = p[2+n:]
		switch op {
		case opDelete:
			v.del(id)
		case opUpsert:
			if len(p) < 4 {
				return errors.New("payload length cut short")
			}
			pl := int(binary.LittleEndian.Uint32(p))
			if len(p) < 4+pl+4*dim {
				return errors.New("payload or vector cut short")
			}
			if err := v.upsert(id, p[4:4+pl], p[4+pl:4+pl+4*dim]); err != nil {
				return err
			}
			p = p[4+pl+4*dim:]
		default:
			return fmt.Errorf("unknown operation %d", op)
		}
	}
	if len(p) != 0 {
		return fmt.Errorf("%d bytes after the last entry", len(p))
	}
	return nil
}

func decodeFloats(dst []float32, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}
