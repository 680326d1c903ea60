package config

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// crlfFile has what moved goccy/go-yaml's lines in a CRLF file: comment lines (each counted
// twice) and a quoted scalar broken over lines. Its problems and warnings are at known places.
const crlfFile = `# compozy.yaml, written on Windows
# a second comment line

name: "a title
  broken over two lines"   # not ours
database:
  # the database
  driver: postgres
  host: db.internal

  # the port
  port: sixty
  user: compozy
  password: plain-secret
knowledge:
  # vector stores
  vector_dbs:
    - id: main
      provider: qdrant
      url: http://qdrant:6333
      dimension: 1536
      metrik: cosine
runtime:
  max_concurrent_workflows: 300
`

// positions lists each problem and warning of a load as "code line:column message".
func positions(t *testing.T, data []byte) (probs, warns []string, cfg *Config) {
	t.Helper()
	getenv, environ := testEnv()
	cfg, err := LoadBytes(context.Background(), DefaultFile, data, LoadOptions{WorkDir: t.TempDir(), Getenv: getenv, Environ: environ})
	checkCodes(t, cfg, err)
	if err != nil {
		for _, p := range problems(t, err) {
			probs = append(probs, p.String())
		}
	}
	if cfg != nil {
		for _, w := range cfg.Warnings {
			warns = append(warns, w.String())
		}
	}
	return probs, warns, cfg
}

func TestLoadCRLFPositions(t *testing.T) {
	lf := []byte(crlfFile)
	wantProbs, wantWarns, _ := positions(t, lf)
	if len(wantProbs) == 0 {
		t.Fatal("the LF file loads; it should have problems")
	}
	// The places themselves, so that the LF run is checked too.
	for _, want := range []string{"compozy.yaml:12:9", "compozy.yaml:22:7"} {
		if !strings.Contains(strings.Join(append(wantProbs, wantWarns...), "\n"), want) {
			t.Errorf("no problem or warning at %s in\n%s\n%s", want, strings.Join(wantProbs, "\n"), strings.Join(wantWarns, "\n"))
		}
	}
	crlf := strings.ReplaceAll(crlfFile, "\n", "\r\n")
	for name, data := range map[string]string{
		"CRLF":     crlf,
		"BOM+CRLF": "\ufeff" + crlf,
		"BOM+LF":   "\ufeff" + crlfFile,
	} {
		t.Run(name, func(t *testing.T) {
			probs, warns, _ := positions(t, []byte(data))
			if !reflect.DeepEqual(probs, wantProbs) {
				t.Errorf("problems:\n%s\nwant (as in the LF file):\n%s", strings.Join(probs, "\n"), strings.Join(wantProbs, "\n"))
			}
			if !reflect.DeepEqual(warns, wantWarns) {
				t.Errorf("warnings:\n%s\nwant (as in the LF file):\n%s", strings.Join(warns, "\n"), strings.Join(wantWarns, "\n"))
			}
		})
	}
}

func TestLoadCRLFSourcesAndValues(t *testing.T) {
	valid := strings.Replace(strings.Replace(crlfFile, "port: sixty", "port: 6432", 1), "metrik:", "metric:", 1)
	_, _, want := positions(t, []byte(valid))
	if want == nil {
		t.Fatal("the LF file does not load")
	}
	if got, w := want.Sources["database.port"], (Source{Kind: SourceFile, File: DefaultFile, Line: 12, Column: 9}); got != w {
		t.Errorf("LF: source of database.port: got %+v, want %+v", got, w)
	}
	crlf := strings.ReplaceAll(valid, "\n", "\r\n")
	for name, data := range map[string]string{"CRLF": crlf, "BOM+CRLF": "\ufeff" + crlf} {
		t.Run(name, func(t *testing.T) {
			_, warns, cfg := positions(t, []byte(data))
			if cfg == nil {
				t.Fatal("does not load")
			}
			if !reflect.DeepEqual(cfg.Sources, want.Sources) {
				t.Errorf("sources:\n%v\nwant (as in the LF file):\n%v", cfg.Sources, want.Sources)
			}
			if !reflect.DeepEqual(cfg.Database, want.Database) || !reflect.DeepEqual(cfg.Knowledge, want.Knowledge) {
				t.Errorf("values differ from the LF file's:\n%+v\n%+v\nwant\n%+v\n%+v", cfg.Database, cfg.Knowledge, want.Database, want.Knowledge)
			}
			if len(warns) == 0 {
				t.Error("no warning (the plaintext password)")
			}
		})
	}
}

func TestLoadCRLFSyntaxErrorPosition(t *testing.T) {
	const bad = "# one\n# two\n# three\ndatabase:\n  driver: sqlite\n  path: [unclosed\n"
	want, _, _ := positions(t, []byte(bad))
	if len(want) != 1 || !strings.Contains(want[0], "compozy.yaml:6:") {
		t.Fatalf("LF: got %q, want one problem at line 6", want)
	}
	crlf := strings.ReplaceAll(bad, "\n", "\r\n")
	for _, data := range []string{crlf, "\ufeff" + crlf} {
		if got, _, _ := positions(t, []byte(data)); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %q, want %q", data[:8], got, want)
		}
	}
}

func TestParserInput(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"a: 1\n":                  "a: 1\n",
		"a: 1\r\nb: 2\r\n":        "a: 1\nb: 2\n",
		"\ufeffa: 1\r\n":          "a: 1\n",
		"\ufeffa: 1\n":            "a: 1\n",
		"a: 1\rb: 2\n":            "a: 1\rb: 2\n",     // a lone CR is left
		"a: \"x\ufeff\"\r\n":      "a: \"x\ufeff\"\n", // a BOM that does not lead stays
		"a: 1\r\n\r\n# c\r\nb: 2": "a: 1\n\n# c\nb: 2",
	} {
		in0 := []byte(in)
		if got := string(ParserInput(in0)); got != want {
			t.Errorf("ParserInput(%q) = %q, want %q", in, got, want)
		}
		if string(in0) != in {
			t.Errorf("ParserInput changed its input %q", in)
		}
	}
}
