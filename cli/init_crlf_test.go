package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func toCRLF(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// crlfConfig is existingConfig with comment lines before the owned sections: each CRLF comment
// line once moved the YAML parser's positions down a line.
const crlfConfig = "# Written on Windows\n# a second comment line\n# a third\n\n" + existingConfig

// TestInitConfigCRLF, through the binary: a compozy.yaml with CRLF line breaks (and one with a
// BOM too) is updated by `init --update --yes` exactly as its LF twin (the result is the LF
// result written CRLF, the BOM kept; the backup is the original byte for byte), also when its
// only faults are in the sections init replaces; and `config validate --json` places its
// problems at the file's own lines.
func TestInitConfigCRLF(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	// update runs init --update on content in a new folder: the result, the backup, the output.
	update := func(t *testing.T, content string) (got, bak string, r cliRun) {
		t.Helper()
		dir := t.TempDir()
		path := filepath.Join(dir, "compozy.yaml")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		r = binRun(t, bin, dir, nil, "init", "--use-case", "dev", "--yes", "--update", "--skip-test")
		if r.code != 0 {
			t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
		}
		baks, _ := filepath.Glob(path + ".*.bak")
		if len(baks) != 1 {
			t.Fatalf("backups: %v", baks)
		}
		return readFile(t, path), readFile(t, baks[0]), r
	}
	for name, lf := range map[string]string{
		"valid": crlfConfig,
		// Faults only in what init replaces: accepted, as with LF.
		"invalid in database": strings.Replace(crlfConfig, "  host: old-host\n", "  host: old-host\n  port: abc\n  colour: red\n", 1),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, _, _ := update(t, lf)
			for _, bom := range []string{"", "\ufeff"} {
				orig := bom + toCRLF(lf)
				got, bak, r := update(t, orig)
				if w := bom + toCRLF(want); got != w {
					t.Errorf("bom %q: the updated file is not the LF result written CRLF:\n%q\nwant\n%q", bom, got, w)
				}
				if bak != orig {
					t.Errorf("bom %q: the backup differs from the original:\n%q", bom, bak)
				}
				if name != "valid" && !strings.Contains(r.out+r.errOut, "init replaces the sections at fault") {
					t.Errorf("bom %q: not said that the faults are replaced:\n%s%s", bom, r.out, r.errOut)
				}
			}
		})
	}

	t.Run("config validate", func(t *testing.T) {
		t.Parallel()
		// database.path (missing) at 7:11, database.colour at 8:3 and database.port at 9:9, after
		// four comment lines and a blank one.
		lf := "# one\n# two\n# three\n\ndatabase:\n  # the driver\n  driver: sqlite\n  colour: red\n  port: abc\n"
		type doc struct {
			Problems []struct {
				Key    string `json:"key"`
				Where  string `json:"where"`
				Line   int    `json:"line"`
				Column int    `json:"column"`
			} `json:"problems"`
		}
		for _, content := range []string{lf, toCRLF(lf), "\ufeff" + toCRLF(lf)} {
			dir := writeConfigFile(t, content)
			r := binRun(t, bin, dir, nil, "config", "validate", "--json")
			var d doc
			if err := json.Unmarshal([]byte(r.out), &d); err != nil || r.code != ExitUsage {
				t.Fatalf("%q: exit %d, %v\n%s%s", content[:8], r.code, err, r.out, r.errOut)
			}
			var where []string
			for _, p := range d.Problems {
				where = append(where, p.Key+" "+p.Where)
			}
			if got, want := strings.Join(where, ", "), "database.path compozy.yaml:7:11, database.colour compozy.yaml:8:3, database.port compozy.yaml:9:9"; got != want {
				t.Errorf("%q: problems at %s, want %s", content[:8], got, want)
			}
			text := binRun(t, bin, dir, nil, "config", "validate")
			if !strings.Contains(text.out+text.errOut, "compozy.yaml:9:9") {
				t.Errorf("%q: the text report does not say 9:9:\n%s%s", content[:8], text.out, text.errOut)
			}
		}
	})
}

// TestQuickstartCRLF, through the binary: quickstart adds database: to a CRLF file with a BOM
// as to its LF twin, in CRLF, and keeps the rest and the backup byte for byte.
func TestQuickstartCRLF(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	lf := "# my settings\n# written on Windows\nserver:\n  port: 5001 # keep\n\nknowledge:\n  embedder: openai # mine\n"
	run := func(content string) (string, string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "compozy.yaml")
		writeFile(t, path, content)
		if r := binRun(t, bin, dir, nil, "quickstart"); r.code != 0 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
		}
		baks, _ := filepath.Glob(path + ".*.bak")
		if len(baks) != 1 {
			t.Fatalf("backups: %v", baks)
		}
		return readFile(t, path), readFile(t, baks[0])
	}
	want, _ := run(lf)
	if !strings.Contains(want, "\ndatabase:\n") {
		t.Fatalf("no database: added:\n%s", want)
	}
	orig := "\ufeff" + toCRLF(lf)
	got, bak := run(orig)
	if w := "\ufeff" + toCRLF(want); got != w {
		t.Errorf("got\n%q\nwant (the LF result, CRLF)\n%q", got, w)
	}
	if bak != orig {
		t.Errorf("backup %q, want the original", bak)
	}
}
