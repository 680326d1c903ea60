//go:build linux

package sqlitefile

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Holder is another process that has the database (or its -shm, or its migration lock) open
// with a lock, from /proc/locks.
type Holder struct {
	PID int
	// Command is the process's command line (cut to 120 characters); "" when unreadable.
	Command string
	// Write is set when it holds a write lock (a writer, or a migration).
	Write bool
}

// String is "PID 1234 (compozy serve)".
func (h Holder) String() string {
	if h.Command == "" {
		return "PID " + strconv.Itoa(h.PID)
	}
	return fmt.Sprintf("PID %d (%s)", h.PID, h.Command)
}

// Holders lists the other processes that hold a lock on the database at path, its -shm file or
// the lock file lockPath (any of them may be ""), from /proc/locks matched by device and inode.
// Each process is listed once, Write set when any of its locks is a write lock.
func Holders(path, lockPath string) ([]Holder, error) {
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return nil, fmt.Errorf("read /proc/locks: %w", err)
	}
	ids := map[[2]uint64]bool{}
	for _, f := range []string{path, path + SHMSuffix, lockPath} {
		if f == "" {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(f, &st) == nil {
			ids[[2]uint64{uint64(unix.Major(uint64(st.Dev)))<<20 | uint64(unix.Minor(uint64(st.Dev))), st.Ino}] = true
		}
	}
	self := os.Getpid()
	byPID := map[int]*Holder{}
	var order []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] == "->" {
			continue
		}
		pid, _ := strconv.Atoi(f[4])
		parts := strings.Split(f[5], ":")
		if pid <= 0 || pid == self || len(parts) != 3 {
			continue
		}
		maj, _ := strconv.ParseUint(parts[0], 16, 32)
		minor, _ := strconv.ParseUint(parts[1], 16, 32)
		ino, _ := strconv.ParseUint(parts[2], 10, 64)
		if !ids[[2]uint64{maj<<20 | minor, ino}] {
			continue
		}
		h := byPID[pid]
		if h == nil {
			h = &Holder{PID: pid, Command: command(pid)}
			byPID[pid] = h
			order = append(order, pid)
		}
		h.Write = h.Write || f[3] == "WRITE"
	}
	out := make([]Holder, 0, len(order))
	for _, pid := range order {
		out = append(out, *byPID[pid])
	}
	return out, nil
}

func command(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	cmd := strings.TrimSpace(strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " "))
	if len(cmd) > 120 {
		cmd = cmd[:117] + "..."
	}
	return cmd
}
