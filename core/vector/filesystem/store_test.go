package filesystem_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/core/vector/filesystem"
	"compozy.dev/setup/core/vector/vectortest"
)

func open(t testing.TB, dir, name string, dim int, m vector.Metric) *filesystem.Store {
	t.Helper()
	s, err := filesystem.Open(context.Background(), filesystem.Options{Entry: "main", Dir: dir, Name: name, Dimension: dim, Metric: m})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vectors")
	vectortest.Run(t, func(t *testing.T, name string, dim int, m vector.Metric) vector.Store {
		return open(t, dir, name, dim, m)
	}, vectortest.Options{})
}

func TestPermissionsAndReopen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a", "vectors")
	s := open(t, dir, "", 3, vector.Euclid)
	if _, err := s.Health(ctx); !errors.Is(err, vector.ErrNotFound) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Health of a missing folder: %v", err)
	}
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{dir: 0o700, s.LogPath(): 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v, %v; want %04o", path, fi.Mode().Perm(), err, want)
		}
	}
	pts := []vector.Point{{ID: "x", Vector: []float32{1, 2, 3}, Payload: map[string]string{"k": "v"}}, {ID: "y", Vector: []float32{3, 2, 1}}}
	if err := s.Upsert(ctx, pts); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query(ctx, []float32{1, 2, 3}, 1); err == nil {
		t.Fatal("Query after Close succeeded")
	}
	fi, _ := os.Stat(filepath.Join(dir, filesystem.DefaultName+".lock"))
	if fi == nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v", fi)
	}
	r := open(t, dir, "", 3, vector.Euclid)
	got, err := r.Query(ctx, []float32{1, 2, 3}, 2)
	if err != nil || len(got) != 2 || got[0].ID != "x" || got[0].Score != 0 || got[0].Payload["k"] != "v" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	// Another metric on the same files is refused, with the stored metric named.
	o := open(t, dir, "", 3, vector.Cosine)
	if err := o.Ensure(ctx); !errors.Is(err, vector.ErrInvalid) || !strings.Contains(err.Error(), "euclid") {
		t.Fatalf("Ensure with another metric: %v", err)
	}
}

// TestReaderSeesOtherWriter: two stores on one folder behave like two processes.
func TestReaderSeesOtherWriter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := open(t, dir, "", 2, vector.Dot)
	if err := w.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	r := open(t, dir, "", 2, vector.Dot)
	if got, err := r.Query(ctx, []float32{1, 0}, 5); err != nil || len(got) != 0 {
		t.Fatalf("empty: %+v %v", got, err)
	}
	for i := range 50 {
		if err := w.Upsert(ctx, []vector.Point{{ID: strconv.Itoa(i), Vector: []float32{float32(i), 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.Query(ctx, []float32{1, 0}, 1)
	if err != nil || len(got) != 1 || got[0].ID != "49" {
		t.Fatalf("reader after 50 writes: %+v %v", got, err)
	}
}

// TestCompaction: once superseded records outweigh live ones (and pass 4 MiB), the log is
// rewritten and renamed over the old one; a reader on the old file reloads it.
func TestCompaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const dim = 1024 // 4 KiB a vector
	w := open(t, dir, "", dim, vector.Euclid)
	if err := w.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	r := open(t, dir, "", dim, vector.Euclid)
	big := make([]vector.Point, 1200)
	for i := range big {
		v := make([]float32, dim)
		v[i%dim] = float32(i + 1)
		big[i] = vector.Point{ID: "big" + strconv.Itoa(i), Vector: v, Payload: map[string]string{"n": strconv.Itoa(i)}}
	}
	if err := w.Upsert(ctx, big); err != nil {
		t.Fatal(err)
	}
	if info, err := r.Describe(ctx); err != nil || info.Count != 1200 {
		t.Fatalf("reader before compaction: %+v %v", info, err)
	}
	before, _ := os.Stat(w.LogPath())
	if err := w.Upsert(ctx, big); err != nil { // supersedes every entry: 4.8 MiB dead
		t.Fatal(err)
	}
	after, _ := os.Stat(w.LogPath())
	if os.SameFile(before, after) || after.Size() > before.Size()+1024 {
		t.Fatalf("log not compacted: %d bytes before, %d after", before.Size(), after.Size())
	}
	ids := make([]string, 0, 1000)
	for i := range 1000 {
		ids = append(ids, big[i].ID)
	}
	if err := w.Delete(ctx, ids...); err != nil {
		t.Fatal(err)
	}
	info, err := r.Describe(ctx)
	if err != nil || info.Count != 200 {
		t.Fatalf("reader after compaction and deletes: %+v %v", info, err)
	}
	got, err := r.Query(ctx, big[1100].Vector, 1)
	if err != nil || len(got) != 1 || got[0].ID != "big1100" || got[0].Payload["n"] != "1100" || got[0].Score != 0 {
		t.Fatalf("query after compaction: %+v %v", got, err)
	}
	if fi, _ := os.Stat(w.LogPath()); fi.Mode().Perm() != 0o600 {
		t.Fatalf("compacted log mode %v", fi.Mode())
	}
	if es, err := os.ReadDir(dir); err != nil || len(es) != 2 || es[0].Name() != "vectors.lock" || es[1].Name() != "vectors.log" {
		t.Fatalf("files besides the log and its lock after compaction: %v %v", es, err)
	}
	reopened := open(t, dir, "", dim, vector.Euclid)
	if info, err := reopened.Describe(ctx); err != nil || info.Count != 200 {
		t.Fatalf("reopen after compaction: %+v %v", info, err)
	}
}

// TestTruncatedLogKeepsCommittedBatches builds a log batch by batch, noting the file size and
// the expected contents after each, then cuts copies of the log at many points (every batch
// boundary, next to them, at random) and flips bytes: each copy opens with exactly the batches
// that end before the cut, and the next write cuts the torn tail off.
func TestTruncatedLogKeepsCommittedBatches(t *testing.T) {
	ctx := context.Background()
	const dim = 32
	src := t.TempDir()
	s := open(t, src, "", dim, vector.Dot)
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 12))
	type snap struct {
		size int64
		want map[string][]float32
	}
	cur := map[string][]float32{}
	fi, _ := os.Stat(s.LogPath())
	snaps := []snap{{fi.Size(), map[string][]float32{}}}
	for b := range 12 {
		var pts []vector.Point
		n := 1 + r.IntN(40)
		if b == 5 {
			n = 5000 // > 1 MiB: several records in one batch
		}
		for range n {
			id := "id" + strconv.Itoa(r.IntN(6000))
			v := make([]float32, dim)
			for j := range v {
				v[j] = r.Float32()
			}
			pts = append(pts, vector.Point{ID: id, Vector: v})
		}
		pts = dedupe(pts)
		if b%4 == 3 {
			var del []string
			for id := range cur {
				if r.IntN(3) == 0 {
					del = append(del, id)
				}
			}
			if err := s.Delete(ctx, del...); err != nil {
				t.Fatal(err)
			}
			for _, id := range del {
				delete(cur, id)
			}
		} else {
			if err := s.Upsert(ctx, pts); err != nil {
				t.Fatal(err)
			}
			for _, p := range pts {
				cur[p.ID] = p.Vector
			}
		}
		fi, _ := os.Stat(s.LogPath())
		snaps = append(snaps, snap{fi.Size(), clone(cur)})
	}
	data, err := os.ReadFile(s.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	cuts := []int64{0, 10, 24, 25, 36, int64(len(data)) - 1}
	for _, sn := range snaps {
		cuts = append(cuts, sn.size, sn.size+1, sn.size-1, sn.size+13)
	}
	for range 40 {
		cuts = append(cuts, r.Int64N(int64(len(data))))
	}
	for _, cut := range cuts {
		if cut < 0 || cut > int64(len(data)) {
			continue
		}
		dir := t.TempDir()
		path := filepath.Join(dir, filesystem.DefaultName+".log")
		if err := os.WriteFile(path, data[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		st := open(t, dir, "", dim, vector.Dot)
		info, err := st.Describe(ctx)
		if cut < 24 {
			if !errors.Is(err, vector.ErrCorrupt) {
				t.Fatalf("cut at %d (inside the header): %v, want ErrCorrupt", cut, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		var want map[string][]float32
		for _, sn := range snaps {
			if sn.size <= cut {
				want = sn.want
			}
		}
		if info.Count != int64(len(want)) {
			t.Fatalf("cut at %d of %d: %d vectors, want %d", cut, len(data), info.Count, len(want))
		}
		verify(t, st, want, dim)
		// A flipped byte in the tail is treated like a cut there.
		if cut+30 < int64(len(data)) && cut%3 == 0 {
			bad := append([]byte(nil), data...)
			bad[cut+20] ^= 0xff
			dir2 := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir2, filesystem.DefaultName+".log"), bad[:cut+30], 0o600); err != nil {
				t.Fatal(err)
			}
			st2 := open(t, dir2, "", dim, vector.Dot)
			if info2, err := st2.Describe(ctx); err != nil || info2.Count > int64(len(cur))+6000 {
				t.Fatalf("flipped byte at %d: %+v %v", cut+20, info2, err)
			}
		}
		// The next write cuts the torn tail off and the result reopens cleanly.
		if err := st.Upsert(ctx, []vector.Point{{ID: "after", Vector: make([]float32, dim)}}); err != nil {
			t.Fatalf("write after cut at %d: %v", cut, err)
		}
		again := open(t, dir, "", dim, vector.Dot)
		info, err = again.Describe(ctx)
		if err != nil || len(info.Notes) != 0 || info.Count != int64(len(want))+btoi(want["after"] == nil) {
			t.Fatalf("reopen after write (cut %d): %+v %v", cut, info, err)
		}
	}
}

func btoi(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func dedupe(pts []vector.Point) []vector.Point {
	seen := map[string]int{}
	var out []vector.Point
	for _, p := range pts {
		if i, ok := seen[p.ID]; ok {
			out[i] = p
			continue
		}
		seen[p.ID] = len(out)
		out = append(out, p)
	}
	return out
}

func clone(m map[string][]float32) map[string][]float32 {
	c := make(map[string][]float32, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// verify checks up to 25 expected vectors: each is in the store, and its dot product with
// itself matches |v|^2, so its values survived the cut.
func verify(t *testing.T, s *filesystem.Store, want map[string][]float32, dim int) {
	t.Helper()
	ctx := context.Background()
	n := 0
	for id, v := range want {
		if n++; n > 25 {
			break
		}
		// Self dot product is not always the maximum; check the score against the stored value.
		got, err := s.Query(ctx, v, len(want))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range got {
			if m.ID == id {
				found = true
				var d float32
				for j := range v {
					d += v[j] * v[j]
				}
				if diff := m.Score - d; diff > 1e-3*d || diff < -1e-3*d {
					t.Fatalf("%s: self score %v, want %v", id, m.Score, d)
				}
			}
		}
		if !found {
			t.Fatalf("%s missing", id)
		}
	}
}

// TestKilledWriter kills a process in the middle of upserts; every batch it reported
// committed is intact, and the batch it was writing is there entirely or not at all.
func TestKilledWriter(t *testing.T) {
	if dir := os.Getenv("COMPOZY_VECTOR_CRASH_WRITER"); dir != "" {
		crashWriter(dir)
		return
	}
	dir := t.TempDir()
	const dim = 64
	ctx := context.Background()
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriter$")
		cmd.Env = append(os.Environ(), "COMPOZY_VECTOR_CRASH_WRITER="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		committed := -1
		killAfter := 3 + round*4
		for sc.Scan() {
			line := sc.Text()
			if b, ok := strings.CutPrefix(line, "committed "); ok {
				committed, _ = strconv.Atoi(b)
				if committed >= killAfter {
					// Kill it as soon as the next batch starts to reach the file: most often
					// between the batch's records, sometimes later.
					log := filepath.Join(dir, filesystem.DefaultName+".log")
					fi, _ := os.Stat(log)
					for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
						if now, err := os.Stat(log); err == nil && now.Size() > fi.Size() {
							break
						}
					}
					_ = cmd.Process.Signal(syscall.SIGKILL)
					break
				}
			}
		}
		_ = cmd.Wait()
		if committed < killAfter {
			t.Fatalf("round %d: writer reported %d batches before dying", round, committed)
		}
		s := open(t, dir, "", dim, vector.Euclid)
		info, err := s.Describe(ctx)
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		// What a kill leaves is a torn tail (a warning at most), never damage in the middle:
		// resynchronising must not take the interrupted batch for intact records behind damage.
		if r := dataCheck(t, s).Run(ctx); r.Status != vector.StatusPass && r.Status != vector.StatusWarn {
			t.Fatalf("round %d: data check after a kill: %+v", round, r)
		}
		total := 0
		for b := 0; ; b++ {
			pts := crashBatch(b, dim)
			present := 0
			for _, p := range []vector.Point{pts[0], pts[len(pts)/2], pts[len(pts)-1]} {
				g, err := s.Query(ctx, p.Vector, 1)
				if err != nil {
					t.Fatal(err)
				}
				if len(g) == 1 && g[0].ID == p.ID && g[0].Score == 0 {
					present++
				}
			}
			if b <= committed && present != 3 {
				t.Fatalf("round %d: committed batch %d lost (%d of 3 probes found)", round, b, present)
			}
			if present != 0 && present != 3 {
				t.Fatalf("round %d: batch %d is half there", round, b)
			}
			if present == 0 {
				break
			}
			total += len(pts)
		}
		if info.Count != int64(total) {
			t.Fatalf("round %d: %d vectors, but the complete batches hold %d", round, info.Count, total)
		}
		t.Logf("round %d: killed after %d reported batches; store holds %d vectors (%s)", round, committed+1, info.Count, strings.Join(info.Notes, "; "))
		_ = s.Close()
	}
	// What a killed writer leaves is cut off without a copy: only bytes that could be a damaged
	// committed record are kept.
	if es, _ := os.ReadDir(dir); len(es) != 2 {
		t.Fatalf("files besides the log and its lock: %v", es)
	}
}

// crashBatch is batch b of the killed writer: 4500+ points of 64 values (about 1.2 MB, so
// each batch spans records), IDs unique across batches.
func crashBatch(b, dim int) []vector.Point {
	r := rand.New(rand.NewPCG(uint64(b), 99))
	pts := make([]vector.Point, 4500+b*50)
	for i := range pts {
		v := make([]float32, dim)
		for j := range v {
			v[j] = r.Float32()*2 - 1
		}
		v[b%dim] += 40 // batches point in different directions
		v[(i*7)%dim] += 60
		pts[i] = vector.Point{ID: fmt.Sprintf("b%d-%d", b, i), Vector: v}
	}
	return pts
}

func crashWriter(dir string) {
	ctx := context.Background()
	s, err := filesystem.Open(ctx, filesystem.Options{Dir: dir, Dimension: 64, Metric: vector.Euclid})
	if err == nil {
		err = s.Ensure(ctx)
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	info, _ := s.Describe(ctx)
	// Skip the batches an earlier round committed (batches are all or nothing).
	start, held := 0, int64(0)
	for held+int64(len(crashBatch(start, 64))) <= info.Count {
		held += int64(len(crashBatch(start, 64)))
		start++
	}
	for b := start; b < 1000; b++ {
		if err := s.Upsert(ctx, crashBatch(b, 64)); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("committed", b)
	}
}
