package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// LoadOptions says where to look for configuration.
type LoadOptions struct {
	// File is the config file named by the user; "" means ./compozy.yaml in WorkDir, if present.
	// A relative File is relative to WorkDir.
	File string
	// FileRequired makes a missing File an error (the user named it explicitly).
	FileRequired bool
	// FileFrom names where File came from ("--config" or "COMPOZY_CONFIG_FILE"), for messages.
	FileFrom string
	// WorkDir is the working directory; "" means the process's.
	WorkDir string
	// Getenv and Environ read the environment; nil means the process's.
	Getenv  func(string) string
	Environ func() []string
	// Flags are the command-line overrides, highest precedence.
	Flags []Override
}

// Override is one value set on the command line.
type Override struct {
	Key   string // dotted config key, e.g. "database.driver"
	Name  string // the flag, e.g. "--db-driver"
	Value string
	Stdin bool // the value was read from standard input (--db-password-stdin)
}

// Load resolves the configuration: defaults, then the config file, then the environment
// (COMPOZY_DB_*, then the legacy DB_*), then opts.Flags. It returns *Error, listing every
// problem, when the configuration is invalid or a named file is missing.
func Load(ctx context.Context, opts LoadOptions) (*Config, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	workDir, err := resolveWorkDir(opts.WorkDir)
	if err != nil {
		return nil, err
	}
	shown, path := opts.File, opts.File
	if path == "" {
		shown, path = DefaultFile, filepath.Join(workDir, DefaultFile)
	} else if !filepath.IsAbs(path) {
		path = filepath.Join(workDir, path)
	}
	path = filepath.Clean(path)
	data, size, err := readLimited(path)
	switch {
	case err == nil:
		return load(opts, workDir, shown, path, data, size)
	case errors.Is(err, fs.ErrNotExist) && !opts.FileRequired:
		return load(opts, workDir, "", "", nil, 0)
	case errors.Is(err, fs.ErrNotExist):
		return nil, &Error{Problems: []Problem{missingFile(opts, shown)}}
	default:
		return nil, &Error{Problems: []Problem{{Code: CodeFileUnreadable, Pos: Pos{File: shown}, Message: "cannot read the config file: " + pathErrorReason(err),
			Fix: "make it a readable file, or name another with --config"}}}
	}
}

// LoadBytes resolves the configuration with data as the content of the config file name (a
// path, relative to opts.WorkDir or absolute; relative SQLite paths in data are relative to its
// folder). opts.File and opts.FileRequired are ignored. Use it to check a file before writing it.
func LoadBytes(ctx context.Context, name string, data []byte, opts LoadOptions) (*Config, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	workDir, err := resolveWorkDir(opts.WorkDir)
	if err != nil {
		return nil, err
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(workDir, path)
	}
	return load(opts, workDir, name, filepath.Clean(path), data, int64(len(data)))
}

// load runs the layers over data, the content of the file at path (shown as shown in messages;
// path "" when there is no file) whose size is size, and validates the result. A file over the
// size or depth limits is refused before it is parsed.
func load(opts LoadOptions, workDir, shown, path string, data []byte, size int64) (*Config, error) {
	l := newLoader(opts, workDir)
	l.defaults()
	if path != "" {
		l.cfg.File, l.cfg.Dir, l.name = path, filepath.Dir(path), shown
		if p, over := limitProblem(shown, data, size); over {
			// Nothing else is worth saying about a file that was not read.
			return nil, &Error{Problems: []Problem{p}}
		}
		l.file(data)
	}
	l.env()
	l.flags()
	l.resolvePending()
	l.resolvePassword()
	l.resolvePaths()
	l.validate()
	if len(l.problems) > 0 {
		sortProblems(l.problems)
		return nil, &Error{Problems: capProblems(l.problems)}
	}
	sortWarnings(l.cfg.Warnings)
	l.cfg.Warnings = capWarnings(l.cfg.Warnings)
	return l.cfg, nil
}

// missingFile is the problem of a config file the user named that does not exist.
func missingFile(opts LoadOptions, shown string) Problem {
	p := Problem{Code: CodeFileNotFound, Pos: Pos{File: shown}, Message: "config file not found"}
	switch opts.FileFrom {
	case "":
		p.Fix = "check the path"
	case "COMPOZY_CONFIG_FILE":
		p.Message += " (named by COMPOZY_CONFIG_FILE)"
		p.Fix = "check the path, or unset COMPOZY_CONFIG_FILE to use ./" + DefaultFile
	default:
		p.Message += " (named by " + opts.FileFrom + ")"
		p.Fix = "check the path, or leave out " + opts.FileFrom + " to use ./" + DefaultFile
	}
	return p
}

// pathErrorReason is the reason of a file error without the path, which the problem already names.
func pathErrorReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// resolveWorkDir returns dir as an absolute path, or the process's working directory.
func resolveWorkDir(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("find working directory: %w", err)
		}
		return wd, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolve working directory %s: %w", dir, err)
	}
	return abs, nil
}

// loader holds the state of one Load.
type loader struct {
	opts    LoadOptions
	workDir string
	fields  []Field
	cfg     *Config
	// name is the config file as shown in messages.
	name     string
	problems []Problem
	// problemKeys holds the key of every problem, so hasProblem costs the same however many
	// problems a hostile file produces.
	problemKeys map[string]bool
	// raw holds the text of secret-bearing values as written in the file, before expansion,
	// and where they were written (the env or a flag may have overridden them since).
	raw map[string]rawValue
	// stdinPassword is the password read by --db-password-stdin; nil without it.
	stdinPassword *string
	// secretFiles caches the *_FILE variables read, by variable name, so that each file is
	// read once and its warning given once.
	secretFiles map[string]secretFile
	// reported holds the variables whose problem or warning has been recorded.
	reported map[string]bool
	// pending are ${VAR} references to unset variables, which are a problem only when no
	// higher layer sets the key (see resolvePending).
	pending []pendingRef
	// passwords are the database passwords each layer gave (see resolvePassword).
	passwords []passwordCandidate
}

// pendingRef is a file value that refers to unset variables.
type pendingRef struct {
	key     string
	src     Source
	missing []string
	// passwordOnly: every missing variable is in the password of conn_string's URL.
	passwordOnly bool
}

// rawValue is a secret-bearing value as written in the config file.
type rawValue struct {
	text string
	src  Source
}

func newLoader(opts LoadOptions, workDir string) *loader {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ
	}
	l := &loader{
		opts:        opts,
		workDir:     workDir,
		fields:      Fields(),
		cfg:         &Config{Dir: workDir, Sources: map[string]Source{}, Unused: map[string]string{}},
		raw:         map[string]rawValue{},
		problemKeys: map[string]bool{},
		secretFiles: map[string]secretFile{},
		reported:    map[string]bool{},
	}
	for _, o := range opts.Flags {
		if o.Stdin && o.Key == passwordKey {
			pw := o.Value
			l.stdinPassword = &pw
		}
	}
	return l
}

// passwordKey is the key of the database password.
const passwordKey = "database.password"

// lookupVar reports the value of the variable a ${VAR} reference names and whether it is set:
// the password read by --db-password-stdin for the variables of database.password
// (COMPOZY_DB_PASSWORD, DB_PASSWORD), since stdin is a higher layer than the environment; else
// the environment; else, when VAR is unset or empty and VAR_FILE is set, the content of the
// file VAR_FILE names. A file that cannot be read, or VAR and VAR_FILE both set, is a problem
// of key (whose value came from src); a file others may read is a warning.
func (l *loader) lookupVar(name, key string, src Source) (string, bool) {
	if l.stdinPassword != nil && (name == "COMPOZY_DB_PASSWORD" || name == "DB_PASSWORD") {
		return *l.stdinPassword, true
	}
	v, set := l.lookupEnv(name)
	fileVar := name + FileSuffix
	path := l.opts.Getenv(fileVar)
	switch {
	case path == "":
		return v, set
	case v != "":
		if !l.reported[fileVar] {
			l.reported[fileVar] = true
			l.problem(CodeEnvFileConflict, src, key, name+" and "+fileVar+" are both set, so the value of ${"+name+"} is not clear",
				"unset one of them")
		}
		return v, true
	}
	sf := l.secretFile(fileVar, path)
	if !l.reported[fileVar] {
		l.reported[fileVar] = true
		switch {
		case sf.problem != "":
			l.problem(CodeSecretFileInvalid, src, key, sf.problem, sf.fix)
		case sf.warning != "":
			l.secretWarn(CodeSecretFileReadable, Source{Kind: SourceEnv, Name: fileVar, SecretFile: path}, key, sf.warning, sf.warnFix)
		}
	}
	if sf.problem != "" {
		return "", true // reported; the value is not used
	}
	return sf.value, true
}

// secretFile reads the file the variable name (a *_FILE variable) names, once.
func (l *loader) secretFile(name, path string) secretFile {
	if sf, ok := l.secretFiles[name]; ok {
		return sf
	}
	sf := readSecretFile(name, path)
	l.secretFiles[name] = sf
	return sf
}

// lookupEnv reports a variable's value and whether it is set. Getenv cannot tell an empty
// variable from an unset one; Environ can.
func (l *loader) lookupEnv(name string) (string, bool) {
	if v := l.opts.Getenv(name); v != "" {
		return v, true
	}
	for _, kv := range l.opts.Environ() {
		if k, _, ok := strings.Cut(kv, "="); ok && k == name {
			return "", true
		}
	}
	return "", false
}

// problem records a problem of kind code with the value of key that came from src.
func (l *loader) problem(code Code, src Source, key, msg, fix string) {
	p := Problem{Code: code, Key: key, Message: msg, Fix: fix}
	if src.Kind == SourceFile {
		p.Pos = src.pos()
	} else if src.Kind != SourceDefault {
		p.Origin = src.String()
	}
	l.problems = append(l.problems, p)
	l.problemKeys[key] = true
}

// warn records a warning of kind code about the value of key that came from src.
func (l *loader) warn(code Code, src Source, key, msg, fix string) {
	w := Warning{Code: code, Key: key, Message: msg, Fix: fix}
	if src.Kind == SourceFile {
		w.Pos = src.pos()
	} else if src.Kind != SourceDefault {
		w.Origin = src.String()
	}
	l.cfg.Warnings = append(l.cfg.Warnings, w)
}

// secretWarn records a warning about a secret (see Warning.Secret).
func (l *loader) secretWarn(code Code, src Source, key, msg, fix string) {
	l.warn(code, src, key, msg, fix)
	l.cfg.Warnings[len(l.cfg.Warnings)-1].Secret = true
}

// hasProblem reports whether key already has a problem, so later checks do not repeat it.
func (l *loader) hasProblem(key string) bool { return l.problemKeys[key] }

// setValue converts sc for field f (entry i) and stores it with its source, or records why it
// does not fit.
func (l *loader) setValue(f Field, i int, sc scalar, src Source) {
	key := f.KeyAt(i)
	v, cerr := convert(f, sc)
	if cerr != nil {
		l.problem(cerr.code, src, key, cerr.msg, cerr.fix)
		return
	}
	f.set(l.cfg, i, v)
	l.cfg.Sources[key] = src
}

// defaults sets every database and runtime key to its default.
func (l *loader) defaults() {
	for _, f := range l.fields {
		if f.Section != SectionVectorDB {
			l.setDefault(f, 0)
		}
	}
}

// setDefault sets f (entry i) to its default value.
func (l *loader) setDefault(f Field, i int) {
	src := Source{Kind: SourceDefault}
	if f.Default == "" {
		l.cfg.Sources[f.KeyAt(i)] = src
		return
	}
	l.setValue(f, i, stringScalar(f.Default), src)
}

// addVectorDB appends an entry with its defaults and returns its index.
func (l *loader) addVectorDB() int {
	i := len(l.cfg.Knowledge.VectorDBs)
	l.cfg.Knowledge.VectorDBs = append(l.cfg.Knowledge.VectorDBs, VectorDB{})
	for _, f := range l.fields {
		if f.Section == SectionVectorDB {
			l.setDefault(f, i)
		}
	}
	return i
}

// env applies COMPOZY_DB_* and DB_* variables, and for the secret keys (password,
// conn_string) the *_FILE variables that name a file holding the value (COMPOZY_DB_PASSWORD_FILE).
// The first set name of a field wins; the others are reported when they disagree. A variable
// and its *_FILE both set is a problem. Unknown COMPOZY_DB_* variables are reported as likely
// typos.
func (l *loader) env() {
	known := map[string]bool{}
	for _, f := range l.fields {
		var used, val string
		var usedSrc Source
		failed := false
		secret := f.Section == SectionDatabase && f.Secret != NotSecret
		for _, name := range f.Env {
			known[name] = true
			v := l.opts.Getenv(name)
			var fileVar, path string
			if secret {
				fileVar = name + FileSuffix
				known[fileVar] = true
				path = l.opts.Getenv(fileVar)
			}
			if v != "" && path != "" {
				l.problem(CodeEnvFileConflict, Source{Kind: SourceEnv, Name: fileVar}, f.Key(), name+" and "+fileVar+" are both set",
					"unset one of them: "+fileVar+" names a file that holds the value, "+name+" is the value")
				failed = true
				continue
			}
			switch {
			case v == "" && path == "":
			case used == "" && v != "":
				used, val, usedSrc = name, v, Source{Kind: SourceEnv, Name: name}
			case used == "":
				used, usedSrc = fileVar, Source{Kind: SourceEnv, Name: fileVar, SecretFile: path}
				sf := l.secretFile(fileVar, path)
				failed = sf.problem != ""
				if !l.reported[fileVar] { // a ${VAR} in the file may have read it already
					l.reported[fileVar] = true
					switch {
					case sf.problem != "":
						l.problem(CodeSecretFileInvalid, usedSrc, f.Key(), sf.problem, sf.fix)
					case sf.warning != "":
						l.secretWarn(CodeSecretFileReadable, usedSrc, f.Key(), sf.warning, sf.warnFix)
					}
				}
				val = sf.value
			case v != "" && v != val:
				l.warn(CodeEnvShadowed, Source{Kind: SourceEnv, Name: name}, f.Key(), name+" is ignored: "+used+" is set too and takes precedence",
					"unset one of them")
				l.cfg.Warnings[len(l.cfg.Warnings)-1].Secret = secret
			case path != "":
				l.secretWarn(CodeEnvShadowed, Source{Kind: SourceEnv, Name: fileVar, SecretFile: path}, f.Key(), fileVar+" is ignored: "+used+" is set too and takes precedence",
					"unset one of them")
			}
		}
		if used != "" && !failed {
			l.setValue(f, 0, stringScalar(val), usedSrc)
			if f.Key() == passwordKey {
				l.addPassword(val, usedSrc, "")
			}
		}
	}
	var candidates []string
	for name := range known {
		if strings.HasPrefix(name, "COMPOZY_DB_") {
			candidates = append(candidates, name)
		}
	}
	slices.Sort(candidates)
	for _, kv := range l.opts.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "COMPOZY_DB_") || known[name] {
			continue
		}
		fix := "unset it; the variables are COMPOZY_DB_ followed by a database key in capitals (COMPOZY_DB_HOST, COMPOZY_DB_SSL_MODE, ...)"
		if best := suggest(name, candidates); best != "" {
			fix = "rename it to " + best
		}
		l.warn(CodeEnvUnknown, Source{Kind: SourceEnv, Name: name}, "", "unknown variable "+name+" is ignored", fix)
	}
}

// flags applies the command-line overrides.
func (l *loader) flags() {
	for _, o := range l.opts.Flags {
		src := Source{Kind: SourceFlag, Name: o.Name}
		if o.Stdin {
			src.Kind = SourceStdin
		}
		f, ok := l.fieldByKey(o.Key)
		if !ok {
			l.problem(CodeKeyFlag, src, o.Key, "the flag sets an unknown key", "this is a bug in compozy; please report it")
			continue
		}
		l.setValue(f, 0, stringScalar(o.Value), src)
		if f.Key() == passwordKey {
			l.addPassword(o.Value, src, "")
		}
	}
}

// resolvePending reports the ${VAR} references to unset variables in file values that no
// higher layer replaced: a reference in a key that the environment or a flag sets (password:
// ${COMPOZY_DB_PASSWORD} with --db-password-stdin) is not used, so it is not a problem.
func (l *loader) resolvePending() {
	for _, p := range l.pending {
		if rank(l.sourceOf(p.key)) > rank(p.src) {
			continue
		}
		if p.key == passwordKey {
			if cp, ok := l.connPassword(); ok && rank(cp.src) > rank(p.src) {
				continue // the conn_string of a higher layer carries the password
			}
		}
		if p.passwordOnly && len(l.passwords) > 0 {
			continue // the password key (password:, COMPOZY_DB_PASSWORD, stdin) replaces it
		}
		for _, name := range p.missing {
			l.problem(CodeEnvUnset, p.src, p.key, "environment variable "+name+" is not set",
				fmt.Sprintf("set %s, or give a default: ${%s:-value}", name, name))
		}
	}
}

// fieldByKey finds a database or runtime field by dotted key, accepting aliases
// ("database.dbname").
func (l *loader) fieldByKey(key string) (Field, bool) {
	section, name, ok := strings.Cut(key, ".")
	if !ok || Section(section) == SectionVectorDB {
		return Field{}, false
	}
	return l.field(Section(section), name)
}

// field finds the field called name (or one of its aliases) in section.
func (l *loader) field(section Section, name string) (Field, bool) {
	for _, f := range l.fields {
		if f.Section != section {
			continue
		}
		for _, n := range f.names() {
			if n == name {
				return f, true
			}
		}
	}
	return Field{}, false
}

// sectionNames lists the keys and aliases of section, for suggestions.
func (l *loader) sectionNames(section Section) []string {
	var names []string
	for _, f := range l.fields {
		if f.Section == section {
			names = append(names, f.names()...)
		}
	}
	return names
}

// resolvePaths makes path values absolute: a relative path from the file is relative to the
// file's folder, one from the environment or a flag to the working directory.
func (l *loader) resolvePaths() {
	for _, f := range l.fields {
		if f.Type != TypePath {
			continue
		}
		n := 1
		if f.Section == SectionVectorDB {
			n = len(l.cfg.Knowledge.VectorDBs)
		}
		for i := range n {
			l.resolvePath(f, i)
		}
	}
}

func (l *loader) resolvePath(f Field, i int) {
	key := f.KeyAt(i)
	p, _ := f.get(l.cfg, i).(string)
	src := l.cfg.Sources[key]
	if p == "" || p == MemoryPath {
		return
	}
	if strings.Contains(p, "${") {
		// A literal ${ ($${ in the file, or a variable's value) would become part of a file name.
		l.problem(CodePathReference, src, key, "the path holds a literal ${ (written as $${, or in a variable's value); compozy does not create files with ${ in their name",
			"write the path itself, or ${VAR} (${VAR:-default}) to read it from a variable that holds the path")
		return
	}
	if f.Section == SectionDatabase && strings.HasPrefix(p, "file:") {
		l.problem(CodePathURI, src, key, "expected a file path or :memory:, not a SQLite URI",
			"write the file path only (for example ./data/compozy.db); journal_mode, synchronous and busy_timeout set the pragmas")
		return
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home := l.opts.Getenv("HOME")
		if home == "" {
			l.problem(CodePathHome, src, key, "cannot expand ~: HOME is not set", "write the full path")
			return
		}
		p = home + p[1:]
	}
	if !filepath.IsAbs(p) {
		base := l.workDir
		if src.Kind == SourceFile {
			base = l.cfg.Dir
		}
		p = base + string(filepath.Separator) + p
	}
	f.set(l.cfg, i, cleanPath(p))
}

// cleanPath cleans p as filepath.Clean does, unless it has a ".." part: then the path is kept
// as written, because ".." after a symbolic link goes to the parent of the link's target (the
// kernel's reading, and the shell's), not of the link; the one door resolves it that way.
func cleanPath(p string) string {
	for _, part := range strings.Split(p, string(filepath.Separator)) {
		if part == ".." {
			return p
		}
	}
	return filepath.Clean(p)
}
