package wizard

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/config"
)

// Target is the config file a command writes.
type Target struct {
	Path  string // absolute
	Shown string // as the user named it
	Flag  string // the --config value that names it again ("" for the default)
}

// Read returns the file's content and whether it exists.
func (t Target) Read() ([]byte, bool, error) {
	data, err := os.ReadFile(t.Path)
	switch {
	case err == nil:
		return data, true, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("read %s: %w", t.Shown, err)
}

// Write replaces the file atomically (core/atomicfile: a temporary file in the same folder,
// synced, then renamed), with mode 0600 when it holds a plaintext secret. When backup is set,
// the current file is first copied to a new FILE.YYYYMMDD-HHMMSS.bak (0600: the old file may
// hold a password the new one no longer does), whose name (as the user would write it) is
// returned. A file that is a symbolic link is replaced where the link points, keeping the link.
// Temporary files of both that a killed run left behind are removed first.
//
// Run as root, the file keeps its owner and group (and a new one, and a new folder, takes the
// owner of the folder it is created in), and the backup takes the file's owner: a root
// `init --update` must not leave a config the service user can no longer read.
func (t Target) Write(content []byte, backup, secret bool) (string, error) {
	dir := filepath.Dir(t.Path)
	if err := atomicfile.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write %s: create folder: %w", t.Shown, err)
	}
	sweepTemps(t.Path)
	mode := FileMode(t.Path, secret)
	bak := ""
	if backup {
		old, err := os.ReadFile(t.Path)
		if err != nil {
			return "", fmt.Errorf("back up %s: %w", t.Shown, err)
		}
		base := t.Path + "." + time.Now().Format("20060102-150405")
		for i := 0; ; i++ {
			name := base + ".bak"
			if i > 0 {
				name = fmt.Sprintf("%s-%d.bak", base, i)
			}
			p, err := atomicfile.Create(name, 0o600, atomicfile.OwnedLike(t.Path))
			if err != nil {
				return "", fmt.Errorf("back up %s: %w", t.Shown, err)
			}
			err = os.WriteFile(p.Path, old, 0o600)
			if err == nil {
				err = p.CommitNew()
			}
			p.Abort()
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("back up %s: %w", t.Shown, err)
			}
			bak = name
			break
		}
	}
	path := t.Path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
		if real != t.Path {
			sweepTemps(real)
		}
	}
	if err := atomicfile.WriteFile(path, content, mode, atomicfile.OwnedLike(filepath.Dir(path))); err != nil {
		return "", fmt.Errorf("write %s: %w", t.Shown, err)
	}
	if bak == "" {
		return "", nil
	}
	return filepath.Join(filepath.Dir(t.Shown), filepath.Base(bak)), nil
}

// sweepTemps removes the temporary files that killed runs left beside the config file at path:
// those of the file itself (.NAME.PID.tmp) and of its backups (.NAME.STAMP.bak.PID.tmp).
func sweepTemps(path string) {
	base := filepath.Base(path)
	_, _ = atomicfile.Sweep(filepath.Dir(path), func(name string) bool {
		return name == base || strings.HasPrefix(name, base+".") && strings.HasSuffix(name, ".bak")
	})
}

// FileMode is the mode a config file is written with: 0600 when it holds a plaintext secret,
// else the existing file's mode, else 0644.
func FileMode(path string, secret bool) os.FileMode {
	if secret {
		return 0o600
	}
	if fi, err := os.Stat(path); err == nil {
		return fi.Mode().Perm()
	}
	return 0o644
}

// LoadEnv is how a config file is loaded: the working directory and the environment.
type LoadEnv struct {
	WorkDir string
	Getenv  func(string) string
	Environ func() []string
}

// LoadContent loads content as the config file at path would be loaded, so that nothing is
// written that compozy cannot read. password, when set, is what ${COMPOZY_DB_PASSWORD} reads;
// otherwise the environment's, else a stand-in that lets the file validate.
func LoadContent(ctx context.Context, path string, content []byte, env LoadEnv, password string) (*config.Config, error) {
	getenv := func(k string) string {
		if k == PasswordEnv {
			if password != "" {
				return password
			}
			if v := env.Getenv(k); v != "" {
				return v
			}
			return "stand-in"
		}
		return env.Getenv(k)
	}
	environ := func() []string {
		var out []string
		if env.Environ != nil {
			out = env.Environ()
		}
		return append(out, PasswordEnv+"="+getenv(PasswordEnv))
	}
	cfg, err := config.LoadBytes(ctx, path, content, config.LoadOptions{WorkDir: env.WorkDir, Getenv: getenv, Environ: environ})
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// HoldsSecret reports whether a loaded file writes a password out (in a section compozy keeps
// as it is, since compozy itself writes ${VAR} references): it is then written 0600.
func HoldsSecret(cfg *config.Config) bool {
	for _, w := range cfg.Warnings {
		if w.Code == config.CodeSecretPlaintext {
			return true
		}
	}
	return false
}
