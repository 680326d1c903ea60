// Package termbg keeps Bubble Tea v1 from stalling on a terminal that never answers, and asks
// the terminal its background colour without waiting long and without losing typed keys.
//
// Bubble Tea v1's package init asks the terminal for its background colour (OSC 11) and waits
// up to five seconds for the answer, in every command, even `compozy --version`. This package's
// init runs first and tells Lip Gloss the background is already known, so nothing is asked at
// start-up. A command that draws in colour asks later, once: [Detect] for a command that needs
// the answer before it draws (it waits at most [Timeout]; termenv's own query waits a fixed five
// seconds), [Start] for an interactive session that reads keys (it does not wait at all: the
// answer is taken out of the keys when it comes). Either way keys typed while the question was
// out are handed on, not swallowed.
//
// The ordering is guaranteed by the Go specification (since Go 1.21): packages are initialised
// in the order of their sorted import paths, as soon as their own imports are initialised. This
// package imports only Lip Gloss, termenv and the terminal packages below them, and the module
// path (compozy.dev/setup) sorts before github.com/charmbracelet/bubbletea, so this init runs
// before Bubble Tea's. A test checks that the built binary writes no query to a terminal.
package termbg

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"golang.org/x/sys/unix"
)

func init() {
	// Dark is what the query would default to when the terminal does not answer.
	lipgloss.SetHasDarkBackground(true)
}

// Timeout is how long a question to the terminal waits for its answer. A local terminal answers
// in well under a millisecond; one that has not answered by then is taken as one that never
// will (its late answer, if any, is recognised and dropped by a [Session]).
const Timeout = 100 * time.Millisecond

// query asks for the background colour (OSC 11) and then the cursor position (DSR): every
// terminal answers the second, so its answer ends the wait even when the first is not supported.
const query = "\x1b]11;?\x1b\\\x1b[6n"

// Allowed reports whether the terminal may be asked anything: not when colour is off
// (NO_COLOR), not on a dumb terminal, and not inside screen or tmux, which may be attached to
// several terminals at once (termenv's rule).
func Allowed(getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" {
		return false
	}
	t := getenv("TERM")
	return !strings.HasPrefix(t, "dumb") && !strings.HasPrefix(t, "screen") && !strings.HasPrefix(t, "tmux")
}

var (
	detectOnce sync.Once
	pendingMu  sync.Mutex
	pending    []byte
)

// Detect asks the terminal behind out for its background colour, at most once per process and
// for at most [Timeout], and tells Lip Gloss. Call it just before a Bubble Tea program or huh
// form starts, while nothing else reads the terminal. It does nothing unless out is a
// terminal in the foreground that may be asked ([Allowed]). Keys typed while it waited are kept:
// [TakePending] returns them.
func Detect(out io.Writer) {
	f, ok := out.(*os.File)
	if !ok || !Allowed(os.Getenv) {
		return
	}
	detectOnce.Do(func() {
		fd := int(f.Fd())
		if !foreground(fd) {
			return
		}
		old, err := term.MakeRaw(uintptr(fd))
		if err != nil {
			return
		}
		a := ask(fd, f, Timeout)
		_ = term.Restore(uintptr(fd), old)
		if a.osc {
			lipgloss.SetHasDarkBackground(a.dark)
		}
		pendingMu.Lock()
		pending = append(pending, a.rest...)
		pendingMu.Unlock()
	})
}

// TakePending returns, once, what [Detect] read from the terminal that was not its answer:
// keys typed while it waited. Prepend it to the program's input.
func TakePending() []byte {
	pendingMu.Lock()
	defer pendingMu.Unlock()
	p := pending
	pending = nil
	return p
}

// answer is what one question to the terminal brought back.
type answer struct {
	osc, cpr bool // which answers came
	dark     bool // the background, when osc
	rest     []byte
	held     []byte // the start of an answer still arriving when the time ran out
}

// ask writes the query to w and reads the answers from fd (a terminal in raw mode) for at most
// timeout. Everything read that is not an answer is kept in rest, in order.
func ask(fd int, w io.Writer, timeout time.Duration) answer {
	var a answer
	if _, err := io.WriteString(w, query); err != nil {
		return a
	}
	deadline := time.Now().Add(timeout)
	var got []byte
	buf := make([]byte, 1024)
	for !a.cpr {
		left := time.Until(deadline)
		if left <= 0 || !readable(fd, -1, left) {
			break
		}
		n, err := unix.Read(fd, buf)
		if n <= 0 || err != nil {
			break
		}
		got = append(got, buf[:n]...)
		s := strip(got, !a.osc, true)
		if s.osc {
			a.osc, a.dark = true, s.dark
		}
		a.cpr = s.cpr
		a.rest = append(a.rest, s.out...)
		got = s.held
	}
	a.held = got
	// Keys typed before the terminal left cooked mode went through its Enter mapping (ICRNL):
	// give them back as the Enter they were.
	a.rest = bytes.ReplaceAll(a.rest, []byte("\n"), []byte("\r"))
	return a
}

// stripped is what strip found.
type stripped struct {
	out      []byte // the bytes that are not answers
	osc, cpr bool   // an answer of each kind was found (and removed)
	dark     bool
	held     []byte // a tail that may be the start of an answer: keep it until more arrives
}

// strip removes from b the answer to OSC 11 (when wantOSC) and to DSR (a cursor position
// report, when wantCPR), each at most once. A lone Esc at the end is a key, not held.
func strip(b []byte, wantOSC, wantCPR bool) stripped {
	var s stripped
	for i := 0; i < len(b); {
		if b[i] != 0x1b || i+1 >= len(b) {
			s.out = append(s.out, b[i])
			i++
			continue
		}
		rest := b[i:]
		if wantOSC && !s.osc && rest[1] == ']' {
			const prefix = "\x1b]11;"
			if len(rest) < len(prefix) {
				if strings.HasPrefix(prefix, string(rest)) {
					s.held = rest
					return s
				}
			} else if string(rest[:len(prefix)]) == prefix {
				switch body, n := oscBody(rest[len(prefix):]); {
				case n == 0:
					s.held = rest
					return s
				case n > 0:
					s.osc, s.dark = true, isDark(body)
					i += len(prefix) + n
					continue
				}
			}
		}
		if wantCPR && !s.cpr && rest[1] == '[' {
			n, complete := cprLen(rest)
			if n > 0 && !complete {
				s.held = rest
				return s
			}
			if complete {
				s.cpr = true
				i += n
				continue
			}
		}
		s.out = append(s.out, b[i])
		i++
	}
	return s
}

// oscMax is longer than any colour report ("rgb:ffff/ffff/ffff" and a terminator).
const oscMax = 64

// oscBody returns the body of an OSC string up to its terminator (BEL or ST), and the length
// including the terminator: 0 when the terminator has not arrived yet, -1 when b is not a
// colour report (too long, or another escape sequence inside).
func oscBody(b []byte) (string, int) {
	for j := 0; j < len(b) && j < oscMax; j++ {
		switch {
		case b[j] == 0x07:
			return string(b[:j]), j + 1
		case b[j] == 0x1b && j+1 == len(b):
			return "", 0
		case b[j] == 0x1b && b[j+1] == '\\':
			return string(b[:j]), j + 2
		case b[j] == 0x1b:
			return "", -1
		}
	}
	if len(b) >= oscMax {
		return "", -1
	}
	return "", 0
}

// cprLen reports the length of a cursor position report (ESC [ row ; col R) at the start of b:
// (n, true) for a whole one; (n > 0, false) when b ends inside what may still become one; (0,
// false) when b does not start one.
func cprLen(b []byte) (int, bool) {
	j, digits, semis := 2, 0, 0
	for ; j < len(b); j++ {
		c := b[j]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == ';' && semis == 0 && digits > 0:
			semis++
		case c == 'R' && semis == 1 && b[j-1] != ';':
			return j + 1, true
		default:
			return 0, false
		}
	}
	return j, false
}

// isDark reads an "rgb:RRRR/GGGG/BBBB" colour (1 to 4 hex digits each) and says whether it is
// dark; anything it cannot read is taken as dark.
func isDark(body string) bool {
	spec, ok := strings.CutPrefix(body, "rgb:")
	if !ok {
		return true
	}
	parts := strings.Split(spec, "/")
	if len(parts) != 3 {
		return true
	}
	var c [3]float64
	for k, p := range parts {
		if len(p) == 0 || len(p) > 4 {
			return true
		}
		v, err := strconv.ParseUint(p, 16, 16)
		if err != nil {
			return true
		}
		c[k] = float64(v) / float64(uint64(1)<<(4*len(p))-1)
	}
	return 0.2126*c[0]+0.7152*c[1]+0.0722*c[2] < 0.5
}

// readable waits until fd (or wake, when >= 0) can be read, for at most d (forever when d < 0).
func readable(fd, wake int, d time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if wake >= 0 {
		fds = append(fds, unix.PollFd{Fd: int32(wake), Events: unix.POLLIN})
	}
	ms := -1
	if d >= 0 {
		ms = int((d + time.Millisecond - 1) / time.Millisecond)
	}
	deadline := time.Now().Add(d)
	for {
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) {
			if d >= 0 {
				if ms = int(time.Until(deadline) / time.Millisecond); ms <= 0 {
					return false
				}
			}
			continue
		}
		if err != nil || n <= 0 {
			return false
		}
		return fds[0].Revents != 0 && (wake < 0 || fds[1].Revents == 0)
	}
}

// foreground reports whether this process is in the terminal's foreground process group: a
// background process that changes the terminal's mode or writes a query is stopped (SIGTTOU).
// A variable, so that tests can use a terminal that is not their controlling one.
var foreground = func(fd int) bool {
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
