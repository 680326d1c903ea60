package config

import "bytes"

// utf8BOM is the byte order mark some Windows editors write at the start of a UTF-8 file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ParserInput returns data, the content of a compozy.yaml, as it is given to the YAML parser:
// without a leading UTF-8 byte order mark, and with every CRLF line break written LF.
//
// goccy/go-yaml (v1.19) counts the CRLF that ends a comment line, or that breaks a quoted
// scalar, as two lines: every position after it is a line too far for each such line (24:13
// where the file says 19:13), and a reader that picks lines by those positions picks the wrong
// ones. It also folds a CRLF inside a quoted scalar to "\n" where an LF folds to a space, and it
// rejects a file that starts with a BOM ("unexpected key name" at 1:1). Dropping the CR of each
// CRLF and the BOM changes no line's number and no column as an editor counts it (the CR ends a
// line, the BOM is not shown), so the parser's positions are the file's, and YAML gives every
// value the same meaning (a line break in a scalar is LF whichever way it is written). A lone CR
// is left as it is. data itself is not changed; when there is nothing to drop, data is returned.
func ParserInput(data []byte) []byte {
	data = bytes.TrimPrefix(data, utf8BOM)
	if !bytes.Contains(data, []byte("\r\n")) {
		return data
	}
	return bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
}
