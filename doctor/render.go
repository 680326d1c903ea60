package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"compozy.dev/setup/internal/exitcode"
)

// SchemaVersion is the version of the JSON document. Raise it when a field changes meaning or
// goes away; adding a field keeps it.
const SchemaVersion = 1

// Summary counts the results by status.
type Summary struct {
	Total int `json:"total"`
	Pass  int `json:"pass"`
	Warn  int `json:"warn"`
	Fail  int `json:"fail"`
	Skip  int `json:"skip"`
	Error int `json:"error"`
	// ExitCode is the exit code of the run (see Report.ExitCode).
	ExitCode   int   `json:"exit_code"`
	DurationMS int64 `json:"duration_ms"`
	// next counts the skipped checks that name a next step (NextStep).
	next int
}

// NextStep reports whether r is a step still to take rather than a problem: a check skipped
// because what it looks at does not exist yet, with the command that creates it (a SQLite file
// before the first compozy migrate up).
func NextStep(r Result) bool { return r.Status == StatusSkip && !r.Fix.IsZero() }

// Report is one doctor run: where it looked, what it found, and how long it took.
type Report struct {
	// Target is the database checked, secrets redacted.
	Target   string
	Results  []Result
	Duration time.Duration
	// Strict makes warnings fail the run.
	Strict bool
	// ConfigInvalid is set when the configuration could not be loaded (exit 2).
	ConfigInvalid bool
}

// Summarize counts r's results.
func (r Report) Summarize() Summary {
	s := Summary{Total: len(r.Results), DurationMS: r.Duration.Milliseconds()}
	for _, res := range r.Results {
		switch res.Status {
		case StatusPass:
			s.Pass++
		case StatusWarn:
			s.Warn++
		case StatusFail:
			s.Fail++
		case StatusSkip:
			s.Skip++
			if NextStep(res) {
				s.next++
			}
		case StatusError:
			s.Error++
		}
	}
	s.ExitCode = r.ExitCode()
	return s
}

// ExitCode is the run's exit code, from internal/exitcode's table: 2 when the configuration
// could not be loaded, 1 when a check failed (or warned, with Strict), 3 when a check timed out
// or crashed, and 0 otherwise.
func (r Report) ExitCode() int {
	var fail, warn, errored bool
	for _, res := range r.Results {
		switch res.Status {
		case StatusFail:
			fail = true
		case StatusWarn:
			warn = true
		case StatusError:
			errored = true
		}
	}
	switch {
	case r.ConfigInvalid:
		return exitcode.Usage
	case fail:
		return exitcode.Failed
	case errored:
		return exitcode.CouldNotRun
	case warn && r.Strict:
		return exitcode.Failed
	default:
		return exitcode.OK
	}
}

// jsonDoc is the --json document.
type jsonDoc struct {
	SchemaVersion int      `json:"schema_version"`
	Target        string   `json:"target"`
	Checks        []Result `json:"checks"`
	Summary       Summary  `json:"summary"`
}

// WriteJSON writes the report as one indented JSON document.
func WriteJSON(w io.Writer, r Report) error {
	checks := r.Results
	if checks == nil {
		checks = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(jsonDoc{SchemaVersion: SchemaVersion, Target: r.Target, Checks: checks, Summary: r.Summarize()}); err != nil {
		return fmt.Errorf("write doctor JSON: %w", err)
	}
	return nil
}

// Mark is the one-character sign of a status: ✓ ! ✗ - ☠.
func Mark(s Status) string {
	switch s {
	case StatusPass:
		return "✓"
	case StatusWarn:
		return "!"
	case StatusFail:
		return "✗"
	case StatusError:
		return "☠"
	default:
		return "-"
	}
}

// GroupTitle is the heading of a group.
func GroupTitle(g string) string {
	switch g {
	case GroupConfig:
		return "Configuration"
	case GroupSQLite:
		return "SQLite"
	case GroupPostgres:
		return "PostgreSQL"
	case GroupMigrations:
		return "Migrations"
	case GroupStorage:
		return "Storage"
	case GroupVector:
		return "Vector databases"
	}
	return g
}

// WritePlain writes the report for people, without escape codes: the target, then one line
// per check under its group heading, with indented detail and fix for anything that did not
// pass, then a summary line.
func WritePlain(w io.Writer, r Report) error {
	var b strings.Builder
	if r.Target != "" {
		fmt.Fprintf(&b, "Target: %s\n", r.Target)
	}
	width := 0
	for _, res := range r.Results {
		width = max(width, len(resultLabel(res)))
	}
	group := "\x00"
	for _, res := range r.Results {
		if res.Group != group {
			group = res.Group
			fmt.Fprintf(&b, "\n%s\n", GroupTitle(group))
		}
		fmt.Fprintf(&b, "  %s %-5s %-*s  %s\n", Mark(res.Status), strings.ToUpper(string(res.Status)), width, resultLabel(res), res.Summary)
		if res.Status == StatusPass || res.Status == StatusSkip && !NextStep(res) {
			continue
		}
		writeDetail(&b, res, "          ")
	}
	s := r.Summarize()
	fmt.Fprintf(&b, "\n%s\n", SummaryLine(s))
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write doctor report: %w", err)
	}
	return nil
}

func resultLabel(r Result) string {
	if r.Entry != "" {
		return r.ID + " [" + r.Entry + "]"
	}
	return r.ID
}

// writeDetail writes a result's detail and fix, each line indented.
func writeDetail(b *strings.Builder, res Result, indent string) {
	for _, l := range splitLines(res.Detail) {
		fmt.Fprintf(b, "%s%s\n", indent, l)
	}
	if res.Fix.Text != "" {
		lines := splitLines(res.Fix.Text)
		fmt.Fprintf(b, "%sFix: %s\n", indent, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(b, "%s     %s\n", indent, l)
		}
	}
	for _, c := range res.Fix.Commands {
		fmt.Fprintf(b, "%s  $ %s\n", indent, c)
	}
	switch {
	case res.Fixable:
		fmt.Fprintf(b, "%s(compozy doctor --fix can apply this)\n", indent)
	case res.NotFixable != "":
		fmt.Fprintf(b, "%s(compozy doctor --fix does not apply this: %s)\n", indent, res.NotFixable)
	}
}

// SummaryLine is the last line of a report: the counts and the verdict.
func SummaryLine(s Summary) string {
	parts := []string{fmt.Sprintf("%d passed", s.Pass)}
	if s.Warn > 0 {
		parts = append(parts, plural(s.Warn, "warning", "warnings"))
	}
	if s.Fail > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", s.Fail))
	}
	if s.Error > 0 {
		parts = append(parts, fmt.Sprintf("%d could not run", s.Error))
	}
	if s.Skip > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", s.Skip))
	}
	verdict := "No problems found."
	switch {
	case s.ExitCode == exitcode.Usage:
		verdict = "The configuration is invalid."
	case s.Fail > 0 || s.Error > 0:
		verdict = "Problems found."
	case s.Warn > 0:
		verdict = "No failures; see the warnings."
	case s.next > 0:
		verdict = "No problems found; not set up yet: see the next step."
	}
	return fmt.Sprintf("%s %s (%s in %dms)", verdict, strings.Join(parts, ", "), plural(s.Total, "check", "checks"), s.DurationMS)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// WriteList writes every registered check: ID, group and title, one per line.
func WriteList(w io.Writer, infos []Info) error {
	width := 0
	for _, in := range infos {
		width = max(width, len(in.ID))
	}
	var b strings.Builder
	for _, in := range infos {
		fix := ""
		if in.Fixable {
			fix = "  (--fix)"
		}
		fmt.Fprintf(&b, "%-*s  %-10s  %s%s\n", width, in.ID, in.Group, in.Title, fix)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write check list: %w", err)
	}
	return nil
}

// WriteExplain writes the explain text of one check.
func WriteExplain(w io.Writer, in Info) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (group %s)\n", in.ID, in.Title, in.Group)
	fmt.Fprintf(&b, "\nSymptom\n  %s\n", wrapIndent(in.Explain.Symptom))
	fmt.Fprintf(&b, "\nCause\n  %s\n", wrapIndent(in.Explain.Cause))
	fmt.Fprintf(&b, "\nFix\n  %s\n", wrapIndent(in.Explain.Fix))
	if len(in.DependsOn) > 0 {
		fmt.Fprintf(&b, "\nRuns after: %s\n", strings.Join(in.DependsOn, ", "))
	}
	if in.Fixable {
		fmt.Fprintln(&b, "compozy doctor --fix can repair it.")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write explain: %w", err)
	}
	return nil
}

func wrapIndent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }
