package wizard

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/templates"
)

// Merge returns existing (the text of a compozy.yaml) with its database: section and its
// knowledge.vector_dbs replaced by those rendered from d. Only those lines change: every other
// section, comment and blank line is kept byte for byte. A missing database: section is added
// at the end; so is knowledge: (or vector_dbs: inside an existing knowledge:). When d has no
// vector DB, knowledge.vector_dbs is left as it is.
//
// A file with CRLF line breaks (or a UTF-8 BOM) is merged as its LF twin would be: its other
// bytes are kept (CRLF stays CRLF, the BOM stays), and the new lines end as the file's first
// line does (see lineEnding).
func Merge(existing []byte, d templates.Data) ([]byte, error) {
	dbText, err := templates.RenderDatabase(d)
	if err != nil {
		return nil, err
	}
	var vecText []byte
	if len(d.VectorDBs) > 0 {
		if vecText, err = templates.RenderVectorDBs(d); err != nil {
			return nil, err
		}
	}
	top, err := topMapping(existing)
	if err != nil {
		return nil, err
	}
	bom, body := splitBOM(existing)
	eol := lineEnding(body)
	lines := splitLines(string(body))
	var edits []edit
	var appendText []string

	db, knowledge := findKey(top, "database"), findKey(top, "knowledge")
	if db != nil {
		start, end := sectionLines(lines, top, db)
		edits = append(edits, edit{start: start, end: end, text: string(dbText)})
	} else {
		appendText = append(appendText, string(dbText))
	}
	if vecText != nil {
		switch {
		case knowledge == nil:
			appendText = append(appendText, "knowledge:\n"+indent(2, string(vecText)))
		default:
			e, err := vectorEdit(lines, top, knowledge, string(vecText))
			if err != nil {
				return nil, err
			}
			edits = append(edits, e)
		}
	}

	// Apply from the bottom up so that line numbers stay valid.
	slices.SortFunc(edits, func(a, b edit) int { return b.start - a.start })
	for _, e := range edits {
		repl := splitLines(withEOL(e.text, eol))
		lines = slices.Concat(lines[:e.start], repl, lines[e.end:])
	}
	out := strings.Join(lines, "")
	if len(appendText) > 0 {
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += eol
		}
		for _, t := range appendText {
			if strings.TrimSpace(out) != "" {
				out += eol
			}
			out += withEOL(t, eol)
		}
	}
	return append(bom, out...), nil
}

// utf8BOM is the byte order mark some Windows editors write at the start of a UTF-8 file.
const utf8BOM = "\ufeff"

// splitBOM splits data into its leading UTF-8 byte order mark (empty when there is none) and
// the rest. The parser reads the rest (config.ParserInput drops the mark), so its line numbers
// are the rest's.
func splitBOM(data []byte) (bom, rest []byte) {
	if s, ok := strings.CutPrefix(string(data), utf8BOM); ok {
		return []byte(utf8BOM), []byte(s)
	}
	return nil, data
}

// lineEnding is the line break a file uses: "\r\n" when its first line ends with CRLF, else
// "\n" (also for a file of one line without a break). A file of mixed breaks is taken at its
// first line's word.
func lineEnding(body []byte) string {
	if i := strings.IndexByte(string(body), '\n'); i > 0 && body[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

// withEOL is text (LF line breaks, as templates render) with each line break written eol.
func withEOL(text, eol string) string {
	if eol == "\n" {
		return text
	}
	return strings.ReplaceAll(text, "\n", eol)
}

// edit replaces lines [start, end) (0-based) with text.
type edit struct {
	start, end int
	text       string
}

// existingFileError is an existing file over config's limits. It unwraps to the *config.Error,
// so callers route by the problem's code (config.CodeFileTooLarge, config.CodeFileTooDeep).
type existingFileError struct{ err *config.Error }

// Error is config's own words placed in the existing file, as `config validate` places them in
// compozy.yaml: "the existing file: the file is 2.0 MB; ...", "the existing file (line 2,
// column 71): nesting 100002 deep; ...".
func (e *existingFileError) Error() string {
	p := e.err.Problems[0]
	where := ""
	if p.Line > 0 {
		where = fmt.Sprintf(" (line %d, column %d)", p.Line, p.Column)
	}
	return fmt.Sprintf("the existing file%s: %s", where, p.Message)
}

func (e *existingFileError) Unwrap() error { return e.err }

// topMapping parses data and returns its top-level mapping; nil for an empty document. A file
// over compozy's size or depth limits is refused before the parser sees it.
func topMapping(data []byte) (top *ast.MappingNode, err error) {
	var cerr *config.Error
	if err := config.CheckInput(config.DefaultFile, data); errors.As(err, &cerr) && len(cerr.Problems) > 0 {
		return nil, &existingFileError{err: cerr}
	}
	if line := loneCR(data); line > 0 {
		// The parser ends a line there, this file's lines do not: the lines replaced would be
		// picked at the wrong places.
		return nil, fmt.Errorf("the existing file has a carriage return without a line feed at line %d; save it with LF or CRLF line breaks", line)
	}
	defer func() {
		if r := recover(); r != nil {
			top, err = nil, fmt.Errorf("parse the existing file: %v", r)
		}
	}()
	// The parser reads the file without its BOM and with CRLF written LF: it counts a CRLF after
	// a comment as two lines, and the lines replaced are picked by its positions.
	f, err := parser.ParseBytes(config.ParserInput(data), parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse the existing file: %w", err)
	}
	if len(f.Docs) > 1 {
		return nil, errors.New("the existing file holds more than one YAML document; keep one")
	}
	if len(f.Docs) == 0 || f.Docs[0] == nil || f.Docs[0].Body == nil {
		return nil, nil
	}
	body := f.Docs[0].Body
	switch body.Type() {
	case ast.CommentType, ast.NullType:
		return nil, nil // only comments, or nothing
	}
	m, ok := body.(*ast.MappingNode)
	if !ok || m.IsFlowStyle {
		return nil, errors.New("the existing file is not a block mapping of sections (database:, knowledge:, ...); edit it by hand or start over with --force")
	}
	return m, nil
}

// loneCR is the 1-based line of the first CR in data that no LF follows; 0 when there is none.
func loneCR(data []byte) int {
	line := 1
	for i, c := range data {
		switch {
		case c == '\n':
			line++
		case c == '\r' && (i+1 == len(data) || data[i+1] != '\n'):
			return line
		}
	}
	return 0
}

// findKey returns the entry of m whose plain key is name.
func findKey(m *ast.MappingNode, name string) *ast.MappingValueNode {
	if m == nil {
		return nil
	}
	for _, mv := range m.Values {
		if mv.Key != nil && !mv.Key.IsMergeKey() && mv.Key.GetToken() != nil && mv.Key.GetToken().Value == name {
			return mv
		}
	}
	return nil
}

// keyLine is the 0-based line and 1-based column of mv's key.
func keyLine(mv *ast.MappingValueNode) (line, col int) {
	p := mv.Key.GetToken().Position
	return p.Line - 1, p.Column
}

// sectionLines is the 0-based [start, end) line range of entry mv of mapping m: from its key to
// the line before the next entry's key (or the end of parent), without the blank lines and the
// comments at or left of the key's column that come last (they introduce what follows).
func sectionLines(lines []string, m *ast.MappingNode, mv *ast.MappingValueNode) (int, int) {
	return sectionLinesWithin(lines, m, mv, len(lines))
}

func sectionLinesWithin(lines []string, m *ast.MappingNode, mv *ast.MappingValueNode, limit int) (int, int) {
	start, col := keyLine(mv)
	end := limit
	for i, x := range m.Values {
		if x == mv && i+1 < len(m.Values) {
			end, _ = keyLine(m.Values[i+1])
		}
	}
	for end > start+1 {
		l := lines[end-1]
		t := strings.TrimLeft(l, " ")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(t, "#") && len(l)-len(t) < col {
			end--
			continue
		}
		break
	}
	return start, end
}

// vectorEdit replaces or adds vector_dbs inside the knowledge: entry kn.
func vectorEdit(lines []string, top *ast.MappingNode, kn *ast.MappingValueNode, vecText string) (edit, error) {
	kStart, kEnd := sectionLines(lines, top, kn)
	switch v := kn.Value.(type) {
	case nil, *ast.NullNode:
		return edit{start: kStart + 1, end: kStart + 1, text: indent(2, vecText)}, nil
	case *ast.MappingNode:
		if v.IsFlowStyle {
			return edit{}, errors.New("knowledge: is written in flow style ({...}); write it as a block, or edit vector_dbs by hand")
		}
		_, childCol := keyLine(v.Values[0])
		if vd := findKey(v, "vector_dbs"); vd != nil {
			start, end := sectionLinesWithin(lines, v, vd, kEnd)
			return edit{start: start, end: end, text: indent(childCol-1, vecText)}, nil
		}
		return edit{start: kEnd, end: kEnd, text: indent(childCol-1, vecText)}, nil
	}
	return edit{}, errors.New("knowledge: is not a mapping; fix it, or edit vector_dbs by hand")
}

// splitLines splits s into lines that keep their "\n" (and the "\r" before it).
func splitLines(s string) []string {
	ls := strings.SplitAfter(s, "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	return ls
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	ls := splitLines(s)
	for i, l := range ls {
		if strings.TrimSpace(l) != "" {
			ls[i] = pad + l
		}
	}
	out := strings.Join(ls, "")
	if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return out
}

// Sections reports which of the sections this tool owns the text of a compozy.yaml has.
func Sections(existing []byte) (database, vectorDBs bool, err error) {
	top, err := topMapping(existing)
	if err != nil {
		return false, false, err
	}
	if findKey(top, "database") != nil {
		database = true
	}
	if kn := findKey(top, "knowledge"); kn != nil {
		if m, ok := kn.Value.(*ast.MappingNode); ok && findKey(m, "vector_dbs") != nil {
			vectorDBs = true
		}
	}
	return database, vectorDBs, nil
}
