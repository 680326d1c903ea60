package checks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/doctor"
)

// TestConfigCodeRoutes maps every config code to the doctor check that reports it. A new code
// fails here until it has a row: where a finding lands is decided by its code, on purpose.
func TestConfigCodeRoutes(t *testing.T) {
	const (
		file    = doctor.IDConfigFile
		keys    = doctor.IDConfigKeys
		vars    = doctor.IDConfigVars
		vector  = doctor.IDConfigVector
		secrets = doctor.IDConfigSecrets
		conc    = doctor.IDConfigConcurrency
		sqlite  = "" // reported by the SQLite checks, which read the setting from the database
	)
	want := map[config.Code]string{
		config.CodeFileNotFound:   file,
		config.CodeFileUnreadable: file,
		config.CodeFileTooLarge:   file,
		config.CodeFileTooDeep:    file,
		config.CodeYAMLSyntax:     file,
		config.CodeYAMLDocuments:  file,
		config.CodeYAMLTopLevel:   file,

		config.CodeKeyUnknown:     keys,
		config.CodeKeyDuplicate:   keys,
		config.CodeKeyInvalid:     keys,
		config.CodeKeyMerge:       keys,
		config.CodeKeyUnread:      keys,
		config.CodeKeyOtherDriver: keys,
		config.CodeKeyFlag:        keys,

		config.CodeValueType:      keys,
		config.CodeValueEnum:      keys,
		config.CodeValueRange:     keys,
		config.CodeValueRequired:  keys,
		config.CodeValueAlias:     keys,
		config.CodeValueReference: keys,

		config.CodeEnvUnset:           vars,
		config.CodeEnvFileConflict:    vars,
		config.CodeEnvShadowed:        keys,
		config.CodeEnvUnknown:         keys,
		config.CodeSecretFileInvalid:  vars,
		config.CodeSecretFileReadable: secrets,
		config.CodeSecretPlaintext:    secrets,
		config.CodeSecretCommandLine:  keys,
		config.CodePasswordConflict:   keys,

		config.CodePathReference: keys,
		config.CodePathURI:       keys,
		config.CodePathHome:      keys,

		config.CodeURLInvalid:         keys,
		config.CodeURLAmbiguous:       keys,
		config.CodeURLScheme:          keys,
		config.CodeURLHost:            keys,
		config.CodeConnStringInvalid:  keys,
		config.CodeConnStringConflict: keys,

		config.CodeVectorPgvectorSQLite: vector,
		config.CodeVectorMissing:        vector,
		config.CodeVectorDuplicateID:    keys,
		config.CodeVectorTooMany:        keys,

		config.CodeSQLiteJournalOff:  keys,
		config.CodeSQLiteJournalMode: sqlite,
		config.CodeSQLiteBusyTimeout: sqlite,
		config.CodeSQLiteConcurrency: conc,
		config.CodePoolIdleConns:     keys,

		config.CodeProblemsTruncated: file,
		config.CodeWarningsTruncated: keys,
	}
	// Messages that name other findings: none of them may move a finding.
	messages := []string{
		"",
		"reworded",
		"plaintext password in the config file",
		"environment variable X is not set",
		"pgvector provider is incompatible with SQLite driver",
		"malformed YAML: config file not found",
		"COMPOZY_DB_PASSWORD_FILE names a file; COMPOZY_DB_PASSWORD and COMPOZY_DB_PASSWORD_FILE are both set",
	}
	for _, info := range config.Codes() {
		c := info.Code
		w, ok := want[c]
		if !ok {
			t.Errorf("code %s has no row here: decide which config check reports it (configRoutes)", c)
			continue
		}
		delete(want, c)
		for _, msg := range messages {
			for _, key := range []string{"", "database.busy_timeout", "knowledge.vector_dbs", "runtime.max_concurrent_workflows"} {
				if info.Error {
					p := config.Problem{Code: c, Key: key, Message: msg}
					wantP := w
					if wantP == sqlite {
						wantP = keys // a problem is never left out
					}
					if got := problemKind(p); got != wantP {
						t.Errorf("problem %s (key %q, message %q): in %q, want %q", c, key, msg, got, wantP)
					}
				}
				if info.Warning {
					if got := warningKind(config.Warning{Code: c, Key: key, Message: msg}); got != w {
						t.Errorf("warning %s (key %q, message %q): in %q, want %q", c, key, msg, got, w)
					}
				}
			}
		}
	}
	for c := range want {
		t.Errorf("row for %s, which config.Codes does not list", c)
	}
}

// configStatuses runs the config checks and returns each one's status.
func configStatuses(cfg *config.Config, err error) map[string]doctor.Status {
	out := map[string]doctor.Status{}
	for _, c := range ConfigChecks(cfg, err) {
		out[c.ID] = c.Run(context.Background()).Status
	}
	return out
}

// reword gives every problem and warning of a load the message msg, and nothing else.
func reword(cfg *config.Config, err error, msg string) {
	var cerr *config.Error
	if errors.As(err, &cerr) {
		for i := range cerr.Problems {
			cerr.Problems[i].Message = msg
		}
	}
	if cfg != nil {
		for i := range cfg.Warnings {
			cfg.Warnings[i].Message = msg
		}
	}
}

// TestConfigChecksIgnoreWording loads real configurations and runs the config checks, then
// changes nothing but the messages of the problems and warnings and runs them again: every
// check keeps its status. The configurations put a finding into each config check, and two
// hold text that the old routing by wording misfiled.
func TestConfigChecksIgnoreWording(t *testing.T) {
	dir := t.TempDir()
	readable := filepath.Join(dir, "readable.yaml")
	env := map[string]string{"COMPOZY_DB_HOTS": "x"}
	getenv := func(k string) string { return env[k] }
	environ := func() []string { return []string{"COMPOZY_DB_HOTS=x"} }
	const ok, warn, fail = doctor.StatusPass, doctor.StatusWarn, doctor.StatusFail
	for _, tt := range []struct {
		name, yaml string
		mode       os.FileMode
		want       map[string]doctor.Status
	}{
		{name: "problems", yaml: "database:\n  driver: sqlite\n  path: x.db\n  colour: red\n  busy_timeout: ${NOT_SET_X}\n" +
			"knowledge:\n  vector_dbs:\n    - {id: p, provider: pgvector, dimension: 3}\n",
			want: map[string]doctor.Status{doctor.IDConfigFile: ok, doctor.IDConfigKeys: fail, doctor.IDConfigVars: fail,
				doctor.IDConfigVector: fail, doctor.IDConfigSecrets: doctor.StatusSkip, doctor.IDConfigConcurrency: doctor.StatusSkip}},
		{name: "syntax", yaml: "database: [\n",
			want: map[string]doctor.Status{doctor.IDConfigFile: fail, doctor.IDConfigKeys: doctor.StatusSkip}},
		// "yaml" in a value once sent this problem to config.file.
		{name: "a value that says yaml", yaml: "database:\n  driver: yaml\n",
			want: map[string]doctor.Status{doctor.IDConfigFile: ok, doctor.IDConfigKeys: fail}},
		{name: "warnings", yaml: "database:\n  driver: sqlite\n  path: x.db\nruntime:\n  max_concurrent_workflows: 500\n",
			want: map[string]doctor.Status{doctor.IDConfigFile: ok, doctor.IDConfigKeys: warn, doctor.IDConfigVars: ok,
				doctor.IDConfigVector: warn, doctor.IDConfigSecrets: ok, doctor.IDConfigConcurrency: warn}},
		{name: "plaintext password, file others read", yaml: "database:\n  password: hunter2\n  max_open_conns: 2\n  max_idle_conns: 5\n", mode: 0o644,
			want: map[string]doctor.Status{doctor.IDConfigKeys: warn, doctor.IDConfigSecrets: fail}},
		{name: "plaintext password, private file", yaml: "database:\n  password: hunter2\n", mode: 0o600,
			want: map[string]doctor.Status{doctor.IDConfigSecrets: warn}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mode := tt.mode
			if mode == 0 {
				mode = 0o600
			}
			if err := os.WriteFile(readable, []byte(tt.yaml), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(readable, mode); err != nil {
				t.Fatal(err)
			}
			load := func() (*config.Config, error) {
				data, err := os.ReadFile(readable)
				if err != nil {
					t.Fatal(err)
				}
				return config.LoadBytes(context.Background(), readable, data, config.LoadOptions{WorkDir: dir, Getenv: getenv, Environ: environ})
			}
			cfg, err := load()
			before := configStatuses(cfg, err)
			for id, w := range tt.want {
				if before[id] != w {
					t.Errorf("%s: %s, want %s", id, before[id], w)
				}
			}
			for _, msg := range []string{"reworded", "malformed YAML", "plaintext password in the config file", strings.Repeat("x", 300)} {
				cfg, err := load()
				reword(cfg, err, msg)
				after := configStatuses(cfg, err)
				for id, s := range before {
					if after[id] != s {
						t.Errorf("messages %q: %s is %s, was %s", msg, id, after[id], s)
					}
				}
			}
		})
	}
}
