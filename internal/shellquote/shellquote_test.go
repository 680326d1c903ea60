package shellquote

import (
	"os/exec"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "''",
		"compozy.db":              "compozy.db",
		"/var/lib/compozy/c.db":   "/var/lib/compozy/c.db",
		"user@host:5432":          "user@host:5432",
		"a,b=c+d%e_f-g":           "a,b=c+d%e_f-g",
		"with space":              "'with space'",
		"it's":                    `'it'\''s'`,
		"$HOME":                   "'$HOME'",
		"a;rm -rf /":              "'a;rm -rf /'",
		"back`tick`":              "'back`tick`'",
		"glob*":                   "'glob*'",
		"~user":                   "'~user'",
		"line\nbreak":             "'line\nbreak'",
		"données":                 "'données'",
		"CREATE EXTENSION vector": "'CREATE EXTENSION vector'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestShellReadsBack: sh reads every quoted word back as the original, one word each.
func TestShellReadsBack(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	words := []string{"", "plain", "with space", "it's", `"dq"`, "$HOME", "a;b|c&d", "back`tick`", "*", "~", "line\nbreak", `\`, "données", "-n"}
	out, err := exec.Command(sh, "-c", "printf '%s\\0' "+Join(words...)).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(words) {
		t.Fatalf("sh read %d words, want %d: %q", len(got), len(words), got)
	}
	for i := range words {
		if got[i] != words[i] {
			t.Errorf("word %d: sh read %q, want %q", i, got[i], words[i])
		}
	}
}
