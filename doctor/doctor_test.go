package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func fake(id string, deps []string, run func(ctx context.Context) Result) Check {
	return Check{Info: Info{ID: id, Group: GroupSQLite, Title: "T " + id, DependsOn: deps}, Run: run}
}

func TestRunDependenciesTimeoutPanic(t *testing.T) {
	slowStarted := make(chan struct{})
	checks := []Check{
		fake("a", nil, func(context.Context) Result { return Fail("a broke", "", Fix{}) }),
		fake("b", []string{"a"}, func(context.Context) Result { t.Error("b ran although a failed"); return Pass("") }),
		fake("c", nil, func(ctx context.Context) Result { close(slowStarted); <-ctx.Done(); return Fail("late", "", Fix{}) }),
		fake("d", nil, func(context.Context) Result { panic("boom") }),
		fake("e", []string{"f"}, func(context.Context) Result { return Pass("e ok") }),
		fake("f", nil, func(context.Context) Result { return Warn("f warns", "", Fix{}) }),
		fake("g", []string{"c"}, func(context.Context) Result { return Pass("") }),
	}
	start := time.Now()
	rs := Run(t.Context(), checks, RunOptions{Timeout: 200 * time.Millisecond})
	<-slowStarted
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("run took %s", el)
	}
	want := map[string]Status{"a": StatusFail, "b": StatusSkip, "c": StatusError, "d": StatusError, "e": StatusPass, "f": StatusWarn, "g": StatusSkip}
	for i, r := range rs {
		if r.ID != checks[i].ID {
			t.Fatalf("result %d is %s, want %s (order)", i, r.ID, checks[i].ID)
		}
		if r.Status != want[r.ID] {
			t.Errorf("%s: status %s, want %s (%s)", r.ID, r.Status, want[r.ID], r.Summary)
		}
	}
	if !strings.Contains(rs[1].Summary, "a did not pass") {
		t.Errorf("skip reason: %q", rs[1].Summary)
	}
	if !strings.Contains(rs[2].Summary, "timed out after 200ms") {
		t.Errorf("timeout summary: %q", rs[2].Summary)
	}
	if !strings.Contains(rs[3].Summary, "crashed: boom") {
		t.Errorf("panic summary: %q", rs[3].Summary)
	}
}

// TestRunUnbounded: without a timeout of the caller's, a check gets the default deadline, and
// an Unbounded one (--deep's) none; a timeout the caller gives bounds both.
func TestRunUnbounded(t *testing.T) {
	hasDeadline := func(ctx context.Context) Result {
		if _, ok := ctx.Deadline(); ok {
			return Pass("deadline")
		}
		return Pass("none")
	}
	bounded := fake("bounded", nil, hasDeadline)
	unbounded := fake("unbounded", nil, hasDeadline)
	unbounded.Unbounded = true
	for _, tc := range []struct {
		timeout time.Duration
		want    []string
	}{
		{0, []string{"deadline", "none"}},
		{time.Minute, []string{"deadline", "deadline"}},
	} {
		rs := Run(t.Context(), []Check{bounded, unbounded}, RunOptions{Timeout: tc.timeout})
		for i, r := range rs {
			if r.Summary != tc.want[i] {
				t.Errorf("timeout %s, %s: %s, want %s", tc.timeout, r.ID, r.Summary, tc.want[i])
			}
		}
	}
	// Stopping the run stops an unbounded check, and says so (not "timed out after 0s").
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := RunOne(ctx, fake("u", nil, func(ctx context.Context) Result { <-ctx.Done(); return Fail("late", "", Fix{}) }), 0)
	if r.Status != StatusError {
		t.Errorf("%s %q", r.Status, r.Summary)
	}
	unbounded.Run = func(ctx context.Context) Result { <-ctx.Done(); return Fail("late", "", Fix{}) }
	if r := RunOne(ctx, unbounded, 0); r.Status != StatusError || r.Summary != "stopped before it finished" {
		t.Errorf("%s %q", r.Status, r.Summary)
	}
}

// TestRunProgress: what a check reports through Progress reaches OnProgress with its index; a
// check run without a listener reports into nothing.
func TestRunProgress(t *testing.T) {
	report := func(text string) Check {
		return fake(text, nil, func(ctx context.Context) Result { Progress(ctx, text); return Pass("") })
	}
	got := make([]string, 2)
	Run(t.Context(), []Check{report("first"), report("second")}, RunOptions{OnProgress: func(i int, text string) { got[i] = text }})
	if got[0] != "first" || got[1] != "second" {
		t.Errorf("progress %q", got)
	}
	Run(t.Context(), []Check{report("alone")}, RunOptions{})
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		statuses []Status
		strict   bool
		invalid  bool
		want     int
	}{
		{[]Status{StatusPass, StatusSkip}, false, false, 0},
		{[]Status{StatusPass, StatusWarn}, false, false, 0},
		{[]Status{StatusPass, StatusWarn}, true, false, 1},
		{[]Status{StatusFail, StatusError}, false, false, 1},
		{[]Status{StatusPass, StatusError}, false, false, 3},
		{[]Status{StatusFail}, false, true, 2},
	} {
		r := Report{Strict: tc.strict, ConfigInvalid: tc.invalid}
		for _, s := range tc.statuses {
			r.Results = append(r.Results, Result{Status: s})
		}
		if got := r.ExitCode(); got != tc.want {
			t.Errorf("%v strict=%v invalid=%v: exit %d, want %d", tc.statuses, tc.strict, tc.invalid, got, tc.want)
		}
	}
}

func sampleReport() Report {
	return Report{Target: "postgres://app:[redacted]@db:5432/compozy", Duration: 12 * time.Millisecond, Results: []Result{
		{ID: "config.file", Group: GroupConfig, Title: "Config", Status: StatusPass, Summary: "read compozy.yaml", Fix: Fix{Commands: []string{}}},
		{ID: "sqlite.journal_mode", Group: GroupSQLite, Title: "Journal", Status: StatusWarn, Summary: "rollback journal",
			Detail: "line one\nline two", Fix: Fix{Text: "switch to WAL", Commands: []string{"sqlite3 db 'PRAGMA journal_mode=WAL'"}}, Fixable: true, DurationMS: 3},
	}}
}

func TestWritePlain(t *testing.T) {
	var b bytes.Buffer
	if err := WritePlain(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Target: postgres://app:[redacted]@db:5432/compozy",
		"Configuration\n  ✓ PASS  config.file          read compozy.yaml\n",
		"  ! WARN  sqlite.journal_mode  rollback journal\n          line one\n          line two\n          Fix: switch to WAL\n            $ sqlite3 db 'PRAGMA journal_mode=WAL'\n",
		"No failures; see the warnings. 1 passed, 1 warning (2 checks in 12ms)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plain output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("escape code in plain output")
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SchemaVersion int                        `json:"schema_version"`
		Checks        []map[string]any           `json:"checks"`
		Summary       map[string]json.Number     `json:"summary"`
		Extra         map[string]json.RawMessage `json:"-"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != 1 || len(doc.Checks) != 2 {
		t.Fatalf("doc: %s", b.String())
	}
	for _, k := range []string{"id", "group", "title", "status", "summary", "detail", "fix", "fixable", "duration_ms"} {
		if _, ok := doc.Checks[1][k]; !ok {
			t.Errorf("check lacks %q", k)
		}
	}
	fix := doc.Checks[1]["fix"].(map[string]any)
	if fix["text"] != "switch to WAL" || len(fix["commands"].([]any)) != 1 {
		t.Errorf("fix: %v", fix)
	}
	if doc.Summary["warn"] != "1" || doc.Summary["exit_code"] != "0" {
		t.Errorf("summary: %v", doc.Summary)
	}
}

func TestSelect(t *testing.T) {
	checks := []Check{
		{Info: Info{ID: IDSQLiteFolder, Group: GroupSQLite}},
		{Info: Info{ID: IDSQLiteFile, Group: GroupSQLite, DependsOn: []string{IDSQLiteFolder}}},
		{Info: Info{ID: IDMigrationsPending, Group: GroupMigrations, DependsOn: []string{IDSQLiteFile}}},
		{Info: Info{ID: IDConfigFile, Group: GroupConfig}},
	}
	sel, err := Select(checks, []string{GroupMigrations}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, c := range sel.Checks {
		ids = append(ids, c.ID+map[bool]string{true: "+", false: "-"}[sel.Shown[i]])
	}
	if got := strings.Join(ids, " "); got != "sqlite.folder- sqlite.file- migrations.pending+" {
		t.Errorf("--only migrations: %s", got)
	}
	sel, err = Select(checks, nil, []string{IDSQLiteFile})
	if err != nil {
		t.Fatal(err)
	}
	rs := Run(t.Context(), sel.Checks, RunOptions{})
	if len(rs) != 3 || rs[1].ID != IDMigrationsPending || rs[1].Status != StatusSkip || !strings.Contains(rs[1].Summary, "--skip") {
		t.Errorf("--skip sqlite.file: %+v", rs)
	}
	if _, err := Select(checks, []string{"nope"}, nil); err == nil || !strings.Contains(err.Error(), "unknown check or group \"nope\"") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	groups := map[string]bool{}
	for _, g := range Groups() {
		groups[g] = true
	}
	for _, in := range Registry() {
		if seen[in.ID] {
			t.Errorf("duplicate ID %s", in.ID)
		}
		seen[in.ID] = true
		if !groups[in.Group] || !strings.HasPrefix(in.ID, in.Group+".") {
			t.Errorf("%s: group %q", in.ID, in.Group)
		}
		if in.Title == "" || in.Explain.Symptom == "" || in.Explain.Cause == "" || in.Explain.Fix == "" {
			t.Errorf("%s: incomplete explain: %+v", in.ID, in)
		}
	}
	for _, in := range Registry() {
		for _, d := range in.DependsOn {
			if !seen[d] {
				t.Errorf("%s depends on unknown %s", in.ID, d)
			}
		}
	}
}
