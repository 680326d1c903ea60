//go:build linux

package backup_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/backup"
)

// TestPgDumpHelperProcess is not a test: TestPgDumpDiesWithCompozy runs the test binary with it
// as the compozy process whose pg_dump must not outlive it.
func TestPgDumpHelperProcess(t *testing.T) {
	if os.Getenv("COMPOZY_TEST_PGDUMP_HELPER") == "" {
		t.Skip("helper process only")
	}
	p, err := backup.NewPgDump(config.Database{Driver: config.DriverPostgres, ConnString: "postgres://u@127.0.0.1:1/db"}, os.Getenv("COMPOZY_TEST_PGDUMP_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = p.Run(context.Background())
}

// TestPgDumpDiesWithCompozy: when compozy is killed with -9 during a backup, pg_dump ends too
// (a trial found five pg_dump processes left running after five kills, each holding a snapshot
// and writing into a temporary file the next backup sweeps).
func TestPgDumpDiesWithCompozy(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pg_dump.pid")
	fake := "#!/bin/sh\necho $$ > " + pidFile + "\nexec sleep 60\n"
	if err := os.WriteFile(filepath.Join(dir, "pg_dump"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(os.Args[0], "-test.run=^TestPgDumpHelperProcess$")
	helper.Env = append(os.Environ(), "COMPOZY_TEST_PGDUMP_HELPER=1", "COMPOZY_TEST_PGDUMP_OUT="+filepath.Join(dir, "x.dump"),
		"PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	for deadline := time.Now().Add(20 * time.Second); pid == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = helper.Process.Kill()
			t.Fatal("the fake pg_dump did not start within 20s")
		}
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	if err := helper.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	for deadline := time.Now().Add(10 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("pg_dump (PID %d) still runs 10s after compozy was killed", pid)
		}
	}
}

// alive reports whether pid runs (a zombie no one has reaped yet has ended).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(after, "Z")
}
