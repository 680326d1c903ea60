// Package docgen generates the parts of the Markdown pages in docs/ that come from the code: the
// decision matrix and its flowchart (package wizard), the configuration reference (core/config),
// the doctor's error reference (package doctor) and the CLI pages (the cobra command tree).
//
// A generated part sits in a page between the lines
//
//	<!-- BEGIN GENERATED: NAME -->
//	<!-- END GENERATED -->
//
// and Update replaces what is between them, so prose and generated tables share a page. `make
// docs` runs cmd/docgen, which rewrites the pages; a test fails when a page is stale.
package docgen

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Marker lines.
const (
	beginPrefix = "<!-- BEGIN GENERATED: "
	beginSuffix = " -->"
	endMarker   = "<!-- END GENERATED -->"
)

// Blocks returns the content of every generated part, by name.
func Blocks() (map[string]string, error) {
	blocks := map[string]string{
		"decision-matrix":    decisionMatrix(),
		"decision-flowchart": decisionFlowchart(),
		"vector-matrix":      vectorMatrix(),
		"config-reference":   configReference(),
		"config-summary":     configSummary(),
		"config-env":         configEnv(),
		"config-flags":       configFlags(),
		"doctor-checks":      doctorChecks(),
	}
	cli, err := cliBlocks()
	if err != nil {
		return nil, err
	}
	for k, v := range cli {
		blocks[k] = v
	}
	return blocks, nil
}

// Update replaces the content of every generated part of page with its block. It fails on an
// unknown name or a marker without its end, so a typo in a page cannot hide a part.
func Update(page string, blocks map[string]string) (string, error) {
	var b strings.Builder
	rest := page
	for {
		i := strings.Index(rest, beginPrefix)
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		lineEnd := strings.Index(rest[i:], "\n")
		if lineEnd < 0 {
			return "", fmt.Errorf("generated part at the end of the page has no %s", endMarker)
		}
		line := rest[i : i+lineEnd]
		name, ok := strings.CutSuffix(strings.TrimPrefix(line, beginPrefix), beginSuffix)
		if !ok {
			return "", fmt.Errorf("malformed marker %q", line)
		}
		content, known := blocks[name]
		if !known {
			return "", fmt.Errorf("unknown generated part %q", name)
		}
		end := strings.Index(rest[i:], endMarker)
		if end < 0 {
			return "", fmt.Errorf("generated part %q has no %s", name, endMarker)
		}
		b.WriteString(rest[:i+lineEnd+1])
		b.WriteString("\n")
		b.WriteString(strings.TrimSpace(content))
		b.WriteString("\n\n")
		b.WriteString(endMarker)
		rest = rest[i+end+len(endMarker):]
	}
}

// Names lists the generated parts a page holds.
func Names(page string) []string {
	var out []string
	for _, line := range strings.Split(page, "\n") {
		if name, ok := strings.CutPrefix(line, beginPrefix); ok {
			out = append(out, strings.TrimSuffix(name, beginSuffix))
		}
	}
	return out
}

// Stale compares every page under dir with its regenerated form and returns the pages that
// differ, relative to dir. It also fails when a block is used by no page.
func Stale(dir string) ([]string, error) {
	changed, err := walk(dir, false)
	return changed, err
}

// Write regenerates every page under dir in place and returns the pages it changed.
func Write(dir string) ([]string, error) {
	return walk(dir, true)
}

func walk(dir string, write bool) ([]string, error) {
	blocks, err := Blocks()
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	var changed []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".md") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, n := range Names(string(b)) {
			used[n] = true
		}
		out, err := Update(string(b), blocks)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if out == string(b) {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		changed = append(changed, rel)
		if write {
			return os.WriteFile(p, []byte(out), 0o644)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var unused []string
	for n := range blocks {
		if !used[n] {
			unused = append(unused, n)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		return changed, fmt.Errorf("generated parts used by no page: %s", strings.Join(unused, ", "))
	}
	return changed, nil
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// code wraps s in backticks.
func code(s string) string { return "`" + s + "`" }
