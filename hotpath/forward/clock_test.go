package forward_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGatesReadTheMonotonicClock: a gate compared as wall-clock integers
// (time.Now().UnixNano() < stored) stays shut for the length of a backward
// jump of the system clock (and opens early on a forward one); Go's own
// clock reads cannot be faked in-process, so the forwarder's code is checked
// instead: no time.Now() reading is turned into Unix seconds or nanoseconds.
// Gates keep time.Time values or durations since a start time (ADR 0045).
func TestGatesReadTheMonotonicClock(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var found []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		file, err := parser.ParseFile(fset, name, src, 0)
		require.NoError(t, err)
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !strings.HasPrefix(sel.Sel.Name, "Unix") {
				return true
			}
			if readsNow(sel.X) {
				found = append(found, fset.Position(call.Pos()).String())
			}
			return true
		})
	}
	require.Empty(t, found, "wall-clock integers from time.Now(): use time.Since / Before / Sub instead")
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
