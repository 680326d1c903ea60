package cli

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"testing"

	"github.com/creack/pty"
)

// TestStartupAsksTerminalNothing runs the real binary on a terminal that never answers. Bubble
// Tea v1's package init would ask it for its background colour (OSC 11, then CSI 6n) and wait 5 s
// for a reply in every command; package termbg defers that question until a TUI starts. So
// `--version` must print its line and nothing else: no query at all.
func TestStartupAsksTerminalNothing(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	cmd := exec.CommandContext(t.Context(), bin, "--version")
	cmd.Env = cleanEnv("TERM=xterm-256color")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 80, Rows: 24})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	buf := make([]byte, 4096)
	for { // read until the child has exited and its output is drained (EIO on Linux)
		n, err := ptmx.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			if !errors.Is(err, io.EOF) && out.Len() == 0 {
				t.Logf("pty read: %v", err)
			}
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("compozy --version: %v; output %q", err, out.String())
	}
	for _, query := range []string{"\x1b]11;?", "\x1b[6n"} {
		if bytes.Contains(out.Bytes(), []byte(query)) {
			t.Errorf("the binary asked the terminal %q at start-up; output %q", query, out.String())
		}
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("compozy ")) {
		t.Errorf("output %q, want the version line", out.String())
	}
}
