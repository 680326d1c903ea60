// Command compozy sets up, checks and migrates the databases of a Compozy installation.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"compozy.dev/setup/cli"
	"compozy.dev/setup/tui/term"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	exe, _ := os.Executable()
	code := cli.Main(ctx, os.Args[1:], term.System(), cli.BuildInfo{Version: version, Invocation: cli.Invocation(os.Args[0], exe)})
	stop()
	os.Exit(code)
}
