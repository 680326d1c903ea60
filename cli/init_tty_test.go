package cli

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
)

// ttyOpts shape the terminal a test runs init in.
type ttyOpts struct {
	cols, rows int
	// env replaces the terminal's environment (default TERM=xterm-256color NO_COLOR=1).
	env []string
	// silent makes a terminal that never answers a query (background colour, cursor position):
	// the emulator's replies are dropped instead of being sent back.
	silent bool
}

// tty drives the binary in a pseudo-terminal and reads its screen through an emulator. Unlike
// startPTY (doctor_pty_test.go) it can be silent, any size, resized, and it keeps every byte
// the program wrote, to check what it asked the terminal.
type tty struct {
	t        *testing.T
	cmd      *exec.Cmd
	ptmx     *os.File
	emu      *vt.Emulator
	mu       sync.Mutex
	raw      bytes.Buffer
	changed  chan struct{}
	readDone chan struct{}
	start    time.Time
}

func startTTY(t *testing.T, dir, bin string, o ttyOpts, args ...string) *tty {
	t.Helper()
	if o.cols == 0 {
		o.cols, o.rows = 120, 50
	}
	if o.env == nil {
		o.env = []string{"TERM=xterm-256color", "NO_COLOR=1"}
	}
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(append([]string{"LANG=C.UTF-8", "CI="}, o.env...)...)
	s := &tty{t: t, cmd: cmd, emu: vt.NewEmulator(o.cols, o.rows), changed: make(chan struct{}, 1), readDone: make(chan struct{})}
	s.start = time.Now()
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(o.cols), Rows: uint16(o.rows)})
	if err != nil {
		t.Fatal(err)
	}
	s.ptmx = ptmx
	go func() {
		defer close(s.readDone)
		buf := make([]byte, 64<<10)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				s.mu.Lock()
				s.raw.Write(buf[:n])
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
	if o.silent {
		go func() { _, _ = io.Copy(io.Discard, s.emu) }() // read, so the emulator never blocks, and dropped
	} else {
		go func() { _, _ = io.Copy(ptmx, s.emu) }()
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		ptmx.Close()
		_ = s.emu.InputPipe().(io.Closer).Close()
	})
	return s
}

func (s *tty) screen() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimRight(s.emu.String(), "\n")
}

// written is every byte the program wrote to the terminal so far.
func (s *tty) written() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}

// waitFor re-checks the screen on every output chunk until ok or 10 s.
func (s *tty) waitFor(what string, ok func(string) bool) string {
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

// focus waits until question has the focus marker (huh's thick left border).
func (s *tty) focus(question string) string {
	s.t.Helper()
	return s.waitFor("focus on "+question, func(sc string) bool { return strings.Contains(sc, "┃ "+question) })
}

func (s *tty) press(k string) {
	s.t.Helper()
	if _, err := s.ptmx.Write([]byte(k)); err != nil {
		s.t.Fatal(err)
	}
}

// step waits for question and answers it with keys.
func (s *tty) step(question, keys string) {
	s.t.Helper()
	s.focus(question)
	s.press(keys)
}

// paste sends text as a terminal pastes it (bracketed paste).
func (s *tty) paste(text string) { s.press("\x1b[200~" + text + "\x1b[201~") }

func (s *tty) resize(cols, rows int) {
	s.t.Helper()
	s.mu.Lock()
	s.emu.Resize(cols, rows)
	s.mu.Unlock()
	if err := pty.Setsize(s.ptmx, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		s.t.Fatal(err)
	}
}

// wait waits for the program to end and returns its exit code, with the last screen.
func (s *tty) wait() (int, string) {
	s.t.Helper()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		s.t.Fatalf("the program did not end; screen:\n%s", s.screen())
	}
	<-s.readDone
	return s.cmd.ProcessState.ExitCode(), s.screen()
}

// emptyDir fails when dir holds anything: nothing was written.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files written: %v", names)
	}
}

// queries are what a program asks a terminal: background colour, cursor position.
var queries = []string{"\x1b]11;?", "\x1b[6n"}

func asked(out string) bool {
	for _, q := range queries {
		if strings.Contains(out, q) {
			return true
		}
	}
	return false
}
