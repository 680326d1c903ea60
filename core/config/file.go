package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// maxAliasChain bounds alias-to-anchor resolution, so no document can loop it.
const maxAliasChain = 16

// yamlDoc is a parsed config file and its anchors, for resolving aliases.
type yamlDoc struct {
	file    *ast.File
	anchors map[string]ast.Node
}

// parseYAML parses data into an AST. A parser panic on hostile input becomes an error. The
// parser reads ParserInput(data), so that positions are right in a CRLF file or one with a BOM.
func parseYAML(data []byte) (doc *yamlDoc, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("parse YAML: %v", r)
		}
	}()
	f, err := parser.ParseBytes(ParserInput(data), 0)
	if err != nil {
		return nil, err
	}
	doc = &yamlDoc{file: f, anchors: map[string]ast.Node{}}
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			ast.Walk(anchorCollector(doc.anchors), d.Body)
		}
	}
	return doc, nil
}

// anchorCollector records every anchor's value by name; a later anchor of the same name wins.
type anchorCollector map[string]ast.Node

// Visit implements ast.Visitor.
func (a anchorCollector) Visit(n ast.Node) ast.Visitor {
	if an, ok := n.(*ast.AnchorNode); ok && an.Name != nil && an.Value != nil {
		a[an.Name.GetToken().Value] = an.Value
	}
	return a
}

// resolve unwraps tags and anchors and follows aliases. It returns nil for an unknown alias.
func (d *yamlDoc) resolve(n ast.Node) ast.Node {
	for range maxAliasChain {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			if v.Value == nil {
				return nil
			}
			n = d.anchors[v.Value.GetToken().Value]
		default:
			return n
		}
	}
	return nil
}

// position returns where n starts, or where fallback starts when n has no position.
func position(n, fallback ast.Node) (line, col int) {
	for _, x := range []ast.Node{n, fallback} {
		if x == nil {
			continue
		}
		if tk := nodeStart(x); tk != nil && tk.Position != nil {
			return tk.Position.Line, tk.Position.Column
		}
	}
	return 0, 0
}

// nodeStart is the first token of n. For block mappings GetToken is the first ':', so use the
// first key instead.
func nodeStart(n ast.Node) *token.Token {
	switch v := n.(type) {
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 && v.Values[0].Key != nil {
			return v.Values[0].Key.GetToken()
		}
	case *ast.MappingValueNode:
		if v.Key != nil {
			return v.Key.GetToken()
		}
	}
	return n.GetToken()
}

// src is the source of a value at n in the config file.
func (l *loader) src(n, fallback ast.Node) Source {
	line, col := position(n, fallback)
	return Source{Kind: SourceFile, File: l.name, Line: line, Column: col}
}

// file reads the sections this tool owns from the config file's content.
func (l *loader) file(data []byte) {
	doc, err := parseYAML(data)
	if err != nil {
		l.yamlError(err)
		return
	}
	if len(doc.file.Docs) > 1 {
		line, col := position(doc.file.Docs[1].Body, nil)
		l.problem(CodeYAMLDocuments, Source{Kind: SourceFile, File: l.name, Line: line, Column: col}, "",
			"the file holds more than one YAML document", "keep one document: remove the --- separator")
	}
	if len(doc.file.Docs) == 0 || doc.file.Docs[0] == nil || doc.file.Docs[0].Body == nil {
		return
	}
	body := doc.file.Docs[0].Body
	root := doc.resolve(body)
	if isNull(root) {
		return
	}
	top, ok := root.(*ast.MappingNode)
	if !ok {
		l.problem(CodeYAMLTopLevel, l.src(body, nil), "", "expected a mapping of sections (database:, knowledge:, ...) at the top level, got "+nodeKind(root),
			"start the file with database:")
		return
	}
	present := map[string]bool{}
	for _, mv := range top.Values {
		if name, ok := keyName(mv.Key); ok {
			present[name] = true
		}
	}
	for _, mv := range top.Values {
		name, ok := keyName(mv.Key)
		if !ok {
			continue // not a plain key: not one of ours
		}
		switch name {
		case "database":
			if m := l.mapping(doc, mv, "database"); m != nil {
				l.entries(doc, m, SectionDatabase, 0, "database")
			}
		case "knowledge":
			l.knowledge(doc, mv)
		case "runtime":
			l.runtime(doc, mv)
		default:
			best := suggest(name, []string{"database", "knowledge"})
			if best == "" {
				best = sectionAlias(name)
			}
			fix := "rename it to " + best
			if best == "knowledge" && sectionAlias(name) == best {
				fix = "move it under knowledge:, as knowledge.vector_dbs"
			}
			switch {
			case best == "":
			case !present[best]:
				// The section is missing and this is its misspelling: reading on would run with
				// the defaults (a PostgreSQL on localhost, no vector DB) as if it were not there.
				l.problem(CodeKeyUnknown, l.src(mv.Key, nil), name, fmt.Sprintf("unknown top-level key %q, and there is no %s: section; did you mean %q?", name, best, best), fix)
			default:
				l.warn(CodeKeyUnread, l.src(mv.Key, nil), name, fmt.Sprintf("top-level key %q is not read; did you mean %q?", name, best), fix)
			}
		}
	}
}

// sectionAlias is the section a top-level name people write for it means, when the name is too
// far from it for suggest: a file with "db:" and no "database:" would otherwise run with the
// defaults as if nothing were written. "" for any other name.
func sectionAlias(name string) string {
	switch strings.ToLower(name) {
	case "db", "databases", "postgres", "postgresql", "sqlite":
		return "database"
	case "vector_dbs", "vectordbs", "vectors":
		return "knowledge"
	}
	return ""
}

// yamlError records a YAML syntax error with its line and column.
func (l *loader) yamlError(err error) {
	src := Source{Kind: SourceFile, File: l.name}
	msg := err.Error()
	var yerr yaml.Error
	if errors.As(err, &yerr) {
		msg = yerr.GetMessage()
		if tk := yerr.GetToken(); tk != nil && tk.Position != nil {
			src.Line, src.Column = tk.Position.Line, tk.Position.Column
		}
	}
	fix := "fix the YAML syntax"
	if src.Line > 0 {
		fix += " at line " + strconv.Itoa(src.Line)
	}
	if strings.Contains(msg, "'\\t'") || strings.Contains(msg, "\t") {
		fix += "; indent with spaces, not tabs"
	}
	l.problem(CodeYAMLSyntax, src, "", "malformed YAML: "+msg, fix)
}

// mapping returns the value of mv as a mapping, nil when it is empty, or records that it is not
// a mapping.
func (l *loader) mapping(doc *yamlDoc, mv *ast.MappingValueNode, key string) *ast.MappingNode {
	v := doc.resolve(mv.Value)
	if isNull(v) {
		return nil
	}
	m, ok := v.(*ast.MappingNode)
	if !ok {
		l.problem(CodeValueType, l.src(v, mv.Key), key, "expected a mapping of keys, got "+nodeKind(v),
			"write the keys on the lines below "+key+":, indented by two spaces")
		return nil
	}
	return m
}

// entries reads the keys of one owned mapping: the database section, or vector DB entry i.
func (l *loader) entries(doc *yamlDoc, m *ast.MappingNode, section Section, i int, path string) {
	seen := map[string]string{} // field name -> spelling used
	for _, mv := range m.Values {
		if mv.Key != nil && mv.Key.IsMergeKey() {
			l.problem(CodeKeyMerge, l.src(mv.Key, nil), path+".<<", "merge keys (<<) are not supported here", "write the keys out")
			continue
		}
		name, ok := keyName(mv.Key)
		if !ok {
			l.problem(CodeKeyInvalid, l.src(mv.Key, mv), path, "expected a plain key name", "valid keys: "+strings.Join(l.sectionNames(section), ", "))
			continue
		}
		f, ok := l.field(section, name)
		if !ok {
			l.unknownKey(mv, section, path, name)
			continue
		}
		key := f.KeyAt(i)
		if prev, dup := seen[f.Name]; dup {
			l.problem(CodeKeyDuplicate, l.src(mv.Key, nil), key, fmt.Sprintf("%q and %q are the same key; both are set", prev, name),
				"keep one of them: "+f.Name)
			continue
		}
		seen[f.Name] = name
		l.fileValue(doc, f, i, mv)
	}
}

// unknownKey records a key that section does not have, with the closest valid key.
func (l *loader) unknownKey(mv *ast.MappingValueNode, section Section, path, name string) {
	names := l.sectionNames(section)
	msg := fmt.Sprintf("unknown key %q", name)
	fix := "valid keys: " + strings.Join(names, ", ")
	if best := suggest(name, names); best != "" {
		msg += fmt.Sprintf("; did you mean %q?", best)
		fix = fmt.Sprintf("rename %s to %s", name, best)
	}
	l.problem(CodeKeyUnknown, l.src(mv.Key, nil), path+"."+name, msg, fix)
}

// fileValue reads the value of field f (entry i) from mv.
func (l *loader) fileValue(doc *yamlDoc, f Field, i int, mv *ast.MappingValueNode) {
	key := f.KeyAt(i)
	v := doc.resolve(mv.Value)
	src := l.src(v, mv.Key)
	if v == nil && !isNull(mv.Value) {
		l.problem(CodeValueAlias, l.src(mv.Value, mv.Key), key, "alias "+mv.Value.String()+" refers to no anchor", "define the anchor (&name) before the alias")
		return
	}
	sc := scalarOf(v)
	if sc.kind == kindNull {
		l.cfg.Sources[key] = src // written but empty: the default stays
		return
	}
	raw := ""
	if sc.kind == kindString {
		raw = sc.text
		if f.Secret != NotSecret {
			l.raw[key] = rawValue{text: sc.text, src: src}
		}
		lookup := func(name string) (string, bool) { return l.lookupVar(name, key, src) }
		var exp expansion
		if f.Secret == HoldsSecret {
			exp = expandURL(sc.text, lookup)
		} else {
			exp = expand(sc.text, lookup)
		}
		if exp.syntax != "" {
			l.problem(CodeValueReference, src, key, exp.syntax, "write ${VAR} or ${VAR:-default}; $${ is a literal ${")
			return
		}
		if l.hasProblem(key) {
			return // a *_FILE variable it refers to cannot be read
		}
		if len(exp.missing) > 0 {
			// A problem only if no higher layer sets the key, or the password they stand for
			// (see resolvePending).
			l.pending = append(l.pending, pendingRef{key: key, src: src, missing: exp.missing, passwordOnly: exp.passwordOnly})
			l.cfg.Sources[key] = src
			if !exp.passwordOnly || key != "database.conn_string" {
				return
			}
			// postgres://app:${UNSET}@db/compozy, used with the password given apart.
		}
		sc.text = exp.value
	}
	l.setValue(f, i, sc, src)
	if key == passwordKey && sc.kind != kindNull && !l.hasProblem(key) {
		l.addPassword(f.get(l.cfg, i).(string), src, raw)
	}
}

// knowledge reads knowledge.vector_dbs; the other keys of knowledge belong to Compozy.
func (l *loader) knowledge(doc *yamlDoc, mv *ast.MappingValueNode) {
	m := l.mapping(doc, mv, "knowledge")
	if m == nil {
		return
	}
	for _, e := range m.Values {
		name, ok := keyName(e.Key)
		if !ok {
			continue
		}
		if name != "vector_dbs" {
			if suggest(name, []string{"vector_dbs"}) != "" {
				l.warn(CodeKeyUnread, l.src(e.Key, nil), "knowledge."+name, fmt.Sprintf("key %q is not read; did you mean \"vector_dbs\"?", name),
					"rename it to vector_dbs")
			}
			continue
		}
		l.vectorDBs(doc, e)
	}
}

// vectorDBs reads the entries of knowledge.vector_dbs.
func (l *loader) vectorDBs(doc *yamlDoc, mv *ast.MappingValueNode) {
	v := doc.resolve(mv.Value)
	if isNull(v) {
		return
	}
	seq, ok := v.(*ast.SequenceNode)
	if !ok {
		l.problem(CodeValueType, l.src(v, mv.Key), "knowledge.vector_dbs", "expected a list of vector DBs, got "+nodeKind(v),
			"write each vector DB as a list item: - id: main")
		return
	}
	if len(seq.Values) > MaxVectorDBs {
		l.problem(CodeVectorTooMany, l.src(v, mv.Key), "knowledge.vector_dbs", fmt.Sprintf("%d vector DBs; compozy reads at most %d", len(seq.Values), MaxVectorDBs),
			"keep the vector DBs the knowledge bases use")
		return
	}
	for _, item := range seq.Values {
		i := l.addVectorDB()
		path := "knowledge.vector_dbs[" + strconv.Itoa(i) + "]"
		l.cfg.Sources[path] = l.src(item, mv.Key)
		entry := doc.resolve(item)
		m, ok := entry.(*ast.MappingNode)
		if !ok {
			l.problem(CodeValueType, l.src(item, mv.Key), path, "expected a mapping with id, provider and dimension, got "+nodeKind(entry),
				"write the entry as - id: main, then provider: and dimension: on the lines below, indented")
			continue
		}
		l.entries(doc, m, SectionVectorDB, i, path)
	}
}

// runtime reads runtime.max_concurrent_workflows; the rest of runtime belongs to Compozy.
func (l *loader) runtime(doc *yamlDoc, mv *ast.MappingValueNode) {
	m, ok := doc.resolve(mv.Value).(*ast.MappingNode)
	if !ok {
		return
	}
	for _, e := range m.Values {
		if name, ok := keyName(e.Key); ok {
			if f, ok := l.field(SectionRuntime, name); ok {
				l.fileValue(doc, f, 0, e)
			}
		}
	}
}

// keyName is the text of a plain scalar key.
func keyName(k ast.MapKeyNode) (string, bool) {
	if k == nil || k.IsMergeKey() {
		return "", false
	}
	switch n := k.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.IntegerNode, *ast.BoolNode, *ast.FloatNode:
		return n.GetToken().Value, true
	}
	return "", false
}

// scalarOf turns a resolved YAML node into a scalar.
func scalarOf(n ast.Node) scalar {
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return scalar{kind: kindNull}
	case *ast.StringNode:
		return scalar{kind: kindString, text: v.Value}
	case *ast.LiteralNode:
		if v.Value == nil {
			return scalar{kind: kindString}
		}
		return scalar{kind: kindString, text: v.Value.Value}
	case *ast.IntegerNode:
		return scalar{kind: kindInt, text: tokenText(v), num: v.Value}
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return scalar{kind: kindFloat, text: tokenText(v)}
	case *ast.BoolNode:
		return scalar{kind: kindBool, text: tokenText(v), b: v.Value}
	case *ast.MappingNode, *ast.MappingValueNode:
		return scalar{kind: kindMapping}
	case *ast.SequenceNode:
		return scalar{kind: kindList}
	}
	return scalar{kind: kindMapping}
}

func tokenText(n ast.Node) string {
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// isNull reports whether n is empty: no node, or null.
func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := n.(*ast.NullNode)
	return ok
}

// nodeKind names what n is, for messages.
func nodeKind(n ast.Node) string {
	switch scalarOf(n).kind {
	case kindList:
		return "a list"
	case kindMapping:
		return "a mapping"
	case kindNull:
		return "nothing"
	}
	return "a single value"
}
