package cli

import (
	"strings"
	"testing"
)

// TestUsageHintOnlyAfterUsageErrors: a command line that is wrong ends with the help of the
// command that ran; a refusal or a configuration error says what to do and nothing about --help.
func TestUsageHintOnlyAfterUsageErrors(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		hint string // "" means no hint at all
	}{
		{"bad flag value", nil, []string{"migrate", "up", "--to", "soon"}, "Run 'compozy migrate up --help' for usage."},
		{"unknown flag", nil, []string{"db", "backup", "--bogus"}, "Run 'compozy db backup --help' for usage."},
		{"unknown subcommand", nil, []string{"migrate", "sideways"}, "Run 'compozy migrate --help' for usage."},
		{"stray argument", nil, []string{"config", "show", "extra"}, "Run 'compozy config show --help' for usage."},
		{"refusal", []string{"COMPOZY_DB_DRIVER=postgres"}, []string{"quickstart"}, ""},
		{"configuration error", []string{"COMPOZY_DB_PORT=99999"}, []string{"config", "validate"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := binRun(t, bin, t.TempDir(), tc.env, tc.args...)
			if r.code != ExitUsage {
				t.Fatalf("exit %d, want %d\n%s", r.code, ExitUsage, r.errOut)
			}
			switch {
			case tc.hint == "" && strings.Contains(r.errOut, "--help' for usage"):
				t.Errorf("a hint after a non-usage error:\n%s", r.errOut)
			case tc.hint != "" && !strings.Contains(r.errOut, tc.hint):
				t.Errorf("want %q:\n%s", tc.hint, r.errOut)
			}
		})
	}
}

func TestInvocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ arg0, exe, want string }{
		{"/tmp/go-build2840/b001/exe/compozy", "/tmp/go-build2840/b001/exe/compozy", "go run ."},
		{"/root/.cache/go-build/8b/8b0de24174793f9582d1b3c66c780f61eecd53fc025de21d9df9e96ae9afb353-d/setup",
			"/root/.cache/go-build/8b/8b0de24174793f9582d1b3c66c780f61eecd53fc025de21d9df9e96ae9afb353-d/setup", "go run ."},
		{"compozy", "/usr/local/bin/compozy", "compozy"},
		{"./setup-d/compozy", "/home/me/src/setup-d/compozy", "./setup-d/compozy"},
		{"./compozy", "/home/me/src/compozy", "./compozy"},
		{"/opt/my tools/compozy", "/opt/my tools/compozy", "'/opt/my tools/compozy'"},
		{"", "", "compozy"},
	} {
		if got := Invocation(tc.arg0, tc.exe); got != tc.want {
			t.Errorf("Invocation(%q, %q) = %q, want %q", tc.arg0, tc.exe, got, tc.want)
		}
	}
}
