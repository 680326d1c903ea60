package filesystem

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

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
