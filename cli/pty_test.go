package cli

import (
	"bytes"
	"fmt"
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

// ptyScreen drives a binary in a pseudo-terminal and reads its screen through a terminal
// emulator. By default the emulator answers the program's terminal queries; a silent one
// never does (see ptyOpts). Every byte the program wrote is kept, to check what it asked.
type ptyScreen struct {
	t        *testing.T
	cmd      *exec.Cmd
	ptmx     *os.File
	emu      *vt.Emulator
	mu       sync.Mutex
	raw      bytes.Buffer
	changed  chan struct{}
	readDone chan struct{}
	// start is when the program was started.
	start time.Time
}

// ptyOpts shape the terminal: its size, its environment, and whether it answers queries.
type ptyOpts struct {
	cols, rows int
	// env is added to the environment (after TERM=xterm-256color NO_COLOR=1 LANG=C.UTF-8
	// CI=, so it can replace them; NO_COLOR= turns colour back on).
	env []string
	// silent makes a terminal that never answers a query (background colour, cursor
	// position): the emulator's replies are read and dropped, not sent back.
	silent bool
}

// startPTY runs bin in dir on a terminal shaped by o (by default 120x50, answering queries).
func startPTY(t *testing.T, dir, bin string, o ptyOpts, args ...string) *ptyScreen {
	t.Helper()
	if o.cols == 0 {
		o.cols, o.rows = 120, 50
	}
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(append([]string{"TERM=xterm-256color", "NO_COLOR=1", "LANG=C.UTF-8", "CI="}, o.env...)...)
	start := time.Now()
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(o.cols), Rows: uint16(o.rows)})
	if err != nil {
		t.Fatal(err)
	}
	s := &ptyScreen{t: t, cmd: cmd, ptmx: ptmx, emu: vt.NewEmulator(o.cols, o.rows), changed: make(chan struct{}, 1), readDone: make(chan struct{}), start: start}
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
		go func() { _, _ = io.Copy(io.Discard, s.emu) }() // read, so that the emulator never blocks, and dropped
	} else {
		go func() { _, _ = io.Copy(ptmx, s.emu) }() // the emulator's replies (OSC 11, CSI 6n) go back
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		ptmx.Close()
		_ = s.emu.InputPipe().(io.Closer).Close()
	})
	return s
}

// written is every byte the program wrote to the terminal so far.
func (s *ptyScreen) written() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}

// resize changes the terminal's size, as a user dragging the window does (SIGWINCH).
func (s *ptyScreen) resize(cols, rows int) {
	s.t.Helper()
	s.mu.Lock()
	s.emu.Resize(cols, rows)
	s.mu.Unlock()
	if err := pty.Setsize(s.ptmx, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		s.t.Fatal(err)
	}
}

// exit waits for the program to end and its output to be read, and returns its exit code.
func (s *ptyScreen) exit() int {
	s.t.Helper()
	_ = s.cmd.Wait()
	<-s.readDone
	return s.cmd.ProcessState.ExitCode()
}

// ended waits (at most 15 s) for the program to end by itself, and returns its exit code.
func (s *ptyScreen) ended(what string) int {
	s.t.Helper()
	select {
	case <-s.readDone:
	case <-time.After(15 * time.Second):
		s.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s.screen())
	}
	return s.exit()
}

// queries lists the terminal queries in what the program wrote: the background colour
// (OSC 11), the cursor position (DSR) and the device attributes (DA1).
func (s *ptyScreen) queries() []string {
	var found []string
	w := s.written()
	for _, q := range []string{"\x1b]11;?", "\x1b[6n", "\x1b[c", "\x1b[0c"} {
		if strings.Contains(w, q) {
			found = append(found, fmt.Sprintf("%q", q))
		}
	}
	return found
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

// wait waits (at most 15 s) for the program to end and returns its exit code, with the last
// screen.
func (s *ptyScreen) wait() (int, string) {
	s.t.Helper()
	return s.ended("the program to end"), s.screen()
}

// focus waits until question has the focus marker (huh's thick left border).
func (s *ptyScreen) focus(question string) string {
	s.t.Helper()
	return s.waitFor("focus on "+question, func(sc string) bool { return strings.Contains(sc, "┃ "+question) })
}

// step waits for question and answers it with keys.
func (s *ptyScreen) step(question, keys string) {
	s.t.Helper()
	s.focus(question)
	s.press(keys)
}

// paste sends text as a terminal pastes it (bracketed paste).
func (s *ptyScreen) paste(text string) { s.press("\x1b[200~" + text + "\x1b[201~") }
