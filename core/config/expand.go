package config

import (
	"fmt"
	"net/url"
	"strings"
)

// expansion is the result of expanding ${VAR} references in one value.
type expansion struct {
	value string
	// missing lists variables that are unset and have no default.
	missing []string
	// syntax describes a malformed reference; "" when the value is well formed.
	syntax string
	// passwordOnly is true when every missing variable is in the password of a URL's user
	// information: a password given apart (COMPOZY_DB_PASSWORD) replaces it, so the value can be
	// used with an empty password there.
	passwordOnly bool
}

// maxRefDepth bounds how deep references may nest inside defaults: ${A:-${B:-${C}}} is 3 deep.
const maxRefDepth = 8

// expand replaces ${VAR} and ${VAR:-default} in s. ${VAR:-default} uses the default when VAR is
// unset or empty; the default may itself hold references (${A:-${B:-x}}), up to maxRefDepth
// deep. $${ is a literal ${. A variable's value is used as it is, never expanded again. lookup
// reports a variable's value and whether it is set.
func expand(s string, lookup func(string) (string, bool)) expansion {
	return expandWith(s, lookup, nil)
}

// expandWith is expand with enc applied to the value each reference stands for (its
// variable's value or its default); nil leaves the values as they are.
func expandWith(s string, lookup func(string) (string, bool), enc func(string) string) expansion {
	if !strings.Contains(s, "${") {
		return expansion{value: s}
	}
	var r expansion
	value, syntax := expandText(s, lookup, 1, &r.missing, enc)
	if syntax != "" {
		return expansion{syntax: syntax}
	}
	r.value = value
	return r
}

// expandURL is expand for a value that may be a URL (conn_string, a vector DB url): a reference
// in the user information (postgres://${DB_USER}:${DB_PASSWORD}@host/db) stands for the user
// name or the password as it is, and is percent-encoded as url.UserPassword does, so that a
// password such as "p@ss w/rd" needs no encoding in the variable. References elsewhere, and
// the text written around them, are kept as they are.
func expandURL(s string, lookup func(string) (string, bool)) expansion {
	userStart, colon, userEnd, ok := userInfoSpan(s)
	if !ok {
		return expand(s, lookup)
	}
	encUser := func(v string) string { return url.User(v).String() }
	encPass := func(v string) string { return strings.TrimPrefix(url.UserPassword("", v).String(), ":") }
	type part struct {
		text     string
		enc      func(string) string
		password bool
	}
	parts := []part{{text: s[:userStart]}}
	if colon >= 0 {
		parts = append(parts, part{text: s[userStart:colon], enc: encUser}, part{text: s[colon:userEnd], enc: encPass, password: true})
	} else {
		parts = append(parts, part{text: s[userStart:userEnd], enc: encUser})
	}
	parts = append(parts, part{text: s[userEnd:]})
	r := expansion{passwordOnly: true}
	var b strings.Builder
	for _, p := range parts {
		e := expandWith(p.text, lookup, p.enc)
		if e.syntax != "" {
			return expansion{syntax: e.syntax}
		}
		b.WriteString(e.value)
		r.missing = append(r.missing, e.missing...)
		if len(e.missing) > 0 && !p.password {
			r.passwordOnly = false
		}
	}
	r.value = b.String()
	r.passwordOnly = r.passwordOnly && len(r.missing) > 0
	return r
}

// userInfoSpan finds the user information of the URL s as written, references included:
// it starts at userStart (just after "://") and ends at userEnd (the @ before the host); colon
// is the : between user and password (-1 when there is none). A reference counts as one
// character, so that a default holding / or @ does not end a part. ok is false when s is no
// URL with user information, or holds an unterminated reference.
func userInfoSpan(s string) (userStart, colon, userEnd int, ok bool) {
	i := strings.Index(s, "://")
	if i <= 0 || !isScheme(s[:i]) {
		return 0, 0, 0, false
	}
	userStart, colon, userEnd = i+3, -1, -1
	for j := userStart; j < len(s); j++ {
		switch {
		case strings.HasPrefix(s[j:], "$${"):
			j += 2
		case strings.HasPrefix(s[j:], "${"):
			end := refEnd(s, j+2)
			if end < 0 {
				return 0, 0, 0, false
			}
			j = end
		case s[j] == '/' || s[j] == '?' || s[j] == '#':
			j = len(s) // the authority ends here
		case s[j] == '@':
			userEnd = j
		case s[j] == ':' && colon < 0:
			colon = j
		}
	}
	if userEnd < 0 {
		return 0, 0, 0, false
	}
	if colon > userEnd {
		colon = -1 // the : of the port
	}
	return userStart, colon, userEnd, true
}

// expandText expands the references in s, which sits depth levels deep (1 for a value, 2 for
// the default of a reference, ...). Unset variables without a default are added to missing
// when missing is not nil (a default that is not used is checked, but its variables may be
// unset). enc, when not nil, encodes what each reference of s stands for. It returns the text
// and a syntax problem ("" when none).
func expandText(s string, lookup func(string) (string, bool), depth int, missing *[]string, enc func(string) string) (string, string) {
	if enc == nil {
		enc = func(v string) string { return v }
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := refEnd(s, i+2)
			if end < 0 {
				return "", "unterminated ${"
			}
			ref := s[i+2 : end]
			name, def, hasDef := strings.Cut(ref, ":-")
			if !validEnvName(name) {
				shown := name
				if len(shown) > 40 {
					shown = shown[:37] + "..."
				}
				if hasDef {
					shown += ":-..."
				}
				return "", "invalid reference ${" + shown + "}: a variable name is letters, digits and _"
			}
			if hasDef && depth >= maxRefDepth && hasReference(def) {
				return "", fmt.Sprintf("references nested more than %d deep", maxRefDepth)
			}
			v, set := lookup(name)
			switch {
			case v != "":
				b.WriteString(enc(v))
				if hasDef {
					// Not used, but a mistake in it is still a mistake.
					if _, syntax := expandText(def, lookup, depth+1, nil, nil); syntax != "" {
						return "", syntax
					}
				}
			case hasDef:
				dv, syntax := expandText(def, lookup, depth+1, missing, nil)
				if syntax != "" {
					return "", syntax
				}
				b.WriteString(enc(dv))
			case !set && missing != nil:
				*missing = append(*missing, name)
			}
			i = end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), ""
}

// refEnd returns the index of the } that closes the reference whose text starts at from (just
// after its ${), skipping references nested in a default and $${ literals; -1 when none does.
func refEnd(s string, from int) int {
	open := 0
	for j := from; j < len(s); j++ {
		switch {
		case strings.HasPrefix(s[j:], "$${"):
			j += 2
		case strings.HasPrefix(s[j:], "${"):
			open++
			j++
		case s[j] == '}':
			if open == 0 {
				return j
			}
			open--
		}
	}
	return -1
}

// hasReference reports whether s holds a ${VAR} reference.
func hasReference(s string) bool {
	return strings.Contains(strings.ReplaceAll(s, "$${", ""), "${")
}

// validEnvName reports whether name is a portable environment variable name.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
