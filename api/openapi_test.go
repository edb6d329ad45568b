package api

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// resourceSegments are the first path segments (after /api/<v>) the
// resources side registers. Until its routes exist (placeholders), their
// documented paths are not required to exist; once any route of a segment
// is registered, that segment is checked both ways like every other.
var resourceSegments = []string{"rules", "dev-hosts", "teams", "config-audit", "audit", "audit-logs"}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

func segmentOf(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) >= 3 && parts[0] == "api" {
		return parts[2]
	}
	return ""
}

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
	segs := map[string]bool{}
	for _, rt := range e.s.Engine().Routes() {
		p := ginParam.ReplaceAllString(rt.Path, "{$1}")
		registered[rt.Method+" "+p] = true
		segs[segmentOf(p)] = true
		require.True(t, documented[rt.Method+" "+p], "route %s %s is not in openapi.json", rt.Method, p)
	}
	for op := range documented {
		path := strings.SplitN(op, " ", 2)[1]
		seg := segmentOf(path)
		isResource := false
		for _, s := range resourceSegments {
			isResource = isResource || s == seg
		}
		if isResource && !segs[seg] {
			continue
		}
		require.True(t, registered[op], "openapi.json documents %s but no such route exists", op)
	}
	// Both versions document the same operations.
	for p := range doc.Paths {
		if rest, ok := strings.CutPrefix(p, "/api/v1/"); ok {
			require.Contains(t, doc.Paths, "/api/v2/"+rest)
		}
	}
}
