package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every error code the API can answer is in the reference's error table.
func TestEveryErrorCodeDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	require.NoError(t, err)
	doc, err := os.ReadFile("../docs/API_REFERENCE.md")
	require.NoError(t, err)
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		v, ok := node.(*ast.ValueSpec)
		if !ok || !strings.HasPrefix(v.Names[0].Name, "err") {
			return true
		}
		code, err := strconv.Unquote(v.Values[0].(*ast.BasicLit).Value)
		require.NoError(t, err)
		require.Contains(t, string(doc), "| `"+code+"` |", "docs/API_REFERENCE.md lists error %q", code)
		n++
		return true
	})
	require.Greater(t, n, 10)
}
