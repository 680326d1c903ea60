// Package docs is compozy's user documentation: the Markdown pages in this folder, embedded in
// the binary so that `compozy docs` shows the pages of the version that runs, offline; their
// order in the sidebar; and search over pages and headings.
//
// Parts of some pages are generated from the code (`make docs`, see internal/docgen); they sit
// between <!-- BEGIN GENERATED: name --> and <!-- END GENERATED --> markers.
package docs

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

//go:embed *.md database configuration knowledge-bases getting-started deployment troubleshooting cli reference
var files embed.FS

// FS returns the embedded pages, with paths such as "database/sqlite.md".
func FS() fs.FS { return files }

// Page is one page of the documentation.
type Page struct {
	// Name is the page's path without ".md": "database/sqlite". It is what `compozy docs`
	// takes.
	Name string
	// Section is the sidebar section the page belongs to.
	Section string
	// Title is the page's first heading.
	Title string
}

// File is the page's path inside docs/: "database/sqlite.md".
func (p Page) File() string { return p.Name + ".md" }

// sidebar is the navigation: sections in the order of the documentation plan, pages in order.
func sidebar() []struct {
	section string
	pages   []string
} {
	return []struct {
		section string
		pages   []string
	}{
		{"Start here", []string{"index"}},
		{"Getting Started", []string{"getting-started/installation", "getting-started/quickstart"}},
		{"Database", []string{"database/overview", "database/postgresql", "database/sqlite"}},
		{"Configuration", []string{"configuration/database"}},
		{"Knowledge Bases", []string{"knowledge-bases/vector-databases"}},
		{"Deployment", []string{"deployment/production"}},
		{"CLI Reference", []string{"cli/index", "cli/quickstart", "cli/init", "cli/doctor", "cli/migrate", "cli/config", "cli/db", "cli/docs"}},
		{"Troubleshooting", []string{"troubleshooting/database"}},
		{"Reference", []string{"reference/configuration", "benchmarks", "benchmarks-vector", "benchmarks-doctor"}},
	}
}

// Pages returns every page in sidebar order. The slice is new on every call.
func Pages() []Page {
	var out []Page
	for _, s := range sidebar() {
		for _, name := range s.pages {
			p := Page{Name: name, Section: s.section, Title: name}
			if b, err := fs.ReadFile(files, name+".md"); err == nil {
				if t := title(string(b)); t != "" {
					p.Title = t
				}
			}
			out = append(out, p)
		}
	}
	return out
}

// Read returns the Markdown of the page named name ("database/sqlite").
func Read(name string) (string, error) {
	b, err := fs.ReadFile(files, name+".md")
	if err != nil {
		return "", fmt.Errorf("read page %s: %w", name, err)
	}
	return string(b), nil
}

// Find resolves what a user typed to a page: a page name ("database/sqlite"), a file path
// ("docs/database/sqlite.md"), or the last part of a name when only one page ends with it
// ("sqlite", "quickstart" picks the getting-started page before the CLI page, in sidebar
// order). An anchor ("#sqlitelock") is split off and returned apart. ok is false when nothing
// matches.
func Find(query string) (p Page, anchor string, ok bool) {
	query, anchor, _ = strings.Cut(strings.TrimSpace(query), "#")
	query = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(query, "./"), "docs/"), ".md")
	query = strings.ToLower(strings.Trim(query, "/"))
	pages := Pages()
	for _, p := range pages {
		if p.Name == query {
			return p, anchor, true
		}
	}
	for _, p := range pages {
		if path.Base(p.Name) == query || strings.HasSuffix(p.Name, "/"+query) {
			return p, anchor, true
		}
	}
	return Page{}, anchor, false
}

// title is the text of the first level-1 heading of md.
func title(md string) string {
	for _, h := range Headings(md) {
		if h.Level == 1 {
			return strings.ReplaceAll(h.Text, "`", "")
		}
	}
	return ""
}

// Suggest returns the page nearest to what the user typed, for a "did you mean" when Find found
// nothing: the fewest letters to change in its name or the last part of it ("sqllite" is
// database/sqlite), its first part, or a name that starts with it. ok is false when nothing is
// that near.
func Suggest(query string) (Page, bool) {
	query, _, _ = strings.Cut(strings.TrimSpace(query), "#")
	query = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(query, "./"), "docs/"), ".md")
	query = strings.ToLower(strings.Trim(query, "/"))
	if query == "" {
		return Page{}, false
	}
	best, bestScore := Page{}, -1
	limit := 2 * max(1, len([]rune(query))/3) // in half letters
	for _, p := range Pages() {
		section, _, _ := strings.Cut(p.Name, "/")
		score := 2 * min(distance(query, p.Name), distance(query, path.Base(p.Name)), distance(query, section))
		if len(query) >= 3 && (strings.HasPrefix(path.Base(p.Name), query) || strings.HasPrefix(p.Name, query)) {
			score = min(score, 1)
		}
		if score <= limit && (bestScore < 0 || score < bestScore) {
			best, bestScore = p, score
		}
	}
	return best, bestScore >= 0
}

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
