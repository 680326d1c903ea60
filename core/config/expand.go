package config

import (
	"fmt"
	"strings"
)

// expansion is the result of expanding ${VAR} references in one value.
type expansion struct {
	value string
	// missing lists variables that are unset and have no default.
	missing []string
	// syntax describes a malformed reference; "" when the value is well formed.
	syntax string
}

// maxRefDepth bounds how deep references may nest inside defaults: ${A:-${B:-${C}}} is 3 deep.
const maxRefDepth = 8

// expand replaces ${VAR} and ${VAR:-default} in s. ${VAR:-default} uses the default when VAR is
// unset or empty; the default may itself hold references (${A:-${B:-x}}), up to maxRefDepth
// deep. $${ is a literal ${. A variable's value is used as it is, never expanded again. lookup
// reports a variable's value and whether it is set.
func expand(s string, lookup func(string) (string, bool)) expansion {
	if !strings.Contains(s, "${") {
		return expansion{value: s}
	}
	var r expansion
	value, syntax := expandText(s, lookup, 1, &r.missing)
	if syntax != "" {
		return expansion{syntax: syntax}
	}
	r.value = value
	return r
}

// expandText expands the references in s, which sits depth levels deep (1 for a value, 2 for
// the default of a reference, ...). Unset variables without a default are added to missing
// when missing is not nil (a default that is not used is checked, but its variables may be
// unset). It returns the text and a syntax problem ("" when none).
func expandText(s string, lookup func(string) (string, bool), depth int, missing *[]string) (string, string) {
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
				b.WriteString(v)
				if hasDef {
					// Not used, but a mistake in it is still a mistake.
					if _, syntax := expandText(def, lookup, depth+1, nil); syntax != "" {
						return "", syntax
					}
				}
			case hasDef:
				dv, syntax := expandText(def, lookup, depth+1, missing)
				if syntax != "" {
					return "", syntax
				}
				b.WriteString(dv)
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
