package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// Connect timeouts everywhere (issue 10, DESIGN.md section 9 "Bounded"): every command that
// reaches PostgreSQL, its child processes (pg_dump) included, gives up on a server that does not
// answer within the configured connect_timeout, says which host:port did not answer, and never
// shows the password. The tests run the real binary against a port that accepts connections and
// never answers, and against one whose accept queue is full (the SYN is dropped, as by a
// firewall), each command under a deadline so that a hang fails with a message instead of
// stalling the run.

// boundedDeadline is how long a command may run against a silent server: far above every
// connect_timeout used here (1 s in the config, the 5 s default for a URL), far below "hung".
const boundedDeadline = 30 * time.Second

// timeoutSecret is COMPOZY_DB_PASSWORD in these tests: no output may contain it.
const timeoutSecret = "Tm0-S3cr3t-9f2c"

// silentServer listens on 127.0.0.1, accepts every connection and never sends a byte. Accepted
// counts the connections so far.
type silentServer struct {
	Port     int
	accepted atomic.Int64
}

func startSilentServer(t *testing.T) *silentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentServer{Port: ln.Addr().(*net.TCPAddr).Port}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return s
}

// startFullBacklog returns a port on 127.0.0.1 whose listener never accepts and whose accept
// queue is full, so a new connection's SYN is dropped and connect() waits, as behind a firewall
// that drops packets. It skips the test where the queue does not fill (a kernel that answers
// with a reset or syncookies instead).
func startFullBacklog(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// Fill the queue: connections complete until it is full; the first one that does not
	// complete shows that the next SYN is dropped.
	for range 16 {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return port
			}
			t.Skipf("a full accept queue does not drop new connections here (%v); the black-hole variant needs Linux's behaviour", err)
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("the accept queue of a listener with backlog 0 did not fill after 16 connections; no black hole to test against")
	return 0
}

// closedPort is a port on 127.0.0.1 where nothing listens (connections are refused).
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// execBounded runs the binary like binRun under boundedDeadline; a command that does not end
// by then is an error saying it hung. It may run on any goroutine.
func execBounded(ctx context.Context, bin, dir string, env []string, args ...string) (cliRun, error) {
	ctx, cancel := context.WithTimeout(ctx, boundedDeadline)
	defer cancel()
	r, err := execBin(ctx, bin, dir, binIn{env: env}, args...)
	if ctx.Err() != nil {
		return r, fmt.Errorf("compozy %s did not end within %s against a server that never answers (hung)\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), boundedDeadline, r.out, r.errOut)
	}
	return r, err
}

// runBounded is execBounded on the test's goroutine, failing the test on a hang.
func runBounded(t *testing.T, bin, dir string, env []string, args ...string) cliRun {
	t.Helper()
	r, err := execBounded(t.Context(), bin, dir, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// silentConfig writes a compozy.yaml for PostgreSQL at 127.0.0.1:port with connect_timeout 1s
// and the password from COMPOZY_DB_PASSWORD into a new folder, and returns the folder.
func silentConfig(t *testing.T, port int) string {
	t.Helper()
	dir := t.TempDir()
	yaml := fmt.Sprintf(`database:
  driver: postgres
  host: 127.0.0.1
  port: %d
  user: app
  name: compozy
  password: ${COMPOZY_DB_PASSWORD}
  ssl_mode: disable
  connect_timeout: 1s
`, port)
	if err := os.WriteFile(filepath.Join(dir, "compozy.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// dirNames is the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// wantNoAnswer asserts that r failed, names where and says it got no answer, and shows no secret.
func wantNoAnswer(t *testing.T, r cliRun, where string, args string) {
	t.Helper()
	all := r.out + r.errOut
	if r.code == 0 {
		t.Errorf("compozy %s: exit 0 against a server that never answers\n%s", args, all)
	}
	if !strings.Contains(all, "no answer from "+where) {
		t.Errorf("compozy %s: the output does not say %q did not answer (exit %d):\n%s", args, where, r.code, all)
	}
	if strings.Contains(all, timeoutSecret) {
		t.Errorf("compozy %s: the password is in the output:\n%s", args, all)
	}
}

func TestTimeoutSilentServer(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	t.Run("accepts and never answers", func(t *testing.T) {
		t.Parallel()
		timeoutCommands(t, bin, startSilentServer(t).Port, true)
	})
	t.Run("never accepts", func(t *testing.T) {
		t.Parallel()
		timeoutCommands(t, bin, startFullBacklog(t), false)
	})
}

// boundedCase is one command run against the silent server and what its result must be.
type boundedCase struct {
	name string
	// dir is the folder it runs in; args its arguments.
	dir  string
	args []string
	// skip, when set, is why the case cannot run here.
	skip  string
	check func(t *testing.T, r cliRun)
}

// timeoutCommands runs every command that reaches the database against the server at
// 127.0.0.1:port, which never answers: it accepts the connection and stays silent, or (accepts
// false) never completes the TCP handshake. The commands run all at once (they mostly wait),
// then each result is checked in a subtest of its own.
func timeoutCommands(t *testing.T, bin string, port int, accepts bool) {
	where := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	env := []string{"COMPOZY_DB_PASSWORD=" + timeoutSecret}
	good := filepath.Join(t.TempDir(), "good.db")
	newSQLiteDB(t, good, "WAL", 0)
	// onlyConfig: the folder holds compozy.yaml alone afterwards (no dump, no database, no
	// temporary file); empty: the folder holds nothing.
	onlyConfig := func(t *testing.T, dir string) {
		t.Helper()
		if got := dirNames(t, dir); len(got) != 1 {
			t.Errorf("files left in the folder: %v", got)
		}
	}
	empty := func(t *testing.T, dir string) {
		t.Helper()
		if got := dirNames(t, dir); len(got) != 0 {
			t.Errorf("files left in the folder: %v", got)
		}
	}
	var cases []boundedCase

	// Commands with the config file (connect_timeout 1s), each in a folder of its own.
	for _, args := range [][]string{
		{"migrate", "status"},
		{"migrate", "status", "--check"},
		{"migrate", "up"},
		{"migrate", "version"},
		{"migrate", "diff"},
		{"migrate", "down", "--yes"},
		{"db", "copy", "--to", "./copy.db", "--yes"},
		{"db", "copy", "--from", good, "--to", "compozy.yaml", "--yes"},
		{"db", "bench", "--workflows", "1", "--duration", "200ms", "--warmup", "0s"},
	} {
		name := strings.Join(args, " ")
		if args[0] == "db" && args[1] == "copy" && args[2] == "--from" {
			name = "db copy --from SQLITE --to compozy.yaml"
		}
		dir := silentConfig(t, port)
		cases = append(cases, boundedCase{name: name, dir: dir, args: args, check: func(t *testing.T, r cliRun) {
			wantNoAnswer(t, r, where, name)
			if !strings.Contains(r.out+r.errOut, "within 1s") {
				t.Errorf("the message does not give the limit (connect_timeout 1s):\n%s%s", r.out, r.errOut)
			}
			onlyConfig(t, dir)
		}})
	}

	// pg_dump, a child process, gets the connect timeout too.
	noPgDump := ""
	if _, err := exec.LookPath("pg_dump"); err != nil {
		if testenv.InCI() {
			t.Fatalf("pg_dump is required in CI (apt-get install postgresql-client): %v", err)
		}
		noPgDump = fmt.Sprintf("pg_dump is not installed (%v); install postgresql-client", err)
	}
	for _, args := range [][]string{{"db", "backup"}, {"db", "backup", "--to", "x.dump", "--json"}} {
		dir := silentConfig(t, port)
		cases = append(cases, boundedCase{name: strings.Join(args, " "), dir: dir, args: args, skip: noPgDump,
			check: func(t *testing.T, r cliRun) {
				wantNoAnswer(t, r, where, strings.Join(args, " "))
				if !strings.Contains(r.out+r.errOut, "database.connect_timeout") {
					t.Errorf("the message does not name the setting:\n%s%s", r.out, r.errOut)
				}
				onlyConfig(t, dir)
			}})
	}

	// doctor's postgres.connect names the step: TCP for a server that never accepts,
	// PostgreSQL's startup for one that accepts and never answers.
	noAnswer := `(no answer from|TCP: connect to) ` + regexp.QuoteMeta(where)
	doctorDir := silentConfig(t, port)
	cases = append(cases, boundedCase{name: "doctor", dir: doctorDir, args: []string{"doctor"},
		check: func(t *testing.T, r cliRun) {
			if r.code == 0 || !strings.Contains(r.out, "FAIL") || !regexp.MustCompile(noAnswer).MatchString(r.out) {
				t.Errorf("doctor: exit %d, want a FAIL of postgres.connect naming %s\n%s%s", r.code, where, r.out, r.errOut)
			}
			if strings.Contains(r.out+r.errOut, timeoutSecret) {
				t.Errorf("doctor shows the password:\n%s%s", r.out, r.errOut)
			}
			onlyConfig(t, doctorDir)
		}})
	doctorJSONDir := silentConfig(t, port)
	cases = append(cases, boundedCase{name: "doctor --json", dir: doctorJSONDir, args: []string{"doctor", "--json"},
		check: func(t *testing.T, r cliRun) {
			expectCheck(t, parseDoctor(t, r), "postgres.connect", doctor.StatusFail, noAnswer)
			if strings.Contains(r.out+r.errOut, timeoutSecret) {
				t.Errorf("doctor --json shows the password:\n%s", r.out)
			}
			onlyConfig(t, doctorJSONDir)
		}})

	// A URL or keyword/value string has no config file: the field table's default
	// connect_timeout (5s) applies. With two hosts, the one that did not answer is named, not
	// the first one (which refuses).
	refused := closedPort(t)
	for _, tc := range []struct{ name, from, to string }{
		{"db copy --to URL", good, fmt.Sprintf("postgres://app@%s/compozy?sslmode=disable", where)},
		{"db copy --from keyword-value", fmt.Sprintf("host=127.0.0.1 port=%d user=app dbname=x sslmode=disable", port), "./new.db"},
		{"db copy --to URL with two hosts", good, fmt.Sprintf("postgres://app@127.0.0.1:%d,%s/compozy?sslmode=disable", refused, where)},
	} {
		dir := t.TempDir()
		cases = append(cases, boundedCase{name: tc.name, dir: dir, args: []string{"db", "copy", "--from", tc.from, "--to", tc.to, "--yes"},
			check: func(t *testing.T, r cliRun) {
				wantNoAnswer(t, r, where, tc.name)
				if bad := fmt.Sprintf("no answer from 127.0.0.1:%d", refused); strings.Contains(r.out+r.errOut, bad) {
					t.Errorf("the refusing host is named as the one that did not answer:\n%s%s", r.out, r.errOut)
				}
				if !strings.Contains(r.out+r.errOut, "within 5s") {
					t.Errorf("the message does not give the default limit (5s):\n%s%s", r.out, r.errOut)
				}
				empty(t, dir)
			}})
	}

	// config validate reads the file and nothing else (TestTimeoutConfigValidateConnectsNowhere
	// counts the connections): it ends at once, whatever the server does.
	cases = append(cases, boundedCase{name: "config validate", dir: silentConfig(t, port), args: []string{"config", "validate"},
		check: func(t *testing.T, r cliRun) {
			if r.code != 0 || strings.Contains(r.out+r.errOut, timeoutSecret) {
				t.Errorf("config validate: exit %d\n%s%s", r.code, r.out, r.errOut)
			}
		}})

	// init tests the connection before it writes (with the default 5s): bounded too, and
	// nothing is written. --dry-run writes nothing; where it tests, the test is bounded too.
	initFlags := []string{"init", "--db-driver", "postgres", "--db-host", "127.0.0.1", "--db-port", strconv.Itoa(port),
		"--vector-provider", "none", "--yes"}
	initDir, dryDir := t.TempDir(), t.TempDir()
	cases = append(cases,
		boundedCase{name: "init --dry-run", dir: dryDir, args: append(slices.Clone(initFlags), "--dry-run"),
			check: func(t *testing.T, r cliRun) {
				if r.code != 0 {
					wantNoAnswer(t, r, where, "init --dry-run")
				}
				if strings.Contains(r.out+r.errOut, timeoutSecret) {
					t.Errorf("init --dry-run shows the password:\n%s%s", r.out, r.errOut)
				}
				empty(t, dryDir)
			}},
		boundedCase{name: "init", dir: initDir, args: initFlags,
			check: func(t *testing.T, r cliRun) {
				wantNoAnswer(t, r, where, "init")
				empty(t, initDir)
			}})

	results := make([]cliRun, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		if c.skip != "" {
			continue
		}
		wg.Go(func() { results[i], errs[i] = execBounded(t.Context(), bin, c.dir, env, c.args...) })
	}
	wg.Wait()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skip != "" {
				t.Skip(c.skip)
			}
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			c.check(t, results[i])
		})
	}
}

// TestTimeoutConfigValidateConnectsNowhere: config validate with a config naming a server opens
// no connection to it.
func TestTimeoutConfigValidateConnectsNowhere(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	s := startSilentServer(t)
	dir := silentConfig(t, s.Port)
	r := runBounded(t, bin, dir, []string{"COMPOZY_DB_PASSWORD=" + timeoutSecret}, "config", "validate")
	if r.code != 0 || strings.Contains(r.out+r.errOut, timeoutSecret) {
		t.Errorf("config validate: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if n := s.accepted.Load(); n != 0 {
		t.Errorf("config validate opened %d connection(s) to the database server", n)
	}
}
