package termbg

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

func TestStrip(t *testing.T) {
	for _, tc := range []struct {
		name, in, out, held string
		osc, cpr, dark      bool
	}{
		{"answers with ST", "\x1b]11;rgb:ffff/ffff/ffff\x1b\\\x1b[24;1R", "", "", true, true, false},
		{"answers with BEL and keys around", "a\x1b]11;rgb:0000/0000/0000\x07b\x1b[3;7Rc", "abc", "", true, true, true},
		{"only the cursor (no OSC 11 support)", "\r\x1b[1;1R", "\r", "", false, true, false},
		{"an answer still arriving", "x\x1b]11;rgb:ff", "x", "\x1b]11;rgb:ff", false, false, false},
		{"a cursor report still arriving", "x\x1b[12;", "x", "\x1b[12;", false, false, false},
		{"keys only: arrows, Esc, Enter", "\x1b[A\x1b[B\r\x1b", "\x1b[A\x1b[B\r\x1b", "", false, false, false},
		{"shift-tab is not a report", "\x1b[Z", "\x1b[Z", "", false, false, false},
		{"2-digit colour", "\x1b]11;rgb:ee/ee/ee\x07", "", "", true, false, false},
	} {
		s := strip([]byte(tc.in), true, true)
		if string(s.out) != tc.out || string(s.held) != tc.held || s.osc != tc.osc || s.cpr != tc.cpr || (s.osc && s.dark != tc.dark) {
			t.Errorf("%s: out %q held %q osc %v cpr %v dark %v", tc.name, s.out, s.held, s.osc, s.cpr, s.dark)
		}
	}
	// Once found, an answer of the same kind is a key again.
	if s := strip([]byte("\x1b[2;2R"), true, false); string(s.out) != "\x1b[2;2R" {
		t.Errorf("not wanted: %q", s.out)
	}
}

func TestAllowed(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		env  func(string) string
		want bool
	}{
		{env("TERM", "xterm-256color"), true},
		{env("TERM", "xterm-256color", "NO_COLOR", "1"), false},
		{env("TERM", "dumb"), false},
		{env("TERM", "screen-256color"), false},
		{env("TERM", "tmux-256color"), false},
	} {
		if got := Allowed(tc.env); got != tc.want {
			t.Errorf("TERM=%s NO_COLOR=%s: %v", tc.env("TERM"), tc.env("NO_COLOR"), got)
		}
	}
}

// fakeTerm is a pseudo-terminal; the test plays the terminal on its master side.
func fakeTerm(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	old := foreground
	foreground = func(int) bool { return true }
	t.Cleanup(func() { foreground = old })
	detectOnce = sync.Once{}
	return m, s
}

// readSome reads what the session gives until want is there (or 5 s).
func readSome(t *testing.T, s *Session, want string) string {
	t.Helper()
	var got bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for !strings.Contains(got.String(), want) {
			n, err := s.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("read %q, want %q", got.String(), want)
	}
	return got.String()
}

// TestSessionAnswered: Start does not wait for the answer; when it comes among the keys it is
// taken out, Lip Gloss and OnAnswer are told, and the keys around it are read, in order.
func TestSessionAnswered(t *testing.T) {
	m, sl := fakeTerm(t)
	s, err := Start(sl, sl, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	told := make(chan bool, 1)
	s.OnAnswer(func(dark bool) { told <- dark })
	buf := make([]byte, 64)
	var q []byte
	for !bytes.Contains(q, []byte("\x1b[6n")) {
		n, err := m.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		q = append(q, buf[:n]...)
	}
	if !bytes.Contains(q, []byte("\x1b]11;?")) {
		t.Fatalf("query %q", q)
	}
	if _, err := m.Write([]byte("ab\x1b]11;rgb:ffff/ffff/ffff\x1b\\\x1b[5;1Rc")); err != nil {
		t.Fatal(err)
	}
	if got := readSome(t, s, "abc"); got != "abc" {
		t.Errorf("keys %q", got)
	}
	if !s.Answered() || s.Dark() {
		t.Errorf("answered %v dark %v", s.Answered(), s.Dark())
	}
	select {
	case dark := <-told:
		if dark {
			t.Error("told dark")
		}
	case <-time.After(time.Second):
		t.Error("OnAnswer was not called")
	}
}

// TestSessionSilent: a terminal that does not answer costs nothing; the keys typed before are
// read (Enter as Enter), and an answer that comes late is dropped, not read as keys.
func TestSessionSilent(t *testing.T) {
	m, sl := fakeTerm(t)
	if _, err := m.Write([]byte("x\r")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // let the line discipline take the keys
	go func() { _, _ = io.Copy(io.Discard, m) }()
	start := time.Now()
	s, err := Start(sl, sl, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a silent terminal cost %v", time.Since(start))
	defer s.Close()
	if s.Answered() || !s.Dark() {
		t.Errorf("answered %v", s.Answered())
	}
	if got := readSome(t, s, "x\r"); got != "x\r" {
		t.Errorf("keys typed before: %q", got)
	}
	if _, err := m.Write([]byte("\x1b]11;rgb:0000/0000/0000\x07\x1b[3;1Ry")); err != nil {
		t.Fatal(err)
	}
	if got := readSome(t, s, "y"); got != "y" {
		t.Errorf("after the late answer: %q", got)
	}
	done := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 8)); done <- err }()
	s.Close()
	if err := <-done; err != io.EOF {
		t.Errorf("Read after Close: %v", err)
	}
}

// TestSessionNotAsked: without asking (NO_COLOR, --no-color), nothing is written to the
// terminal, and keys typed before are read.
func TestSessionNotAsked(t *testing.T) {
	m, sl := fakeTerm(t)
	if _, err := m.Write([]byte("k")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // let the line discipline take the key
	s, err := Start(sl, sl, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := readSome(t, s, "k"); got != "k" {
		t.Errorf("keys %q", got)
	}
	_ = m.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	buf := make([]byte, 64)
	n, _ := m.Read(buf) // the echo of "k", typed while the terminal was cooked
	if bytes.Contains(buf[:n], []byte("\x1b]11;?")) || bytes.Contains(buf[:n], []byte("\x1b[6n")) {
		t.Errorf("the terminal was asked: %q", buf[:n])
	}
}
