// Package term answers every terminal question in one place: where input and output go, whether
// they are terminals, whether we may prompt and whether colour is on. It imports no Bubble Tea, so
// commands and the wizard can use it without pulling in the TUI.
package term

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// IO holds the process's standard streams and what is known about them.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	noColor   bool
	// Getenv reads the environment; tests replace it.
	Getenv func(string) string
	// Environ lists the environment as KEY=VALUE pairs; tests replace it.
	Environ func() []string
}

// System returns the IO of the running process.
func System() *IO {
	return &IO{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTTY(os.Stdin),
		stdoutTTY: isTTY(os.Stdout),
		stderrTTY: isTTY(os.Stderr),
		noColor:   os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb",
		Getenv:    os.Getenv,
		Environ:   os.Environ,
	}
}

// Test returns an IO over buffers, with no terminal and an empty environment, plus the buffers.
func Test() (io *IO, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	env := map[string]string{}
	return &IO{
		In: in, Out: out, ErrOut: errOut, noColor: true,
		Getenv:  func(k string) string { return env[k] },
		Environ: func() []string { return nil },
	}, in, out, errOut
}

// WithEnv replaces the environment the IO reports with the given KEY=VALUE pairs.
func (s *IO) WithEnv(pairs ...string) *IO {
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		for i := 0; i < len(p); i++ {
			if p[i] == '=' {
				m[p[:i]] = p[i+1:]
				break
			}
		}
	}
	env := append([]string(nil), pairs...)
	s.Getenv = func(k string) string { return m[k] }
	s.Environ = func() []string { return env }
	return s
}

// SetTTY marks the streams as terminals or not; tests use it to exercise terminal paths.
func (s *IO) SetTTY(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// IsStdinTTY reports whether standard input is a terminal.
func (s *IO) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether standard output is a terminal.
func (s *IO) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *IO) IsStderrTTY() bool { return s.stderrTTY }

// CanPrompt reports whether interactive questions may be asked: both ends are terminals.
func (s *IO) CanPrompt() bool { return s.stdinTTY && s.stdoutTTY }

// ColorEnabled reports whether output to stdout may use colour.
func (s *IO) ColorEnabled() bool { return s.stdoutTTY && !s.noColor }

// SetNoColor turns colour off (the --no-color flag).
func (s *IO) SetNoColor(off bool) {
	if off {
		s.noColor = true
	}
}

func isTTY(f *os.File) bool {
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}
