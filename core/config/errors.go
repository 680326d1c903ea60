package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Error is an invalid configuration: every problem found, each naming file, line, key and fix.
type Error struct{ Problems []Problem }

// Problem is one reason a configuration is invalid.
type Problem struct {
	// Code names the kind of problem; route by it, never by Message (see Code).
	Code Code
	// Key is the dotted key ("database.port", "knowledge.vector_dbs[0].provider"); "" when the
	// problem is with the file as a whole.
	Key string
	// Pos locates the value in the config file (File as the user named it); zero when the value
	// did not come from the file.
	Pos
	// Message says what is wrong, for people. Its wording may change in any release.
	Message string
	Fix     string
	// Origin names where the value came from when not from the file: "env COMPOZY_DB_PORT",
	// "flag --db-port", "stdin".
	Origin string
}

// Pos is a position in the config file: the file as the user named it, and the 1-based line
// and column (0 when unknown).
type Pos struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// Where is the location of the problem: "compozy.yaml:3:5", "env COMPOZY_DB_PORT", or "".
func (p Problem) Where() string { return where(p.File, p.Line, p.Column, p.Origin) }

// String renders the problem as "WHERE: KEY: MESSAGE" plus an indented fix line.
func (p Problem) String() string { return render(p.Where(), p.Key, p.Message, p.Fix) }

// Error renders a header line, then every problem on its own line as
// "FILE:LINE:COL: KEY: MESSAGE" (or "env NAME: KEY: MESSAGE"), each followed by an indented fix.
func (e *Error) Error() string {
	var b strings.Builder
	n := len(e.Problems)
	b.WriteString("invalid configuration: " + strconv.Itoa(n) + " problem")
	if n != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n")
		b.WriteString(p.String())
	}
	return b.String()
}

// where joins a location: file:line:col, or the origin of a value that is not from the file.
func where(file string, line, col int, origin string) string {
	if file == "" {
		return origin
	}
	if line > 0 {
		file += ":" + strconv.Itoa(line)
		if col > 0 {
			file += ":" + strconv.Itoa(col)
		}
	}
	return file
}

// render is the one format of problems and warnings.
func render(where, key, msg, fix string) string {
	var parts []string
	for _, s := range []string{where, key, msg} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	out := strings.Join(parts, ": ")
	if fix != "" {
		out += "\n    fix: " + fix
	}
	return out
}

// sortProblems orders problems by position in the file; problems from the environment and flags
// come after, in the order they were found.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		return before(ps[i].File, ps[i].Line, ps[i].Column, ps[j].File, ps[j].Line, ps[j].Column)
	})
}

// sortWarnings orders warnings like sortProblems.
func sortWarnings(ws []Warning) {
	sort.SliceStable(ws, func(i, j int) bool {
		return before(ws[i].File, ws[i].Line, ws[i].Column, ws[j].File, ws[j].Line, ws[j].Column)
	})
}

// before orders locations: in the file by line and column, then the rest.
func before(fileA string, lineA, colA int, fileB string, lineB, colB int) bool {
	if (fileA == "") != (fileB == "") {
		return fileA != ""
	}
	if lineA != lineB {
		return lineA < lineB
	}
	return colA < colB
}

// capProblems keeps the first maxProblems problems and counts the rest in one more, so that a
// hostile file cannot make the report as large as itself.
func capProblems(ps []Problem) []Problem {
	if len(ps) <= maxProblems {
		return ps
	}
	next := ps[maxProblems]
	return append(ps[:maxProblems:maxProblems], Problem{Code: CodeProblemsTruncated, Pos: next.Pos, Origin: next.Origin,
		Message: fmt.Sprintf("%d more problems are not shown", len(ps)-maxProblems),
		Fix:     "fix the problems above, then run compozy config validate again"})
}

// capWarnings keeps the first maxProblems warnings and counts the rest in one more.
func capWarnings(ws []Warning) []Warning {
	if len(ws) <= maxProblems {
		return ws
	}
	next := ws[maxProblems]
	return append(ws[:maxProblems:maxProblems], Warning{Code: CodeWarningsTruncated, Pos: next.Pos, Origin: next.Origin,
		Message: fmt.Sprintf("%d more warnings are not shown", len(ws)-maxProblems),
		Fix:     "fix the warnings above, then run compozy config validate again"})
}
