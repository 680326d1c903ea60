package cli

import (
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
)

// ptyScreen drives a binary in a pseudo-terminal and reads its screen through a terminal
// emulator that answers the program's terminal queries.
type ptyScreen struct {
	t        *testing.T
	cmd      *exec.Cmd
	ptmx     interface{ Write([]byte) (int, error) }
	emu      *vt.Emulator
	mu       sync.Mutex
	changed  chan struct{}
	readDone chan struct{}
}

func startPTY(t *testing.T, dir, bin string, args ...string) *ptyScreen {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv("TERM=xterm-256color", "NO_COLOR=1", "LANG=C.UTF-8", "CI=")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 120, Rows: 50})
	if err != nil {
		t.Fatal(err)
	}
	s := &ptyScreen{t: t, cmd: cmd, ptmx: ptmx, emu: vt.NewEmulator(120, 50), changed: make(chan struct{}, 1), readDone: make(chan struct{})}
	go func() {
		defer close(s.readDone)
		buf := make([]byte, 64<<10)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				s.mu.Lock()
				_, _ = s.emu.Write(buf[:n])
				s.mu.Unlock()
				select {
				case s.changed <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { _, _ = io.Copy(ptmx, s.emu) }() // the emulator's replies (OSC 11, CSI 6n) go back
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		ptmx.Close()
		_ = s.emu.InputPipe().(io.Closer).Close()
	})
	return s
}

func (s *ptyScreen) screen() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimRight(s.emu.String(), "\n")
}

// waitFor re-checks the screen on every output chunk until ok or the deadline.
func (s *ptyScreen) waitFor(what string, ok func(string) bool) string {
	s.t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for {
		if sc := s.screen(); ok(sc) {
			return sc
		}
		select {
		case <-s.changed:
		case <-s.readDone:
			sc := s.screen()
			if !ok(sc) {
				s.t.Fatalf("program ended before %s; screen:\n%s", what, sc)
			}
			return sc
		case <-timer.C:
			s.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s.screen())
		}
	}
}

func (s *ptyScreen) press(k string) {
	s.t.Helper()
	if _, err := s.ptmx.Write([]byte(k)); err != nil {
		s.t.Fatal(err)
	}
}

// TestDoctorPane drives the real binary on a terminal: the checks settle, the cursor moves,
// Enter expands a warning's detail and fix, r re-runs, f offers the fix, q quits with the
// run's exit code and leaves the plain report in the terminal.
func TestDoctorPane(t *testing.T) {
	bin := buildCompozy(t)
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	chmod(t, db, 0o644) // sqlite.permissions warns, and --fix can repair it

	s := startPTY(t, dir, bin, "doctor")
	settled := func(sc string) bool {
		return strings.Contains(sc, "passed") && strings.Contains(sc, "1 warning") && !strings.Contains(sc, "checking…")
	}
	sc := s.waitFor("the checks to settle", settled)
	for _, want := range []string{"compozy doctor  Target: sqlite " + db, "Configuration", "SQLite", "✓ config.file", "! sqlite.permissions",
		"↑/k up · ↓/j down · enter details · r re-run · f fix · q quit"} {
		if !strings.Contains(sc, want) {
			t.Errorf("screen lacks %q:\n%s", want, sc)
		}
	}
	if !strings.Contains(sc, "> ✓ config.file") {
		t.Errorf("the cursor is not on the first check:\n%s", sc)
	}
	// Move to sqlite.permissions: count the rows above it.
	rows := 0
	for _, l := range strings.Split(sc, "\n") {
		if strings.Contains(l, "sqlite.permissions") {
			break
		}
		if strings.HasPrefix(strings.TrimLeft(l, "> "), "✓") || strings.HasPrefix(strings.TrimLeft(l, "> "), "!") {
			rows++
		}
	}
	for range rows - 1 {
		s.press("j")
	}
	s.press("\x1b[B") // the last move with the arrow key
	s.waitFor("the cursor on sqlite.permissions", func(sc string) bool { return strings.Contains(sc, "> ! sqlite.permissions") })
	s.press("\r")
	s.waitFor("the expanded fix", func(sc string) bool {
		return strings.Contains(sc, "Fix: make the database private") && strings.Contains(sc, "$ chmod 600 "+db)
	})
	s.press("r")
	s.waitFor("the re-run to settle", func(sc string) bool {
		return strings.Contains(sc, " · run 2") && settled(sc) && strings.Contains(sc, "$ chmod 600")
	})
	s.press("f")
	s.waitFor("the fix prompt", func(sc string) bool { return strings.Contains(sc, "Apply fix for sqlite.permissions: chmod 600 "+db) })
	s.press("y")
	s.waitFor("the fix applied and checked again", func(sc string) bool {
		return strings.Contains(sc, " · run 3") && strings.Contains(sc, "fixed sqlite.permissions") &&
			strings.Contains(sc, "✓ sqlite.permissions") && strings.Contains(sc, "No problems found.")
	})
	s.press("q")
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	<-s.readDone
	sc = s.screen()
	if !strings.Contains(sc, "✓ PASS  sqlite.permissions") {
		t.Errorf("the plain report is not left on the terminal:\n%s", sc)
	}

	// Ctrl-C leaves at once with 130; q on a failing run exits 1.
	writeFile(t, db, "garbage")
	for _, tc := range []struct {
		key  string
		code int
	}{{"\x03", 130}, {"q", 1}} {
		s := startPTY(t, dir, bin, "doctor")
		s.waitFor("the checks to settle", func(sc string) bool { return strings.Contains(sc, "Problems found.") })
		s.press(tc.key)
		_ = s.cmd.Wait()
		if got := s.cmd.ProcessState.ExitCode(); got != tc.code {
			t.Errorf("key %q: exit %d, want %d", tc.key, got, tc.code)
		}
	}
}
