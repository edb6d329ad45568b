package api

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// publicRoutes answer without a key; every other route must refuse one
// with 401. A new public route is a decision: add it here with why.
var publicRoutes = map[string]string{
	"GET /health":           "probes",
	"GET /metrics":          "Prometheus scrapes",
	"GET /api/openapi.json": "the API description",
	"GET /docs/:name":       "the documents the UI links to",
	"GET /api/v1/version":   "the Python MUTT's clients probe it first",
	"GET /api/v2/version":   "the Python MUTT's clients probe it first",
}

// readOnlyWrites are write-method routes a read-only key may call because
// they change nothing. Every other POST/PUT/PATCH/DELETE is admin-only.
var readOnlyWrites = map[string]string{
	"POST /api/v1/rules/test": "dry run of a rule against sample events",
	"POST /api/v2/rules/test": "dry run of a rule against sample events",
}

var routeParam = regexp.MustCompile(`[:*][A-Za-z_]+`)

// TestRouteTableAuth walks gin's route table, so a route added later is
// covered without touching this test: 401 without a key everywhere but
// publicRoutes, 403 for the read-only key on every write but readOnlyWrites.
func TestRouteTableAuth(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	// Each request comes from an address of its own: the refusals below
	// would otherwise trip the failed-authentication guard (429).
	clients := 0
	do := func(method, path, key string, body any) resp {
		t.Helper()
		clients++
		var rd io.Reader
		if body != nil {
			rd = strings.NewReader("{}")
		}
		req := httptest.NewRequest(method, path, rd)
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.1:4000", clients/256, clients%256)
		if key != "" {
			req.Header.Set(HeaderAPIKey, key)
		}
		setTestReason(req)
		w := httptest.NewRecorder()
		e.s.Handler().ServeHTTP(w, req)
		return resp{code: w.Code, h: w.Header(), body: w.Body.Bytes()}
	}
	seen := map[string]bool{}
	writes := 0
	for _, rt := range e.s.Engine().Routes() {
		op := rt.Method + " " + rt.Path
		seen[op] = true
		path := routeParam.ReplaceAllString(rt.Path, "x")
		if _, public := publicRoutes[op]; public {
			continue
		}
		requireError(t, do(rt.Method, path, "", nil), http.StatusUnauthorized, errUnauthorized)
		requireError(t, do(rt.Method, path, "not-a-key", nil), http.StatusUnauthorized, errUnauthorized)
		switch rt.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			continue
		}
		if _, ok := readOnlyWrites[op]; ok {
			r := do(rt.Method, path, testReadOnlyKey, nil)
			require.NotEqual(t, http.StatusForbidden, r.code, "%s: %s", op, r.body)
			continue
		}
		writes++
		require.True(t, strings.HasPrefix(rt.Path, "/api/v"), "write route %s outside the versioned API", op)
		requireError(t, do(rt.Method, path, testReadOnlyKey, struct{}{}), http.StatusForbidden, errForbidden)
	}
	require.Positive(t, writes)
	// The exception lists name real routes, so they cannot go stale.
	for op := range publicRoutes {
		require.True(t, seen[op], "publicRoutes names %s, which is no route", op)
	}
	for op := range readOnlyWrites {
		require.True(t, seen[op], "readOnlyWrites names %s, which is no route", op)
	}
}
