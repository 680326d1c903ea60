// Package shellquote writes words for a POSIX shell: the commands compozy prints for a user to
// copy (a fix, the next step, a pg_dump line) must run as shown whatever a path or a name holds.
package shellquote

import "strings"

// Quote returns s as one word of a POSIX shell command line. A word made only of ASCII letters,
// digits and @ % + = : , . / - _ stays as it is (the set Python's shlex.quote leaves alone);
// anything else, and the empty word, is put in single quotes, with each ' written as '\”.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, unsafe) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes each word and joins them with spaces.
func Join(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}

// unsafe reports whether r needs quoting.
func unsafe(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("@%+=:,./-_", r)
}
