// Package templates holds the embedded compozy.yaml templates and renders them from typed data.
// It knows nothing of the decision matrix: package wizard fills Data.
package templates

import (
	"embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

//go:embed compozy.yaml.tmpl
var files embed.FS

// Data is everything a rendered compozy.yaml says.
type Data struct {
	// Row names the decision-matrix row; Reasons and Warnings explain the choice. All three are
	// written as comments.
	Row      string
	Reasons  []string
	Warnings []string
	Database Database
	// VectorDBs are the knowledge.vector_dbs entries; none means no knowledge section.
	VectorDBs []VectorDB
}

// Database is the database: section. Only the keys of the driver are written.
type Database struct {
	Driver string
	// SQLite.
	Path        string
	JournalMode string
	BusyTimeout string
	Synchronous string
	// PostgreSQL: ConnString, or Host, Port, User, Name and SSLMode.
	ConnString string
	Host       string
	Port       int
	User       string
	Name       string
	SSLMode    string
	// PasswordEnv names the environment variable written as password: ${VAR}; "" writes no
	// password key. The password itself is never rendered.
	PasswordEnv  string
	MaxOpenConns int
}

// VectorDB is one knowledge.vector_dbs entry.
type VectorDB struct {
	ID         string
	Provider   string
	URL        string
	Path       string
	Collection string
	Index      string
	Dimension  int
	Metric     string
	// SecretEnvs name the variables URL refers to (${VAR}), for a comment saying to set them.
	SecretEnvs []string
	// Server names, for a pgvector entry with a URL, the other PostgreSQL server it points at
	// (host:port/database, no password), for the comment saying where pgvector is.
	Server string
}

// Render returns a whole compozy.yaml.
func Render(d Data) ([]byte, error) { return execute("file", d) }

// RenderDatabase returns the database: section alone, at the top level.
func RenderDatabase(d Data) ([]byte, error) { return execute("database", d) }

// RenderVectorDBs returns the vector_dbs: key and its list, unindented (the caller indents it
// under knowledge:).
func RenderVectorDBs(d Data) ([]byte, error) { return execute("vector_dbs", d) }

func execute(name string, d Data) ([]byte, error) {
	t, err := parse()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, name, d); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	s := strings.TrimRight(b.String(), "\n") + "\n"
	return []byte(s), nil
}

// parse parses the embedded templates. It is cheap, so each render parses afresh rather than
// keeping a package-level template.
func parse() (*template.Template, error) {
	t := template.New("compozy.yaml").Option("missingkey=error")
	t.Funcs(template.FuncMap{
		"q":    Quote,
		"ref":  func(name string) string { return "${" + name + "}" },
		"join": strings.Join,
		"indent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
			for i, l := range lines {
				if l != "" {
					lines[i] = pad + l
				}
			}
			return strings.Join(lines, "\n")
		},
		"comment": wrapComment,
		"include": func(name string, data any) (string, error) {
			var b strings.Builder
			err := t.ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
	})
	if _, err := t.ParseFS(files, "compozy.yaml.tmpl"); err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	return t, nil
}

// commentWidth is where comment lines are wrapped.
const commentWidth = 96

// wrapComment writes text as comment lines: the first starts with first, the others with rest,
// and words are wrapped at commentWidth.
func wrapComment(first, rest, text string) string {
	var b strings.Builder
	line := first
	empty := true
	for _, w := range strings.Fields(text) {
		if !empty && len(line)+1+len(w) > commentWidth {
			b.WriteString(line + "\n")
			line, empty = rest, true
		}
		if !empty {
			line += " "
		}
		line += w
		empty = false
	}
	b.WriteString(line)
	return b.String()
}

// plainScalar matches strings that YAML reads back as the same string when written bare.
var plainScalar = regexp.MustCompile(`^[A-Za-z_./][A-Za-z0-9_./-]*$`)

// Quote writes s as a YAML scalar that reads back as the string s: bare when that is safe,
// double-quoted otherwise.
func Quote(s string) string {
	switch strings.ToLower(s) {
	case "", "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~":
		return strconv.Quote(s)
	}
	if plainScalar.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}
