package config

import (
	"sort"
	"strings"
)

// Redacted replaces a secret wherever configuration is printed.
const Redacted = "[redacted]"

// Redact returns s with every password it carries replaced by Redacted: the password of a URL
// (postgres://user:pass@host, redis://:pass@host), secret query parameters (password, api_key,
// token, ...), and password=... in a key=value connection string ("host=db password='x y'").
// Everything else is kept, so the result still says where a connection goes.
func Redact(s string) string {
	spans := secretSpans(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp[0]])
		b.WriteString(Redacted)
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// plaintextSecret reports whether s carries a secret written out rather than as a ${VAR}
// reference.
func plaintextSecret(s string) bool {
	for _, sp := range secretSpans(s) {
		if !hasReference(s[sp[0]:sp[1]]) {
			return true
		}
	}
	return false
}

// secretSpans returns the [start, end) byte ranges of the secrets in s, in order, not
// overlapping, none empty.
func secretSpans(s string) [][2]int {
	var spans [][2]int
	if i := strings.Index(s, "://"); i > 0 && isScheme(s[:i]) {
		rest := i + 3
		end := len(s)
		if q := strings.IndexAny(s[rest:], "?#"); q >= 0 {
			end = rest + q
		}
		if at := strings.LastIndexByte(s[rest:end], '@'); at >= 0 {
			if colon := strings.IndexByte(s[rest:rest+at], ':'); colon >= 0 && colon+1 < at {
				spans = append(spans, [2]int{rest + colon + 1, rest + at})
			}
		}
		if end < len(s) && s[end] == '?' {
			spans = append(spans, querySpans(s, end+1)...)
		}
	} else {
		spans = keyValueSpans(s)
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a][0] < spans[b][0] })
	return spans
}

// querySpans returns the values of secret parameters in the query that starts at from.
func querySpans(s string, from int) [][2]int {
	var spans [][2]int
	end := len(s)
	if h := strings.IndexByte(s[from:], '#'); h >= 0 {
		end = from + h
	}
	for pos := from; pos < end; {
		next := strings.IndexByte(s[pos:end], '&')
		pairEnd := end
		if next >= 0 {
			pairEnd = pos + next
		}
		if eq := strings.IndexByte(s[pos:pairEnd], '='); eq >= 0 && isSecretParam(s[pos:pos+eq]) && pos+eq+1 < pairEnd {
			spans = append(spans, [2]int{pos + eq + 1, pairEnd})
		}
		pos = pairEnd + 1
	}
	return spans
}

// keyValueSpans returns the secret values of a libpq key=value connection string. Values may be
// single-quoted with backslash escapes.
func keyValueSpans(s string) [][2]int {
	var spans [][2]int
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	for i < len(s) {
		skipSpace()
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := s[start:i]
		skipSpace()
		if i >= len(s) || s[i] != '=' {
			if i == start {
				i++ // not a key=value pair; move on
			}
			continue
		}
		i++ // '='
		skipSpace()
		vStart, vEnd := i, i
		if i < len(s) && s[i] == '\'' {
			i++
			vStart = i
			for i < len(s) && s[i] != '\'' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				i++
			}
			vEnd = i
			if i < len(s) {
				i++ // closing quote
			}
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' {
				i++
			}
			vEnd = i
		}
		if isSecretParam(key) && vEnd > vStart {
			spans = append(spans, [2]int{vStart, vEnd})
		}
	}
	return spans
}

// isSecretParam reports whether a URL query parameter or key=value key names a secret.
func isSecretParam(key string) bool {
	switch strings.ToLower(key) {
	case "password", "sslpassword", "pass", "api_key", "apikey", "api-key", "token", "access_token", "secret":
		return true
	}
	return false
}

// isScheme reports whether s is a URL scheme (letters, digits, + - .; starting with a letter).
func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}
