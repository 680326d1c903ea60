package filesystem_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/core/vector/filesystem"
)

const dmgDim = 4

// buildLog writes n one-point upserts (v00, v01, ...) to a new store and returns the log's
// bytes and the offset of each record (plus the file size at the end).
func buildLog(t *testing.T, n int) ([]byte, []int64) {
	t.Helper()
	ctx := context.Background()
	s := open(t, t.TempDir(), "", dmgDim, vector.Dot)
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := s.Upsert(ctx, []vector.Point{pt(i, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(s.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, data)
	if len(offs) != n+1 {
		t.Fatalf("%d records, want %d", len(offs)-1, n)
	}
	return data, offs
}

func pt(i int, version float32) vector.Point {
	return vector.Point{ID: fmt.Sprintf("v%02d", i), Vector: []float32{float32(i + 1), version, 0, 1},
		Payload: map[string]string{"i": strconv.Itoa(i), "version": fmt.Sprint(version)}}
}

// recordOffsets walks the record headers of an intact log (24-byte file header, then records
// of a 12-byte header and a body whose length is at bytes 4..8): the start of every record,
// and the file size last.
func recordOffsets(t *testing.T, data []byte) []int64 {
	t.Helper()
	var offs []int64
	off := int64(24)
	for off+12 <= int64(len(data)) {
		if string(data[off:off+4]) != "VREC" {
			t.Fatalf("no record at %d", off)
		}
		offs = append(offs, off)
		off += 12 + int64(binary.LittleEndian.Uint32(data[off+4:]))
	}
	if off != int64(len(data)) {
		t.Fatalf("records end at %d, file at %d", off, len(data))
	}
	return append(offs, off)
}

// storeWith puts data in a new folder as the log and opens a store on it.
func storeWith(t *testing.T, data []byte) (*filesystem.Store, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, filesystem.DefaultName+".log"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return open(t, dir, "", dmgDim, vector.Dot), dir
}

func flipped(data []byte, at ...int64) []byte {
	out := bytes.Clone(data)
	for _, a := range at {
		out[a] ^= 0x5a
	}
	return out
}

// ids returns the IDs the store serves, sorted.
func ids(t *testing.T, s *filesystem.Store) []string {
	t.Helper()
	got, err := s.Query(context.Background(), []float32{1, 0, 0, 0}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range got {
		out = append(out, m.ID)
	}
	slices.Sort(out)
	return out
}

// idsBut is v00..v(n-1) without the given indexes.
func idsBut(n int, lost ...int) []string {
	var out []string
	for i := range n {
		if !slices.Contains(lost, i) {
			out = append(out, fmt.Sprintf("v%02d", i))
		}
	}
	return out
}

func dataCheck(t *testing.T, s *filesystem.Store) vector.Check {
	t.Helper()
	for _, c := range s.Checks() {
		if c.ID == filesystem.CheckData {
			return c
		}
	}
	t.Fatal("no data check")
	return vector.Check{}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestDamageClassified: a bad record with intact records behind it (a flipped byte in the
// first or a middle record, in its magic, length, checksum or body) is damage in the middle:
// reads serve every other record, the data check fails naming the byte range and the intact
// records before and after, and writes are refused without touching the file. A bad record
// with nothing intact behind it (a flipped byte in the last record, a cut, garbage or zeros
// appended) is a torn tail: a warning, and the next write cuts exactly those bytes off. It
// keeps a copy of them first unless they are what a killed writer leaves (a record cut short):
// a complete last record that fails its checksum may have been committed.
func TestDamageClassified(t *testing.T) {
	ctx := context.Background()
	const n = 21
	data, offs := buildLog(t, n)
	last := offs[n-1]
	fake := binary.LittleEndian.AppendUint32([]byte("VREC"), 40)
	fake = append(fake, 1, 2, 3, 4, 1, 1, 0, 0, 0)
	fake = append(fake, make([]byte, 35)...) // a whole 40-byte body that fails its checksum
	for _, tc := range []struct {
		name   string
		data   []byte
		lost   int   // the record lost in the middle; -1 for a torn tail
		intact int   // records intact
		keep   int64 // bytes a write keeps for a torn tail
		copied bool  // whether the write keeps a copy of the torn bytes
	}{
		{"first record body", flipped(data, offs[0]+20), 0, 20, 0, false},
		{"first record magic", flipped(data, offs[0]+1), 0, 20, 0, false},
		{"first record length", flipped(data, offs[0]+5), 0, 20, 0, false},
		{"first record checksum", flipped(data, offs[0]+9), 0, 20, 0, false},
		{"middle record body", flipped(data, offs[10]+30), 10, 20, 0, false},
		{"middle record length high byte", flipped(data, offs[10]+7), 10, 20, 0, false},
		{"last record body", flipped(data, last+20), -1, 20, last, true},
		{"last record magic", flipped(data, last), -1, 20, last, true},
		{"cut in the last record", data[:last+30], -1, 20, last, false},
		{"cut in the last record's header", data[:last+5], -1, 20, last, false},
		{"garbage appended", append(bytes.Clone(data), []byte("\x01\xfe not a record at all, just noise \x00\x07")...), -1, 21, offs[n], true},
		{"record-like garbage appended", append(bytes.Clone(data), fake...), -1, 21, offs[n], true},
		{"zeros appended", append(bytes.Clone(data), make([]byte, 4096)...), -1, 21, offs[n], true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := storeWith(t, tc.data)
			log := s.LogPath()
			info, err := s.Describe(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.Count != int64(tc.intact) {
				t.Fatalf("%d vectors, want %d (%v)", info.Count, tc.intact, info.Notes)
			}
			r := dataCheck(t, s).Run(ctx)
			before := fileHash(t, log)
			if tc.lost >= 0 {
				want := idsBut(n, tc.lost)
				if got := ids(t, s); !slices.Equal(got, want) {
					t.Fatalf("serves %v, want %v", got, want)
				}
				rng := fmt.Sprintf("bytes %d-%d", offs[tc.lost], offs[tc.lost+1]-1)
				if r.Status != vector.StatusFail || !r.Fixable || !strings.Contains(r.Summary, rng) ||
					!strings.Contains(r.Summary, fmt.Sprintf("%d intact records before it, %d after", tc.lost, n-1-tc.lost)) ||
					!strings.Contains(r.Fix.Text, "compozy doctor --fix") {
					t.Fatalf("data check: %+v", r)
				}
				if !strings.Contains(strings.Join(info.Notes, "\n"), "1 damaged record skipped ("+rng) {
					t.Errorf("notes %q", info.Notes)
				}
				err := s.Upsert(ctx, []vector.Point{pt(99, 1)})
				if !errors.Is(err, vector.ErrCorrupt) || !strings.Contains(err.Error(), rng) || !strings.Contains(err.Error(), "compozy doctor --fix") {
					t.Fatalf("write on a damaged log: %v", err)
				}
				if err := s.Delete(ctx, "v05"); !errors.Is(err, vector.ErrCorrupt) {
					t.Fatalf("delete on a damaged log: %v", err)
				}
				if err := s.Ensure(ctx); err != nil {
					t.Fatalf("Ensure on an existing damaged log (writes nothing): %v", err)
				}
				if fileHash(t, log) != before {
					t.Fatal("a refused write changed the log")
				}
				return
			}
			if r.Status != vector.StatusWarn || r.Fixable || !strings.Contains(r.Summary, "interrupted") ||
				strings.Contains(r.Summary, "keeps them as vectors.log.torn-") != tc.copied {
				t.Fatalf("data check on a torn tail: %+v", r)
			}
			if got := ids(t, s); !slices.Equal(got, idsBut(tc.intact)) {
				t.Fatalf("serves %v", got)
			}
			if err := s.Upsert(ctx, []vector.Point{pt(99, 1)}); err != nil {
				t.Fatalf("write after a torn tail: %v", err)
			}
			after, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			// Only the torn bytes were cut: everything before them is unchanged.
			if !bytes.Equal(after[:tc.keep], tc.data[:tc.keep]) || int64(len(after)) <= tc.keep {
				t.Fatalf("the write changed bytes before the torn tail (kept %d of %d)", len(after), tc.keep)
			}
			var torn []string
			es, _ := os.ReadDir(dir)
			for _, e := range es {
				if strings.HasPrefix(e.Name(), "vectors.log.torn-") {
					torn = append(torn, e.Name())
				}
			}
			switch {
			case !tc.copied && len(torn) != 0:
				t.Fatalf("a copy of a tail a killed writer leaves: %v", torn)
			case tc.copied && len(torn) != 1:
				t.Fatalf("no copy of the cut bytes: %v", torn)
			case tc.copied:
				if b, err := os.ReadFile(filepath.Join(dir, torn[0])); err != nil || !bytes.Equal(b, tc.data[tc.keep:]) {
					t.Fatalf("%s is not the cut bytes (%d bytes, %v)", torn[0], len(b), err)
				}
			}
			again := open(t, dir, "", dmgDim, vector.Dot)
			if info, err := again.Describe(ctx); err != nil || len(info.Notes) != 0 || info.Count != int64(tc.intact)+1 {
				t.Fatalf("reopen: %+v %v", info, err)
			}
			if r := dataCheck(t, again).Run(ctx); r.Status != vector.StatusPass || strings.Contains(r.Summary, "vectors.log.torn-") != tc.copied {
				t.Fatalf("after the write: %+v", r)
			}
		})
	}
}

// TestResyncEveryRecord flips a random byte of every record in turn: each is lost alone,
// every other record is read, and only the last one is a torn tail.
func TestResyncEveryRecord(t *testing.T) {
	ctx := context.Background()
	const n = 21
	data, offs := buildLog(t, n)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range n {
		for range 3 {
			at := offs[i] + r.Int64N(offs[i+1]-offs[i])
			s, _ := storeWith(t, flipped(data, at))
			info, err := s.Describe(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(t, s); !slices.Equal(got, idsBut(n, i)) {
				t.Fatalf("record %d, byte %d: serves %v", i, at, got)
			}
			st := dataCheck(t, s).Run(ctx).Status
			if want := map[bool]vector.Status{true: vector.StatusWarn, false: vector.StatusFail}[i == n-1]; st != want {
				t.Fatalf("record %d, byte %d: %s, want %s (%v)", i, at, st, want, info.Notes)
			}
		}
	}
}

// TestResyncFindsAllIntact: several damaged ranges (two of them adjacent records) are each
// skipped, and every intact record between them is found.
func TestResyncFindsAllIntact(t *testing.T) {
	ctx := context.Background()
	const n = 21
	data, offs := buildLog(t, n)
	bad := flipped(data, offs[3]+17, offs[7]+2, offs[8]+25, offs[15]+6)
	s, _ := storeWith(t, bad)
	if got, want := ids(t, s), idsBut(n, 3, 7, 8, 15); !slices.Equal(got, want) {
		t.Fatalf("serves %v, want %v", got, want)
	}
	r := dataCheck(t, s).Run(ctx)
	if r.Status != vector.StatusFail || !strings.Contains(r.Summary, "4 records damaged in 3 places") {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{
		fmt.Sprintf("bytes %d-%d (%d bytes, about 1 record): record at offset %d fails its checksum; 3 records intact before it, 14 after it", offs[3], offs[4]-1, offs[4]-offs[3], offs[3]),
		fmt.Sprintf("bytes %d-%d (%d bytes, about 2 records): bad record magic at offset %d; 6 records intact before it, 11 after it", offs[7], offs[9]-1, offs[9]-offs[7], offs[7]),
		fmt.Sprintf("bytes %d-%d (%d bytes, about 1 record): record at offset %d is cut short", offs[15], offs[16]-1, offs[16]-offs[15], offs[15]),
	} {
		if !strings.Contains(r.Detail, want) {
			t.Errorf("detail lacks %q:\n%s", want, r.Detail)
		}
	}
}

// TestRepairKeepsEveryIntactRecord: the repair's plan (which reads only) names what it keeps
// and loses; the repair writes a log of the header and every intact record, byte for byte,
// keeps the damaged log beside it unchanged, and the data check passes again.
func TestRepairKeepsEveryIntactRecord(t *testing.T) {
	ctx := context.Background()
	const n = 21
	data, offs := buildLog(t, n)
	bad := flipped(data, offs[0]+20)
	s, dir := storeWith(t, bad)
	c := dataCheck(t, s)
	if r := c.Run(ctx); r.Status != vector.StatusFail || !r.Fixable || c.Repair == nil {
		t.Fatalf("data check: %+v (repair %v)", r, c.Repair != nil)
	}
	names := func() []string {
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}
	plan := c.Repair.Plan(ctx)
	wantPlan := fmt.Sprintf("rewrite %s keeping 20 intact records, losing 1 damaged record (bytes %d-%d); the damaged file is kept as %s.damaged-<UTC time>",
		s.LogPath(), offs[0], offs[1]-1, s.LogPath())
	if plan != wantPlan {
		t.Fatalf("plan:\n%s\nwant\n%s", plan, wantPlan)
	}
	if got := names(); !slices.Equal(got, []string{"vectors.log"}) {
		t.Fatalf("checking and planning wrote files: %v", got)
	}
	if err := c.Repair.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	got := names()
	if len(got) != 3 || got[0] != "vectors.lock" || got[1] != "vectors.log" || !regexp.MustCompile(`^vectors\.log\.damaged-\d{8}T\d{6}Z$`).MatchString(got[2]) {
		t.Fatalf("files after the repair: %v", got)
	}
	kept, err := os.ReadFile(filepath.Join(dir, got[2]))
	if err != nil || !bytes.Equal(kept, bad) {
		t.Fatalf("the damaged file is not kept byte for byte (%d of %d bytes, %v)", len(kept), len(bad), err)
	}
	repaired, err := os.ReadFile(s.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Clone(data[:24]), data[offs[1]:]...)
	if !bytes.Equal(repaired, want) {
		t.Fatalf("the new log is not the header and the 20 intact records (%d bytes, want %d)", len(repaired), len(want))
	}
	if len(recordOffsets(t, repaired)) != 21 {
		t.Fatal("record count")
	}
	for _, p := range []string{s.LogPath(), filepath.Join(dir, got[2])} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, fi, err)
		}
	}
	if r := c.Run(ctx); r.Status != vector.StatusPass || !strings.Contains(r.Summary, "20 vectors") || !strings.HasSuffix(r.Summary, "kept as "+got[2]) {
		t.Fatalf("after the repair: %+v", r)
	}
	if got := ids(t, s); !slices.Equal(got, idsBut(n, 0)) {
		t.Fatalf("serves %v", got)
	}
	if err := s.Upsert(ctx, []vector.Point{pt(0, 2)}); err != nil {
		t.Fatalf("write after the repair: %v", err)
	}
	other := open(t, dir, "", dmgDim, vector.Dot)
	if got := ids(t, other); !slices.Equal(got, idsBut(n)) {
		t.Fatalf("reopened: %v", got)
	}
	if again := c.Repair.Plan(ctx); !strings.HasPrefix(again, "nothing to repair") {
		t.Fatalf("plan on a repaired log: %s", again)
	}
}

// TestRepairReplaySemantics: the repaired log replays like the damaged one minus the lost
// record: later upserts of an ID still win, a delete still deletes, and a batch that spans
// records keeps every record but the damaged one.
func TestRepairReplaySemantics(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), "", dmgDim, vector.Dot)
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	step(s.Upsert(ctx, []vector.Point{pt(0, 1)})) // record 0: v00 version 1
	step(s.Upsert(ctx, []vector.Point{pt(1, 1)})) // record 1: v01 (to be damaged)
	step(s.Upsert(ctx, []vector.Point{pt(0, 2)})) // record 2: v00 version 2 wins
	step(s.Upsert(ctx, []vector.Point{pt(2, 1)})) // record 3
	step(s.Delete(ctx, "v02"))                    // record 4: v02 stays deleted
	step(s.Upsert(ctx, []vector.Point{pt(3, 1)})) // record 5
	big := make([]vector.Point, 60000)            // records 6..: one batch over several records
	for i := range big {
		big[i] = vector.Point{ID: "big" + strconv.Itoa(i), Vector: []float32{1, 2, 3, float32(i)}}
	}
	step(s.Upsert(ctx, big))
	step(s.Upsert(ctx, []vector.Point{pt(4, 1)}))
	data, err := os.ReadFile(s.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, data)
	if len(offs) < 10 {
		t.Fatalf("the big batch is %d records; want several", len(offs)-7)
	}
	// Damage v01's record and the second record of the big batch (its first has flagMore set).
	bad := flipped(data, offs[1]+20, offs[7]+40)
	lostBig := map[string]bool{}
	{
		// The second record of the batch holds the points after the first record's.
		first, second := int(binary.LittleEndian.Uint32(data[offs[6]+13:])), int(binary.LittleEndian.Uint32(data[offs[7]+13:]))
		for i := first; i < first+second; i++ {
			lostBig["big"+strconv.Itoa(i)] = true
		}
	}
	d, dir := storeWith(t, bad)
	rep, err := d.Repair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kept != len(offs)-3 || rep.Lost != 2 || len(rep.Ranges) != 2 || rep.Damaged == "" {
		t.Fatalf("report %+v (%d records)", rep, len(offs)-1)
	}
	want := append(bytes.Clone(data[:offs[1]]), data[offs[2]:offs[7]]...)
	want = append(want, data[offs[8]:]...)
	if got, _ := os.ReadFile(d.LogPath()); !bytes.Equal(got, want) {
		t.Fatal("the new log is not the intact records in order")
	}
	r := open(t, dir, "", dmgDim, vector.Dot)
	info, err := r.Describe(ctx)
	if err != nil || len(info.Notes) != 0 {
		t.Fatalf("%+v %v", info, err)
	}
	if wantN := int64(3 + len(big) - len(lostBig)); info.Count != wantN || rep.Vectors != int(wantN) {
		t.Fatalf("%d vectors (report %d), want %d", info.Count, rep.Vectors, wantN)
	}
	got, err := r.Query(ctx, []float32{1, 0, 0, 0}, 5)
	if err != nil {
		t.Fatal(err)
	}
	payloads := map[string]string{}
	for _, m := range got {
		payloads[m.ID] = m.Payload["version"]
	}
	if payloads["v00"] != "2" || payloads["v03"] != "1" || payloads["v04"] != "1" {
		t.Fatalf("v00 must be version 2 and v03, v04 present: %v", payloads)
	}
	all, err := r.Query(ctx, []float32{0, 0, 0, 1}, len(big)+10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.ID == "v01" || m.ID == "v02" || lostBig[m.ID] {
			t.Fatalf("%s is back", m.ID)
		}
	}
}

// TestRepairDropsTornTail: damage in the middle and a torn tail: the repair keeps the intact
// committed records, drops both, says so, and the result passes.
func TestRepairDropsTornTail(t *testing.T) {
	ctx := context.Background()
	const n = 21
	data, offs := buildLog(t, n)
	bad := flipped(data[:offs[n-1]+15], offs[2]+30)
	s, _ := storeWith(t, bad)
	c := dataCheck(t, s)
	if r := c.Run(ctx); r.Status != vector.StatusFail {
		t.Fatalf("%+v", r)
	}
	plan := c.Repair.Plan(ctx)
	if !strings.Contains(plan, "keeping 19 intact records, losing 1 damaged record") || !strings.Contains(plan, "and the 15 bytes of an interrupted write at the end") {
		t.Fatalf("plan %q", plan)
	}
	rep, err := s.Repair(ctx)
	if err != nil || rep.Kept != 19 || rep.Vectors != 19 {
		t.Fatalf("%+v %v", rep, err)
	}
	if r := c.Run(ctx); r.Status != vector.StatusPass {
		t.Fatalf("after: %+v", r)
	}
	if got := ids(t, s); !slices.Equal(got, idsBut(n-1, 2)) {
		t.Fatalf("serves %v", got)
	}
}

// TestRepairLeavesIntactLogAlone: on a log without damage in the middle (intact, or with a
// torn tail) the repair changes nothing.
func TestRepairLeavesIntactLogAlone(t *testing.T) {
	ctx := context.Background()
	data, offs := buildLog(t, 5)
	for _, d := range [][]byte{data, data[:offs[4]+3]} {
		s, dir := storeWith(t, d)
		rep, err := s.Repair(ctx)
		if err != nil || len(rep.Ranges) != 0 || rep.Damaged != "" {
			t.Fatalf("%+v %v", rep, err)
		}
		got, _ := os.ReadFile(s.LogPath())
		es, _ := os.ReadDir(dir)
		if !bytes.Equal(got, d) || len(es) != 2 {
			t.Fatalf("the repair changed an undamaged log (%d files)", len(es))
		}
	}
}

// TestReaderRacingWriterSeesNoDamage: a reader that reads the log while another store appends
// batches of several records may catch a record half written with whole records after it (the
// writer went on meanwhile); that is a write in progress, never damage in the middle.
func TestReaderRacingWriterSeesNoDamage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const dim = 256 // 1 KiB a vector: a batch of 2500 is three records
	w := open(t, dir, "", dim, vector.Dot)
	if err := w.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	const batches, per = 24, 2500
	done := make(chan error, 1)
	go func() {
		for b := range batches {
			pts := make([]vector.Point, per)
			for i := range pts {
				v := make([]float32, dim)
				v[i%dim] = float32(b + 1)
				pts[i] = vector.Point{ID: fmt.Sprintf("b%d-%d", b, i), Vector: v}
			}
			if err := w.Upsert(ctx, pts); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	reads := 0
	for finished := false; !finished; reads++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		// A new store each time reads the whole log, as a doctor run in another process does.
		r, err := filesystem.Open(ctx, filesystem.Options{Dir: dir, Dimension: dim, Metric: vector.Dot})
		if err != nil {
			t.Fatal(err)
		}
		if res := dataCheck(t, r).Run(ctx); res.Status == vector.StatusFail {
			t.Fatalf("read %d during a write: %+v", reads, res)
		}
		_ = r.Close()
	}
	r := open(t, dir, "", dim, vector.Dot)
	if info, err := r.Describe(ctx); err != nil || info.Count != batches*per || len(info.Notes) != 0 {
		t.Fatalf("%+v %v", info, err)
	}
	t.Logf("%d reads during %d writes", reads, batches)
}

// TestKilledRepair kills a process at random moments of a repair of a 20 MB log: the log is
// then either the damaged one, unchanged, or the repaired one with the damaged one kept beside
// it, and a repair run after the kill finishes the job.
func TestKilledRepair(t *testing.T) {
	if dir := os.Getenv("COMPOZY_VECTOR_CRASH_REPAIR"); dir != "" {
		crashRepair(dir)
		return
	}
	ctx := context.Background()
	const dim = 64
	src := open(t, t.TempDir(), "", dim, vector.Dot)
	if err := src.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for b := range 70 {
		pts := make([]vector.Point, 1000)
		for i := range pts {
			v := make([]float32, dim)
			for j := range v {
				v[j] = r.Float32()
			}
			pts[i] = vector.Point{ID: fmt.Sprintf("b%d-%d", b, i), Vector: v}
		}
		if err := src.Upsert(ctx, pts); err != nil {
			t.Fatal(err)
		}
	}
	clean, err := os.ReadFile(src.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, clean)
	damaged := flipped(clean, offs[1]+100)
	repaired := append(bytes.Clone(clean[:offs[1]]), clean[offs[2]:]...)
	outcomes := map[string]int{}
	for round := range 8 {
		dir := t.TempDir()
		log := filepath.Join(dir, filesystem.DefaultName+".log")
		if err := os.WriteFile(log, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledRepair$")
		cmd.Env = append(os.Environ(), "COMPOZY_VECTOR_CRASH_REPAIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() && sc.Text() != "repairing" {
		}
		// A random moment of the repair (or after it): no assertion depends on when.
		time.Sleep(time.Duration(r.IntN(50*(round+1))) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()

		got, err := os.ReadFile(log)
		if err != nil {
			t.Fatalf("round %d: the log is gone: %v", round, err)
		}
		var copies []string
		es, _ := os.ReadDir(dir)
		for _, e := range es {
			if strings.HasPrefix(e.Name(), "vectors.log.damaged-") {
				copies = append(copies, e.Name())
				if b, _ := os.ReadFile(filepath.Join(dir, e.Name())); !bytes.Equal(b, damaged) {
					t.Fatalf("round %d: %s is not the damaged log", round, e.Name())
				}
			}
		}
		switch {
		case bytes.Equal(got, damaged):
			outcomes["damaged log in place"]++
		case bytes.Equal(got, repaired) && len(copies) == 1:
			outcomes["repaired"]++
		default:
			t.Fatalf("round %d: the log is neither the damaged nor the repaired one (%d bytes, %d copies)", round, len(got), len(copies))
		}
		// A repair after the kill ends with the repaired log and every intact record.
		s := open(t, dir, "", dim, vector.Dot)
		if _, err := s.Repair(ctx); err != nil {
			t.Fatalf("round %d: repair after the kill: %v", round, err)
		}
		if got, _ := os.ReadFile(log); !bytes.Equal(got, repaired) {
			t.Fatalf("round %d: repair after the kill", round)
		}
		if info, err := s.Describe(ctx); err != nil || info.Count != 70000-1000 || len(info.Notes) != 0 {
			t.Fatalf("round %d: %+v %v", round, info, err)
		}
		// The killed process's temporary file, if any, was swept.
		es, _ = os.ReadDir(dir)
		for _, e := range es {
			if n := e.Name(); n != "vectors.lock" && n != "vectors.log" && !strings.HasPrefix(n, "vectors.log.damaged-") {
				t.Fatalf("round %d: %s left in the folder", round, n)
			}
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

func crashRepair(dir string) {
	ctx := context.Background()
	s, err := filesystem.Open(ctx, filesystem.Options{Dir: dir, Dimension: 64, Metric: vector.Dot})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("repairing")
	if _, err := s.Repair(ctx); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("repaired")
	time.Sleep(time.Minute) // wait for the kill
}
