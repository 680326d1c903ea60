// Command docgen regenerates the generated parts of the pages in docs/ (`make docs`). With
// -check it changes nothing and exits 1 when a page is stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"compozy.dev/setup/internal/docgen"
)

func main() {
	dir := flag.String("dir", "docs", "the docs folder")
	check := flag.Bool("check", false, "report stale pages and change nothing")
	flag.Parse()
	run := docgen.Write
	if *check {
		run = docgen.Stale
	}
	changed, err := run(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
	for _, p := range changed {
		if *check {
			fmt.Println("stale:", p)
		} else {
			fmt.Println("updated:", p)
		}
	}
	if *check && len(changed) > 0 {
		fmt.Fprintln(os.Stderr, "docgen: run 'make docs'")
		os.Exit(1)
	}
}
