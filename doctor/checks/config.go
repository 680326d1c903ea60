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

// problemKind sorts a config problem into the config check that reports it.
func problemKind(p config.Problem) string {
	switch {
	case strings.HasPrefix(p.Message, "environment variable ") && strings.HasSuffix(p.Message, " is not set"),
		secretFileMessage(p.Message), strings.Contains(p.Message, config.FileSuffix+" are both set"):
		return doctor.IDConfigVars
	case strings.Contains(p.Message, "pgvector provider is incompatible with SQLite driver"):
		return doctor.IDConfigVector
	case p.Key == "" || strings.HasPrefix(p.Message, "config file") || strings.HasPrefix(p.Message, "cannot read the config file") ||
		strings.Contains(p.Message, "YAML") || strings.Contains(p.Message, "yaml"):
		return doctor.IDConfigFile
	default:
		return doctor.IDConfigKeys
	}
}

func warningKind(w config.Warning) string {
	switch {
	case w.Key == "knowledge.vector_dbs":
		return doctor.IDConfigVector
	case w.Key == "runtime.max_concurrent_workflows":
		return doctor.IDConfigConcurrency
	case w.Message == "plaintext password in the config file", secretFileMessage(w.Message):
		return doctor.IDConfigSecrets
	case strings.HasPrefix(w.Key, "database.busy_timeout"), strings.HasPrefix(w.Key, "database.journal_mode"):
		return "" // reported by the sqlite checks
	default:
		return doctor.IDConfigKeys
	}
}

// secretFileMessage reports whether msg is about the file a *_FILE variable names
// (COMPOZY_DB_PASSWORD_FILE): one that cannot be read, or that others can read.
func secretFileMessage(msg string) bool {
	return strings.Contains(msg, config.FileSuffix+" names")
}

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
			plaintext = plaintext || !secretFileMessage(w.Message)
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
