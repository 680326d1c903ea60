// Package checks builds compozy doctor's concrete checks from a configuration: config, SQLite,
// PostgreSQL, migrations, the storage round trip and the vector databases. Every check only
// reads; changes wait for --fix (the Repair of a check).
package checks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/shellquote"
)

// info returns the registered Info of id; it panics on an unregistered ID (a programming error
// caught by the tests).
func info(id string) doctor.Info {
	in, ok := doctor.Lookup(id)
	if !ok {
		panic("doctor/checks: unregistered check " + id)
	}
	return in
}

func check(id string, run func(ctx context.Context) doctor.Result) doctor.Check {
	return doctor.Check{Info: info(id), Run: run}
}

// configRoutes names the config check that reports the problems and warnings of each code;
// codes not listed go to config.keys. "" means no config check reports it: the SQLite checks
// (sqlite.journal_mode, sqlite.busy_timeout) report the journal mode and busy timeout of the
// database they look at. Routing is by code only, so rewording a message never moves a finding
// to another check. docs/cli/config.md lists the routes (a test in cli keeps it so).
var configRoutes = map[config.Code]string{
	config.CodeFileNotFound:      doctor.IDConfigFile,
	config.CodeFileUnreadable:    doctor.IDConfigFile,
	config.CodeFileTooLarge:      doctor.IDConfigFile,
	config.CodeFileTooDeep:       doctor.IDConfigFile,
	config.CodeYAMLSyntax:        doctor.IDConfigFile,
	config.CodeYAMLDocuments:     doctor.IDConfigFile,
	config.CodeYAMLTopLevel:      doctor.IDConfigFile,
	config.CodeProblemsTruncated: doctor.IDConfigFile,

	config.CodeEnvUnset:          doctor.IDConfigVars,
	config.CodeEnvFileConflict:   doctor.IDConfigVars,
	config.CodeSecretFileInvalid: doctor.IDConfigVars,

	config.CodeVectorPgvectorSQLite: doctor.IDConfigVector,
	config.CodeVectorMissing:        doctor.IDConfigVector,

	config.CodeSecretPlaintext:    doctor.IDConfigSecrets,
	config.CodeSecretFileReadable: doctor.IDConfigSecrets,

	config.CodeSQLiteConcurrency: doctor.IDConfigConcurrency,

	config.CodeSQLiteBusyTimeout: "",
	config.CodeSQLiteJournalMode: "",
}

// ConfigCheckOf is the ID of the config check that reports the findings of code c: "" for a
// warning that the SQLite checks report instead (docs/cli/config.md lists them).
func ConfigCheckOf(c config.Code) string {
	if id, ok := configRoutes[c]; ok {
		return id
	}
	return doctor.IDConfigKeys
}

// problemKind sorts a config problem into the config check that reports it. A problem is
// never left out: with no config check of its own it fails config.keys.
func problemKind(p config.Problem) string {
	if id := ConfigCheckOf(p.Code); id != "" {
		return id
	}
	return doctor.IDConfigKeys
}

// warningKind sorts a config warning into the config check that reports it; "" when the
// SQLite checks report it.
func warningKind(w config.Warning) string { return ConfigCheckOf(w.Code) }

// ConfigChecks returns the config group. cfg is nil when loading failed with loadErr.
func ConfigChecks(cfg *config.Config, loadErr error) []doctor.Check {
	var problems []config.Problem
	var cfgErr *config.Error
	if errors.As(loadErr, &cfgErr) {
		problems = cfgErr.Problems
	}
	byKind := map[string][]config.Problem{}
	for _, p := range problems {
		k := problemKind(p)
		byKind[k] = append(byKind[k], p)
	}
	warnings := map[string][]config.Warning{}
	if cfg != nil {
		for _, w := range cfg.Warnings {
			if k := warningKind(w); k != "" {
				warnings[k] = append(warnings[k], w)
			}
		}
	}
	failProblems := func(ps []config.Problem, summary string) doctor.Result {
		var detail, fixes []string
		for _, p := range ps {
			detail = append(detail, config.Redact(p.Where()+": "+keyMsg(p.Key, p.Message)))
			if p.Fix != "" {
				fixes = append(fixes, p.Fix)
			}
		}
		if len(ps) == 1 {
			detail = nil // the summary says it all
		}
		return doctor.Fail(summary, strings.Join(detail, "\n"), doctor.Fix{Text: strings.Join(uniq(fixes), "\n")})
	}
	warnList := func(ws []config.Warning) doctor.Result {
		var detail, fixes []string
		for _, w := range ws {
			detail = append(detail, config.Redact(strings.TrimPrefix(w.Where()+": ", ": ")+keyMsg(w.Key, w.Message)))
			if w.Fix != "" {
				fixes = append(fixes, w.Fix)
			}
		}
		if len(ws) == 1 {
			detail = nil
			if w := ws[0].Where(); w != "" {
				detail = []string{"set by " + w}
			}
		}
		return doctor.Warn(config.Redact(ws[0].Message), strings.Join(detail, "\n"), doctor.Fix{Text: strings.Join(uniq(fixes), "\n")})
	}
	otherwise := func(kind, pass string) doctor.Result {
		if ps := byKind[kind]; len(ps) > 0 {
			return failProblems(ps, firstProblem(ps))
		}
		if loadErr != nil && cfg == nil {
			if cfgErr == nil {
				return doctor.Fail("cannot load the configuration", config.Redact(loadErr.Error()), doctor.Fix{})
			}
			return doctor.Skip("skipped: the configuration did not load")
		}
		if ws := warnings[kind]; len(ws) > 0 {
			return warnList(ws)
		}
		return doctor.Pass(pass)
	}

	fileCheck := check(doctor.IDConfigFile, func(context.Context) doctor.Result {
		if ps := byKind[doctor.IDConfigFile]; len(ps) > 0 {
			return failProblems(ps, firstProblem(ps))
		}
		if cfg == nil {
			if cfgErr == nil && loadErr != nil {
				return doctor.Fail("cannot load the configuration", config.Redact(loadErr.Error()), doctor.Fix{})
			}
			return doctor.Pass("the config file parsed; its values have problems (below)")
		}
		if cfg.File == "" {
			return doctor.Pass("no compozy.yaml: using defaults, the environment and flags")
		}
		return doctor.Pass("read " + cfg.File)
	})
	keys := check(doctor.IDConfigKeys, func(context.Context) doctor.Result {
		return otherwise(doctor.IDConfigKeys, "every database and vector DB key is valid")
	})
	vars := check(doctor.IDConfigVars, func(context.Context) doctor.Result {
		return otherwise(doctor.IDConfigVars, "every ${VAR} the config uses is set")
	})
	vec := check(doctor.IDConfigVector, func(context.Context) doctor.Result {
		pass := "driver and vector DBs fit together"
		if cfg != nil {
			pass = fmt.Sprintf("driver %s with %d vector DB(s)", cfg.Database.Driver, len(cfg.Knowledge.VectorDBs))
		}
		return otherwise(doctor.IDConfigVector, pass)
	})
	conc := check(doctor.IDConfigConcurrency, func(context.Context) doctor.Result {
		pass := "runtime.max_concurrent_workflows suits the driver"
		if cfg != nil && cfg.Runtime.MaxConcurrentWorkflows > 0 {
			pass = fmt.Sprintf("%d concurrent workflows with driver %s", cfg.Runtime.MaxConcurrentWorkflows, cfg.Database.Driver)
		}
		return otherwise(doctor.IDConfigConcurrency, pass)
	})
	secrets := check(doctor.IDConfigSecrets, func(context.Context) doctor.Result {
		if cfg == nil {
			return otherwise(doctor.IDConfigSecrets, "")
		}
		ws := warnings[doctor.IDConfigSecrets]
		if len(ws) == 0 {
			return doctor.Pass("no plaintext password in the config file")
		}
		r := warnList(ws)
		plaintext := false
		for _, w := range ws {
			plaintext = plaintext || w.Code == config.CodeSecretPlaintext
		}
		fi, err := os.Stat(cfg.File)
		if plaintext && err == nil && fi.Mode().Perm()&0o044 != 0 {
			r.Status = doctor.StatusFail
			r.Summary = fmt.Sprintf("plaintext password in %s, which others can read (mode %04o)", cfg.File, fi.Mode().Perm())
			r.Fix.Commands = []string{"chmod 600 " + shellquote.Quote(cfg.File)}
			r.Fixable = true
		}
		return r
	})
	secrets.Repair = &doctor.Repair{
		Plan: func(doctor.Result) string { return "chmod 600 " + cfgFile(cfg) },
		Apply: func(_ context.Context, _ doctor.Result) error {
			if err := os.Chmod(cfgFile(cfg), 0o600); err != nil {
				return fmt.Errorf("chmod config file: %w", err)
			}
			return nil
		},
	}
	return []doctor.Check{fileCheck, keys, vars, vec, secrets, conc}
}

func cfgFile(cfg *config.Config) string {
	if cfg == nil {
		return ""
	}
	return cfg.File
}

func keyMsg(key, msg string) string {
	if key == "" {
		return msg
	}
	return key + ": " + msg
}

func firstProblem(ps []config.Problem) string {
	s := config.Redact(keyMsg(ps[0].Key, ps[0].Message))
	if w := ps[0].Where(); w != "" {
		s = w + ": " + s
	}
	if len(ps) > 1 {
		s += fmt.Sprintf(" (and %d more)", len(ps)-1)
	}
	return s
}

func uniq(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
