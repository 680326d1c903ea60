package wizard

import (
	"strings"
	"unicode/utf8"
)

// secretSpans returns where the secrets of a URL are, as typed so far: the password of its
// user info (also while it is being typed, before the @), and, for a vector DB URL, the values
// of its secret query parameters (api_key, token, password, ...).
func secretSpans(s string, params bool) [][2]int {
	i := strings.Index(s, "://")
	if i < 0 {
		return nil
	}
	start := i + 3
	end := len(s)
	if j := strings.IndexAny(s[start:], "/?#"); j >= 0 {
		end = start + j
	}
	auth := s[start:end]
	var spans [][2]int
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		if c := strings.IndexByte(auth[:at], ':'); c >= 0 && c+1 < at {
			spans = append(spans, [2]int{start + c + 1, start + at})
		}
	} else if c := strings.IndexByte(auth, ':'); c >= 0 {
		// No @ yet: "user:secr" is a password being typed; "host:54" is a port.
		if after := auth[c+1:]; after != "" && strings.Trim(after, "0123456789") != "" {
			spans = append(spans, [2]int{start + c + 1, end})
		}
	}
	if q := strings.IndexByte(s, '?'); params && q >= 0 {
		off := q + 1
		for _, part := range strings.Split(s[q+1:], "&") {
			if k, v, ok := strings.Cut(part, "="); ok && v != "" && secretParamEnv(k) != "" && !hasRef(v) {
				vs := off + len(k) + 1
				spans = append(spans, [2]int{vs, vs + len(v)})
			}
			off += len(part) + 1
		}
	}
	return spans
}

// maskView hides the secrets of value (a URL being typed) where the view shows them.
func maskView(view, value string, params bool) string {
	spans := secretSpans(value, params)
	if len(spans) == 0 {
		return view
	}
	masked := []byte(value)
	var out strings.Builder
	last := 0
	for _, sp := range spans {
		out.Write(masked[last:sp[0]])
		out.WriteString(strings.Repeat("•", utf8.RuneCount(masked[sp[0]:sp[1]])))
		last = sp[1]
	}
	out.Write(masked[last:])
	if strings.Contains(view, value) {
		return strings.ReplaceAll(view, value, out.String())
	}
	// The view shows part of the value (scrolled, or split at the cursor): hide each secret
	// wherever it shows whole.
	for _, sp := range spans {
		if secret := value[sp[0]:sp[1]]; len(secret) >= 3 {
			view = strings.ReplaceAll(view, secret, strings.Repeat("•", utf8.RuneCountInString(secret)))
		}
	}
	return view
}
