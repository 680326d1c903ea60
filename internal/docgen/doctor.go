package docgen

import (
	"fmt"
	"strings"

	"compozy.dev/setup/doctor"
)

// groupTitles names the doctor's groups as the report shows them.
func groupTitles() map[string]string {
	return map[string]string{
		doctor.GroupConfig:     "Configuration",
		doctor.GroupSQLite:     "SQLite",
		doctor.GroupPostgres:   "PostgreSQL",
		doctor.GroupMigrations: "Migrations",
		doctor.GroupStorage:    "Storage",
		doctor.GroupVector:     "Vector databases",
	}
}

// doctorChecks is every check of the registry with its symptom, cause and fix: the text
// `compozy doctor explain ID` prints.
func doctorChecks() string {
	var b strings.Builder
	titles := groupTitles()
	reg := doctor.Registry()
	for _, g := range doctor.Groups() {
		fmt.Fprintf(&b, "### %s checks\n\n", titles[g])
		for _, in := range reg {
			if in.Group != g {
				continue
			}
			fmt.Fprintf(&b, "#### %s\n\n**%s**", code(in.ID), in.Title)
			if in.Fixable {
				b.WriteString(" (`compozy doctor --fix` can repair it)")
			}
			b.WriteString("\n\n")
			fmt.Fprintf(&b, "- **Symptom:** %s\n- **Cause:** %s\n- **Fix:** %s\n", md(in.Explain.Symptom), md(in.Explain.Cause), md(in.Explain.Fix))
			if len(in.DependsOn) > 0 {
				fmt.Fprintf(&b, "- Runs after: %s\n", codes(in.DependsOn))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// md escapes the characters of plain text that Markdown would read as markup.
func md(s string) string {
	return strings.NewReplacer(`<`, `\<`, `*`, `\*`, "`", "\\`").Replace(s)
}
