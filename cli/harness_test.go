package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"compozy.dev/setup/tui/term"
)

// cliRun is the outcome of one command line.
type cliRun struct {
	out, errOut string
	code        int
}

// cliIn is what an in-process run of the command line gets besides its folder and arguments.
type cliIn struct {
	// env is the whole environment the command sees.
	env []string
	// stdin is standard input (a pipe, not a terminal, unless tty says otherwise).
	stdin string
	// stdinTTY, stdoutTTY and stderrTTY make that stream a terminal.
	stdinTTY, stdoutTTY, stderrTTY bool
}

// runCLI runs args in dir the way Main does, with only env as environment, and returns what it
// printed and its exit code.
func runCLI(t *testing.T, dir string, env []string, args ...string) cliRun {
	t.Helper()
	return runCLIWith(t, dir, cliIn{env: env}, args...)
}

// runCLIWith is runCLI with standard input and terminals: the one in-process harness of this
// package. It runs the command tree as Main does (the error printed once, with the help of the
// command that ran), under a deadline.
func runCLIWith(t *testing.T, dir string, in cliIn, args ...string) cliRun {
	t.Helper()
	ios, stdin, out, errOut := term.Test()
	ios.WithEnv(in.env...)
	ios.SetTTY(in.stdinTTY, in.stdoutTTY, in.stderrTTY)
	stdin.WriteString(in.stdin)
	root := NewRootCmd(&Factory{IO: ios, workDir: dir})
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil {
		printErrorFor(ios.ErrOut, err, cmd.CommandPath())
	}
	return cliRun{out: out.String(), errOut: errOut.String(), code: exitCode(err)}
}

// testBinary is the compozy binary of this test run: built once, on first use, by
// buildCompozy, into a folder TestMain removes at the end.
var testBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testBinary.dir != "" {
		_ = os.RemoveAll(testBinary.dir)
	}
	os.Exit(code)
}

// buildCompozy returns the compozy binary built from this module, building it once per test
// run. The folder it is in can be read and run by every user (tests run it as nobody).
func buildCompozy(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	testBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "compozy-bin-")
		if err != nil {
			testBinary.err = err
			return
		}
		testBinary.dir = dir
		if err := os.Chmod(dir, 0o755); err != nil {
			testBinary.err = err
			return
		}
		bin := filepath.Join(dir, "compozy")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = filepath.Dir(filepath.Dir(file)) // the module root, above cli/
		if out, err := cmd.CombinedOutput(); err != nil {
			testBinary.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		testBinary.path = bin
	})
	if testBinary.err != nil {
		t.Fatal(testBinary.err)
	}
	return testBinary.path
}

// cleanEnv is the test process's environment without compozy's own variables, so that the
// binary sees only what the test gives it.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "COMPOZY_") || strings.HasPrefix(k, "DB_") || k == "NO_COLOR" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// binIn is what a run of the binary gets besides its folder and arguments.
type binIn struct {
	// env is added to the test's environment, from which cleanEnv took compozy's variables.
	env []string
	// stdin is standard input; empty: /dev/null.
	stdin string
	// cred runs the binary as another user (the test runs as root).
	cred *syscall.Credential
}

// execBin runs the binary bin in dir under ctx and returns what it printed and its exit code;
// err is set only when it could not run or did not end (not for an exit code). A child that
// holds the pipes (pg_dump) gets 5 s after the end before Wait gives up on it.
func execBin(ctx context.Context, bin, dir string, in binIn, args ...string) (cliRun, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, cleanEnv(in.env...)
	if in.stdin != "" {
		cmd.Stdin = strings.NewReader(in.stdin)
	}
	if in.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: in.cred}
	}
	cmd.WaitDelay = 5 * time.Second
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := cliRun{out: out.String(), errOut: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.code = ee.ExitCode()
	default:
		return r, fmt.Errorf("run compozy %v: %w", args, err)
	}
	return r, nil
}

// binRun runs the binary bin in dir and returns what it printed and its exit code.
func binRun(t *testing.T, bin, dir string, env []string, args ...string) cliRun {
	t.Helper()
	return binRunWith(t, bin, dir, binIn{env: env}, args...)
}

// binRunWith is binRun with standard input or as another user: the one harness for running
// the built binary.
func binRunWith(t *testing.T, bin, dir string, in binIn, args ...string) cliRun {
	t.Helper()
	r, err := execBin(t.Context(), bin, dir, in, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
