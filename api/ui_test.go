package api

import (
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUIPagesServedWithoutKey(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	for path, marker := range map[string]string{
		"/ui/":       `id="chart"`,
		"/ui/login":  `id="login-form"`,
		"/ui/rules":  `id="rule-form"`,
		"/ui/audit":  `id="audit-filters"`,
		"/ui/config": `id="config-form"`,
		"/ui/hosts":  `id="host-form"`,
	} {
		r := e.do(t, "GET", path, "", nil)
		require.Equal(t, http.StatusOK, r.code, path)
		require.Contains(t, r.h.Get("Content-Type"), "text/html", path)
		require.Contains(t, string(r.body), marker, path)
		require.Contains(t, string(r.body), `/ui/static/app.js`, path)
		require.NotEmpty(t, r.h.Get("Content-Security-Policy"), path)
	}
	require.Equal(t, http.StatusOK, e.do(t, "GET", "/ui/static/app.css", "", nil).code)
	// Request metrics name the UI's routes, not "unmatched".
	m := string(e.do(t, "GET", "/metrics", "", nil).body)
	require.Contains(t, m, `mutt_api_requests_total{method="GET",route="/ui/:page",status="200"} 6`)
	require.Contains(t, m, `mutt_api_requests_total{method="GET",route="/ui/static/*",status="200"} 1`)
	require.NotContains(t, m, `route="unmatched"`)
}

func TestUIRedirectsAndNotFound(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	for _, p := range []string{"/", "/ui"} {
		r := e.do(t, "GET", p, "", nil)
		require.Equal(t, http.StatusFound, r.code, p)
		require.Equal(t, "/ui/", r.h.Get("Location"), p)
	}
	// Unknown API paths, static files and non-GET methods keep the JSON 404.
	for _, c := range [][2]string{{"GET", "/nope"}, {"POST", "/ui/rules"}, {"GET", "/ui/static/missing.js"}} {
		r := e.do(t, c[0], c[1], "", nil)
		require.Equal(t, http.StatusNotFound, r.code, c)
		require.Equal(t, "not_found", r.json(t)["error"], c)
	}
	// An unknown page is an HTML 404 page that names the path, escaped.
	for _, p := range []string{"/ui/nope", "/ui/rules/extra", "/ui/%3Cscript%3E"} {
		r := e.do(t, "GET", p, "", nil)
		require.Equal(t, http.StatusNotFound, r.code, p)
		require.Contains(t, r.h.Get("Content-Type"), "text/html", p)
		require.Contains(t, string(r.body), `id="notfound-path"`, p)
		require.Contains(t, string(r.body), "Page not found", p)
		require.NotContains(t, string(r.body), "<script>", p)
	}
	require.Contains(t, string(e.do(t, "GET", "/ui/nope", "", nil).body), "/ui/nope")
	// The API itself still needs the key.
	require.Equal(t, http.StatusUnauthorized, e.do(t, "GET", "/api/v2/rules", "", nil).code)
}

func TestUIEmbeddedAssets(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	for path, ctype := range map[string]string{"/ui/static/app.js": "javascript", "/ui/static/app.css": "text/css"} {
		r := e.do(t, "GET", path, "", nil)
		require.Equal(t, http.StatusOK, r.code, path)
		require.Contains(t, r.h.Get("Content-Type"), ctype, path)
		require.NotEmpty(t, r.body, path)
	}
	js := string(e.do(t, "GET", "/ui/static/app.js", "", nil).body)
	// The key goes in the header from sessionStorage, never a cookie or query string.
	require.Contains(t, js, "sessionStorage")
	require.Contains(t, js, `"X-API-KEY"`)
	require.NotContains(t, js, "document.cookie")
	require.NotContains(t, js, "api_key=")
}

// No asset may reference anything outside the binary (no CDN, fonts, analytics).
func TestUIAssetsHaveNoExternalURLs(t *testing.T) {
	t.Parallel()
	n := 0
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(webFS, p)
		require.NoError(t, err)
		n++
		low := strings.ToLower(string(b))
		require.NotContains(t, low, "http", p)
		require.NotContains(t, low, "//cdn", p)
		require.NotContains(t, low, `src="//`, p)
		require.NotContains(t, low, `href="//`, p)
		return nil
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 9)
}
