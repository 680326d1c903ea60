// Package report writes `compozy doctor --report`: one Markdown document for a support ticket
// with the versions of everything involved, the machine, every check with its detail and fix,
// and the resolved configuration with the source of each value. Every secret is redacted: the
// values come redacted (config.Values, the checks' results), every line goes through
// config.Redact once more, and the secrets the caller knows are cut out in every spelling a
// document could carry them in (as typed, URL-encoded, base64).
package report

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/doctor"
)

// Fact is one line of the environment table: a name and its value ("SQLite", "3.46.1").
type Fact struct {
	Name, Value string
}

// Input is what a report says.
type Input struct {
	// Generated is when the report was made; Command is how it was asked for.
	Generated time.Time
	Command   string
	// Facts are the versions and the machine: compozy, Go, OS, the database server and its
	// extensions, the filesystem.
	Facts []Fact
	// Report is the doctor run.
	Report doctor.Report
	// ConfigFile is the config file's path ("" when none was read); Config its resolved values
	// (config.Config.Values, already redacted); Warnings the configuration's warnings.
	ConfigFile string
	Config     []config.Value
	Warnings   []config.Warning
}

// Write writes in as Markdown to w, with every secret in secrets (and its URL-encoded and
// base64 forms) replaced by config.Redacted.
func Write(w io.Writer, in Input, secrets []string) error {
	var b strings.Builder
	b.WriteString("# compozy doctor report\n\n")
	fmt.Fprintf(&b, "Made %s by `%s`. Secrets are redacted.\n", in.Generated.UTC().Format(time.RFC3339), in.Command)

	b.WriteString("\n## Environment\n\n| | |\n| --- | --- |\n")
	for _, f := range in.Facts {
		fmt.Fprintf(&b, "| %s | %s |\n", cell(f.Name), cell(f.Value))
	}

	b.WriteString("\n## Checks\n\n")
	if in.Report.Target != "" {
		fmt.Fprintf(&b, "Target: `%s`\n\n", in.Report.Target)
	}
	fmt.Fprintf(&b, "%s Exit code %d.\n", doctor.SummaryLine(in.Report.Summarize()), in.Report.ExitCode())
	group := "\x00"
	for _, r := range in.Report.Results {
		if r.Group != group {
			group = r.Group
			fmt.Fprintf(&b, "\n### %s\n\n", doctor.GroupTitle(group))
		}
		writeResult(&b, r)
	}

	b.WriteString("\n## Configuration (`compozy config show`)\n\n")
	if in.Report.ConfigInvalid {
		b.WriteString("The configuration could not be loaded: the config checks above say why.\n")
	} else if in.ConfigFile != "" {
		fmt.Fprintf(&b, "Config file: `%s`\n\n", in.ConfigFile)
	} else {
		b.WriteString("Config file: none (defaults, environment and flags)\n\n")
	}
	if len(in.Config) > 0 {
		b.WriteString("| Key | Value | Source |\n| --- | --- | --- |\n")
	}
	for _, v := range in.Config {
		val := v.String()
		if v.Unused != "" {
			val += " (unused: " + v.Unused + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(v.Key), cell(val), cell(v.Source))
	}
	if len(in.Warnings) > 0 {
		b.WriteString("\nWarnings:\n\n")
		for _, wn := range in.Warnings {
			fmt.Fprintf(&b, "- %s\n", oneLine(fmt.Sprint(wn)))
		}
	}
	_, err := io.WriteString(w, Scrub(b.String(), secrets))
	if err != nil {
		return fmt.Errorf("write doctor report: %w", err)
	}
	return nil
}

// writeResult writes one check: its mark, status, ID and summary, then its detail, fix and
// commands, indented under it.
func writeResult(b *strings.Builder, r doctor.Result) {
	id := r.ID
	if r.Entry != "" {
		id += " [" + r.Entry + "]"
	}
	fmt.Fprintf(b, "- %s **%s** `%s`: %s\n", doctor.Mark(r.Status), strings.ToUpper(string(r.Status)), id, oneLine(r.Summary))
	if d := strings.TrimSpace(r.Detail); d != "" {
		b.WriteString("\n")
		fence(b, d)
	}
	if r.Fix.Text != "" {
		fmt.Fprintf(b, "\n  Fix: %s\n", oneLine(r.Fix.Text))
	}
	if len(r.Fix.Commands) > 0 {
		b.WriteString("\n")
		fence(b, strings.Join(r.Fix.Commands, "\n"))
	}
	if r.Fixable {
		b.WriteString("\n  (`compozy doctor --fix` can apply this)\n")
	}
}

// fence writes text as a code block indented under a list item, with a fence longer than any
// run of backticks in the text.
func fence(b *strings.Builder, text string) {
	f := "```"
	for strings.Contains(text, f) {
		f += "`"
	}
	fmt.Fprintf(b, "  %s\n", f)
	for _, l := range strings.Split(text, "\n") {
		fmt.Fprintf(b, "  %s\n", l)
	}
	fmt.Fprintf(b, "  %s\n", f)
}

// cell makes s fit in one table cell: one line, pipes escaped.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// minSecret is the length under which a known secret is not cut out of the text by value: a
// password of one to three characters would take letters out of every word. Such a secret is
// still redacted where the report shows it (config.Values, config.Redact).
const minSecret = 4

// Scrub returns text with each line passed through config.Redact, and every secret of secrets
// replaced by config.Redacted: as given, URL-encoded (query and path spelling) and in base64
// (standard and URL alphabets, padded or not).
func Scrub(text string, secrets []string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = config.Redact(l)
	}
	text = strings.Join(lines, "\n")
	var forms []string
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		forms = append(forms, s, url.QueryEscape(s), url.PathEscape(s),
			base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s)),
			base64.URLEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)))
	}
	// Longest first, so that a form is not left half-cut by a shorter one inside it.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	for _, f := range forms {
		text = strings.ReplaceAll(text, f, config.Redacted)
	}
	return text
}
