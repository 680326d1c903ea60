package cli

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/vector"
	vfactory "compozy.dev/setup/core/vector/factory"
	"compozy.dev/setup/doctor"
)

// TestDoctorVecDamage: one flipped byte in the first record of the filesystem vector log,
// with 20 intact records behind it, through the real binary. doctor fails naming the damaged
// bytes and changes nothing; --fix --dry-run plans 20 kept and 1 lost and changes nothing;
// --fix --yes rewrites the log with the 20 intact records (byte for byte), keeps the damaged
// log unchanged as vectors.log.damaged-<UTC time>, and the doctor run after it passes; the 20
// vectors are still there and writes work again.
func TestDoctorVecDamage(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	ctx := t.Context()
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	entry := config.VectorDB{ID: "main", Provider: "filesystem", Path: filepath.Join(dir, "vectors"), Dimension: 8}
	logPath := filepath.Join(dir, "vectors", "vectors.log")

	// 21 one-point writes: one record each; note where each record starts.
	st, err := vfactory.Open(ctx, entry, vfactory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		fi, err := os.Stat(logPath)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	offs := []int64{size()}
	for i := range 21 {
		if err := st.Upsert(ctx, []vector.Point{vecPoint(i)}); err != nil {
			t.Fatal(err)
		}
		offs = append(offs, size())
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	clean, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(clean)
	damaged[offs[0]+20] ^= 0xff // inside the first record's body
	if err := os.WriteFile(logPath, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	damagedSum := sha256.Sum256(damaged)
	rng := fmt.Sprintf("bytes %d-%d", offs[0], offs[1]-1)

	// doctor: FAIL, naming the range and the intact records around it; nothing written.
	before := snapshot(t, filepath.Dir(logPath))
	r := binRun(t, bin, dir, nil, "doctor", "--json")
	d := parseDoctor(t, r)
	c := expectCheck(t, d, doctor.IDVectorFilesystemData, doctor.StatusFail,
		regexp.QuoteMeta(rng)+`.*0 intact records before it, 20 after`)
	if !c.Fixable || r.code != 1 || !strings.Contains(c.Fix.Text, "compozy doctor --fix") {
		t.Fatalf("fixable %v, exit %d, fix %+v\n%s", c.Fixable, r.code, c.Fix, r.out)
	}
	if !strings.Contains(c.Detail, "fails its checksum") || !strings.Contains(c.Detail, "writes are refused") {
		t.Errorf("detail: %s", c.Detail)
	}
	plan := fmt.Sprintf("keeping 20 intact records, losing 1 damaged record (%s)", rng)
	dry := binRun(t, bin, dir, nil, "doctor", "--fix", "--dry-run")
	if dry.code != 1 || !strings.Contains(dry.out, "vector.filesystem.data [main]: rewrite "+logPath+" "+plan) {
		t.Fatalf("dry run (exit %d):\n%s%s", dry.code, dry.out, dry.errOut)
	}
	if after := snapshot(t, filepath.Dir(logPath)); !maps.Equal(before, after) {
		t.Fatalf("doctor or --dry-run changed files:\nbefore %v\nafter  %v", before, after)
	}

	// --fix --yes: repaired, checked again, passes.
	fix := binRun(t, bin, dir, nil, "doctor", "--fix", "--yes")
	if !strings.Contains(fix.out, "Fixed vector.filesystem.data [main]: rewrite "+logPath+" "+plan) ||
		!rx(`✓ PASS\s+vector\.filesystem\.data \[main\]\s+20 vectors, every record's checksum verified; the damaged log of a repair is kept as vectors\.log\.damaged-\d{8}T\d{6}Z`).MatchString(fix.out) {
		t.Fatalf("--fix --yes (exit %d):\n%s%s", fix.code, fix.out, fix.errOut)
	}

	// The damaged log is kept byte for byte; the new log is the header and the 20 intact
	// records, byte for byte.
	es, err := os.ReadDir(filepath.Dir(logPath))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	if len(names) != 3 || names[0] != "vectors.lock" || names[1] != "vectors.log" || !rx(`^vectors\.log\.damaged-\d{8}T\d{6}Z$`).MatchString(names[2]) {
		t.Fatalf("vector folder holds %v", names)
	}
	kept, err := os.ReadFile(filepath.Join(filepath.Dir(logPath), names[2]))
	if err != nil || sha256.Sum256(kept) != damagedSum {
		t.Fatalf("the damaged log is not kept unchanged (%d bytes, %v)", len(kept), err)
	}
	repaired, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Clone(clean[:offs[0]]), clean[offs[1]:]...)
	if sha256.Sum256(repaired) != sha256.Sum256(want) {
		t.Fatalf("the new log (%d bytes) is not the header and the 20 intact records (%d bytes)", len(repaired), len(want))
	}
	if got := countRecords(t, repaired); got != 20 {
		t.Fatalf("the new log holds %d records, want 20", got)
	}
	for _, p := range []string{logPath, filepath.Join(filepath.Dir(logPath), names[2])} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, fi, err)
		}
	}

	next := binRun(t, bin, dir, nil, "doctor", "--json", "--only", "vector")
	expectCheck(t, parseDoctor(t, next), doctor.IDVectorFilesystemData, doctor.StatusPass, `^20 vectors`)
	if next.code != 0 {
		t.Errorf("doctor after the fix: exit %d\n%s", next.code, next.out)
	}

	// The 20 vectors are there, each with its payload, and the store takes writes again.
	st, err = vfactory.Open(ctx, entry, vfactory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Query(ctx, vecPoint(0).Vector, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got {
		if m.Payload["n"] != strings.TrimPrefix(m.ID, "doc-") {
			t.Errorf("%s has payload %v", m.ID, m.Payload)
		}
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	var wantIDs []string
	for i := 1; i < 21; i++ {
		wantIDs = append(wantIDs, vecPoint(i).ID)
	}
	if !slices.Equal(ids, wantIDs) {
		t.Fatalf("after the repair the store holds %v, want %v", ids, wantIDs)
	}
	if err := st.Upsert(ctx, []vector.Point{vecPoint(0)}); err != nil {
		t.Fatalf("write after the repair: %v", err)
	}
}

func vecPoint(i int) vector.Point {
	v := make([]float32, 8)
	v[i%8] = float32(i + 1)
	v[(i+3)%8] = 1
	return vector.Point{ID: fmt.Sprintf("doc-%02d", i), Vector: v, Payload: map[string]string{"n": fmt.Sprintf("%02d", i)}}
}

// countRecords walks the record headers of an intact log: a 24-byte file header, then
// records of a 12-byte header ("VREC", body length, checksum) and a body.
func countRecords(t *testing.T, data []byte) int {
	t.Helper()
	n, off := 0, 24
	for off+12 <= len(data) {
		if string(data[off:off+4]) != "VREC" {
			t.Fatalf("no record at offset %d", off)
		}
		off += 12 + int(uint32(data[off+4])|uint32(data[off+5])<<8|uint32(data[off+6])<<16|uint32(data[off+7])<<24)
		n++
	}
	if off != len(data) {
		t.Fatalf("records end at %d, the file at %d", off, len(data))
	}
	return n
}
