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
// terminal is in raw mode throughout, its background colour is asked once (when allowed) without
// waiting for the answer, and every key typed since the session started is read exactly once,
// in order, by whoever reads the Session (one Bubble Tea program for the whole command, not
// one per question). The terminal's answers are recognised among the keys and taken out.
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
	onAnswer func(dark bool)
}

// Start begins a session on the terminal in (keys) and out (where the query goes). When ask is
// set (the caller's business: pass false with NO_COLOR, --no-color or TERM=dumb, and see
// [Allowed]), it asks the background colour and returns at once, without waiting for the
// answer: the answer is taken out of the keys whenever it comes, and Lip Gloss told then (see
// OnAnswer to redraw). A terminal that never answers costs nothing. Close ends the session and
// restores the terminal.
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
	// Keys typed before raw mode, already waiting: take them now, with their Enter mapped back
	// from cooked mode's newline (ICRNL).
	buf := make([]byte, 4096)
	for readable(fd, -1, 0) {
		n, err := unix.Read(fd, buf)
		if n <= 0 || err != nil {
			break
		}
		s.ready = append(s.ready, bytes.ReplaceAll(buf[:n], []byte("\n"), []byte("\r"))...)
	}
	if ask && foreground(fd) {
		asked := false
		detectOnce.Do(func() { asked = true })
		if asked {
			if _, err := io.WriteString(out, query); err == nil {
				s.wantOSC, s.wantCPR = true, true
			}
		} else {
			// Detect asked already: the answer is in Lip Gloss; take the keys it kept.
			s.ready = append(TakePending(), s.ready...)
		}
	}
	return s, nil
}

// OnAnswer calls f when the terminal tells its background colour (at once if it has already):
// a program drawn before the answer can redraw in the right colours.
func (s *Session) OnAnswer(f func(dark bool)) {
	s.mu.Lock()
	s.onAnswer = f
	answered, dark := s.answered, s.dark
	s.mu.Unlock()
	if answered && f != nil {
		f(dark)
	}
}

// Answered reports whether the terminal has said its background colour so far.
func (s *Session) Answered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered
}

// Dark reports whether the background is dark (true while the terminal has not said).
func (s *Session) Dark() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.answered || s.dark
}

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
		var tell func(bool)
		dark := false
		if s.wantOSC || s.wantCPR {
			st := strip(data, s.wantOSC, s.wantCPR)
			if st.osc {
				s.answered, s.dark = true, st.dark
				tell, dark = s.onAnswer, st.dark
				lipgloss.SetHasDarkBackground(st.dark)
			}
			s.wantOSC = s.wantOSC && !st.osc && !st.cpr // the colour comes before the cursor, or never
			s.wantCPR = s.wantCPR && !st.cpr
			data, s.held = st.out, st.held
		}
		s.ready = append(s.ready, data...)
		s.mu.Unlock()
		if tell != nil {
			tell(dark)
		}
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
