package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/tui/term"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	ios, _, out, _ := term.Test()
	code := Main(context.Background(), []string{"--version"}, ios, BuildInfo{Version: "1.2.3"})
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	if got, want := out.String(), "compozy 1.2.3\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"migrate", "sideways"}, `unknown command "sideways"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ios, _, _, errOut := term.Test()
			code := Main(context.Background(), tt.args, ios, BuildInfo{})
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, ExitUsage, errOut)
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.want)
			}
		})
	}
}

func TestExitCodeMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain", errors.New("boom"), ExitFailed},
		{"usage", usageErrorf("bad flag"), ExitUsage},
		{"config", fmt.Errorf("load: %w", &config.Error{}), ExitUsage},
		{"exit", &ExitError{Code: ExitPending}, ExitPending},
		{"wrapped exit", fmt.Errorf("x: %w", &ExitError{Code: ExitDatabaseNewer}), ExitDatabaseNewer},
		{"aborted", ErrAborted, ExitAborted},
		{"canceled", fmt.Errorf("migrate: %w", context.Canceled), ExitAborted},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("%s: exitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestReadPassword(t *testing.T) {
	t.Parallel()
	got, err := readPassword(strings.NewReader("p@ss w/'rd\"\\\nnext line\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `p@ss w/'rd"\`; got != want {
		t.Errorf("password %q, want %q", got, want)
	}
	if _, err := readPassword(strings.NewReader("")); exitCode(err) != ExitUsage {
		t.Errorf("empty stdin: err %v, want a usage error", err)
	}
}
