// Package cli is the command tree of compozy: flags become options, options go to run functions
// that take a context and write to the IO they are given. It is the only package that uses cobra.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/charmbracelet/x/termios"
	"github.com/redis/go-redis/v9/logging"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/internal/shellquote"
	"compozy.dev/setup/tui/term"
)

// BuildInfo describes the binary.
type BuildInfo struct {
	Version string
	// Invocation is how the user ran this binary ("compozy", "./compozy", "go run ."), for
	// hints that say what to run next; "" means "compozy".
	Invocation string
}

// goRunCached matches a binary go run keeps in the build cache (Go 1.24 and later run it from
// there when nothing changed since the last build): GOCACHE/xx/<hash>-d/<name>.
var goRunCached = regexp.MustCompile(`/[0-9a-f]{2}/[0-9a-f]{32,}-d/[^/]+$`)

// Invocation says how the binary at exe was run as arg0 (os.Args[0]): "go run ." for a binary
// that go run built in its temporary folder, the name as typed when it was found on PATH
// ("compozy"), or the path as typed ("./compozy", "/opt/compozy/bin/compozy").
func Invocation(arg0, exe string) string {
	slash := filepath.ToSlash(exe)
	if strings.Contains(slash, "/go-build") && strings.Contains(slash, "/exe/") || goRunCached.MatchString(slash) {
		return "go run ."
	}
	if arg0 == "" {
		return "compozy"
	}
	if !strings.ContainsRune(arg0, filepath.Separator) {
		return arg0
	}
	return shellquote.Quote(arg0)
}

// self is how to run this binary again in a hint.
func (f *Factory) self() string {
	if f.Build.Invocation == "" {
		return "compozy"
	}
	return f.Build.Invocation
}

// Factory carries what every command needs: the streams, build facts, and the config loader
// driven by the global flags.
type Factory struct {
	IO    *term.IO
	Build BuildInfo

	global *globalFlags
	// workDir overrides the working directory used to find ./compozy.yaml (tests).
	workDir string
	// running is the command being run (set before it runs), so that LoadConfig knows whether
	// the command reports the config's warnings itself.
	running *cobra.Command
	// warned is true once LoadConfig has printed the config's warnings.
	warned bool
}

// ownWarnings is the annotation of a command that reports the config's warnings itself
// (config show and validate print them, doctor makes checks of them); LoadConfig prints them
// on standard error for every other command.
const ownWarnings = "compozy/own-config-warnings"

// globalFlags are the persistent flags of the root command (DESIGN.md section 2).
type globalFlags struct {
	configFile    string
	passwordStdin bool
	noColor       bool
	flags         *pflag.FlagSet
	// dbFlags are the fields whose value a --db-* flag sets; stdinField is the one whose value
	// --db-password-stdin reads from standard input. Both come from config.Fields.
	dbFlags    []config.Field
	stdinField config.Field
}

// declareDBFlags declares a persistent flag for every field of config.Fields that names one,
// with the field's usage, so that the flag names are declared once, in the field table. The flag
// of a Secret field is a boolean that reads the value from standard input.
func (g *globalFlags) declareDBFlags(pf *pflag.FlagSet) {
	for _, fd := range config.Fields() {
		name, ok := strings.CutPrefix(fd.Flag, "--")
		switch {
		case !ok:
		case fd.Secret == config.Secret:
			pf.BoolVar(&g.passwordStdin, name, false, fd.Usage)
			g.stdinField = fd
		default:
			pf.String(name, "", fd.Usage)
			g.dbFlags = append(g.dbFlags, fd)
		}
	}
}

// Main runs the command line args and returns the process exit code.
func Main(ctx context.Context, args []string, ios *term.IO, build BuildInfo) int {
	// go-redis has one process-wide logger and no per-client option; it would write dial
	// failures over our output. Every failure it would log comes back to us as an error anyway.
	logging.Disable()
	f := &Factory{IO: ios, Build: build}
	root := NewRootCmd(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil {
		path := ""
		if cmd != nil {
			path = cmd.CommandPath()
		}
		printErrorFor(ios.ErrOut, err, path)
	}
	return exitCode(err)
}

// NewRootCmd builds the whole command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	g := &globalFlags{}
	f.global = g
	root := &cobra.Command{
		Use:   "compozy",
		Short: "Set up, check and migrate the databases of a Compozy installation",
		Long: `compozy gets a Compozy installation's databases right: PostgreSQL or SQLite for
workflow state, and the vector database for knowledge bases.

Configuration comes from compozy.yaml (or --config), then COMPOZY_DB_* environment
variables, then flags; the later wins, also for the password. Passwords never go on the
command line: use COMPOZY_DB_PASSWORD, COMPOZY_DB_PASSWORD_FILE or --db-password-stdin.`,
		Version:       build(f),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			f.IO.SetNoColor(g.noColor)
			f.running = cmd
			return nil
		},
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	root.SetVersionTemplate("compozy {{.Version}}\n")

	pf := root.PersistentFlags()
	pf.StringVarP(&g.configFile, "config", "c", "", "config file (env COMPOZY_CONFIG_FILE; default ./compozy.yaml)")
	g.declareDBFlags(pf)
	pf.BoolVar(&g.noColor, "no-color", false, "disable colour output (also NO_COLOR=1)")
	g.flags = pf

	root.AddCommand(
		newConfigCmd(f),
		newMigrateCmd(f),
		newDoctorCmd(f),
		newDBCmd(f),
		newInitCmd(f),
		newQuickstartCmd(f),
		newDocsCmd(f),
	)
	for _, c := range root.Commands() {
		if c.Name() == "doctor" {
			// The doctor reports every config warning as a check (config.keys, config.secrets, ...).
			if c.Annotations == nil {
				c.Annotations = map[string]string{}
			}
			c.Annotations[ownWarnings] = "true"
		}
	}
	return root
}

func build(f *Factory) string {
	if f.Build.Version == "" {
		return "dev"
	}
	return f.Build.Version
}

// noArgs rejects stray arguments on a command that only groups subcommands, as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return usageErrorf("%q takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
}

// LoadConfig resolves the configuration from the config file, the environment and the global
// flags. The warnings about secrets (two places that give different passwords, a secret file
// others can read, a password on the command line) are printed on standard error, once,
// unless the command reports every warning itself (config show and validate, doctor): they
// say which password a connection uses, so every command that connects says them.
func (f *Factory) LoadConfig(ctx context.Context) (*config.Config, error) {
	cfg, err := f.loadConfig(ctx)
	if err == nil && !f.warned && (f.running == nil || f.running.Annotations[ownWarnings] == "") {
		f.warned = true
		var secret []config.Warning
		for _, w := range cfg.Warnings {
			if w.Secret {
				secret = append(secret, w)
			}
		}
		printConfigWarnings(f.IO.ErrOut, secret)
	}
	return cfg, err
}

func (f *Factory) loadConfig(ctx context.Context) (*config.Config, error) {
	g := f.global
	opts := config.LoadOptions{
		WorkDir: f.workDir,
		Getenv:  f.IO.Getenv,
		Environ: f.IO.Environ,
	}
	switch {
	case g.configFile != "":
		opts.File, opts.FileRequired, opts.FileFrom = g.configFile, true, "--config"
	case f.IO.Getenv("COMPOZY_CONFIG_FILE") != "":
		opts.File, opts.FileRequired, opts.FileFrom = f.IO.Getenv("COMPOZY_CONFIG_FILE"), true, "COMPOZY_CONFIG_FILE"
	}
	for _, fd := range g.dbFlags {
		fl := g.flags.Lookup(strings.TrimPrefix(fd.Flag, "--"))
		if fl != nil && fl.Changed {
			opts.Flags = append(opts.Flags, config.Override{Key: fd.Key(), Name: fd.Flag, Value: fl.Value.String()})
		}
	}
	if g.passwordStdin {
		pw, err := f.stdinPassword(ctx)
		if err != nil {
			return nil, err
		}
		opts.Flags = append(opts.Flags, config.Override{Key: g.stdinField.Key(), Name: g.stdinField.Flag, Value: pw, Stdin: true})
	}
	return config.Load(ctx, opts)
}

// stdinPassword reads --db-password-stdin's password: the first line of standard input, or,
// when standard input is a terminal, a line typed after a prompt on standard error with the
// terminal's echo turned off before the prompt appears (so that keys typed ahead are not shown
// either) and turned back on however the read ends, Ctrl-C included.
func (f *Factory) stdinPassword(ctx context.Context) (string, error) {
	in, ok := f.IO.In.(*os.File)
	if !ok || !f.IO.IsStdinTTY() {
		return readPassword(f.IO.In)
	}
	fd := int(in.Fd())
	t, err := termios.GetTermios(fd)
	if err != nil {
		return "", fmt.Errorf("read password from the terminal: %w", err)
	}
	ispeed, ospeed := uint32(t.Ispeed), uint32(t.Ospeed)
	echo := func(on bool) error {
		return termios.SetTermios(fd, ispeed, ospeed, nil, nil, nil, nil, map[termios.L]bool{termios.ECHO: on})
	}
	if err := echo(false); err != nil {
		return "", fmt.Errorf("read password from the terminal: turn off echo: %w", err)
	}
	wasOn := t.Lflag&unix.ECHO != 0
	defer func() {
		if wasOn {
			_ = echo(true)
		}
	}()
	fmt.Fprint(f.IO.ErrOut, "Database password (--db-password-stdin; not shown): ")
	type result struct {
		pw  string
		err error
	}
	done := make(chan result, 1)
	go func() {
		pw, err := readPassword(in)
		done <- result{pw, err}
	}()
	select {
	case r := <-done:
		fmt.Fprintln(f.IO.ErrOut)
		return r.pw, r.err
	case <-ctx.Done():
		fmt.Fprintln(f.IO.ErrOut)
		return "", ctx.Err()
	}
}

// maxPasswordLine bounds what --db-password-stdin reads: a password is far shorter, and a
// line without end (a file piped by mistake) must not be read into memory whole.
const maxPasswordLine = config.MaxSecretFileSize

// readPassword reads the first line of r, without its line ending. The password counts as a
// flag: it beats the environment and the file (see config's password order), and ${VAR}
// references to COMPOZY_DB_PASSWORD or DB_PASSWORD in the file read it.
func readPassword(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLine+1), 4096)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxPasswordLine {
			return "", usageErrorf("--db-password-stdin: the first line of standard input is longer than %d KiB; pipe the password only", maxPasswordLine>>10)
		}
		if err == nil || errors.Is(err, io.EOF) {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
	}
	pw := strings.TrimRight(string(line), "\r\n")
	if pw == "" {
		return "", usageErrorf("--db-password-stdin: standard input is empty; pipe the password, for example: printenv DB_PASSWORD | compozy ... --db-password-stdin")
	}
	return pw, nil
}
