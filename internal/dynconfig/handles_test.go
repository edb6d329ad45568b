package dynconfig

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEveryHandleIsRegistered: every key handle declared in registry.go is in
// the registry exactly once, and its constructor's unit matches its name
// (milliseconds for *_ms, and only those). With the store's string accessors
// gone, a handle is the only way to read a value, so this closes the last way
// to read a key the store does not hold.
func TestEveryHandleIsRegistered(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "registry.go", nil, 0)
	require.NoError(t, err)

	ctors := map[string]bool{"intKey": true, "millisKey": true, "secondsKey": true, "stringKey": true}
	declared := map[string]string{} // handle variable → wire name
	var listed []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if i >= len(vs.Values) {
				continue
			}
			switch v := vs.Values[i].(type) {
			case *ast.CallExpr:
				fn, ok := v.Fun.(*ast.Ident)
				if !ok || !ctors[fn.Name] {
					continue
				}
				wire := wireName(t, v)
				require.Equal(t, fn.Name == "millisKey", strings.HasSuffix(wire, "_ms"), "%s (%s) uses %s", name.Name, wire, fn.Name)
				declared[name.Name] = wire
			case *ast.CompositeLit:
				if name.Name != "registry" {
					continue
				}
				for _, el := range v.Elts {
					sel, ok := el.(*ast.SelectorExpr)
					require.True(t, ok, "registry lists handles as Handle.k")
					listed = append(listed, sel.X.(*ast.Ident).Name)
				}
			}
		}
		return true
	})
	handles := make([]string, 0, len(declared))
	for h := range declared {
		handles = append(handles, h)
	}
	require.ElementsMatch(t, handles, listed, "registry must list every declared handle exactly once")
	require.Len(t, registry, len(listed))
	names := map[string]bool{}
	for _, k := range registry {
		require.False(t, names[k.Name], "%s is declared twice", k.Name)
		names[k.Name] = true
	}
}

func wireName(t *testing.T, call *ast.CallExpr) string {
	t.Helper()
	lit, ok := call.Args[0].(*ast.CompositeLit)
	require.True(t, ok)
	for _, el := range lit.Elts {
		kv := el.(*ast.KeyValueExpr)
		if kv.Key.(*ast.Ident).Name == "Name" {
			s, err := strconv.Unquote(kv.Value.(*ast.BasicLit).Value)
			require.NoError(t, err)
			return s
		}
	}
	t.Fatal("key without a Name")
	return ""
}
