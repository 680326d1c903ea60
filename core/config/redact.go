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
// overlapping, none empty. s is a URL, a key=value connection string, or text (an error
// message) that quotes either.
func secretSpans(s string) [][2]int {
	var spans [][2]int
	if i := strings.Index(s, "://"); i > 0 && isScheme(s[:i]) {
		spans = urlSpans(s, i+3, len(s))
	} else {
		spans = append(keyValueSpans(s), embeddedURLSpans(s)...)
	}
	return mergeSpans(spans)
}

// urlSpans returns the password and the secret query values of the URL whose authority starts
// at rest (just after "://") and which ends at limit. A password that holds /, ?, # or @
// unencoded makes the URL ambiguous; then the userinfo is taken to run to the last @ that cannot
// belong to a query value, so that no part of the password is left out.
func urlSpans(s string, rest, limit int) [][2]int {
	var spans [][2]int
	authEnd := limit
	if q := strings.IndexAny(s[rest:limit], "/?#"); q >= 0 {
		authEnd = rest + q
	}
	userEnd := -1
	if at := strings.LastIndexByte(s[rest:authEnd], '@'); at >= 0 {
		userEnd = rest + at
	}
	switch stray := lastStrayAt(s, authEnd, limit); {
	case stray >= 0:
		// An @ after the authority that no query value explains: the password held / ? or #.
		userEnd = stray
	case userEnd < 0 && badPort(s[rest:authEnd]):
		// "user:pa" cut short by a ? or # in the password, the rest of which looks like a query.
		if at := strings.LastIndexByte(s[rest:limit], '@'); at >= 0 {
			userEnd = rest + at
		}
	}
	from := rest
	if userEnd >= 0 {
		if colon := strings.IndexByte(s[rest:userEnd], ':'); colon >= 0 && rest+colon+1 < userEnd {
			spans = append(spans, [2]int{rest + colon + 1, userEnd})
		}
		from = userEnd + 1
	}
	if q := strings.IndexByte(s[from:limit], '?'); q >= 0 {
		qEnd := limit
		if h := strings.IndexByte(s[from+q:limit], '#'); h >= 0 {
			qEnd = from + q + h
		}
		qs := querySpans(s, from+q+1, qEnd)
		if n := len(qs); n > 0 && qs[n-1][1] == qEnd {
			qs[n-1][1] = limit // api_key=se#cret: the # is the secret's, not a fragment
		}
		spans = append(spans, qs...)
	}
	return spans
}

// lastStrayAt returns the last @ in s[from:limit] that is not inside the value of a query
// parameter (in the path, the fragment, or a query part without =): one that only a password
// holding /, ? or # can explain. -1 when there is none.
func lastStrayAt(s string, from, limit int) int {
	last := -1
	inQuery, inValue, inFragment := false, false, false
	for i := from; i < limit; i++ {
		switch c := s[i]; {
		case c == '#' && !inFragment:
			inFragment, inQuery = true, false
		case c == '?' && !inQuery && !inFragment:
			inQuery, inValue = true, false
		case inQuery && c == '&':
			inValue = false
		case inQuery && c == '=':
			inValue = true
		case c == '@' && !(inQuery && inValue):
			last = i
		}
	}
	return last
}

// badPort reports whether authority (host[:port], without userinfo) ends in a port that is not
// a number: "user:pass" cut short by a / ? or # in the password.
func badPort(authority string) bool {
	if strings.HasPrefix(authority, "[") { // an IPv6 address
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return true
		}
		authority = authority[end+1:]
	}
	colon := strings.LastIndexByte(authority, ':')
	if colon < 0 {
		return false
	}
	for _, c := range authority[colon+1:] {
		if c < '0' || c > '9' {
			return true
		}
	}
	return false
}

// embeddedURLSpans returns the secrets of the URLs quoted inside text: an error message such as
// parse "postgres://u:pass@h/db": ... ends the URL at the closing quote.
func embeddedURLSpans(s string) [][2]int {
	var spans [][2]int
	for off := 0; ; {
		i := strings.Index(s[off:], "://")
		if i < 0 {
			return spans
		}
		i += off
		off = i + 3
		start := i
		for start > 0 && isSchemeChar(s[start-1]) {
			start--
		}
		for start < i && !isLetter(s[start]) {
			start++
		}
		if start == i {
			continue
		}
		limit := len(s)
		for j := i + 3; j < len(s); j++ {
			if c := s[j]; c == '`' || c == '\n' || c == '"' && s[j-1] != '\\' {
				limit = j
				break
			}
		}
		spans = append(spans, urlSpans(s, i+3, limit)...)
		off = limit // a :// inside this URL is its own business: one pass, however many there are
	}
}

// mergeSpans sorts spans and joins those that overlap or touch.
func mergeSpans(spans [][2]int) [][2]int {
	if len(spans) < 2 {
		return spans
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a][0] < spans[b][0] })
	out := spans[:1]
	for _, sp := range spans[1:] {
		if last := &out[len(out)-1]; sp[0] <= last[1] {
			last[1] = max(last[1], sp[1])
			continue
		}
		out = append(out, sp)
	}
	return out
}

// querySpans returns the values of secret parameters in the query s[from:end].
func querySpans(s string, from, end int) [][2]int {
	var spans [][2]int
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

// kvPair is one keyword=value pair of a libpq connection string.
type kvPair struct {
	key, value string
	// start and end delimit the value as written (inside its quotes).
	start, end int
	quoted     bool
}

// parseKeyValue reads a libpq keyword/value connection string ("host=db password='a b'"). Values
// may be single-quoted; a backslash escapes the next character. bad says what is wrong when s
// is not well formed ("" when it is), without quoting any of it; pairs are those read so far.
func parseKeyValue(s string) (pairs []kvPair, bad string) {
	i := 0
	space := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' }
	skipSpace := func() {
		for i < len(s) && space(s[i]) {
			i++
		}
	}
	for {
		skipSpace()
		if i >= len(s) {
			return pairs, ""
		}
		start := i
		for i < len(s) && s[i] != '=' && !space(s[i]) {
			i++
		}
		key := s[start:i]
		skipSpace()
		if key == "" || i >= len(s) || s[i] != '=' {
			return pairs, "a word is not followed by = (a value with spaces must be in single quotes: application_name='my app')"
		}
		i++ // '='
		skipSpace()
		var v strings.Builder
		p := kvPair{key: key}
		if i < len(s) && s[i] == '\'' {
			p.quoted = true
			i++
			p.start = i
			for ; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				v.WriteByte(s[i])
			}
			if i >= len(s) {
				p.end, p.value = i, v.String()
				return append(pairs, p), "a quoted value has no closing quote"
			}
			p.end = i
			i++ // closing quote
		} else {
			p.start = i
			for ; i < len(s) && !space(s[i]); i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				v.WriteByte(s[i])
			}
			p.end = i
		}
		p.value = v.String()
		pairs = append(pairs, p)
	}
}

// keyValueSpans returns the secret values of a libpq key=value connection string, or of text
// that holds such pairs. Values may be single-quoted with backslash escapes. In a connection
// string (s starts with a pair), an unquoted secret is taken to run on over the words after it
// that are not key=value pairs ("password=a b c host=db"): libpq would refuse the string, but a
// reader would take them for the rest of the password.
func keyValueSpans(s string) [][2]int {
	var spans [][2]int
	i := 0
	space := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	skipSpace := func() {
		for i < len(s) && space(s[i]) {
			i++
		}
	}
	// word reads a word up to a space or =, and reports where it ends and whether an = follows.
	word := func() (string, int, bool) {
		start := i
		for i < len(s) && s[i] != '=' && !space(s[i]) {
			i++
		}
		w, end := s[start:i], i
		skipSpace()
		return w, end, i < len(s) && s[i] == '='
	}
	skipSpace()
	_, _, connString := word() // s starts as a connection string, not as text that quotes one
	i = 0
	for i < len(s) {
		skipSpace()
		start := i
		key, _, isPair := word()
		if !isPair {
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
			vEnd = min(i, len(s))
			if i < len(s) {
				i++ // closing quote
			}
		} else {
			for i < len(s) && !space(s[i]) {
				i++
			}
			vEnd = i
			for connString && isSecretParam(key) && i < len(s) {
				save := i
				skipSpace()
				w, end, isPair := word()
				if w == "" || isPair {
					i = save
					break
				}
				vEnd = end
			}
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

func isSchemeChar(c byte) bool {
	return isLetter(c) || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
