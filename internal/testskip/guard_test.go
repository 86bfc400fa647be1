package testskip

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Packages whose tests may skip through this package (storagetest skips a
// case that does not apply to a storage).
var skippers = map[string]bool{
	"github.com/seed098cf14d/logto/internal/testskip": true,
	"github.com/seed098cf14d/logto/storagetest":       true,
}

// Every skip in the repository's modules goes through Skipf or Unavailablef,
// and every package whose tests can skip so has a TestMain calling Main: a
// bare t.Skip, or a missing TestMain, would skip without a word in plain
// `go test` output.
func TestEverySkipIsReported(t *testing.T) {
	root := filepath.Join("..", "..")
	type dir struct{ skips, reports bool }
	dirs := map[string]*dir{}
	sawSelf := false
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (name == "node_modules" || name == "testdata" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == filepath.Join("internal", "testskip", "guard_test.go") {
			sawSelf = true
		}
		here := filepath.Dir(rel)
		if dirs[here] == nil {
			dirs[here] = &dir{}
		}
		if strings.HasSuffix(path, "_test.go") {
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); skippers[p] {
					dirs[here].skips = true
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "testskip" {
				if sel.Sel.Name == "Main" {
					dirs[here].reports = true
				}
				return true
			}
			switch sel.Sel.Name {
			case "Skip", "Skipf", "SkipNow":
				if here != filepath.Join("internal", "testskip") {
					t.Errorf("%s: %s skips unreported; call testskip.Skipf or testskip.Unavailablef", fset.Position(call.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sawSelf {
		t.Fatalf("the walk from %s did not reach this file: not the repository root", root)
	}
	for name, d := range dirs {
		if d.skips && !d.reports && name != filepath.Join("internal", "testskip") {
			t.Errorf("%s: its tests can skip through testskip, but no TestMain calls testskip.Main", name)
		}
	}
}
