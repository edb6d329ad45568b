package api

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	r := e.do(t, "GET", "/api/openapi.json", "", nil)
	require.Equal(t, 200, r.code)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(r.body, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."))

	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	registered := map[string]bool{}
	for _, rt := range e.s.Engine().Routes() {
		p := ginParam.ReplaceAllString(rt.Path, "{$1}")
		registered[rt.Method+" "+p] = true
		require.True(t, documented[rt.Method+" "+p], "route %s %s is not in openapi.json", rt.Method, p)
	}
	for op := range documented {
		require.True(t, registered[op], "openapi.json documents %s but no such route exists", op)
	}
	// Both versions document the same operations.
	for p := range doc.Paths {
		if rest, ok := strings.CutPrefix(p, "/api/v1/"); ok {
			require.Contains(t, doc.Paths, "/api/v2/"+rest)
		}
	}
}
