package cli

import (
	"os"
	"strings"
	"testing"
)

// emptyDir fails when dir holds anything: nothing was written.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files written: %v", names)
	}
}

// queries are what a program asks a terminal: background colour, cursor position.
var queries = []string{"\x1b]11;?", "\x1b[6n"}

func asked(out string) bool {
	for _, q := range queries {
		if strings.Contains(out, q) {
			return true
		}
	}
	return false
}
