package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/tui/term"
)

// configShowSchemaVersion is the version of `config show --json`'s document. Raise it when a
// field changes meaning or goes away; adding fields keeps it.
const configShowSchemaVersion = 1

func newConfigCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show, validate and describe the configuration",
		Long: `Show the resolved configuration with the source of every value, check it, or print its JSON Schema.

Values come from defaults, then compozy.yaml (or --config), then COMPOZY_DB_* (or the legacy
DB_*) environment variables, then flags.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newConfigShowCmd(f), newConfigValidateCmd(f), newConfigSchemaCmd(f))
	return cmd
}

// configShowOptions are the options of `config show`.
type configShowOptions struct {
	IO *term.IO
	// WorkDir is the working directory, for showing the config file's path.
	WorkDir string
	JSON    bool
	All     bool
}

func newConfigShowCmd(f *Factory) *cobra.Command {
	opts := &configShowOptions{}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the resolved configuration and where each value came from",
		Long: `Print every configuration key with its value and its source: default, the file and line,
the environment variable, the secret file (COMPOZY_DB_PASSWORD_FILE), or the flag. Passwords
are shown as [redacted], also inside connection strings and URLs. A key that has no effect says
why: a conn_string decides host, port, user, name and ssl_mode, and of two passwords the one
of the higher layer is used (the file, then the environment, then flags and
--db-password-stdin).`,
		Example: `  compozy config show
  compozy config show --db-driver sqlite --db-path ./x.db
  compozy config show --json | jq '.values[] | select(.source != "default")'`,
		Args:        noArgs,
		Annotations: map[string]string{ownWarnings: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.LoadConfig(cmd.Context())
			if err != nil {
				return err
			}
			opts.IO, opts.WorkDir = f.IO, f.workDir
			return configShowRun(cfg, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON document (schema_version, file, values, warnings)")
	cmd.Flags().BoolVar(&opts.All, "all", false, "also list the keys that only the other driver uses")
	return cmd
}

// configShowDoc is the JSON document of `config show --json`.
type configShowDoc struct {
	SchemaVersion int              `json:"schema_version"`
	File          *string          `json:"file"`
	Values        []config.Value   `json:"values"`
	Warnings      []config.Warning `json:"warnings"`
}

func configShowRun(cfg *config.Config, opts *configShowOptions) error {
	values := cfg.Values()
	if opts.JSON {
		doc := configShowDoc{SchemaVersion: configShowSchemaVersion, Values: values, Warnings: cfg.Warnings}
		if cfg.File != "" {
			doc.File = &cfg.File
		}
		if doc.Warnings == nil {
			doc.Warnings = []config.Warning{}
		}
		if err := writeJSON(opts.IO.Out, doc); err != nil {
			return fmt.Errorf("config show: %w", err)
		}
		return nil
	}

	w := opts.IO.Out
	if cfg.File != "" {
		fmt.Fprintf(w, "Config file: %s\n\n", configDisplayPath(cfg.File, opts.WorkDir))
	} else {
		fmt.Fprintf(w, "Config file: none (no ./%s; defaults, environment and flags)\n\n", config.DefaultFile)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	hidden := 0
	for _, v := range values {
		if !opts.All && !v.Applies(cfg.Database.Driver) && v.Source == "default" {
			hidden++
			continue
		}
		if v.Unused != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t(unused: %s)\n", v.Key, v.String(), v.Source, v.Unused)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Key, v.String(), v.Source)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	if hidden > 0 {
		other := config.DriverPostgres
		if cfg.Database.Driver == config.DriverPostgres {
			other = config.DriverSQLite
		}
		fmt.Fprintf(w, "\n%d keys that only driver %s uses are hidden; --all shows them.\n", hidden, other)
	}
	printConfigWarnings(opts.IO.ErrOut, cfg.Warnings)
	return nil
}

// configValidateSchemaVersion is the version of `config validate --json`'s document. Raise it
// when a field changes meaning or goes away; adding fields (or codes) keeps it.
const configValidateSchemaVersion = 1

// configValidateOptions are the options of `config validate`.
type configValidateOptions struct {
	IO *term.IO
	// WorkDir is the working directory, for showing the config file's path.
	WorkDir string
	JSON    bool
}

func newConfigValidateCmd(f *Factory) *cobra.Command {
	opts := &configValidateOptions{}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration; exit 2 with every problem when it is invalid",
		Long: `Check compozy.yaml, the environment and the flags. Every problem is listed with its file,
line and column (or the variable or flag it came from) and how to fix it. Exit status: 0 valid
(warnings are printed but do not fail), 2 invalid.

--json prints a document for machines (schema_version 1): every problem and warning with its
stable code (key.unknown, env.unset, vector.pgvector_sqlite, ...), key, file, line, column and
fix. Scripts should match the code, not the message, whose wording may change.`,
		Example: `  compozy config validate
  compozy config validate --json | jq -r '.problems[] | "\(.where) \(.code)"'`,
		Args:        noArgs,
		Annotations: map[string]string{ownWarnings: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.IO, opts.WorkDir = f.IO, f.workDir
			cfg, err := f.LoadConfig(cmd.Context())
			var cfgErr *config.Error
			if opts.JSON && (err == nil || errors.As(err, &cfgErr)) {
				return configValidateJSON(cfg, cfgErr, opts.IO.Out)
			}
			if err != nil {
				return err
			}
			return configValidateRun(cfg, opts.IO, opts.WorkDir)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON document (schema_version, valid, problems, warnings), each finding with its code")
	return cmd
}

func configValidateRun(cfg *config.Config, ios *term.IO, workDir string) error {
	if cfg.File != "" {
		fmt.Fprintf(ios.Out, "✓ %s is valid\n", configDisplayPath(cfg.File, workDir))
	} else {
		fmt.Fprintf(ios.Out, "✓ configuration is valid (no ./%s; defaults, environment and flags)\n", config.DefaultFile)
	}
	printConfigWarnings(ios.ErrOut, cfg.Warnings)
	return nil
}

// configValidateDoc is the JSON document of `config validate --json` (docs/cli/config.md).
type configValidateDoc struct {
	SchemaVersion int             `json:"schema_version"`
	Valid         bool            `json:"valid"`
	Problems      []configFinding `json:"problems"`
	Warnings      []configFinding `json:"warnings"`
}

// configFinding is one problem or warning in configValidateDoc. Every field is always
// present, so that scripts need no defaults.
type configFinding struct {
	Code config.Code `json:"code"`
	Key  string      `json:"key"`
	// Where is File:Line:Column, or Origin for a value from the environment or a flag.
	Where   string `json:"where"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Origin  string `json:"origin"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// configValidateJSON prints the document of a load: cfg when it is valid, else the problems
// of cfgErr. An invalid configuration exits 2, with nothing more printed.
func configValidateJSON(cfg *config.Config, cfgErr *config.Error, w io.Writer) error {
	doc := configValidateDoc{SchemaVersion: configValidateSchemaVersion, Valid: cfgErr == nil,
		Problems: []configFinding{}, Warnings: []configFinding{}}
	if cfgErr != nil {
		for _, p := range cfgErr.Problems {
			doc.Problems = append(doc.Problems, newConfigFinding(p.Code, p.Key, p.Pos, p.Origin, p.Where(), p.Message, p.Fix))
		}
	}
	if cfg != nil {
		for _, x := range cfg.Warnings {
			doc.Warnings = append(doc.Warnings, newConfigFinding(x.Code, x.Key, x.Pos, x.Origin, x.Where(), x.Message, x.Fix))
		}
	}
	if err := writeJSON(w, doc); err != nil {
		return fmt.Errorf("config validate: %w", err)
	}
	if cfgErr != nil {
		return &ExitError{Code: ExitUsage, Silent: true}
	}
	return nil
}

// newConfigFinding builds a finding; messages and fixes are redacted, as everywhere a finding
// is shown.
func newConfigFinding(code config.Code, key string, pos config.Pos, origin, where, msg, fix string) configFinding {
	return configFinding{Code: code, Key: key, Where: where, File: pos.File, Line: pos.Line, Column: pos.Column,
		Origin: origin, Message: config.Redact(msg), Fix: config.Redact(fix)}
}

func newConfigSchemaCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the database and vector DB sections",
		Long: `Print the JSON Schema (draft 2020-12) of the parts of compozy.yaml this tool reads. Editors
use it for completion and checks, for example with a first line of
# yaml-language-server: $schema=./schemas/config-database.json`,
		Args: noArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			b, err := config.SchemaJSON()
			if err != nil {
				return err
			}
			if _, err := f.IO.Out.Write(b); err != nil {
				return fmt.Errorf("write schema: %w", err)
			}
			return nil
		},
	}
}

// printConfigWarnings writes the warnings, each with its location and fix.
func printConfigWarnings(w io.Writer, warnings []config.Warning) {
	for _, warn := range warnings {
		fmt.Fprintf(w, "warning: %s\n", warn.String())
	}
}

// configDisplayPath shows path relative to the working directory when it is inside it.
func configDisplayPath(path, workDir string) string {
	if workDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return path
		}
		workDir = wd
	}
	rel, err := filepath.Rel(workDir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return rel
}
