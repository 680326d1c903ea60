//go:build linux

package checks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// lockEntry is one line of /proc/locks.
type lockEntry struct {
	kind       string // POSIX, FLOCK, OFDLCK
	write      bool
	pid        int
	dev, inode uint64
	start, end int64 // end -1 means EOF
}

// SQLite's lock bytes (see reference/sqlite-locks.md).
const (
	pendingByte  = 0x40000000
	reservedByte = pendingByte + 1
	walWriteByte = 120
	// A WAL reader holds one of the five read-mark locks, -shm bytes 123 to 127, for as long
	// as its read transaction lasts.
	walReadMark0 = 123
	walReadMarks = 5
)

// procLocks is Locks on Linux: /proc/locks matched against the files' device and inode.
type procLocks struct{}

// Holders finds other processes that hold SQLite's write lock on path, the migration lock
// file lockPath, or any other lock on the database.
func (procLocks) Holders(ctx context.Context, path, lockPath string) (LockHolders, error) {
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return LockHolders{}, fmt.Errorf("cannot read /proc/locks: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return LockHolders{}, err
	}
	entries := parseLocks(data)
	files := map[string]string{"db": path, "shm": path + "-shm", "lock": lockPath}
	ids := map[string][2]uint64{}
	for k, f := range files {
		var st syscall.Stat_t
		if syscall.Stat(f, &st) == nil {
			ids[k] = [2]uint64{uint64(st.Dev), st.Ino}
		}
	}
	self := os.Getpid()
	on := func(k string, e lockEntry) bool {
		id, ok := ids[k]
		return ok && e.inode == id[1] && devMatches(e.dev, id[0])
	}
	covers := func(e lockEntry, b int64) bool { return e.start <= b && (e.end < 0 || e.end >= b) }
	var h LockHolders
	readers, inTx := map[int]bool{}, map[int]bool{}
	for _, e := range entries {
		if e.pid == self || e.pid <= 0 {
			continue
		}
		switch {
		case on("shm", e) && e.write && covers(e, walWriteByte):
			h.Writers = append(h.Writers, describePID(e.pid))
		case on("db", e) && e.write && (covers(e, reservedByte) || covers(e, pendingByte)):
			h.Writers = append(h.Writers, describePID(e.pid))
		case on("lock", e) && e.write:
			h.Migrators = append(h.Migrators, describePID(e.pid))
		case on("shm", e) && !e.write && e.start < walReadMark0+walReadMarks && (e.end < 0 || e.end >= walReadMark0):
			inTx[e.pid] = true
			readers[e.pid] = true
		case on("db", e) || on("shm", e):
			readers[e.pid] = true
		}
	}
	for pid := range readers {
		h.Open = append(h.Open, describePID(pid))
	}
	for pid := range inTx {
		h.Readers = append(h.Readers, describePID(pid))
	}
	sort.Strings(h.Open)
	sort.Strings(h.Readers)
	return h, nil
}

// devMatches compares /proc/locks' MAJ:MIN with a stat device number.
func devMatches(procDev, statDev uint64) bool {
	return procDev == uint64(unix.Major(statDev))<<20|uint64(unix.Minor(statDev))
}

// parseLocks reads /proc/locks: "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF". Blocked
// waiters ("1: -> POSIX ...") are left out.
func parseLocks(data []byte) []lockEntry {
	var out []lockEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] == "->" {
			continue
		}
		e := lockEntry{kind: f[1], write: f[3] == "WRITE"}
		e.pid, _ = strconv.Atoi(f[4])
		parts := strings.Split(f[5], ":")
		if len(parts) != 3 {
			continue
		}
		maj, _ := strconv.ParseUint(parts[0], 16, 32)
		minor, _ := strconv.ParseUint(parts[1], 16, 32)
		e.dev = maj<<20 | minor
		e.inode, _ = strconv.ParseUint(parts[2], 10, 64)
		e.start, _ = strconv.ParseInt(f[6], 10, 64)
		if f[7] == "EOF" {
			e.end = -1
		} else {
			e.end, _ = strconv.ParseInt(f[7], 10, 64)
		}
		out = append(out, e)
	}
	return out
}

// describePID is "PID 1234 (sqlite3 /data/compozy.db)".
func describePID(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	cmd := strings.TrimSpace(strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " "))
	if err != nil || cmd == "" {
		return "PID " + strconv.Itoa(pid)
	}
	if len(cmd) > 120 {
		cmd = cmd[:117] + "..."
	}
	return fmt.Sprintf("PID %d (%s)", pid, redactArgs(cmd))
}
