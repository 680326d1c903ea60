package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// codeCase is a configuration that gives one code.
type codeCase struct {
	yaml  string
	env   []string
	flags []Override
	// load, when set, loads instead of loadFile (a missing or unreadable file).
	load func(t *testing.T) (*Config, error)
}

// codeCases returns, for every code, a configuration that gives it.
func codeCases(t *testing.T) map[Code]codeCase {
	readable := writeSecret(t, "pw\n", 0o644)
	var many, manyKeys strings.Builder
	many.WriteString("database:\n  driver: sqlite\n  path: x.db\nknowledge:\n  vector_dbs:\n")
	for i := range MaxVectorDBs + 1 {
		fmt.Fprintf(&many, "    - {id: v%d, provider: filesystem, path: v, dimension: 3}\n", i)
	}
	manyKeys.WriteString("database:\n")
	for i := range maxProblems + 5 {
		fmt.Fprintf(&manyKeys, "  nokey%d: 1\n", i)
	}
	var manyVars []string
	for i := range maxProblems + 5 {
		manyVars = append(manyVars, fmt.Sprintf("COMPOZY_DB_NOPE%d=1", i))
	}
	sqlite := "database:\n  driver: sqlite\n  path: x.db\n"
	vec := "knowledge:\n  vector_dbs:\n    - {id: main, provider: filesystem, path: v, dimension: 3}\n"
	return map[Code]codeCase{
		CodeFileNotFound: {load: func(t *testing.T) (*Config, error) {
			return Load(context.Background(), LoadOptions{WorkDir: t.TempDir(), File: "missing.yaml", FileRequired: true})
		}},
		CodeFileUnreadable: {load: func(t *testing.T) (*Config, error) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "folder.yaml"), 0o700); err != nil {
				t.Fatal(err)
			}
			return Load(context.Background(), LoadOptions{WorkDir: dir, File: "folder.yaml", FileRequired: true})
		}},
		CodeFileTooLarge:  {yaml: "# " + strings.Repeat("x", MaxFileSize) + "\n"},
		CodeFileTooDeep:   {yaml: strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + "\n"},
		CodeYAMLSyntax:    {yaml: "database: [\n"},
		CodeYAMLDocuments: {yaml: sqlite + "---\nother: 1\n"},
		CodeYAMLTopLevel:  {yaml: "- a\n- b\n"},

		CodeKeyUnknown:     {yaml: "database:\n  colour: red\n"},
		CodeKeyDuplicate:   {yaml: "database:\n  name: a\n  dbname: b\n"},
		CodeKeyInvalid:     {yaml: "database:\n  ~: c\n"},
		CodeKeyMerge:       {yaml: "base: &b {host: x}\ndatabase:\n  <<: *b\n"},
		CodeKeyUnread:      {yaml: "database:\n  driver: postgres\ndatabse:\n  driver: sqlite\n"},
		CodeKeyOtherDriver: {yaml: sqlite + "  host: db\n" + vec},
		CodeKeyFlag:        {flags: []Override{{Key: "database.nope", Name: "--db-nope", Value: "x"}}},

		CodeValueType:      {yaml: "database:\n  port: abc\n"},
		CodeValueEnum:      {yaml: "database:\n  driver: mysql\n"},
		CodeValueRange:     {yaml: "database:\n  port: 0\n"},
		CodeValueRequired:  {yaml: "database:\n  driver: sqlite\n"},
		CodeValueAlias:     {yaml: "database:\n  host: *nope\n"},
		CodeValueReference: {yaml: "database:\n  host: ${FOO\n"},

		CodeEnvUnset:           {yaml: "database:\n  host: ${NOT_SET_ANYWHERE}\n"},
		CodeEnvFileConflict:    {env: []string{"COMPOZY_DB_PASSWORD=a", "COMPOZY_DB_PASSWORD_FILE=" + readable}},
		CodeEnvShadowed:        {env: []string{"COMPOZY_DB_HOST=a", "DB_HOST=b"}},
		CodeEnvUnknown:         {env: []string{"COMPOZY_DB_HOTS=a"}},
		CodeSecretFileInvalid:  {env: []string{"COMPOZY_DB_PASSWORD_FILE=/nonexistent/secret"}},
		CodeSecretFileReadable: {env: []string{"COMPOZY_DB_PASSWORD_FILE=" + readable}},
		CodeSecretPlaintext:    {yaml: "database:\n  password: hunter2\n"},
		CodeSecretCommandLine:  {flags: []Override{{Key: "database.conn_string", Name: "--db-conn-string", Value: "postgres://u:pw@h/db"}}},
		CodePasswordConflict:   {yaml: "database:\n  password: ${A}\n", env: []string{"A=one", "COMPOZY_DB_PASSWORD=two"}},

		CodePathReference: {yaml: "database:\n  driver: sqlite\n  path: ./$${x}.db\n"},
		CodePathURI:       {yaml: "database:\n  driver: sqlite\n  path: file:x.db\n"},
		CodePathHome:      {yaml: "database:\n  driver: sqlite\n  path: ~/x.db\n"},

		CodeURLInvalid:         {yaml: "database:\n  conn_string: postgres://u:p%zz@h/db\n"},
		CodeURLAmbiguous:       {yaml: "database:\n  conn_string: postgres://u:p@ss@h/db\n"},
		CodeURLScheme:          {yaml: "database:\n  conn_string: mysql://h/db\n"},
		CodeURLHost:            {yaml: "knowledge:\n  vector_dbs:\n    - {id: q, provider: qdrant, url: \"http:///x\", dimension: 3}\n"},
		CodeConnStringInvalid:  {yaml: "database:\n  conn_string: just words\n"},
		CodeConnStringConflict: {yaml: "database:\n  conn_string: postgres://h/db\n  host: other\n"},

		CodeVectorPgvectorSQLite: {yaml: sqlite + "knowledge:\n  vector_dbs:\n    - {id: p, provider: pgvector, dimension: 3}\n"},
		CodeVectorMissing:        {yaml: sqlite},
		CodeVectorDuplicateID:    {yaml: "knowledge:\n  vector_dbs:\n    - {id: a, provider: filesystem, path: v, dimension: 3}\n    - {id: a, provider: filesystem, path: w, dimension: 3}\n"},
		CodeVectorTooMany:        {yaml: many.String()},

		CodeSQLiteJournalOff:  {yaml: sqlite + "  journal_mode: off\n" + vec},
		CodeSQLiteJournalMode: {yaml: sqlite + "  journal_mode: delete\n" + vec},
		CodeSQLiteBusyTimeout: {yaml: sqlite + "  busy_timeout: 0\n" + vec},
		CodeSQLiteConcurrency: {yaml: sqlite + vec + "runtime:\n  max_concurrent_workflows: 500\n"},
		CodePoolIdleConns:     {yaml: "database:\n  max_open_conns: 2\n  max_idle_conns: 5\n"},

		CodeProblemsTruncated: {yaml: manyKeys.String()},
		CodeWarningsTruncated: {env: manyVars},
	}
}

// TestEveryCodeHasACase: Codes lists each code once, in the documented form, and every code has
// a configuration that gives it, as a problem or a warning as Codes says.
func TestEveryCodeHasACase(t *testing.T) {
	cases := codeCases(t)
	form := regexp.MustCompile(`^[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*$`)
	seen := map[Code]bool{}
	for _, info := range Codes() {
		c := info.Code
		if seen[c] {
			t.Errorf("Codes lists %s twice", c)
		}
		seen[c] = true
		if !form.MatchString(string(c)) || info.Summary == "" || !info.Error && !info.Warning {
			t.Errorf("code %s: want the form group.kind, a summary, and error or warning", c)
		}
		tc, ok := cases[c]
		if !ok {
			t.Errorf("code %s has no case in codeCases", c)
			continue
		}
		t.Run(string(c), func(t *testing.T) {
			var cfg *Config
			var err error
			if tc.load != nil {
				cfg, err = tc.load(t)
				checkCodes(t, cfg, err)
			} else {
				cfg, err = loadFile(t, tc.yaml, tc.env, tc.flags...)
			}
			var got []string
			found := false
			var cerr *Error
			if errors.As(err, &cerr) {
				for _, p := range cerr.Problems {
					got = append(got, "error "+string(p.Code))
					found = found || p.Code == c && info.Error
				}
			} else if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg != nil {
				for _, w := range cfg.Warnings {
					got = append(got, "warning "+string(w.Code))
					found = found || w.Code == c && info.Warning
				}
			}
			if !found {
				t.Errorf("the case gives %v, not %s (%s)", got, c, info.Severity())
			}
		})
	}
	for c := range cases {
		if !seen[c] {
			t.Errorf("codeCases has %s, which Codes does not list", c)
		}
	}
}
