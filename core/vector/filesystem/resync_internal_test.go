package filesystem

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/core/vector"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReaderAt
	n int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

func record(t *testing.T, id string) []byte {
	t.Helper()
	e := &encoder{dim: 2, table: castagnoli()}
	var out []byte
	if err := e.upsertRecords([]string{id}, [][]byte{nil}, [][]float32{{1, 2}}, nil, func(r []byte) error {
		out = bytes.Clone(r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// fakes returns size bytes of garbage holding a plausible record header (magic, a length
// reaching the end of the file, an upsert of one entry, a wrong checksum) every step bytes:
// each costs resync a checksum over the rest of the file.
func fakes(size, step, fileEnd, at int) []byte {
	g := make([]byte, size)
	for off := 0; off+17 <= size; off += step {
		copy(g[off:], recMagic)
		binary.LittleEndian.PutUint32(g[off+4:], uint32(fileEnd-(at+off)-recHeaderSize))
		g[off+12] = opUpsert
		binary.LittleEndian.PutUint32(g[off+13:], 1)
	}
	return g
}

// TestResyncFindsRecordBehindFakes: a few record-like headers in the damage are checked and
// rejected, and the intact record behind them is found.
func TestResyncFindsRecordBehindFakes(t *testing.T) {
	first, last := record(t, "a"), record(t, "z")
	at := headerSize + len(first)
	end := at + 64<<10 + len(last)
	data := append(encodeHeader(2, vector.Dot), first...)
	data = append(data, fakes(64<<10, 20000, end, at)...)
	data = append(data, last...)
	rr := &recordReader{r: bytes.NewReader(data), size: int64(len(data)), table: castagnoli()}
	m := rr.mapLog(headerSize)
	if len(m.damage) != 1 || m.damage[0].from != int64(at) || m.damage[0].to != int64(end-len(last)) || m.damage[0].unsearched ||
		m.damage[0].records != 4 || m.damage[0].before != 1 || m.damage[0].after != 1 || m.intact() != 2 || len(m.middle()) != 1 {
		t.Fatalf("%+v", m)
	}
}

// TestResyncBounded: garbage full of record-like headers whose lengths reach the end of the
// file would cost a checksum over the rest of the file each (quadratic); resync stops after
// about twice the file size, reports the rest as not searched, and that is treated as damage
// in the middle: writes are refused and the repair changes nothing, so nothing is discarded on
// a guess.
func TestResyncBounded(t *testing.T) {
	ctx := context.Background()
	first, last := record(t, "a"), record(t, "z")
	const garbage = 4 << 20
	at := headerSize + len(first)
	end := at + garbage + len(last)
	data := append(encodeHeader(2, vector.Dot), first...)
	data = append(data, fakes(garbage, 64, end, at)...)
	data = append(data, last...)
	cr := &countingReader{r: bytes.NewReader(data)}
	rr := &recordReader{r: cr, size: int64(len(data)), table: castagnoli()}
	m := rr.mapLog(headerSize)
	if limit := 3*int64(len(data)) + resyncSlack + 2*resyncWindow; cr.n > limit {
		t.Fatalf("read %d bytes of a %d-byte file (limit %d)", cr.n, len(data), limit)
	}
	if len(m.damage) != 1 || !m.damage[0].unsearched || len(m.middle()) != 1 {
		t.Fatalf("%+v", m.damage)
	}
	t.Logf("read %d bytes for a %d-byte file", cr.n, len(data))

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DefaultName+".log"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Options{Dir: dir, Dimension: 2, Metric: vector.Dot})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Upsert(ctx, []vector.Point{{ID: "b", Vector: []float32{1, 1}}}); !errors.Is(err, vector.ErrCorrupt) {
		t.Fatalf("write: %v", err)
	}
	if r := s.checkData(ctx); r.Status != vector.StatusFail || r.Fixable || !strings.Contains(r.Detail, "not searched") {
		t.Fatalf("check: %+v", r)
	}
	if _, err := s.Repair(ctx); err == nil || !strings.Contains(err.Error(), "not searched") {
		t.Fatalf("repair: %v", err)
	}
	if got, _ := os.ReadFile(s.LogPath()); !bytes.Equal(got, data) {
		t.Fatal("the log changed")
	}
}

// racyReader serves data, except that the first read touching [from, to) sees zeros there:
// a record another process was writing at that moment.
type racyReader struct {
	data     []byte
	from, to int64
	seen     bool
}

func (r *racyReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := bytes.NewReader(r.data).ReadAt(p, off)
	if !r.seen && off < r.to && off+int64(n) > r.from {
		r.seen = true
		for i := range n {
			if o := off + int64(i); o >= r.from && o < r.to {
				p[i] = 0
			}
		}
	}
	return n, err
}

// TestRecordBeingWrittenIsNotDamage: a reader that catches a record half written and then
// finds intact records after it (the writer went on meanwhile) would see damage in the middle;
// the second look finds the record whole, so it is not reported and nothing is skipped.
func TestRecordBeingWrittenIsNotDamage(t *testing.T) {
	a, b, c := record(t, "a"), record(t, "b"), record(t, "c")
	data := append(encodeHeader(2, vector.Dot), a...)
	data = append(data, b...)
	data = append(data, c...)
	bFrom := int64(headerSize + len(a))
	race := func() *recordReader {
		return &recordReader{r: &racyReader{data: data, from: bFrom + recHeaderSize, to: bFrom + int64(len(b))}, size: int64(len(data)), table: castagnoli()}
	}
	if m := race().mapLog(headerSize); len(m.middle()) != 1 {
		t.Fatalf("one look: %+v (the race is not reproduced)", m)
	}
	m := race().mapLogStable(headerSize)
	if len(m.damage) != 0 || m.intact() != 3 || m.committed != int64(len(data)) {
		t.Fatalf("second look: %+v", m)
	}
}

// TestRepairWithoutHardLinks: where the file system has no hard links, the damaged log is
// kept as a copy (atomicfile), byte for byte, and the repair goes on.
func TestRepairWithoutHardLinks(t *testing.T) {
	ctx := context.Background()
	a, b, c := record(t, "a"), record(t, "b"), record(t, "c")
	data := append(encodeHeader(2, vector.Dot), a...)
	data = append(data, b...)
	data = append(data, c...)
	data[headerSize+len(a)+20] ^= 0xff // b's body
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DefaultName+".log"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Options{Dir: dir, Dimension: 2, Metric: vector.Dot})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.link = func(string, string) error { return &os.LinkError{Op: "link", Err: errors.ErrUnsupported} }
	rep, err := s.Repair(ctx)
	if err != nil || rep.Kept != 2 || rep.Lost != 1 || rep.Vectors != 2 {
		t.Fatalf("%+v %v", rep, err)
	}
	kept, err := os.ReadFile(rep.Damaged)
	if err != nil || !bytes.Equal(kept, data) {
		t.Fatalf("copy of the damaged log: %d bytes, %v", len(kept), err)
	}
	if fi, err := os.Stat(rep.Damaged); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", fi, err)
	}
	got, _ := os.ReadFile(s.LogPath())
	want := append(append(encodeHeader(2, vector.Dot), a...), c...)
	if !bytes.Equal(got, want) {
		t.Fatal("the new log is not the header, a and c")
	}
}
