package testlint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
)

// WallClockIntegers finds, in the non-test Go files of dir, every time.Now()
// reading turned into Unix seconds or nanoseconds (time.Now().UnixNano(),
// time.Now().UTC().Unix(), ...). A gate or throttle compared as wall-clock
// integers stays shut for the length of a backward jump of the system clock
// and opens early on a forward one; time.Time values (Before, After, Sub,
// time.Since) carry the monotonic clock and do not (ADR 0045). Go's clock
// reads cannot be faked in a test process, so the code is checked instead.
// A timestamp meant for a record (written, not compared) takes its Unix
// value from a time.Time variable, which this check leaves alone.
func WallClockIntegers(dir string) ([]Finding, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var found []Finding
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if ok && strings.HasPrefix(sel.Sel.Name, "Unix") && readsNow(sel.X) {
				found = append(found, Finding{Pos: fset.Position(call.Pos()),
					Message: "wall-clock integer from time.Now(): compare time.Time values or use time.Since (ADR 0045)"})
			}
			return true
		})
	}
	return found, nil
}

// readsNow reports whether e is time.Now() or a method chain on it.
func readsNow(e ast.Expr) bool {
	for {
		call, ok := e.(*ast.CallExpr)
		if !ok {
			return false
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" && sel.Sel.Name == "Now" {
			return true
		}
		e = sel.X
	}
}
