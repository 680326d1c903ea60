package termbg

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"golang.org/x/sys/unix"
)

// Session is the terminal of one interactive command, from its first question to its last: the
// terminal is in raw mode throughout, its background colour is asked once (when allowed), and
// every key typed since the session started is read exactly once, in order, by whoever reads
// the Session (one Bubble Tea program for the whole command, not one per question). An answer
// that arrives after [Timeout] is recognised and dropped instead of being read as keys.
//
// Give it to Bubble Tea with tea.WithInput: it is not an *os.File, so Bubble Tea leaves the
// terminal's mode to the Session.
type Session struct {
	fd    int
	old   *term.State
	wakeR int
	wakeW int

	mu      sync.Mutex
	closed  bool
	ready   []byte // read and filtered, not yet returned
	held    []byte // may be the start of a late answer
	wantOSC bool   // a late answer of each kind may still come
	wantCPR bool

	answered bool
	dark     bool
}

// Start begins a session on the terminal in (keys) and out (where the query goes). When ask is
// set and the terminal may be asked ([Allowed] is the caller's business: pass false with
// NO_COLOR, --no-color or TERM=dumb), it asks the background colour, waits at most [Timeout],
// and tells Lip Gloss. Close ends the session and restores the terminal.
func Start(in, out *os.File, ask bool) (*Session, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(uintptr(fd)) {
		return nil, errors.New("termbg: standard input is not a terminal")
	}
	old, err := term.MakeRaw(uintptr(fd))
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		_ = term.Restore(uintptr(fd), old)
		return nil, err
	}
	s := &Session{fd: fd, old: old, wakeR: p[0], wakeW: p[1]}
	if ask && foreground(fd) {
		a := askOnce(fd, out)
		s.answered, s.dark = a.osc, a.dark
		s.ready, s.held = a.rest, a.held
		// Not answered in time: the answers may still come, mixed with keys.
		s.wantOSC, s.wantCPR = !a.cpr && !a.osc, !a.cpr
		if a.osc {
			lipgloss.SetHasDarkBackground(a.dark)
		}
	} else {
		// Keys typed before raw mode, already waiting: read them now, with their Enter mapped
		// back from cooked mode's newline.
		buf := make([]byte, 4096)
		for readable(fd, -1, 0) {
			n, err := unix.Read(fd, buf)
			if n <= 0 || err != nil {
				break
			}
			s.ready = append(s.ready, bytes.ReplaceAll(buf[:n], []byte("\n"), []byte("\r"))...)
		}
	}
	return s, nil
}

// askOnce asks through Detect's once, so that a process asks at most one time.
func askOnce(fd int, out *os.File) answer {
	var a answer
	done := false
	detectOnce.Do(func() {
		a = ask(fd, out, Timeout)
		done = true
	})
	if !done {
		// Asked already (Detect): the answer is in Lip Gloss; only collect what Detect kept.
		a.cpr, a.rest = true, TakePending()
	}
	return a
}

// Answered reports whether the terminal said its background colour; Dark is the answer.
func (s *Session) Answered() bool { return s.answered }

// Dark reports whether the background is dark (true when the terminal did not say).
func (s *Session) Dark() bool { return !s.answered || s.dark }

// Read returns the keys typed, in order: first those read while the question was out, then the
// terminal's input as it comes. It returns io.EOF once the session is closed.
func (s *Session) Read(p []byte) (int, error) {
	buf := make([]byte, 4096)
	for {
		s.mu.Lock()
		if len(s.ready) > 0 {
			n := copy(p, s.ready)
			s.ready = s.ready[n:]
			s.mu.Unlock()
			return n, nil
		}
		if s.closed {
			s.mu.Unlock()
			return 0, io.EOF
		}
		s.mu.Unlock()
		if !readable(s.fd, s.wakeR, -1) {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return 0, io.EOF
			}
			continue
		}
		n, err := unix.Read(s.fd, buf)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if n <= 0 || err != nil {
			return 0, io.EOF // the terminal is gone (EIO once it hangs up)
		}
		s.mu.Lock()
		data := append(s.held, buf[:n]...)
		s.held = nil
		if s.wantOSC || s.wantCPR {
			st := strip(data, s.wantOSC, s.wantCPR)
			s.wantOSC = s.wantOSC && !st.osc
			s.wantCPR = s.wantCPR && !st.cpr
			data, s.held = st.out, st.held
		}
		s.ready = append(s.ready, data...)
		s.mu.Unlock()
	}
}

// Close ends the session: a Read in progress returns io.EOF, and the terminal gets back the
// mode it had. It is safe to call more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	_, _ = unix.Write(s.wakeW, []byte{0})
	err := term.Restore(uintptr(s.fd), s.old)
	// The wake pipe stays open: a Read may still be polling it. It goes with the process.
	return err
}
