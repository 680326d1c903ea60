package testenv

import "strings"

// JoinComments joins each YAML comment line to the comment line before it, so that a sentence
// wrapped over several comment lines reads as one (tests look for whole sentences).
func JoinComments(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if n := len(lines); n > 0 && strings.HasPrefix(strings.TrimSpace(l), "#") && strings.HasPrefix(strings.TrimSpace(lines[n-1]), "#") {
			lines[n-1] += " " + strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "#"))
			continue
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}
