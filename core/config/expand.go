package config

import "strings"

// expansion is the result of expanding ${VAR} references in one value.
type expansion struct {
	value string
	// missing lists variables that are unset and have no default.
	missing []string
	// syntax describes a malformed reference; "" when the value is well formed.
	syntax string
}

// expand replaces ${VAR} and ${VAR:-default} in s. ${VAR:-default} uses the default when VAR is
// unset or empty; $${ is a literal ${. lookup reports a variable's value and whether it is set.
func expand(s string, lookup func(string) (string, bool)) expansion {
	if !strings.Contains(s, "${") {
		return expansion{value: s}
	}
	var b strings.Builder
	var r expansion
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				r.syntax = "unterminated ${"
				return r
			}
			ref := s[i+2 : i+2+end]
			name, def, hasDef := strings.Cut(ref, ":-")
			if !validEnvName(name) {
				r.syntax = "invalid reference ${" + ref + "}: a variable name is letters, digits and _"
				return r
			}
			v, set := lookup(name)
			switch {
			case v != "":
				b.WriteString(v)
			case hasDef:
				b.WriteString(def)
			case !set:
				r.missing = append(r.missing, name)
			}
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	r.value = b.String()
	return r
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
