package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/core/vector/qdrant/qdranttest"
)

// TestInitVectorURLSecrets: `compozy init --vector-url` with a password or an api_key writes the
// URL with a ${VAR} reference instead, uses the real secret for the connection test only, warns
// once that the command line shows it, and names the variable to set (also with --dry-run). The
// secret reaches no output and no file.
func TestInitVectorURLSecrets(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	const key = "Kq4Wd9Zr2Lx"
	// A fake Qdrant that answers only to the right API key.
	s := qdranttest.Start(t)
	s.SetAPIKey(key)
	init := func(url string, extra ...string) []string {
		return append([]string{"init", "--db-driver", "sqlite", "--vector-provider", "qdrant", "--vector-url", url, "--dimension", "8", "--yes"}, extra...)
	}
	noSecret := func(t *testing.T, r cliRun, dir string) {
		t.Helper()
		if strings.Contains(r.out, key) || strings.Contains(r.errOut, key) {
			t.Errorf("the output shows the key:\nstdout:\n%s\nstderr:\n%s", r.out, r.errOut)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && strings.Contains(string(b), key) {
				t.Errorf("%s holds the key:\n%s", e.Name(), b)
			}
		}
	}
	warnedOnce := func(t *testing.T, r cliRun, env string) {
		t.Helper()
		const warning = "warning: flag --vector-url: a password on the command line is visible to other users (ps) and kept in shell history"
		if n := strings.Count(r.errOut, warning); n != 1 {
			t.Errorf("the warning appears %d times, want once:\n%s", n, r.errOut)
		}
		if !strings.Contains(r.errOut, "set "+env+" to the secret the URL held") {
			t.Errorf("stderr does not name %s:\n%s", env, r.errOut)
		}
	}

	for _, tc := range []struct {
		name, url, env, written string
	}{
		{"api_key", s.URL() + "?api_key=" + key, "COMPOZY_VECTOR_API_KEY", s.URL() + "?api_key=${COMPOZY_VECTOR_API_KEY}"},
		{"password", "grpc://compozy:" + key + "@" + s.Addr, "COMPOZY_VECTOR_PASSWORD", "grpc://compozy:${COMPOZY_VECTOR_PASSWORD}@" + s.Addr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := binRun(t, bin, dir, nil, init(tc.url)...)
			if r.code != ExitOK {
				t.Fatalf("init: exit %d: the connection test did not get the key?\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
			}
			if !strings.Contains(r.out, `✓ vector DB "main" (qdrant)`) {
				t.Errorf("no passed connection test for the vector DB:\n%s", r.out)
			}
			written, err := os.ReadFile(filepath.Join(dir, "compozy.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(written), `url: "`+tc.written+`"`) ||
				!strings.Contains(string(written), "# The password is never written here: set "+tc.env+" in the environment.") {
				t.Errorf("compozy.yaml lacks the reference and the comment:\n%s", written)
			}
			if !strings.Contains(r.out, "(with "+tc.env+" set in the environment)") {
				t.Errorf("the final message does not name %s:\n%s", tc.env, r.out)
			}
			warnedOnce(t, r, tc.env)
			noSecret(t, r, dir)

			// The file reads the key from the variable: the doctor passes with it, and without
			// it says which variable to set.
			with := binRun(t, bin, dir, []string{tc.env + "=" + key}, "doctor", "--only", "vector")
			if with.code != ExitFailed && with.code != ExitOK || strings.Contains(with.out, "PermissionDenied") || strings.Contains(with.out, "Invalid api-key") {
				t.Errorf("doctor with %s set: exit %d:\n%s%s", tc.env, with.code, with.out, with.errOut)
			}
			without := binRun(t, bin, dir, nil, "config", "validate")
			if without.code != ExitUsage || !strings.Contains(without.errOut, "environment variable "+tc.env+" is not set") {
				t.Errorf("config validate without %s: exit %d:\n%s", tc.env, without.code, without.errOut)
			}
		})
	}

	t.Run("a wrong key fails the connection test and writes nothing", func(t *testing.T) {
		dir := t.TempDir()
		r := binRun(t, bin, dir, nil, init(s.URL()+"?api_key=wrong-"+key[:4])...)
		if r.code != ExitFailed || !strings.Contains(r.out, `✗ vector DB "main" (qdrant)`) {
			t.Errorf("exit %d, want %d and a failed vector DB test:\n%s%s", r.code, ExitFailed, r.out, r.errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "compozy.yaml")); err == nil {
			t.Errorf("compozy.yaml written after a failed test")
		}
	})

	t.Run("dry run", func(t *testing.T) {
		dir := t.TempDir()
		r := binRun(t, bin, dir, nil, init("http://compozy:"+key+"@127.0.0.1:6333", "--dry-run")...)
		if r.code != ExitOK {
			t.Fatalf("exit %d:\n%s%s", r.code, r.out, r.errOut)
		}
		for _, want := range []string{`url: "http://compozy:${COMPOZY_VECTOR_PASSWORD}@127.0.0.1:6333"`, "set COMPOZY_VECTOR_PASSWORD in the environment"} {
			if !strings.Contains(r.out, want) {
				t.Errorf("the YAML printed lacks %q:\n%s", want, r.out)
			}
		}
		warnedOnce(t, r, "COMPOZY_VECTOR_PASSWORD")
		noSecret(t, r, dir)
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("--dry-run wrote %v", entries)
		}
	})

	t.Run("a reference on the command line is kept and not warned about", func(t *testing.T) {
		dir := t.TempDir()
		r := binRun(t, bin, dir, []string{"COMPOZY_VECTOR_API_KEY=" + key}, init(s.URL()+"?api_key=${COMPOZY_VECTOR_API_KEY}")...)
		if r.code != ExitOK {
			t.Fatalf("exit %d:\n%s%s", r.code, r.out, r.errOut)
		}
		if strings.Contains(r.errOut, "visible to other users") {
			t.Errorf("warned about a reference:\n%s", r.errOut)
		}
		if !strings.Contains(r.out, "(with COMPOZY_VECTOR_API_KEY set in the environment)") {
			t.Errorf("the final message does not name the variable:\n%s", r.out)
		}
		noSecret(t, r, dir)
	})

	t.Run("a URL that does not parse is refused without quoting it", func(t *testing.T) {
		dir := t.TempDir()
		r := binRun(t, bin, dir, nil, init("redis://:"+key[:5]+"/"+key[5:]+"@127.0.0.1:6379")...)
		if r.code != ExitUsage || !strings.Contains(r.errOut, "--vector-url: not a valid URL") {
			t.Errorf("exit %d:\n%s", r.code, r.errOut)
		}
		if strings.Contains(r.errOut, key[:5]) || strings.Contains(r.errOut, key[5:]) {
			t.Errorf("the error quotes the password:\n%s", r.errOut)
		}
	})
}

// TestInitFormVectorURLSecret: a URL typed in the form (accessible mode) has its api_key moved
// out of the file the same way, and the connection test still gets the real key.
func TestInitFormVectorURLSecret(t *testing.T) {
	t.Parallel()
	const key = "Fm7Qp3Vz8Ns"
	s := qdranttest.Start(t)
	s.SetAPIKey(key)
	dir := t.TempDir()
	// dev, 1-10, vectors, no server, Qdrant, accept, path, the URL, dimension, write, do not run.
	r := runCLIWith(t, dir, cliIn{stdin: "1\n1\ny\nn\n1\ny\n\n" + s.URL() + "?api_key=" + key + "\n\ny\nn\n"}, "init", "--accessible")
	if r.code != ExitOK {
		t.Fatalf("exit %d: the connection test did not get the key?\n%s\n%s", r.code, r.out, r.errOut)
	}
	written := readFile(t, filepath.Join(dir, "compozy.yaml"))
	if strings.Contains(written, key) || !strings.Contains(written, `?api_key=${COMPOZY_VECTOR_API_KEY}"`) {
		t.Errorf("compozy.yaml:\n%s", written)
	}
	if !strings.Contains(r.out, "(with COMPOZY_VECTOR_API_KEY set in the environment)") {
		t.Errorf("the final message does not name the variable:\n%s", r.out)
	}
	if strings.Contains(r.out, key) || strings.Contains(r.errOut, key) {
		t.Errorf("the output shows the key:\n%s\n%s", r.out, r.errOut)
	}
}
