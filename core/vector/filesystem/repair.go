package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/internal/shellquote"
)

// Damage in the middle of the log (a record that fails its checksum with intact records behind
// it) is never cut off: reads skip the damaged ranges and serve every intact record, writes are
// refused (an append is safe, but a store that silently lost records must be looked at first),
// and Repair rewrites the log with every intact record, keeping the damaged file beside it.

// damagedSuffix is the time format of the name the damaged log is kept under:
// NAME.log.damaged-20261205T101500Z.
const damagedSuffix = "20060102T150405Z"

// keptCopies returns the names of the copies of damaged bytes kept in the folder, oldest
// first: kind ".damaged-" for the logs repairs replaced, ".torn-" for the ends writes cut off.
func (s *Store) keptCopies(kind string) []string {
	es, err := os.ReadDir(s.dir)
	if err != nil {
		return nil
	}
	prefix := filepath.Base(s.logPath) + kind
	var out []string
	for _, e := range es {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out
}

// keepTorn copies the bytes after the last committed write to NAME.log.torn-<UTC time>
// (core/atomicfile) before a write cuts them off. The caller holds the writers' lock.
func (s *Store) keepTorn(st *state) error {
	f, err := os.Open(s.logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	base := s.logPath + ".torn-" + time.Now().UTC().Format(damagedSuffix)
	for i := 1; ; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		if _, err := os.Lstat(name); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return atomicfile.Write(name, 0o600, func(w io.Writer) error {
			_, err := io.Copy(w, io.NewSectionReader(f, st.committed, st.seen-st.committed))
			return err
		}, nil, atomicfile.OwnedLike(s.logPath))
	}
}

// describeDamage lists the byte ranges of ds, at most limit of them: "bytes 24-1083 (1060 bytes)".
func describeDamage(ds []damagedRange, limit int) string {
	var parts []string
	for i, d := range ds {
		if i == limit {
			parts = append(parts, fmt.Sprintf("and %d more", len(ds)-limit))
			break
		}
		parts = append(parts, fmt.Sprintf("bytes %d-%d (%d bytes)", d.from, d.to-1, d.to-d.from))
	}
	return strings.Join(parts, ", ")
}

// lostRecords estimates the records lost in ds.
func lostRecords(ds []damagedRange) int {
	n := 0
	for _, d := range ds {
		n += d.records
	}
	return n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// damageResult is the data check's failure for damage in the middle of the log.
func (s *Store) damageResult(ds []damagedRange, detail string) vector.Result {
	lost := lostRecords(ds)
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "bytes %d-%d (%d bytes, about %s): %s; %s intact before it, %d after it\n",
			d.from, d.to-1, d.to-d.from, plural(d.records, "record", "records"), d.why, plural(d.before, "record", "records"), d.after)
		if d.unsearched {
			b.WriteString("  not searched to its end for intact records: resynchronising gave up (its work is bounded)\n")
		}
	}
	b.WriteString("reads skip the damaged ranges; writes are refused so nothing behind them can be lost\n")
	b.WriteString(detail)
	summary := fmt.Sprintf("%s damaged in the middle of %s (%s); %s before it, %d after",
		plural(lost, "record", "records"), s.logPath, describeDamage(ds, 3), plural(ds[0].before, "intact record", "intact records"), ds[0].after)
	if len(ds) > 1 {
		summary = fmt.Sprintf("%s damaged in %d places in the middle of %s (%s)", plural(lost, "record", "records"), len(ds), s.logPath, describeDamage(ds, 3))
	}
	r := vector.Result{Status: vector.StatusFail, Summary: summary, Detail: b.String(), Fixable: true,
		Fix: vector.Fix{Text: fmt.Sprintf("`compozy doctor --fix` repairs it: it rewrites the log with every record whose checksum holds and keeps the damaged file beside it as %s.damaged-<UTC time>", s.logPath),
			Commands: []string{"compozy doctor --fix"}}}
	for _, d := range ds {
		if d.unsearched {
			r.Fixable = false
			r.Fix = vector.Fix{Text: "the damaged range was too costly to search for intact records; keep a copy of the log and re-index the knowledge base",
				Commands: []string{fmt.Sprintf("mv %s %s", shellquote.Quote(s.logPath), shellquote.Quote(s.logPath+".damaged"))}}
		}
	}
	return r
}

// damagedErr refuses a write to a log damaged in the middle.
func (s *Store) damagedErr(ctx context.Context, op string, st *state) error {
	e := s.fail(ctx, op, vector.ErrCorrupt, nil, fmt.Sprintf("%s is damaged in the middle (%s; %s lost, %d intact after the damage): nothing was written, and writes are refused until `compozy doctor --fix` rewrites it with every intact record",
		s.logPath, describeDamage(st.damage, 3), plural(lostRecords(st.damage), "record", "records"), st.damage[len(st.damage)-1].after))
	e.Fix = vector.Fix{Text: "`compozy doctor --fix` rewrites the log with every intact record and keeps the damaged file beside it",
		Commands: []string{"compozy doctor --fix"}}
	return e
}

// RepairReport says what Repair did, or what it would do.
type RepairReport struct {
	// Log is the data file.
	Log string
	// Damaged is where the damaged file was kept; "" when nothing was repaired (or for a plan).
	Damaged string
	// Ranges lists the damaged byte ranges, [from, to) each.
	Ranges [][2]int64
	// Kept is the number of records (checksum intact, committed) in the new log.
	Kept int
	// Lost estimates the records in the damaged ranges.
	Lost int
	// TailBytes is the size of an interrupted write at the end that is dropped too.
	TailBytes int64
	// Vectors is the number of vectors the store holds after the repair (-1 in a plan).
	Vectors int
}

// String is one line: what is kept, what is lost, where the damaged file goes.
func (r RepairReport) String() string {
	if len(r.Ranges) == 0 {
		return fmt.Sprintf("nothing to repair: %s has no damage in the middle (%s intact)", r.Log, plural(r.Kept, "record", "records"))
	}
	var rs []string
	for i, g := range r.Ranges {
		if i == 3 {
			rs = append(rs, fmt.Sprintf("and %d more", len(r.Ranges)-3))
			break
		}
		rs = append(rs, fmt.Sprintf("%d-%d", g[0], g[1]-1))
	}
	kept := r.Damaged
	if kept == "" {
		kept = r.Log + ".damaged-<UTC time>"
	}
	s := fmt.Sprintf("rewrite %s keeping %s, losing %s (bytes %s)", r.Log, plural(r.Kept, "intact record", "intact records"),
		plural(r.Lost, "damaged record", "damaged records"), strings.Join(rs, ", "))
	if r.TailBytes > 0 {
		s += fmt.Sprintf(" and the %d bytes of an interrupted write at the end", r.TailBytes)
	}
	s += "; the damaged file is kept as " + kept
	if r.Vectors >= 0 {
		s += fmt.Sprintf("; the store holds %s", plural(r.Vectors, "vector", "vectors"))
	}
	return s
}

func (s *Store) report(m *logMap) RepairReport {
	r := RepairReport{Log: s.logPath, Kept: m.intact(), TailBytes: m.size - m.committed, Vectors: -1}
	for _, d := range m.middle() {
		r.Ranges = append(r.Ranges, [2]int64{d.from, d.to})
		r.Lost += d.records
	}
	return r
}

// PlanRepair says what Repair would do. It only reads.
func (s *Store) PlanRepair(ctx context.Context) (RepairReport, error) {
	if err := ctx.Err(); err != nil {
		return RepairReport{}, s.osErr(ctx, "plan repair", err)
	}
	m, err := s.mapFile(s.logPath)
	if err != nil {
		return RepairReport{}, s.osErr(ctx, "plan repair", err)
	}
	return s.report(&m), nil
}

// Repair rewrites a log damaged in the middle: the new log holds the header and every
// committed record whose checksum holds, byte for byte and in their order (so later records
// still win when it is replayed); the damaged ranges and an interrupted write at the end are
// left out. The damaged file is kept beside it, unchanged, as NAME.log.damaged-<UTC time>
// before the new log takes its name (core/atomicfile: temporary file, sync, read back and
// checked, rename, folder sync), so a crash at any point leaves the damaged log under its name
// or the repaired one, and the damaged bytes are never deleted. A log without damage in the
// middle is left alone. Repair holds the writers' locks throughout.
func (s *Store) Repair(ctx context.Context) (RepairReport, error) {
	var rep RepairReport
	err := s.write(ctx, "repair", false, func(st *state) error {
		var err error
		rep, err = s.repairLocked(ctx, st)
		return err
	})
	return rep, err
}

func (s *Store) repairLocked(ctx context.Context, st *state) (RepairReport, error) {
	f, err := os.Open(s.logPath)
	if err != nil {
		return RepairReport{}, s.osErr(ctx, "repair: read log", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return RepairReport{}, s.osErr(ctx, "repair: read log", err)
	}
	hdr := make([]byte, headerSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return RepairReport{}, s.osErr(ctx, "repair: read log", err)
	}
	if _, _, err := decodeHeader(hdr); err != nil {
		return RepairReport{}, s.fail(ctx, "repair", vector.ErrCorrupt, err, s.logPath)
	}
	rr := &recordReader{r: f, size: fi.Size(), table: s.table}
	m := rr.mapLog(headerSize)
	rep := s.report(&m)
	rep.Vectors = len(st.ids)
	middle := m.middle()
	if len(middle) == 0 {
		return rep, nil
	}
	for _, d := range middle {
		if d.unsearched {
			e := s.fail(ctx, "repair", vector.ErrCorrupt, nil, fmt.Sprintf("%s: bytes %d-%d were not searched for intact records (the search is bounded); a rewrite could leave intact records out, so nothing was changed", s.logPath, d.from, d.to-1))
			e.Fix = vector.Fix{Text: "keep a copy of the log and re-index the knowledge base"}
			return rep, e
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, s.osErr(ctx, "repair", err)
	}
	damaged, err := s.keepDamaged(f, fi)
	if err != nil {
		return rep, s.osErr(ctx, "repair: keep the damaged log", err)
	}
	rep.Damaged = damaged
	want := int64(headerSize)
	write := func(w io.Writer) error {
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		for _, seg := range m.segs {
			if seg.from >= m.committed {
				break
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(seg.to, m.committed) - seg.from
			if _, err := io.Copy(w, io.NewSectionReader(f, seg.from, n)); err != nil {
				return err
			}
			want += n
		}
		return nil
	}
	check := func(tmp string) error {
		nm, err := s.mapFile(tmp)
		if err != nil {
			return err
		}
		if len(nm.damage) > 0 || nm.committed != nm.size || nm.size != want || nm.intact() != rep.Kept {
			return fmt.Errorf("the new log does not read back as written: %d of %d bytes, %d of %d records, %d damaged ranges",
				nm.size, want, nm.intact(), rep.Kept, len(nm.damage))
		}
		return nil
	}
	s.sweep()
	if err := atomicfile.Write(s.logPath, 0o600, write, check, atomicfile.OwnedLike(s.dir)); err != nil {
		// The log was not replaced; the kept copy is a second name for the same bytes.
		_ = os.Remove(damaged)
		rep.Damaged = ""
		return rep, s.osErr(ctx, "repair: write the new log", err)
	}
	if err := s.refreshLocked(ctx); err != nil {
		return rep, err
	}
	rep.Vectors = len(st.ids)
	return rep, nil
}

// keepDamaged gives the damaged log (open as f) a second name, NAME.log.damaged-<UTC time>:
// a hard link, so its bytes stay exactly as they were and cost no copy, or, where the file
// system has no hard links, a copy written with core/atomicfile. It returns the new name. The
// caller holds the writers' lock.
func (s *Store) keepDamaged(f *os.File, fi os.FileInfo) (string, error) {
	base := s.logPath + ".damaged-" + time.Now().UTC().Format(damagedSuffix)
	for i := 1; ; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		if _, err := os.Lstat(name); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		err := s.link(s.logPath, name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil {
			lfi, serr := os.Stat(name)
			if serr != nil || !os.SameFile(lfi, fi) {
				// The log was replaced after it was read: do not keep the wrong file.
				_ = os.Remove(name)
				return "", fmt.Errorf("%s changed while it was repaired; run the repair again", s.logPath)
			}
			return name, atomicfile.SyncDir(s.dir)
		}
		// No hard links here: copy the bytes that were read, under the name just found free.
		p, cerr := atomicfile.Create(name, 0o600, atomicfile.OwnedLike(s.logPath))
		if cerr != nil {
			return "", fmt.Errorf("link: %w; copy: %w", err, cerr)
		}
		werr := copyTo(p.Path, io.NewSectionReader(f, 0, fi.Size()))
		if werr == nil {
			werr = p.Commit()
		}
		p.Abort()
		if werr != nil {
			return "", fmt.Errorf("link: %w; copy: %w", err, werr)
		}
		return name, nil
	}
}

func copyTo(path string, r io.Reader) error {
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
