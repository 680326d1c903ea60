package doctorpane

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/x/ansi"

	"compozy.dev/setup/doctor"
)

// bodyLine is one line of the scrolled part of the pane and the item it belongs to (-1 for a
// group heading or a blank line).
type bodyLine struct {
	text string
	item int
}

// frame is the pane laid out for the current size: the title, the body (every check row and
// its open details), the foot (summary, note, keys) and how many body lines fit between them.
type frame struct {
	head []string
	body []bodyLine
	foot []string
	// row[i] and end[i] are the first and last body lines of item i (its row and details).
	row, end []int
	room     int
}

// nameWidth is the width of the check column: the longest label, shrunk on a narrow terminal
// (a label cut with … is shown whole in its details).
func (m Model) nameWidth() int {
	w := 0
	for _, it := range m.items {
		w = max(w, ansi.StringWidth(itemLabel(it)))
	}
	return min(w, max(8, (m.width-6)*2/5))
}

func (m Model) layout() frame {
	s := m.styles
	var f frame
	nameW := m.nameWidth()
	roomy := m.height >= 12
	group := "\x00"
	for i, it := range m.items {
		if it.check.Group != group {
			group = it.check.Group
			if roomy {
				f.body = append(f.body, bodyLine{"", -1})
			}
			f.body = append(f.body, bodyLine{fit(s.Group.Render(doctor.GroupTitle(group)), m.width), -1})
		}
		pointer := "  "
		if i == m.cursor {
			pointer = s.Cursor.Render("> ")
		}
		summary := "checking…"
		if p := m.progress.get(m.gen, it.index); p != "" {
			summary = p
		}
		if it.done {
			summary = it.result.Summary
		}
		lbl := itemLabel(it)
		name := ansi.Truncate(lbl, nameW, "…")
		labelCut := name != lbl
		name += strings.Repeat(" ", max(nameW-ansi.StringWidth(name), 0))
		plain := "  x " + name + "  " + summary
		summaryCut := ansi.StringWidth(plain) > m.width
		f.row = append(f.row, len(f.body))
		f.body = append(f.body, bodyLine{fit(pointer+m.mark(it)+" "+name+"  "+summary, m.width), i})
		if it.done && m.expanded[key2(it)] {
			for _, l := range m.detail(it, labelCut, summaryCut) {
				f.body = append(f.body, bodyLine{l, i})
			}
		}
		f.end = append(f.end, len(f.body)-1)
	}

	title := s.Title.Render("compozy doctor")
	if t := targetOf(m.session); t != "" {
		title += "  " + t
	}
	if m.gen > 1 {
		title += fmt.Sprintf(" · run %d", m.gen)
	}
	head := []string{fit(title, m.width)}

	// The foot, then give up parts of it (and the title) until the body has some room.
	blank := true
	summary := wrapLines(m.summary(), m.width)
	var note []string
	switch {
	case m.confirm:
		it, _ := m.selected()
		note = wrapLines(fmt.Sprintf("Apply fix for %s: %s? (y/n)", label(it.result), it.check.Repair.Plan(it.result)), m.width)
	case m.note != "":
		note = wrapLines(m.note, m.width)
	}
	help := m.help()
	build := func() []string {
		var foot []string
		if blank {
			foot = append(foot, "")
		}
		foot = append(foot, summary...)
		for _, l := range note {
			foot = append(foot, s.Note.Render(l))
		}
		return append(foot, s.Help.Render(help))
	}
	room := func() int { return m.height - len(head) - len(build()) }
	want := min(len(f.body), 3)
	steps := []func(){
		func() { blank = false },
		func() { summary = oneLine(summary, m.width) },
		func() { note = oneLine(note, m.width) },
	}
	for _, step := range steps {
		if room() >= want {
			break
		}
		step()
	}
	// On a very short terminal, keep at least one body line.
	for _, step := range []func(){func() { head = nil }, func() { note = nil }, func() { summary = nil }} {
		if room() >= min(len(f.body), 1) {
			break
		}
		step()
	}
	f.head, f.foot, f.room = head, build(), max(room(), 1)
	return f
}

// fit cuts s to w cells.
func fit(s string, w int) string {
	if w <= 0 || ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// wrapLines wraps plain text to w cells: at spaces, and inside words (paths, commands) that are
// longer than a line.
func wrapLines(s string, w int) []string {
	if s == "" {
		return nil
	}
	if w < 1 {
		return strings.Split(s, "\n")
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// oneLine joins lines into one and cuts it to w cells.
func oneLine(lines []string, w int) []string {
	if len(lines) <= 1 {
		return lines
	}
	return []string{fit(strings.Join(lines, " "), w)}
}

// detail is the open details of an item: what its row could not show, then the detail, the
// fix and its commands, each wrapped to the pane's width.
func (m Model) detail(it item, labelCut, summaryCut bool) []string {
	s := m.styles
	r := it.result
	indent := "      "
	if m.width < 40 {
		indent = "  "
	}
	w := max(m.width-len(indent), 8)
	var out []string
	add := func(t, cont string) {
		for i, l := range wrapLines(t, w-len(cont)) {
			if i > 0 {
				l = cont + l
			}
			out = append(out, indent+s.Detail.Render(l))
		}
	}
	if labelCut {
		add("Check: "+itemLabel(it), "")
	}
	if summaryCut {
		add(r.Summary, "")
	}
	for _, l := range strings.Split(strings.TrimSpace(r.Detail), "\n") {
		if l != "" {
			add(l, "")
		}
	}
	if r.Fix.Text != "" {
		for i, l := range strings.Split(r.Fix.Text, "\n") {
			if i == 0 {
				l = "Fix: " + l
			}
			add(l, "     ")
		}
	}
	for _, c := range r.Fix.Commands {
		add("  $ "+c, "    ")
	}
	if rep := it.check.Repair; r.Fixable && rep != nil && rep.Flag != "" {
		add("compozy doctor --fix "+rep.Flag+" can: "+rep.Plan(r), "  ")
	} else if r.Fixable && rep != nil {
		add("press f to apply: "+rep.Plan(r), "  ")
	}
	if len(out) == 0 {
		add("(no more detail)", "")
	}
	return out
}

// settle keeps the scroll position valid after a change: within the body, and showing part of
// the selected check (its row or its details).
func (m *Model) settle() {
	f := m.layout()
	if len(m.items) == 0 {
		m.offset = 0
		return
	}
	m.cursor = min(max(m.cursor, 0), len(m.items)-1)
	row, end := f.row[m.cursor], f.end[m.cursor]
	bottom := m.offset + f.room - 1
	switch {
	case end < m.offset:
		m.offset = max(row, end-f.room+1)
	case row > bottom:
		m.offset = min(row, end-f.room+1)
	}
	m.offset = min(max(m.offset, 0), max(len(f.body)-f.room, 0))
}

// showSelected scrolls so that the selected check's row and as much of its details as fit are
// shown.
func (m *Model) showSelected() {
	f := m.layout()
	if m.cursor < 0 || m.cursor >= len(f.row) {
		return
	}
	row, end := f.row[m.cursor], f.end[m.cursor]
	switch {
	case row < m.offset:
		m.offset = row
	case end > m.offset+f.room-1:
		m.offset = min(row, end-f.room+1)
	}
}

// lineDown scrolls through the selected check's details while they go on below the pane, then
// moves to the next check.
func (m *Model) lineDown() {
	f := m.layout()
	if len(f.row) == 0 {
		return
	}
	c := min(max(m.cursor, 0), len(f.row)-1)
	if f.end[c] > m.offset+f.room-1 {
		m.offset++
		return
	}
	if c < len(f.row)-1 {
		m.cursor = c + 1
		m.showSelected()
	}
}

// lineUp scrolls back through the selected check's details while its row is above the pane,
// then moves to the check before.
func (m *Model) lineUp() {
	f := m.layout()
	if len(f.row) == 0 {
		return
	}
	c := min(max(m.cursor, 0), len(f.row)-1)
	if f.row[c] < m.offset {
		m.offset--
		return
	}
	if c > 0 {
		m.cursor = c - 1
		if r := f.row[c-1]; r < m.offset {
			m.offset = r
		}
	}
}

// page scrolls a page down (dir 1) or up (-1). The cursor stays while its check is still on
// the pane, else it moves to the first (last) check shown; at the end of the body it moves to
// the last (first) check.
func (m *Model) page(dir int) {
	f := m.layout()
	if len(f.row) == 0 {
		return
	}
	last := max(len(f.body)-f.room, 0)
	off := min(max(m.offset+dir*max(f.room-1, 1), 0), last)
	if off == m.offset {
		if dir > 0 {
			m.cursor = len(f.row) - 1
		} else {
			m.cursor = 0
		}
		m.showSelected()
		return
	}
	m.offset = off
	bottom := min(off+f.room-1, len(f.body)-1)
	if c := m.cursor; c >= 0 && c < len(f.row) && f.row[c] <= bottom && f.end[c] >= off {
		return
	}
	if dir > 0 {
		for l := off; l <= bottom; l++ {
			if f.body[l].item >= 0 {
				m.cursor = f.body[l].item
				return
			}
		}
		return
	}
	for l := bottom; l >= off; l-- {
		if f.body[l].item >= 0 {
			m.cursor = f.body[l].item
			return
		}
	}
}

// View draws the pane: the title, the part of the grouped checks (and open details) that fits,
// the summary line and the keys. Every line fits the width, and the whole fits the height.
func (m Model) View() string {
	if m.quitting {
		return ""
	}
	f := m.layout()
	off := min(max(m.offset, 0), max(len(f.body)-f.room, 0))
	lines := append([]string(nil), f.head...)
	for _, l := range f.body[off:min(off+f.room, len(f.body))] {
		lines = append(lines, l.text)
	}
	lines = append(lines, f.foot...)
	if len(lines) > m.height && m.height > 0 {
		lines = lines[:m.height]
	}
	return strings.Join(lines, "\n")
}

func (m Model) summary() string {
	if len(m.items) == 0 && m.running {
		return m.spin.View() + " preparing…"
	}
	if m.running {
		done := 0
		for _, it := range m.items {
			if it.done {
				done++
			}
		}
		return fmt.Sprintf("%s %d of %d checks done", m.spin.View(), done, len(m.items))
	}
	return doctor.SummaryLine(m.Report().Summarize())
}

// help is the line of keys, in the longest form that fits the width.
func (m Model) help() string {
	if m.confirm {
		return fit("y apply · any other key cancels", m.width)
	}
	k := m.keys
	join := func(bs ...key.Binding) string {
		var parts []string
		for _, b := range bs {
			h := b.Help()
			parts = append(parts, h.Key+" "+h.Desc)
		}
		return strings.Join(parts, " · ")
	}
	forms := []string{
		join(k.Up, k.Down, k.PageDown, k.Top, k.Bottom, k.Expand, k.Rerun, k.Fix, k.Quit),
		join(k.Up, k.Down, k.Expand, k.Rerun, k.Fix, k.Quit),
		"↑↓ move · enter details · r re-run · f fix · q quit",
		"↑↓ · enter details · r · f fix · q quit",
		"↑↓ · enter · r · f · q quit",
		"enter · q quit",
		"q quit",
	}
	for _, h := range forms {
		if ansi.StringWidth(h) <= m.width {
			return h
		}
	}
	return fit(forms[len(forms)-1], m.width)
}

func targetOf(s *Session) string {
	if s == nil || s.Target == "" {
		return ""
	}
	return "Target: " + s.Target
}
