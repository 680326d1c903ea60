// Command testreport reads `go test -json` on standard input and prints what `go test` prints
// for packages (ok, FAIL, no test files), the whole output of every test that failed, and at the
// end every test that was skipped, with the reason it gave, so that a skip is never silent:
//
//	go test -json ./... | go run ./internal/testreport
//
// It exits 1 when a test or a package failed, or the input ended without a result for a
// package that started (a crash or a build error, which go test reports on standard error).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build events
	Test       string
	Output     string
	Elapsed    float64
}

type skip struct{ pkg, test, reason string }

func main() {
	failed, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// report copies the package results and failures of r to w and ends with the skips. It reports
// whether anything failed.
func report(r io.Reader, w io.Writer) (bool, error) {
	out := map[string][]string{} // output of a test (pkg/test) or a package (pkg/)
	var skips []skip
	started := map[string]bool{}
	failed := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Fprintln(w, string(line)) // not JSON: go test's own message (a build error)
			continue
		}
		key := e.Package + "/" + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "build-fail":
			failed = true
		case "start":
			started[e.Package] = true
		case "output":
			out[key] = append(out[key], e.Output)
		case "fail":
			failed = true
			if e.Test != "" {
				fmt.Fprint(w, strings.Join(out[key], ""))
			} else {
				fmt.Fprint(w, strings.Join(packageLines(out[key]), ""))
				fmt.Fprintf(w, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
				delete(started, e.Package)
			}
			delete(out, key)
		case "skip":
			if e.Test != "" {
				skips = append(skips, skip{e.Package, e.Test, reason(out[key])})
			} else {
				fmt.Fprintf(w, "?   \t%s\t[no test files]\n", e.Package)
				delete(started, e.Package)
			}
			delete(out, key)
		case "pass":
			if e.Test == "" {
				fmt.Fprintf(w, "ok  \t%s\t%s\n", e.Package, elapsed(e.Elapsed, out[key]))
				delete(started, e.Package)
			}
			delete(out, key)
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	for pkg := range started {
		failed = true
		fmt.Fprintf(w, "FAIL\t%s\t(no result: the test binary ended early)\n", pkg)
	}
	writeSkips(w, skips)
	return failed, nil
}

// packageLines keeps a failed package's own output (panics, TestMain messages), without the
// per-test lines already shown.
func packageLines(lines []string) []string {
	var keep []string
	for _, l := range lines {
		if l == "FAIL\n" || strings.HasPrefix(l, "FAIL\t") || strings.HasPrefix(l, "ok  \t") {
			continue
		}
		keep = append(keep, l)
	}
	return keep
}

// elapsed is "1.234s", or "(cached)" when go test took the result from its cache.
func elapsed(secs float64, lines []string) string {
	for _, l := range lines {
		if strings.Contains(l, "(cached)") {
			return "(cached)"
		}
	}
	return (time.Duration(secs * float64(time.Second))).Round(time.Millisecond).String()
}

// reason is what a skipped test said (t.Skip's message comes before the "--- SKIP" line):
// its lines without the === and --- markers, joined.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

func writeSkips(w io.Writer, skips []skip) {
	if len(skips) == 0 {
		fmt.Fprintln(w, "\nNo test was skipped.")
		return
	}
	slices.SortFunc(skips, func(a, b skip) int { return strings.Compare(a.pkg+a.test, b.pkg+b.test) })
	fmt.Fprintf(w, "\n%d skipped:\n", len(skips))
	for _, s := range skips {
		fmt.Fprintf(w, "  SKIP %s %s: %s\n", strings.TrimPrefix(s.pkg, "compozy.dev/setup/"), s.test, s.reason)
	}
}
