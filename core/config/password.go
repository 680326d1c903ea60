package config

import (
	"fmt"
	"net/url"
	"strings"
)

// The database password may come from several places. One order decides which is used, the
// order of the layers: defaults < file < environment < flags, where --db-password-stdin counts
// as a flag. A password given with a higher layer wins, whether it is the password key
// (password:, COMPOZY_DB_PASSWORD, COMPOZY_DB_PASSWORD_FILE, --db-password-stdin) or the password
// inside a connection string (conn_string:, COMPOZY_DB_CONN_STRING, --db-conn-string). Within one
// layer the password key wins over the connection string's password. Two places that give
// different passwords get a warning that names both (never the passwords).

// passwordCandidate is a password one place gives.
type passwordCandidate struct {
	value string
	src   Source
	// desc names the place for people: "COMPOZY_DB_PASSWORD", "compozy.yaml:4",
	// "--db-password-stdin", "the conn_string URL, flag --db-conn-string".
	desc string
	// conn is true for the password inside a connection string.
	conn bool
}

// rank orders the layers: default 0, file 1, environment 2, flags and stdin 3.
func rank(s Source) int {
	switch s.Kind {
	case SourceFile:
		return 1
	case SourceEnv:
		return 2
	case SourceFlag, SourceStdin:
		return 3
	}
	return 0
}

// addPassword records a value of the password key that src gave; raw is the text written in
// the file (with its ${VAR} references), "" for other layers.
func (l *loader) addPassword(value string, src Source, raw string) {
	if value == "" {
		return
	}
	l.passwords = append(l.passwords, passwordCandidate{value: value, src: src, desc: passwordKeyDesc(src, raw)})
}

// passwordKeyDesc names where a value of the password key came from.
func passwordKeyDesc(src Source, raw string) string {
	switch {
	case src.Kind == SourceStdin:
		return "--db-password-stdin"
	case src.Kind == SourceEnv && src.SecretFile == "":
		return src.Name
	case src.Kind == SourceFile:
		if name, ok := singleReference(raw); ok {
			return "${" + name + "} in " + src.String()
		}
	}
	return src.String()
}

// singleReference reports whether s is one ${VAR} reference (with or without a default) and
// nothing else, and names the variable.
func singleReference(s string) (string, bool) {
	if !strings.HasPrefix(s, "${") || refEnd(s, 2) != len(s)-1 {
		return "", false
	}
	name, _, _ := strings.Cut(s[2:len(s)-1], ":-")
	return name, validEnvName(name)
}

// connPassword is the password inside the resolved conn_string, if it holds one: a URL's
// password parameter or user information (pgx reads the parameter first), or the password of
// key=value pairs.
func (l *loader) connPassword() (passwordCandidate, bool) {
	cs := l.cfg.Database.ConnString
	if cs == "" || l.hasProblem("database.conn_string") {
		return passwordCandidate{}, false
	}
	src := l.sourceOf("database.conn_string")
	if scheme, _, ok := strings.Cut(cs, "://"); ok && isScheme(scheme) {
		u, err := url.Parse(cs)
		if err != nil {
			return passwordCandidate{}, false
		}
		desc := "the conn_string URL, " + src.String()
		if q := u.Query(); q.Has("password") {
			return passwordCandidate{value: q.Get("password"), src: src, desc: desc, conn: true}, q.Get("password") != ""
		}
		if u.User == nil {
			return passwordCandidate{}, false
		}
		pw, ok := u.User.Password()
		return passwordCandidate{value: pw, src: src, desc: desc, conn: true}, ok && pw != ""
	}
	pairs, bad := parseKeyValue(cs)
	if bad != "" {
		return passwordCandidate{}, false
	}
	found := false
	var pw string
	for _, p := range pairs {
		if p.key == "password" {
			pw, found = p.value, true
		}
	}
	return passwordCandidate{value: pw, src: src, desc: "the conn_string, " + src.String(), conn: true}, found && pw != ""
}

// resolvePassword decides which password is used (see the order above), sets
// Database.Password and Database.PasswordSource, warns about places that give a different
// password, and marks what a conn_string makes unused.
func (l *loader) resolvePassword() {
	d := &l.cfg.Database
	if d.Driver != DriverPostgres {
		return
	}
	cands := l.passwords
	cp, hasConn := l.connPassword()
	if hasConn {
		cands = append(cands[:len(cands):len(cands)], cp)
	}
	if d.ConnString != "" && !l.hasProblem("database.conn_string") {
		for _, name := range []string{"host", "port", "user", "name", "ssl_mode"} {
			l.cfg.Unused["database."+name] = "conn_string decides the " + strings.ReplaceAll(name, "_", " ")
		}
	}
	d.ConnStringPasswordFrom = ""
	if len(cands) == 0 {
		d.Password, d.PasswordSource = "", ""
		return
	}
	win := cands[0]
	for _, c := range cands[1:] {
		// A higher layer wins; within a layer the password key wins over conn_string's.
		if r, w := rank(c.src), rank(win.src); r > w || r == w && win.conn && !c.conn {
			win = c
		}
	}
	if win.conn {
		d.Password = "" // conn_string's own password is used
		note := "conn_string's password (" + cp.src.String() + ") is used"
		if key := l.sourceOf(passwordKey); len(l.passwords) > 0 {
			l.cfg.hiddenPassword = true
			note += ": " + layerName(cp.src) + " beats " + layerName(key)
		}
		if src := l.sourceOf(passwordKey); src.Kind != SourceDefault && !l.cfg.hiddenPassword {
			note += "; the password key refers to variables that are not set"
		}
		l.cfg.Unused[passwordKey] = note
	} else {
		d.Password = win.value
	}
	d.PasswordSource = win.desc
	if win.conn {
		d.ConnStringPasswordFrom = win.src.String()
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if c.value == win.value || seen[c.desc] {
			continue
		}
		seen[c.desc] = true
		why := layerName(win.src) + " beats " + layerName(c.src)
		if rank(win.src) == rank(c.src) {
			why = "in the same layer the password key beats conn_string's"
		}
		l.secretWarn(CodePasswordConflict, c.src, passwordKey, fmt.Sprintf("two places give different passwords: the one from %s is used; the one from %s is not (%s)", win.desc, c.desc, why),
			"give the password in one place: the order is file < environment < flags and --db-password-stdin (compozy docs configuration/database)")
	}
}

// layerName names the layer of s.
func layerName(s Source) string {
	switch s.Kind {
	case SourceFile:
		return "the file"
	case SourceEnv:
		return "the environment"
	case SourceFlag:
		return "a flag"
	case SourceStdin:
		return "--db-password-stdin"
	}
	return "the default"
}
