package docs

import (
	"regexp"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Part is a piece of a page prepared for a terminal: Markdown prose, or a table to lay out
// apart (Table.Lines), so that no renderer breaks a command inside a cell.
type Part struct {
	Markdown string
	Table    *Table
}

// Table is a GFM table: its header cells and its rows, with their inline Markdown.
type Table struct {
	Header []string
	Rows   [][]string
}

// delimRow matches a table's delimiter row: | --- | :---: |.
var delimRow = regexp.MustCompile(`^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$`)

// SplitTables cuts md into prose and tables, in order. Tables inside code blocks are text.
func SplitTables(md string) []Part {
	var parts []Part
	lines := strings.Split(md, "\n")
	var prose []string
	flush := func() {
		if md := strings.Join(prose, "\n"); strings.TrimSpace(md) != "" {
			parts = append(parts, Part{Markdown: md})
		}
		prose = nil
	}
	fence := ""
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		fence = nextFence(fence, line)
		if fence != "" || fenceOf(line) != "" || !strings.Contains(line, "|") || i+1 >= len(lines) ||
			!strings.Contains(lines[i+1], "|") || !delimRow.MatchString(lines[i+1]) {
			prose = append(prose, line)
			continue
		}
		t := &Table{Header: splitRow(line)}
		j := i + 2
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "" && strings.Contains(lines[j], "|"); j++ {
			row := splitRow(lines[j])
			for len(row) < len(t.Header) {
				row = append(row, "")
			}
			t.Rows = append(t.Rows, row[:len(t.Header)])
		}
		flush()
		parts = append(parts, Part{Table: t})
		i = j - 1
	}
	flush()
	return parts
}

// splitRow splits a table row into its cells at the pipes that are not escaped (\|), as GFM
// does (a pipe inside a code span splits too unless escaped).
func splitRow(line string) []string {
	t := strings.TrimSpace(line)
	t = strings.TrimPrefix(t, "|")
	if strings.HasSuffix(t, "|") && !strings.HasSuffix(t, `\|`) {
		t = strings.TrimSuffix(t, "|")
	}
	var cells []string
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		switch {
		case t[i] == '\\' && i+1 < len(t) && t[i+1] == '|':
			b.WriteByte('|')
			i++
		case t[i] == '|':
			cells = append(cells, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(t[i])
		}
	}
	return append(cells, strings.TrimSpace(b.String()))
}

// TableStyle is how Table.Lines draws.
type TableStyle struct {
	// ASCII draws the rules with | and - instead of │ ─ ┼.
	ASCII bool
	// Header styles the header cells (and the field names of the record layout); nil: as is.
	Header func(string) string
	// Code styles inline code; nil: as is.
	Code func(string) string
}

// seg is a run of a cell's text, inline code or not.
type seg struct {
	text string
	code bool
}

// word is what a cell never breaks: a run without spaces, or with spaces only inside inline
// code, so a command (`compozy db bench`) and what touches it stay on one line.
type word []seg

func (w word) width() int {
	n := 0
	for _, s := range w {
		n += ansi.StringWidth(s.text)
	}
	return n
}

func (w word) render(st TableStyle) string {
	var b strings.Builder
	for _, s := range w {
		if s.code && st.Code != nil {
			b.WriteString(st.Code(s.text))
		} else {
			b.WriteString(s.text)
		}
	}
	return b.String()
}

// anyLink matches a Markdown link, relative or not.
var anyLink = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]+)\)`)

// cellWords reads a cell's inline Markdown into words: code spans kept whole (without their
// backticks), ** and __ dropped, a link written as "text (target)".
func cellWords(cell string) []word {
	var segs []seg
	for rest := cell; rest != ""; {
		i := strings.IndexByte(rest, '`')
		if i < 0 {
			segs = append(segs, seg{text: rest})
			break
		}
		n := 0
		for i+n < len(rest) && rest[i+n] == '`' {
			n++
		}
		ticks := rest[i : i+n]
		end := strings.Index(rest[i+n:], ticks)
		if end < 0 {
			segs = append(segs, seg{text: rest})
			break
		}
		if i > 0 {
			segs = append(segs, seg{text: rest[:i]})
		}
		code := rest[i+n : i+n+end]
		if len(code) > 1 && code[0] == ' ' && code[len(code)-1] == ' ' {
			code = code[1 : len(code)-1]
		}
		segs = append(segs, seg{text: code, code: true})
		rest = rest[i+n+end+n:]
	}
	var words []word
	var cur word
	end := func() {
		if len(cur) > 0 {
			words = append(words, cur)
			cur = nil
		}
	}
	for _, s := range segs {
		if s.code {
			cur = append(cur, s)
			continue
		}
		t := anyLink.ReplaceAllString(s.text, "$1 ($2)")
		t = strings.NewReplacer("**", "", "__", "").Replace(t)
		for i, part := range strings.Split(t, " ") {
			if i > 0 {
				end()
			}
			if part != "" {
				cur = append(cur, seg{text: part})
			}
		}
	}
	end()
	return words
}

// wrapWords fills lines of at most w cells with words (a word wider than w gets a line of its
// own) and renders them.
func wrapWords(words []word, w int, st TableStyle) (lines []string, widths []int) {
	var line []string
	lw := 0
	for _, wd := range words {
		ww := wd.width()
		if len(line) > 0 && lw+1+ww > w {
			lines, widths = append(lines, strings.Join(line, " ")), append(widths, lw)
			line, lw = nil, 0
		}
		if len(line) > 0 {
			lw++
		}
		line = append(line, wd.render(st))
		lw += ww
	}
	if len(line) > 0 || len(lines) == 0 {
		lines, widths = append(lines, strings.Join(line, " ")), append(widths, lw)
	}
	return lines, widths
}

func naturalWidth(words []word) int {
	n := max(len(words)-1, 0)
	for _, w := range words {
		n += w.width()
	}
	return n
}

// Lines lays the table out in lines of at most width cells (a word wider than its column
// excepted). Cells wrap only between words, so inline code and commands are never split. When
// the columns cannot fit side by side even one word wide, each row becomes a record: one
// "Header: value" line per cell, a blank line between rows.
func (t Table) Lines(width int, st TableStyle) []string {
	n := len(t.Header)
	cells := make([][][]word, len(t.Rows)+1)
	for r, row := range append([][]string{t.Header}, t.Rows...) {
		cells[r] = make([][]word, n)
		for c := range n {
			cells[r][c] = cellWords(row[c])
		}
	}
	natural, least := make([]int, n), make([]int, n)
	for _, row := range cells {
		for c, ws := range row {
			natural[c] = max(natural[c], naturalWidth(ws))
			for _, w := range ws {
				least[c] = max(least[c], w.width())
			}
		}
	}
	sum := func(xs []int) int {
		s := 0
		for _, x := range xs {
			s += x
		}
		return s
	}
	room := width - 3*(n-1)
	switch {
	case sum(natural) <= room:
		return t.grid(cells, natural, st)
	case sum(least) <= room:
		// Start from the widest word of each column, and give what is left to the columns
		// that want the most more.
		w := append([]int(nil), least...)
		for extra := room - sum(w); extra > 0; extra-- {
			best := -1
			for c := range n {
				if w[c] < natural[c] && (best < 0 || natural[c]-w[c] > natural[best]-w[best]) {
					best = c
				}
			}
			if best < 0 {
				break
			}
			w[best]++
		}
		return t.grid(cells, w, st)
	}
	return t.records(cells, width, st)
}

func (t Table) grid(cells [][][]word, w []int, st TableStyle) []string {
	sep, rule, cross := " │ ", "─", "─┼─"
	if st.ASCII {
		sep, rule, cross = " | ", "-", "-|-"
	}
	var out []string
	for r, row := range cells {
		cols := make([][]string, len(row))
		widths := make([][]int, len(row))
		h := 0
		for c, ws := range row {
			cols[c], widths[c] = wrapWords(ws, w[c], st)
			h = max(h, len(cols[c]))
		}
		for l := range h {
			var b strings.Builder
			for c := range row {
				if c > 0 {
					b.WriteString(sep)
				}
				text, tw := "", 0
				if l < len(cols[c]) {
					text, tw = cols[c][l], widths[c][l]
				}
				if r == 0 && st.Header != nil && text != "" {
					text = st.Header(text)
				}
				b.WriteString(text)
				if c < len(row)-1 {
					b.WriteString(strings.Repeat(" ", max(w[c]-tw, 0)))
				}
			}
			out = append(out, strings.TrimRight(b.String(), " "))
		}
		if r == 0 {
			parts := make([]string, len(w))
			for c, cw := range w {
				parts[c] = strings.Repeat(rule, cw)
			}
			out = append(out, strings.Join(parts, cross))
		}
	}
	return out
}

func (t Table) records(cells [][][]word, width int, st TableStyle) []string {
	var out []string
	for r, row := range cells[1:] {
		if r > 0 {
			out = append(out, "")
		}
		for c, ws := range row {
			name := strings.Join(renderWords(cells[0][c]), " ") + ":"
			nw := naturalWidth(cells[0][c]) + 1
			if st.Header != nil {
				name = st.Header(name)
			}
			if nw+1+naturalWidth(ws) <= width {
				lines, _ := wrapWords(ws, width, st)
				out = append(out, strings.TrimRight(name+" "+lines[0], " "))
				continue
			}
			out = append(out, name)
			lines, _ := wrapWords(ws, max(width-2, 1), st)
			for _, l := range lines {
				out = append(out, "  "+l)
			}
		}
	}
	return out
}

func renderWords(ws []word) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.render(TableStyle{})
	}
	return out
}
