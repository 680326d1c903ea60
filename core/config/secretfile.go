package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// MaxSecretFileSize is the most a *_FILE secret (COMPOZY_DB_PASSWORD_FILE=/run/secrets/db) may
// hold: a password, an API key or a connection string is far smaller, and a larger file is a
// wrong path (a log, a disk image), not a secret to send to a server.
const MaxSecretFileSize = 64 << 10

// FileSuffix turns a variable into the one that names a file holding its value, the Docker and
// Kubernetes convention: COMPOZY_DB_PASSWORD_FILE=/run/secrets/db_password.
const FileSuffix = "_FILE"

// secretFile is the outcome of reading the file a *_FILE variable names.
type secretFile struct {
	// value is the content without its trailing line breaks.
	value string
	// problem and fix say why the file cannot be used; "" when it can.
	problem, fix string
	// warning says that the file is readable by others; "" when it is not.
	warning, warnFix string
}

// readSecretFile reads the secret in the file path, which the variable name (COMPOZY_DB_PASSWORD_FILE)
// named: at most MaxSecretFileSize bytes of a regular file, without its trailing line breaks
// (as $(cat file) in a shell). Messages name the variable and the file, never the content.
func readSecretFile(name, path string) secretFile {
	if path == "" {
		return secretFile{problem: name + " is set but empty", fix: "set " + name + " to the path of the file that holds the secret, or unset it"}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return secretFile{problem: fmt.Sprintf("cannot read %s, which %s names: %s", path, name, pathErrorReason(err)),
			fix: secretFileFix(name, err)}
	}
	if !fi.Mode().IsRegular() {
		return secretFile{problem: fmt.Sprintf("%s, which %s names, is not a regular file", path, name),
			fix: "point " + name + " at the file that holds the secret (Docker and Kubernetes secrets are files)"}
	}
	f, err := os.Open(path)
	if err != nil {
		return secretFile{problem: fmt.Sprintf("cannot read %s, which %s names: %s", path, name, pathErrorReason(err)),
			fix: secretFileFix(name, err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSecretFileSize+1))
	if err != nil {
		return secretFile{problem: fmt.Sprintf("cannot read %s, which %s names: %s", path, name, pathErrorReason(err)),
			fix: "check the file"}
	}
	if len(data) > MaxSecretFileSize {
		return secretFile{problem: fmt.Sprintf("%s, which %s names, is larger than %d KiB: not a secret", path, name, MaxSecretFileSize>>10),
			fix: "point " + name + " at the file that holds only the secret"}
	}
	value := strings.TrimRight(string(data), "\r\n")
	if value == "" {
		return secretFile{problem: fmt.Sprintf("%s, which %s names, is empty", path, name),
			fix: "write the secret into the file, or unset " + name}
	}
	s := secretFile{value: value}
	if perm := fi.Mode().Perm(); perm&0o044 != 0 {
		s.warning = fmt.Sprintf("%s, which %s names, is readable by %s (mode %04o)", path, name, readers(perm), perm)
		s.warnFix = "chmod 600 " + path + " (in Kubernetes, defaultMode: 0400 on the secret volume)"
	}
	return s
}

// secretFileFix is the fix for a secret file that cannot be opened.
func secretFileFix(name string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "check the path in " + name + " (is the secret mounted in this container?)"
	case errors.Is(err, fs.ErrPermission):
		return "let the user compozy runs as read the file (chmod 400, owned by that user), or run compozy as its owner"
	}
	return "check the path in " + name
}

// readers names who besides the owner may read a file of mode perm.
func readers(perm fs.FileMode) string {
	switch {
	case perm&0o040 != 0 && perm&0o004 != 0:
		return "group and others"
	case perm&0o040 != 0:
		return "its group"
	}
	return "others"
}
