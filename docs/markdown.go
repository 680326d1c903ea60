package docs

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Heading is one ATX heading ("## Backup") of a page.
type Heading struct {
	Level int
	// Text is the heading as written, without the #s.
	Text string
	// Anchor is the link target GitHub gives it ("backup"), unique within the page.
	Anchor string
	// Line is the heading's 1-based line number.
	Line int
}

// Block is one fenced code block.
type Block struct {
	// Lang is the info string's first word ("yaml", "sh"); "" when none.
	Lang string
	// Body is the content, without the fences.
	Body string
	// Line is the 1-based line number of the opening fence.
	Line int
	// Marker is the text of an HTML comment on the line just before the opening fence (for
	// example "invalid: pgvector provider is incompatible with SQLite driver"), or "".
	Marker string
}

// Headings lists the headings of md outside code blocks, with GitHub's anchors.
func Headings(md string) []Heading {
	var out []Heading
	seen := map[string]int{}
	for i, line := range strings.Split(Prose(md), "\n") {
		level := 0
		for level < len(line) && line[level] == '#' {
			level++
		}
		if level == 0 || level > 6 || level >= len(line) || line[level] != ' ' {
			continue
		}
		text := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(line[level:]), "#"))
		a := Slug(text)
		if n, dup := seen[a]; dup {
			seen[a] = n + 1
			a += "-" + strconv.Itoa(n+1)
		} else {
			seen[a] = 0
		}
		out = append(out, Heading{Level: level, Text: text, Anchor: a, Line: i + 1})
	}
	return out
}

// fenceOf returns the fence (``` or ~~~, possibly longer) that line opens or closes, or "".
func fenceOf(line string) string {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return ""
	}
	for _, c := range []string{"`", "~"} {
		n := 0
		for n < len(t) && t[n:n+1] == c {
			n++
		}
		if n >= 3 {
			return t[:n]
		}
	}
	return ""
}

// CodeBlocks lists the fenced code blocks of md.
func CodeBlocks(md string) []Block {
	var out []Block
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		f := fenceOf(lines[i])
		if f == "" {
			continue
		}
		info := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[i]), f))
		b := Block{Line: i + 1}
		if fields := strings.Fields(info); len(fields) > 0 {
			b.Lang = fields[0]
		}
		if i > 0 {
			prev := strings.TrimSpace(lines[i-1])
			if strings.HasPrefix(prev, "<!--") && strings.HasSuffix(prev, "-->") {
				b.Marker = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(prev, "<!--"), "-->"))
			}
		}
		var body []string
		j := i + 1
		for ; j < len(lines); j++ {
			t := strings.TrimSpace(lines[j])
			if strings.HasPrefix(t, f) && strings.Trim(t, f[:1]) == "" {
				break
			}
			body = append(body, lines[j])
		}
		b.Body = strings.Join(body, "\n")
		if len(body) > 0 {
			b.Body += "\n"
		}
		out = append(out, b)
		i = j
	}
	return out
}

// Prose is md without its fenced code blocks (each replaced by an empty line, so line numbers
// stay the same).
func Prose(md string) string {
	lines := strings.Split(md, "\n")
	fence := ""
	for i, line := range lines {
		f := fenceOf(line)
		switch {
		case fence == "" && f != "":
			fence = f
			lines[i] = ""
		case fence != "":
			t := strings.TrimSpace(line)
			if f != "" && strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				fence = ""
			}
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// Slug is the anchor GitHub gives a heading: lower case, Markdown punctuation and other
// symbols removed, spaces turned into hyphens.
func Slug(text string) string {
	text = linkText.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// linkText matches a Markdown link, capturing its text.
var linkText = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// Section returns the part of md under the heading with the given anchor, the heading
// included, up to the next heading of the same or a higher level. ok is false when no heading
// has that anchor.
func Section(md, anchor string) (string, bool) {
	hs := Headings(md)
	lines := strings.Split(md, "\n")
	for i, h := range hs {
		if h.Anchor != strings.ToLower(anchor) {
			continue
		}
		end := len(lines)
		for _, n := range hs[i+1:] {
			if n.Level <= h.Level {
				end = n.Line - 1
				break
			}
		}
		return strings.Join(lines[h.Line-1:end], "\n"), true
	}
	return "", false
}

// mdLink matches a Markdown link (not an image): [text](target).
var mdLink = regexp.MustCompile(`(^|[^!])\[([^\]]*)\]\(([^)\s]+)\)`)

// PlainLinks rewrites the relative links of page name's Markdown, outside code blocks, as
// "text (docs/dir/page.md#anchor)": a terminal cannot follow them, and that path is what
// `compozy docs` takes. Absolute URLs are left as they are.
func PlainLinks(md, name string) string {
	lines := strings.Split(md, "\n")
	fence := ""
	dir := path.Dir("docs/" + name)
	for i, line := range lines {
		if f := fenceOf(line); f != "" {
			t := strings.TrimSpace(line)
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "":
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		lines[i] = mdLink.ReplaceAllStringFunc(line, func(m string) string {
			sub := mdLink.FindStringSubmatch(m)
			target := sub[3]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				return m
			}
			file, anchor, _ := strings.Cut(target, "#")
			dest := "docs/" + name + ".md"
			if file != "" {
				dest = path.Join(dir, file)
			}
			if anchor != "" {
				dest += "#" + anchor
			}
			return sub[1] + sub[2] + " (" + dest + ")"
		})
	}
	return strings.Join(lines, "\n")
}
