package docs

import (
	"sort"
	"strings"
)

// Result is one page that matches a search, with the headings whose sections match.
type Result struct {
	Page  Page
	Score int
	// Headings are the matching sections of the page, best first.
	Headings []Heading
}

// Search ranks pages and their headings for term (every word must occur in a page for it to
// match). A word that names a section (the first part of page names) ranks its pages first;
// then a word in the page's name or title counts most, then in a heading, then in the text, so
// "database" lists the database pages first and "sqlite" puts database/sqlite first. Ties keep
// sidebar order.
func Search(term string) []Result {
	words := strings.Fields(strings.ToLower(term))
	if len(words) == 0 {
		return nil
	}
	var out []Result
	for _, p := range Pages() {
		md, err := Read(p.Name)
		if err != nil {
			continue
		}
		if r, ok := score(p, md, words); ok {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// score rates one page. Page names are lower case.
func score(p Page, md string, words []string) (Result, bool) {
	lower := strings.ToLower(md)
	r := Result{Page: p}
	for _, w := range words {
		n := strings.Count(lower, w)
		if n == 0 {
			return Result{}, false
		}
		r.Score += min(n, 20)
		section, base, _ := strings.Cut(p.Name, "/")
		switch {
		case section == w && base != "":
			r.Score += 200 // the word names the page's section: "database" lists database/* first
		case strings.Contains(p.Name, w):
			r.Score += 60
		}
		if strings.Contains(strings.ToLower(p.Title), w) {
			r.Score += 40
		}
	}
	phrase := strings.Join(words, " ")
	if len(words) > 1 {
		// The words as a phrase count as much as a title.
		r.Score += 40 * min(strings.Count(lower, phrase), 3)
	}
	type hit struct {
		h Heading
		s int
	}
	var hits []hit
	hs := Headings(md)
	lines := strings.Split(md, "\n")
	for i, h := range hs {
		if h.Level == 1 {
			continue
		}
		// The heading's own text: up to the next heading of any level.
		end := len(lines)
		if i+1 < len(hs) {
			end = hs[i+1].Line - 1
		}
		text := strings.Join(lines[h.Line-1:end], "\n")
		ht, st := strings.ToLower(h.Text), strings.ToLower(text)
		s := 0
		for _, w := range words {
			if strings.Contains(ht, w) {
				s += 10
			}
			s += min(strings.Count(st, w), 5)
		}
		if len(words) > 1 && strings.Contains(st, phrase) {
			s += 20
		}
		all := true
		for _, w := range words {
			all = all && strings.Contains(st, w)
		}
		if all && (s >= 10 || s >= 3 && len(words) == 1) {
			hits = append(hits, hit{h, s})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].s > hits[j].s })
	for i, h := range hits {
		if i == maxHeadings {
			break
		}
		r.Headings = append(r.Headings, h.h)
		r.Score += min(h.s, 15)
	}
	return r, true
}

// maxHeadings is how many sections of a page a result lists.
const maxHeadings = 3

// CheckPage is the page that explains compozy doctor's checks.
const CheckPage = "troubleshooting/database"

// CheckSection returns the page and heading that cover the doctor check id, from the generated
// error reference of CheckPage. ok is false when the page has no section for it.
func CheckSection(id string) (Page, Heading, bool) {
	p, _, ok := Find(CheckPage)
	if !ok {
		return Page{}, Heading{}, false
	}
	md, err := Read(p.Name)
	if err != nil {
		return Page{}, Heading{}, false
	}
	for _, h := range Headings(md) {
		if h.Text == "`"+id+"`" {
			return p, h, true
		}
	}
	return Page{}, Heading{}, false
}
