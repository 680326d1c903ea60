package prompt

import (
	"reflect"
	"strings"

	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
)

func (h *host) width() int {
	if h.w <= 0 {
		return 80
	}
	return min(h.w, 100)
}

func (h *host) height() int {
	if h.h <= 0 {
		return 24
	}
	return h.h
}

// fit sizes the field to the terminal: its width, and a list's height when the terminal is
// too short to show every option.
func (h *host) fit() {
	if h.cur == nil {
		return
	}
	f := h.cur.field.WithWidth(h.width())
	if isSelect(f) {
		f = f.WithHeight(0)
		if need, room := lipgloss.Height(f.View()), h.height()-1; need > room {
			f = f.WithHeight(max(room, 2))
		}
	}
	h.cur.field = f
	if h.quit != nil {
		h.quit = h.quit.WithWidth(h.width())
	}
}

// isSelect reports whether f is a huh Select (of any value type).
func isSelect(f huh.Field) bool {
	return strings.HasPrefix(reflect.TypeOf(f).String(), "*huh.Select[")
}

// paneRoom is how many lines the pane may use.
func (h *host) paneRoom() int {
	if h.cur == nil {
		return 0
	}
	return h.height() - lipgloss.Height(h.fieldView()) - 2 // a blank line and the help
}

// fieldView is the field (or the quit question), with its error.
func (h *host) fieldView() string {
	if h.quit != nil {
		return h.quit.View()
	}
	v := h.cur.field.View()
	if h.cur.q.Mask != nil {
		v = h.cur.q.Mask(v)
	}
	if err := h.cur.field.Error(); err != nil {
		v += "\n" + h.theme.Focused.ErrorMessage.Render(err.Error())
	}
	return v
}

// View draws the question: the pane (scrolled to fit), the field, its error and the keys,
// never taller than the terminal so that the question's title stays on screen.
func (h *host) View() string {
	if h.closing || h.ended.Load() != endNone {
		return ""
	}
	if h.cur == nil {
		if h.busy == "" {
			return ""
		}
		return spinnerFrames[h.frame%len(spinnerFrames)] + " " + h.busy
	}
	height, width := h.height(), h.width()
	field := strings.Split(h.fieldView(), "\n")
	if len(field) > height {
		field = field[:height]
	}
	var top []string
	if h.cur.q.Pane != "" && h.quit == nil {
		room := height - len(field) - 2
		top = h.pane(width, room)
	}
	binds := h.cur.field.KeyBinds()
	if h.quit != nil {
		binds = h.quit.KeyBinds()
	} else {
		if h.cur.q.Pane != "" && h.paneOverflows(width) {
			binds = append(binds, h.scroll)
		}
		if !filterKey(h.cur.field) {
			binds = append(binds, h.escHelp)
		}
	}
	h.help.Width = width
	lines := append(top, field...)
	if used := len(lines); used+2 <= height {
		lines = append(lines, "", h.help.ShortHelpView(binds))
	} else if used+1 <= height {
		lines = append(lines, h.help.ShortHelpView(binds))
	}
	return strings.Join(lines, "\n")
}

// pane returns at most room lines of the pane, from where it is scrolled to; when it does not
// fit, the last line says how much more there is.
func (h *host) pane(width, room int) []string {
	if room <= 0 {
		return nil
	}
	all := Wrap(h.cur.q.Pane, width-1)
	all = append(all, "")
	if len(all) <= room {
		h.paneAt = 0
		return all
	}
	show := room - 1 // the last line tells where we are
	h.paneAt = max(0, min(h.paneAt, len(all)-show))
	out := append([]string(nil), all[h.paneAt:h.paneAt+show]...)
	hint := ""
	switch below := len(all) - h.paneAt - show; {
	case show <= 0:
		hint = "(↑/↓ to read the recommendation)"
	case below > 0:
		hint = "↓ " + plural(below, "more line") + " (↑/↓ scroll)"
	default:
		hint = "↑ scroll up for the top"
	}
	out = append(out, h.theme.Focused.Description.Render(truncate(hint, width)))
	return out
}

func (h *host) paneOverflows(width int) bool {
	return len(Wrap(h.cur.q.Pane, width-1))+1 > h.height()-len(strings.Split(h.fieldView(), "\n"))-2
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return itoa(n) + " " + what + "s"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func truncate(s string, width int) string {
	r := []rune(s)
	if width <= 1 || len(r) <= width {
		return s
	}
	return string(r[:width-1]) + "…"
}

// Wrap breaks text into lines of at most width runes at spaces. A line that starts with
// spaces, a dash or a bullet keeps its continuation lines indented under its text.
func Wrap(text string, width int) []string {
	var out []string
	width = max(width, 10)
	for _, line := range strings.Split(text, "\n") {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		rest := line[indent:]
		hang := indent
		for _, bullet := range []string{"- ", "* ", "• "} {
			if strings.HasPrefix(rest, bullet) {
				hang = indent + len([]rune(bullet))
			}
		}
		words := strings.Fields(rest)
		if len(words) == 0 {
			out = append(out, "")
			continue
		}
		cur := strings.Repeat(" ", indent)
		fresh := true // cur holds no word yet
		for _, w := range words {
			for _, part := range chop(w, width-hang) {
				switch {
				case fresh:
					cur += part
				case len([]rune(cur))+1+len([]rune(part)) > width:
					out = append(out, cur)
					cur = strings.Repeat(" ", hang) + part
				default:
					cur += " " + part
				}
				fresh = false
			}
		}
		out = append(out, cur)
	}
	return out
}

// chop cuts a word longer than width into pieces of width runes.
func chop(w string, width int) []string {
	r := []rune(w)
	width = max(width, 1)
	var out []string
	for len(r) > width {
		out = append(out, string(r[:width]))
		r = r[width:]
	}
	return append(out, string(r))
}
