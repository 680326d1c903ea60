package prompt

import (
	"fmt"
	"io"
	"time"
)

// spinnerFrames are the frames of every spinner here.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// spin shows a spinner on w while a slow step runs, when w is a terminal; otherwise it prints
// the label once. The returned func stops it and clears the line.
func spin(w io.Writer, tty bool, label string) func() {
	if !tty {
		fmt.Fprintln(w, label)
		return func() {}
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(80 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r%s %s", spinnerFrames[i%len(spinnerFrames)], label)
			select {
			case <-done:
				fmt.Fprint(w, "\r\x1b[2K")
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-stopped }
}
