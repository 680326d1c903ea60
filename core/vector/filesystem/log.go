package filesystem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
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
