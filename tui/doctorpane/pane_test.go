package doctorpane

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"compozy.dev/setup/doctor"
)

func fakeSession(fixed *bool) *Session {
	mk := func(id, group string, run func(context.Context) doctor.Result) doctor.Check {
		return doctor.Check{Info: doctor.Info{ID: id, Group: group, Title: id}, Run: run}
	}
	warn := mk("sqlite.permissions", doctor.GroupSQLite, func(context.Context) doctor.Result {
		if *fixed {
			return doctor.Pass("mode 0600")
		}
		r := doctor.Warn("mode 0644 lets others read", "", doctor.Cmds("make it private", "chmod 600 db"))
		r.Fixable = true
		return r
	})
	warn.Repair = &doctor.Repair{Plan: func(doctor.Result) string { return "chmod 600 db" },
		Apply: func(context.Context, doctor.Result) error { *fixed = true; return nil }}
	return &Session{Target: "sqlite /x/db", Checks: []doctor.Check{
		mk("config.file", doctor.GroupConfig, func(context.Context) doctor.Result { return doctor.Pass("read compozy.yaml") }),
		mk("hidden.dep", doctor.GroupConfig, func(context.Context) doctor.Result { return doctor.Pass("") }),
		warn,
	}, Shown: []bool{true, false, true}}
}

// drive runs cmd and feeds its messages back into m until the run settles (no tick loop).
func drive(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		if batch, ok := msg.(tea.BatchMsg); ok {
			queue = append(queue, batch...)
			continue
		}
		if _, tick := msg.(spinner.TickMsg); tick || msg == nil {
			continue // the spinner would tick forever
		}
		nm, next := m.Update(msg)
		m = nm.(Model)
		queue = append(queue, next)
	}
	return m
}

func TestPaneRunExpandFixQuit(t *testing.T) {
	fixed := false
	m := New(t.Context(), Options{Prepare: func(context.Context) (*Session, error) { return fakeSession(&fixed), nil }},
		lipgloss.NewRenderer(io.Discard, termenv.WithProfile(termenv.Ascii)))
	m = drive(t, m, m.prepare(m.gen))
	v := m.View()
	// The cursor starts on the first warning (there is no failure).
	for _, want := range []string{"compozy doctor  Target: sqlite /x/db", "Configuration", "  ✓ config.file", "> ! sqlite.permissions",
		"No failures; see the warnings. 1 passed, 1 warning (2 checks in"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "hidden.dep") {
		t.Errorf("a dependency pulled in by --only is shown:\n%s", v)
	}
	press := func(k string) tea.Cmd {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		nm, cmd := m.Update(msg)
		m = nm.(Model)
		return cmd
	}
	press("kk") // two runes in one message: moves once per rune, stops at the top
	if v := m.View(); !strings.Contains(v, "> ✓ config.file") {
		t.Fatalf("kk did not move to the top:\n%s", v)
	}
	press("jj") // stops at the end
	press("enter")
	if v := m.View(); !strings.Contains(v, "> ! sqlite.permissions") || !strings.Contains(v, "$ chmod 600 db") ||
		!strings.Contains(v, "press f to apply: chmod 600 db") {
		t.Fatalf("expanded view:\n%s", v)
	}
	press("f")
	if v := m.View(); !strings.Contains(v, "Apply fix for sqlite.permissions: chmod 600 db? (y/n)") {
		t.Fatalf("no confirmation:\n%s", v)
	}
	m = drive(t, m, press("y"))
	if !fixed {
		t.Fatal("the fix was not applied")
	}
	if v := m.View(); !strings.Contains(v, "✓ sqlite.permissions") || !strings.Contains(v, "run 2") || !strings.Contains(v, "fixed sqlite.permissions") {
		t.Errorf("after the fix:\n%s", v)
	}
	if cmd := press("q"); cmd == nil {
		t.Fatal("q returned no command")
	}
	if got := m.Report().ExitCode(); got != 0 {
		t.Errorf("exit %d", got)
	}
}

// TestPaneRerunReloadsConfigState: the exit code follows the last run. A run whose config did not
// load exits 2; after the user mends the file and presses r, the new run decides.
func TestPaneRerunReloadsConfigState(t *testing.T) {
	fixed, runs := false, 0
	m := New(t.Context(), Options{Prepare: func(context.Context) (*Session, error) {
		runs++
		s := fakeSession(&fixed)
		s.ConfigInvalid = runs == 1
		return s, nil
	}}, lipgloss.NewRenderer(io.Discard, termenv.WithProfile(termenv.Ascii)))
	m = drive(t, m, m.prepare(m.gen))
	if got := m.Report().ExitCode(); got != 2 {
		t.Fatalf("first run, config invalid: exit %d, want 2", got)
	}
	nm, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")})
	m = drive(t, nm.(Model), cmd)
	if runs != 2 {
		t.Fatalf("r prepared %d runs, want 2", runs)
	}
	if got := m.Report().ExitCode(); got != 0 {
		t.Errorf("after the re-run with a valid config: exit %d, want 0", got)
	}
}

// newPane runs sess to the end in a pane of w x h cells.
func newPane(t *testing.T, sess func() *Session, w, h int) Model {
	t.Helper()
	m := New(t.Context(), Options{Prepare: func(context.Context) (*Session, error) { return sess(), nil }},
		lipgloss.NewRenderer(io.Discard, termenv.WithProfile(termenv.Ascii)))
	nm, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m = nm.(Model)
	return drive(t, m, m.prepare(m.gen))
}

func send(m Model, keys ...string) (Model, tea.Cmd) {
	var cmd tea.Cmd
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEscape}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case "up":
			msg = tea.KeyMsg{Type: tea.KeyUp}
		case "pgdown":
			msg = tea.KeyMsg{Type: tea.KeyPgDown}
		case "pgup":
			msg = tea.KeyMsg{Type: tea.KeyPgUp}
		case "home":
			msg = tea.KeyMsg{Type: tea.KeyHome}
		case "end":
			msg = tea.KeyMsg{Type: tea.KeyEnd}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		nm, c := m.Update(msg)
		m, cmd = nm.(Model), c
	}
	return m, cmd
}

// fits fails unless every line of the view fits w cells and the view fits h lines.
func fits(t *testing.T, v string, w, h int) {
	t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) > h {
		t.Errorf("%d lines on a %d-line terminal:\n%s", len(lines), h, v)
	}
	for _, l := range lines {
		if lipgloss.Width(l) > w {
			t.Errorf("line %q is %d cells wide on a %d-column terminal", l, lipgloss.Width(l), w)
		}
	}
}

func mkCheck(id, group string, r doctor.Result) doctor.Check {
	return doctor.Check{Info: doctor.Info{ID: id, Group: group, Title: id}, Run: func(context.Context) doctor.Result { return r }}
}

// longSession has a failure with 40 lines of detail, one of them a 300-character path, and
// a pass whose summary does not fit a narrow row.
func longSession() *Session {
	var detail []string
	for i := 1; i <= 40; i++ {
		detail = append(detail, fmt.Sprintf("detail line %d", i))
	}
	detail[10] = "/" + strings.Repeat("very-long-folder-name/", 14) + "compozy.db"
	return &Session{Target: "sqlite /x/db", Checks: []doctor.Check{
		mkCheck("config.file", doctor.GroupConfig, doctor.Pass("read /srv/compozy/compozy.yaml, which names a database in a folder with a long name")),
		mkCheck("config.keys", doctor.GroupConfig, doctor.Pass("every key is valid")),
		mkCheck("sqlite.file", doctor.GroupSQLite, doctor.Fail("the file is damaged", strings.Join(detail, "\n"),
			doctor.Cmds("restore it from the backup", "cp /backups/compozy.db /srv/compozy/data/compozy.db"))),
		mkCheck("vector.filesystem.folder", doctor.GroupVector, doctor.Warn("folder missing", "", doctor.Fix{})),
		mkCheck("vector.filesystem.data", doctor.GroupVector, doctor.Pass("ok")),
	}}
}

func TestPaneCursorStartsOnFirstFailureThenWarning(t *testing.T) {
	m := newPane(t, longSession, 100, 30)
	if v := m.View(); !strings.Contains(v, "> ✗ sqlite.file") {
		t.Errorf("the cursor is not on the failure:\n%s", v)
	}
	fixed := false
	m = newPane(t, func() *Session { return fakeSession(&fixed) }, 100, 30)
	if v := m.View(); !strings.Contains(v, "> ! sqlite.permissions") {
		t.Errorf("without a failure the cursor is not on the warning:\n%s", v)
	}
	fixed = true
	m = newPane(t, func() *Session { return fakeSession(&fixed) }, 100, 30)
	if v := m.View(); !strings.Contains(v, "> ✓ config.file") {
		t.Errorf("with nothing wrong the cursor is not on the first check:\n%s", v)
	}
}

// TestPaneDetailsWrapAndScroll: open details are wrapped to the width and scrolled line by line
// with the arrows, a page at a time with PgUp/PgDn, and to either end with g/G and Home/End.
func TestPaneDetailsWrapAndScroll(t *testing.T) {
	const w, h = 60, 15
	m := newPane(t, longSession, w, h)
	m, _ = send(m, "enter")
	v := m.View()
	fits(t, v, w, h)
	if !strings.Contains(v, "detail line 1") || strings.Contains(v, "detail line 40") {
		t.Fatalf("opened details:\n%s", v)
	}
	if !strings.Contains(v, "> ✗ sqlite.file") {
		t.Fatalf("the selected row is not shown above its details:\n%s", v)
	}
	// Down scrolls through the details until the last line shows, then moves on.
	seen := map[string]bool{}
	for i := 0; i < 100 && !strings.Contains(m.View(), "> ! vector.filesystem.fo"); i++ {
		m, _ = send(m, "down")
		v := m.View()
		fits(t, v, w, h)
		for _, l := range strings.Split(v, "\n") {
			seen[strings.TrimSpace(l)] = true
		}
	}
	for _, want := range []string{"detail line 40", "$ cp /backups/compozy.db", "very-long-folder-name/very-long-folder-"} {
		found := false
		for l := range seen {
			found = found || strings.Contains(l, want)
		}
		if !found {
			t.Errorf("scrolling down never showed %q", want)
		}
	}
	if !strings.Contains(m.View(), "> ! vector.filesystem.fo") {
		t.Fatalf("down never left the details:\n%s", m.View())
	}
	// Up goes back into the details of sqlite.file, line by line.
	m, _ = send(m, "up")
	if v := m.View(); !strings.Contains(v, "> ✗ sqlite.file") && !strings.Contains(v, "$ cp") {
		t.Errorf("up did not go back to sqlite.file's details:\n%s", v)
	}
	for _, keys := range [][]string{{"g"}, {"home"}} {
		m, _ = send(m, keys...)
		if v := m.View(); !strings.Contains(v, "> ✓ config.file") || !strings.Contains(v, "Configuration") {
			t.Errorf("%v: not at the top:\n%s", keys, v)
		}
	}
	for _, keys := range [][]string{{"G"}, {"end"}} {
		m, _ = send(m, keys...)
		if v := m.View(); !strings.Contains(v, "> ✓ vector.filesystem.da") {
			t.Errorf("%v: not at the end:\n%s", keys, v)
		}
	}
	// PgUp from the end shows earlier details; PgDn comes back.
	m, _ = send(m, "pgup")
	v = m.View()
	fits(t, v, w, h)
	if strings.Contains(v, "vector.filesystem.data") || !strings.Contains(v, "detail line") {
		t.Errorf("pgup did not scroll a page up:\n%s", v)
	}
	for range 20 {
		m, _ = send(m, "pgup")
	}
	if v := m.View(); !strings.Contains(v, "> ✓ config.file") {
		t.Errorf("pgup at the top does not select the first check:\n%s", v)
	}
	for range 20 {
		m, _ = send(m, "pgdown")
	}
	if v := m.View(); !strings.Contains(v, "> ✓ vector.filesystem.da") {
		t.Errorf("pgdown at the end does not select the last check:\n%s", v)
	}
}

// TestPaneCutRowShowsWholeText: a row cut with … shows its whole label and summary in its
// details, instead of "(no more detail)".
func TestPaneCutRowShowsWholeText(t *testing.T) {
	const w, h = 60, 15
	m := newPane(t, longSession, w, h)
	m, _ = send(m, "g")
	v := m.View()
	if !strings.Contains(v, "> ✓ config.file") || !strings.Contains(v, "…") {
		t.Fatalf("the long pass row is not cut:\n%s", v)
	}
	m, _ = send(m, "enter")
	v = m.View()
	fits(t, v, w, h)
	if strings.Contains(v, "(no more detail)") {
		t.Errorf("a cut row shows no more detail:\n%s", v)
	}
	flat := strings.Join(strings.Fields(v), " ")
	if !strings.Contains(flat, "which names a database in a folder with a long name") {
		t.Errorf("the whole summary is not in the details:\n%s", v)
	}
	// The check column shrinks: the longest label is cut, and shown whole in its details.
	m, _ = send(m, "enter", "G")
	if v := m.View(); !strings.Contains(v, "vector.filesystem.fo…") {
		t.Fatalf("the check column did not shrink at %d columns:\n%s", w, v)
	}
	m, _ = send(m, "k", "enter")
	if v := m.View(); !strings.Contains(v, "Check: vector.filesystem.folder") {
		t.Errorf("the cut label is not shown whole:\n%s", v)
	}
	// An uncut row without detail still says so.
	m = newPane(t, longSession, 200, 50)
	m, _ = send(m, "g", "j", "enter")
	if v := m.View(); !strings.Contains(v, "(no more detail)") {
		t.Errorf("a whole row without detail:\n%s", v)
	}
}

// TestPaneFitsEverySize: at 20x4, 60x15, 100x30 and 200x50 every line fits the width, the
// pane fits the height, and the keys line is whole.
func TestPaneFitsEverySize(t *testing.T) {
	for _, sz := range [][2]int{{20, 4}, {60, 15}, {100, 30}, {200, 50}, {30, 6}} {
		w, h := sz[0], sz[1]
		m := newPane(t, longSession, w, h)
		for _, keys := range [][]string{nil, {"enter"}, {"G"}, {"g", "enter"}, {"pgdown"}} {
			scrolled := len(keys) > 0 && keys[0] == "pgdown" // may show only the details of the selected check
			m, _ = send(m, keys...)
			v := m.View()
			fits(t, v, w, h)
			lines := strings.Split(v, "\n")
			helpLine := lines[len(lines)-1]
			if strings.Contains(helpLine, "…") || !strings.Contains(helpLine, "q quit") {
				t.Errorf("%dx%d %v: the keys line %q is cut", w, h, keys, helpLine)
			}
			if !scrolled && !strings.Contains(v, "> ") {
				t.Errorf("%dx%d %v: the selected check is not shown:\n%s", w, h, keys, v)
			}
		}
		if h >= 15 && !strings.HasPrefix(m.View(), "compozy doctor") {
			t.Errorf("%dx%d: no title:\n%s", w, h, m.View())
		}
	}
	m := newPane(t, longSession, 60, 15)
	if v := m.View(); !strings.Contains(v, "↑↓ move · enter details · r re-run · f fix · q quit") {
		t.Errorf("the short keys line at 60 columns:\n%s", v)
	}
	// A live resize re-lays the pane out.
	nm, _ := m.Update(tea.WindowSizeMsg{Width: 200, Height: 50})
	fits(t, nm.(Model).View(), 200, 50)
	if v := nm.(Model).View(); !strings.Contains(v, "↑/k up · ↓/j down · pgdn page down · g top · G end · enter details") {
		t.Errorf("the full keys line at 200 columns:\n%s", v)
	}
}

// TestPaneEscQuits: Esc quits like q (and cancels a fix prompt instead while one is open).
func TestPaneEscQuits(t *testing.T) {
	fixed := false
	m := newPane(t, func() *Session { return fakeSession(&fixed) }, 100, 30)
	m, _ = send(m, "f")
	if !m.confirm {
		t.Fatal("f did not ask")
	}
	m, cmd := send(m, "esc")
	if m.confirm || m.quitting || cmd != nil || !strings.Contains(m.View(), "fix cancelled") {
		t.Fatalf("esc at the prompt: confirm %v quitting %v", m.confirm, m.quitting)
	}
	m, cmd = send(m, "esc")
	if cmd == nil || !m.quitting || m.Aborted() {
		t.Fatalf("esc did not quit: quitting %v aborted %v", m.quitting, m.Aborted())
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("esc's command is not tea.Quit")
	}
}

// noCupTerminfo compiles a terminfo entry "nocup" without cursor addressing into a new folder
// and returns the folder, for TERMINFO.
func noCupTerminfo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "nocup.src")
	if err := os.WriteFile(src, []byte("nocup|a terminal without cursor addressing,\n\tam,\n\tcols#80,\n\tbel=^G, cr=\\r, cud1=\\n, ind=\\n,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tic", "-o", dir, src).CombinedOutput(); err != nil {
		t.Fatalf("tic (ncurses-bin): %v\n%s", err, out)
	}
	return dir
}

func TestCanDraw(t *testing.T) {
	t.Setenv("TERMINFO", noCupTerminfo(t))
	for term, want := range map[string]bool{"": false, "dumb": false, "nocup": false,
		"xterm-256color": true, "linux": true, "no-such-terminal-type": true} {
		if got := CanDraw(term); got != want {
			t.Errorf("CanDraw(%q) = %v, want %v", term, got, want)
		}
	}
}

// TestPaneShowsProgress: a running check's last doctor.Progress replaces "checking…" in its
// row until its result comes.
func TestPaneShowsProgress(t *testing.T) {
	reported, release := make(chan struct{}), make(chan struct{})
	long := doctor.Check{Info: doctor.Info{ID: "sqlite.integrity", Group: doctor.GroupSQLite, Title: "quick_check"}, Unbounded: true,
		Run: func(ctx context.Context) doctor.Result {
			doctor.Progress(ctx, "quick_check of 2.0 GB: 1s of about 9s")
			close(reported)
			<-release
			return doctor.Pass("ok")
		}}
	session := &Session{Target: "sqlite /x/db", Checks: []doctor.Check{long}, Shown: []bool{true}}
	m := New(t.Context(), Options{Prepare: func(context.Context) (*Session, error) { return session, nil }},
		lipgloss.NewRenderer(io.Discard, termenv.WithProfile(termenv.Ascii)))
	nm, cmd := m.Update(m.prepare(m.gen)())
	m = nm.(Model)
	<-reported
	if v := m.View(); !strings.Contains(v, "sqlite.integrity  quick_check of 2.0 GB: 1s of about 9s") || strings.Contains(v, "checking…") {
		t.Errorf("the row does not show the progress:\n%s", v)
	}
	close(release)
	m = drive(t, m, cmd)
	if v := m.View(); !strings.Contains(v, "✓ sqlite.integrity  ok") || strings.Contains(v, "quick_check of") {
		t.Errorf("the result does not replace the progress:\n%s", v)
	}
}
