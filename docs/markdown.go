package docs

import (
	"fmt"
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

// closesFence reports whether line closes the code block fence opened: the same character, at
// least as many times, and nothing else.
func closesFence(line, fence string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == ""
}

// nextFence is the fence of the code block the line after line is in ("" outside one), given
// fence, the one line is in: a fence line opens a block outside one and closes its own.
func nextFence(fence, line string) string {
	f := fenceOf(line)
	switch {
	case f == "":
		return fence
	case fence == "":
		return f
	case closesFence(line, fence):
		return ""
	}
	return fence
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
			if closesFence(lines[j], f) {
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
			if f != "" && closesFence(line, fence) {
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
// "text (`compozy docs PAGE#SECTION`)": a terminal cannot follow them, and that is the command
// that shows the target. A link to a file outside the documentation becomes "text (PATH)";
// absolute URLs are left as they are.
func PlainLinks(md, name string) string {
	lines := strings.Split(md, "\n")
	fence := ""
	dir := path.Dir("docs/" + name)
	for i, line := range lines {
		if fenceOf(line) != "" {
			fence = nextFence(fence, line)
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
			page, ok := strings.CutPrefix(dest, "docs/")
			if !ok || !strings.HasSuffix(page, ".md") {
				return sub[1] + sub[2] + " (" + dest + ")"
			}
			cmd := "compozy docs " + strings.TrimSuffix(page, ".md")
			if anchor != "" {
				cmd += "#" + anchor
			}
			return sub[1] + sub[2] + " (`" + cmd + "`)"
		})
	}
	return strings.Join(lines, "\n")
}

// htmlComment matches a line that is an HTML comment: the generated-part markers and other
// notes for the people who edit the pages.
var htmlComment = regexp.MustCompile(`(?m)^<!--.*-->\n`)

// listItem matches the start of a list item: "- ", "* ", "+ ", "1. ", "1) ".
var listItem = regexp.MustCompile(`^\s*([-*+]|\d+[.)])\s+\S`)

// ForTerminal prepares page name's Markdown for a terminal: HTML comments go, relative links
// name the command that shows their target (PlainLinks), a Mermaid diagram becomes a one-line
// note (a terminal cannot draw it), and the lines of a list item are joined (a renderer would
// keep the source's line breaks inside list items on top of its own wrapping).
func ForTerminal(md, name string) string {
	md = PlainLinks(htmlComment.ReplaceAllString(md, ""), name)
	var out []string
	lines := strings.Split(md, "\n")
	inList, joinable := false, false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		f := fenceOf(line)
		if f != "" {
			info := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), f))
			j := i + 1
			for j < len(lines) {
				if closesFence(lines[j], f) {
					break
				}
				j++
			}
			if len(info) > 0 && info[0] == "mermaid" {
				kind := "diagram"
				if j > i+1 {
					if w := strings.Fields(lines[i+1]); len(w) > 0 {
						kind = w[0]
					}
				}
				out = append(out, fmt.Sprintf("[A Mermaid %s is not drawn in a terminal: see docs/%s.md on GitHub, or in an editor that renders Mermaid.]", kind, name))
			} else {
				out = append(out, lines[i:min(j+1, len(lines))]...)
			}
			i = j
			joinable = false
			continue
		}
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			joinable = false
			out = append(out, line)
			continue
		case listItem.MatchString(line):
			inList, joinable = true, true
			out = append(out, line)
			continue
		case inList && line[0] != ' ' && line[0] != '\t' && (i == 0 || strings.TrimSpace(lines[i-1]) == ""):
			inList = false // a paragraph after the list
		}
		block := strings.HasPrefix(t, "|") || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ">") || strings.HasPrefix(t, "<")
		prev := ""
		if len(out) > 0 {
			prev = out[len(out)-1]
		}
		if inList && joinable && !block && !strings.HasSuffix(prev, "  ") && !strings.HasSuffix(prev, "\\") {
			out[len(out)-1] = prev + " " + t
			continue
		}
		// An indented paragraph inside a list item: its own lines are joined to it.
		joinable = inList && !block
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
