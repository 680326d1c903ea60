package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// The limits on what a config file may make compozy do. They are checked before the YAML
// parser sees the file: a file nested 100 000 levels deep in 200 KB once cost the parser 15 GB.
const (
	// MaxFileSize is the largest config file compozy reads, in bytes. A compozy.yaml is a few KB.
	MaxFileSize = 1 << 20
	// MaxDepth is the deepest nesting compozy reads: block levels (indentation, "- " and "? "
	// markers) plus flow levels ([ and {). compozy's own sections need four.
	MaxDepth = 64
	// MaxVectorDBs is the most knowledge.vector_dbs entries compozy reads.
	MaxVectorDBs = 100
	// maxProblems is the most problems one load reports; the rest are counted.
	maxProblems = 50
)

// CheckInput reports whether data, the content of the config file name (as shown in messages),
// is within MaxFileSize and MaxDepth, without parsing it. It returns nil or an *Error. Load and
// LoadBytes check this themselves; CheckInput is for other readers of a compozy.yaml (init
// updating an existing file).
func CheckInput(name string, data []byte) error {
	if p, ok := limitProblem(name, data, int64(len(data))); ok {
		return &Error{Problems: []Problem{p}}
	}
	return nil
}

// limitProblem is the problem of a file of size bytes (data holds its first bytes) that is too
// large or nests too deep; ok is false when it is within the limits.
func limitProblem(name string, data []byte, size int64) (Problem, bool) {
	if name == "" {
		name = DefaultFile
	}
	if size > MaxFileSize || len(data) > MaxFileSize {
		return Problem{Code: CodeFileTooLarge, Pos: Pos{File: name},
			Message: fmt.Sprintf("the file is %s; compozy reads config files up to %s", formatSize(max(size, int64(len(data)))), formatSize(MaxFileSize)),
			Fix:     "check that this is compozy's config file (--config or COMPOZY_CONFIG_FILE may name another file); a compozy.yaml is a few KB",
		}, true
	}
	if depth, line, col := nestingDepth(data); depth > MaxDepth {
		return Problem{Code: CodeFileTooDeep, Pos: Pos{File: name, Line: line, Column: col},
			Message: fmt.Sprintf("nesting %d deep; compozy reads at most %d levels", depth, MaxDepth),
			Fix:     "check that this is compozy's config file; its sections need a few levels (database: then key: value), so remove the deep nesting",
		}, true
	}
	return Problem{}, false
}

// formatSize renders a byte count for people: "52.4 MB", "1 MB", "1048577 bytes".
func formatSize(n int64) string {
	const mb = 1 << 20
	switch {
	case n%mb == 0:
		return strconv.FormatInt(n/mb, 10) + " MB"
	case n >= mb+mb/10:
		return strconv.FormatFloat(float64(n)/mb, 'f', 1, 64) + " MB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// readLimited reads the file at path, but no more than MaxFileSize+1 bytes of it. size is the
// file's size when it is larger than MaxFileSize (at least MaxFileSize+1), else len(data).
func readLimited(path string) (data []byte, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, fi.Size(), nil
	}
	data, err = io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		var pe *os.PathError
		if !errors.As(err, &pe) {
			err = &os.PathError{Op: "read", Path: path, Err: err}
		}
		return nil, 0, err
	}
	return data, int64(len(data)), nil
}

// nestingDepth measures how deep data nests, in one pass over its bytes and without parsing:
// block levels are the columns at which nodes start on the way in (indentation, and the node
// after each "- " or "? " marker), flow levels the [ and { that are open. Quoted scalars,
// comments and block scalars (| and >) are skipped. The count is close to a parser's, not equal:
// a plain scalar continued on a more indented line adds a level, and a list written at its key's
// indentation ("a:\n- x") shares the key's level, so a document can be at most twice as deep as
// counted; every way of nesting without bound (more columns, more markers, more brackets) is
// counted. It returns the deepest level reached, and the line and column (1-based) where the
// depth first went over MaxDepth (0, 0 when it did not).
func nestingDepth(data []byte) (maxDepth, overLine, overCol int) {
	var (
		stack       []int // columns of the open block nodes, increasing
		flow        int   // open [ and {
		inDouble    bool  // inside a "..." scalar (it may span lines)
		inSingle    bool  // inside a '...' scalar
		blockScalar = -1  // indentation of the line that started a | or > scalar; -1 when none
	)
	note := func(line, col int) {
		d := len(stack) + flow
		if d > maxDepth {
			maxDepth = d
		}
		if d > MaxDepth && overLine == 0 {
			overLine, overCol = line, col
		}
	}
	push := func(col, line int) {
		for len(stack) > 0 && stack[len(stack)-1] >= col {
			stack = stack[:len(stack)-1]
		}
		stack = append(stack, col)
		note(line, col+1)
	}
	lineNo := 0
	for start := 0; start < len(data); {
		end := start
		for end < len(data) && data[end] != '\n' {
			end++
		}
		line := data[start:end]
		start = end + 1
		lineNo++
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		indent := 0
		for indent < len(line) && line[indent] == ' ' {
			indent++
		}
		blank := indent == len(line)
		if blockScalar >= 0 {
			if blank || indent > blockScalar {
				continue
			}
			blockScalar = -1
		}
		pos := 0
		atStart := false // at the start of a node: a quote, [ or { here opens one
		if flow == 0 && !inDouble && !inSingle {
			if blank || line[indent] == '#' || (indent == 0 && line[0] == '%') {
				continue
			}
			pos = indent
			if indent == 0 && len(line) >= 3 && (string(line[:3]) == "---" || string(line[:3]) == "...") &&
				(len(line) == 3 || line[3] == ' ' || line[3] == '\t') {
				stack = stack[:0] // a new document
				pos = 3
			} else {
				push(indent, lineNo)
				// "- - x" and "? x": each marker opens a node one level deeper.
				for pos < len(line) && (line[pos] == '-' || line[pos] == '?') && (pos+1 == len(line) || line[pos+1] == ' ' || line[pos+1] == '\t') {
					pos++
					for pos < len(line) && (line[pos] == ' ' || line[pos] == '\t') {
						pos++
					}
					push(pos, lineNo)
				}
			}
			atStart = true
		} else if flow > 0 && !inDouble && !inSingle {
			atStart = true
		}
		for pos < len(line) {
			c := line[pos]
			switch {
			case inDouble:
				if c == '\\' {
					pos++
				} else if c == '"' {
					inDouble = false
				}
				pos++
				continue
			case inSingle:
				if c == '\'' {
					if pos+1 < len(line) && line[pos+1] == '\'' {
						pos++
					} else {
						inSingle = false
					}
				}
				pos++
				continue
			}
			space := pos == 0 || line[pos-1] == ' ' || line[pos-1] == '\t'
			switch {
			case c == ' ' || c == '\t':
			case c == '#' && space:
				pos = len(line) // a comment
				continue
			case c == '[' || c == '{':
				if atStart || flow > 0 {
					flow++
					note(lineNo, pos+1)
					atStart = true
				}
			case (c == ']' || c == '}') && flow > 0:
				flow--
				atStart = false
			case c == ',' && flow > 0:
				atStart = true
			case c == ':' && (flow > 0 || pos+1 == len(line) || line[pos+1] == ' ' || line[pos+1] == '\t'):
				atStart = true
			case atStart && c == '"':
				inDouble, atStart = true, false
			case atStart && c == '\'':
				inSingle, atStart = true, false
			case atStart && (c == '&' || c == '!'):
				// An anchor or a tag comes before the node it names: skip it.
				for pos+1 < len(line) && line[pos+1] != ' ' && line[pos+1] != '\t' && (flow == 0 || !isFlowIndicator(line[pos+1])) {
					pos++
				}
			case atStart && flow == 0 && (c == '|' || c == '>'):
				blockScalar = indent
				pos = len(line) // the rest is the header and a comment
				continue
			default:
				atStart = false
			}
			pos++
		}
	}
	return maxDepth, overLine, overCol
}

func isFlowIndicator(c byte) bool { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}' }
