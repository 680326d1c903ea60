package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"testing"
)

// serialTests run alone, never beside another test of this package, for the reason given. Every
// other top-level test calls t.Parallel first: each works in its own folders and its own
// PostgreSQL database, and most of a test's time is spent waiting on the binary and the servers,
// so `make test` (-parallel 4) runs them side by side.
var serialTests = map[string]string{
	"TestDBBackupPostgresCommand":           "t.Setenv(PATH): a parallel test may not change the process environment",
	"TestDoctorPostgresReplicasBudget":      "counts every connection the server has now",
	"TestPgvectorOnPGlite":                  "PGlite runs one backend session for every client",
	"TestPgvectorExtensionFixOnPGlite":      "PGlite runs one backend session for every client; drops and creates the extension",
	"TestInitPgvectorShapeConflictOnPGlite": "PGlite runs one backend session for every client",
	"TestInitFormPgvectorElsewhereOnPGlite": "PGlite runs one backend session for every client",
	"TestPgBouncerThroughTheBinary":         "PgBouncer's clients and server pool are shared",
	"TestPgBouncerConnectionBudget":         "counts PgBouncer's clients and the server's connections",
}

// TestEveryTestRunsInParallelOrSays keeps the rule above: a new test either starts with
// t.Parallel() or is listed in serialTests with its reason.
func TestEveryTestRunsInParallelOrSays(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !isTestFunc(fn) {
				continue
			}
			name := fn.Name.Name
			seen[name] = true
			_, serial := serialTests[name]
			parallel := startsParallel(fn)
			switch {
			case parallel && serial:
				t.Errorf("%s: %s calls t.Parallel() and is listed in serialTests; remove one", fset.Position(fn.Pos()), name)
			case !parallel && !serial:
				t.Errorf("%s: %s neither starts with t.Parallel() nor is listed in serialTests with the reason it must run alone", fset.Position(fn.Pos()), name)
			}
		}
	}
	for name := range serialTests {
		if !seen[name] {
			t.Errorf("serialTests lists %s, which no longer exists", name)
		}
	}
}

// isTestFunc reports whether fn is a top-level test: TestXxx(t *testing.T), not TestMain.
func isTestFunc(fn *ast.FuncDecl) bool {
	name := fn.Name.Name
	if len(name) < 5 || name[:4] != "Test" || name == "TestMain" || fn.Type.Params == nil || len(fn.Type.Params.List) != 1 {
		return false
	}
	star, ok := fn.Type.Params.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "T"
}

// startsParallel reports whether fn's first statement is t.Parallel() (on its *testing.T).
func startsParallel(fn *ast.FuncDecl) bool {
	if fn.Body == nil || len(fn.Body.List) == 0 {
		return false
	}
	stmt, ok := fn.Body.List[0].(*ast.ExprStmt)
	if !ok {
		return false
	}
	call, ok := stmt.X.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Parallel" {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && slices.Contains(paramNames(fn), id.Name)
}

// paramNames are the names of fn's parameters.
func paramNames(fn *ast.FuncDecl) []string {
	var names []string
	for _, p := range fn.Type.Params.List {
		for _, n := range p.Names {
			names = append(names, n.Name)
		}
	}
	return names
}
