package api

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/internal/tlsconfig"
)

// serveReal runs the server's Run on a free loopback port and returns the
// base URL (https when o.TLS is set).
func serveReal(t *testing.T, e *coreEnv) string {
	t.Helper()
	addr := testenv.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Run(ctx, addr) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	scheme := "http://"
	if e.s.o.TLS.Enabled() {
		scheme = "https://"
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		conn, err := net.Dial("tcp", addr)
		if assert.NoError(c, err) {
			_ = conn.Close()
		}
	}, 10*time.Second, 10*time.Millisecond)
	return scheme + addr
}

func TestSecurityHeadersOnEveryRouteKind(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	base := serveReal(t, e)
	for _, c := range []struct {
		path, key string
		code      int
		cache     string
	}{
		{"/api/v2/version", testAdminKey, 200, "no-store"}, // API JSON
		{"/api/v2/rules", "", 401, "no-store"},             // API error
		{"/ui/rules", "", 200, "no-store"},                 // UI page
		{"/ui/static/app.js", "", 200, "no-cache"},         // static asset
		{"/ui/static/missing.js", "", 404, "no-store"},     // static 404
		{"/nope", "", 404, "no-store"},                     // unknown route
		{"/health", "", 200, "no-store"},                   // health
		{"/metrics", "", 200, "no-store"},                  // metrics
		{"/api/openapi.json", "", 200, "no-store"},         // spec
		{"/docs/API_REFERENCE.md", "", 200, "no-store"},    // document
	} {
		req, err := http.NewRequest(http.MethodGet, base+c.path, nil)
		require.NoError(t, err)
		if c.key != "" {
			req.Header.Set(HeaderAPIKey, c.key)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, c.code, res.StatusCode, c.path)
		h := res.Header
		require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), c.path)
		require.Equal(t, "DENY", h.Get("X-Frame-Options"), c.path)
		require.Equal(t, "no-referrer", h.Get("Referrer-Policy"), c.path)
		require.Equal(t, c.cache, h.Get("Cache-Control"), c.path)
		csp := h.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
			"connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			require.Contains(t, csp, d, c.path)
		}
	}
}

// Without JavaScript the login form must not put the key in a URL: it has
// no named field and posts; a URL that carries a key anyway is refused.
func TestLoginNeverPutsTheKeyInAURL(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	page := string(e.do(t, "GET", "/ui/login", "", nil).body)
	form := page[strings.Index(page, "<form"):]
	form = form[:strings.Index(form, "</form>")]
	require.Contains(t, form, `method="post"`)
	require.NotContains(t, form, "name=", "a named field would be submitted by a form without JS")
	for _, q := range []string{"api-key=secret", "api_key=secret", "X-API-KEY=secret", "key=secret"} {
		r := e.do(t, "GET", "/ui/login?"+q, "", nil)
		requireError(t, r, http.StatusBadRequest, errBadRequest)
		require.NotContains(t, string(r.body), "secret")
	}
	// What the form would send without JS: POST /ui/login, nothing served.
	r := e.do(t, "POST", "/ui/login", "", nil)
	require.Equal(t, http.StatusNotFound, r.code)
	require.Equal(t, http.StatusOK, e.do(t, "GET", "/ui/login?next=rules", "", nil).code)
}

// GO-2026-6609: thousands of ranges on an unauthenticated static file get
// the plain file, once, not a multipart answer built range by range.
func TestStaticFilesIgnoreRange(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	whole := e.do(t, "GET", "/ui/static/app.js", "", nil)
	require.Equal(t, http.StatusOK, whole.code)
	ranges := make([]string, 5000)
	for i := range ranges {
		ranges[i] = "0-1"
	}
	for _, rng := range []string{"bytes=" + strings.Join(ranges, ","), "bytes=0-9", "bytes=0-1,5-6"} {
		r := e.do(t, "GET", "/ui/static/app.js", "", nil, "Range", rng)
		require.Equal(t, http.StatusOK, r.code, "Range is ignored")
		require.Empty(t, r.h.Get("Content-Range"))
		require.Equal(t, whole.body, r.body)
	}
}

func TestAPIOverTLS(t *testing.T) {
	t.Parallel()
	ca := testenv.NewTestCA(t, "api")
	cert, key := ca.Path("tls.crt"), ca.Path("tls.key")
	ca.Issue(t, "api", cert, key)
	env := config.FromMap(map[string]string{"MUTT_API_TLS_CERT_FILE": cert, "MUTT_API_TLS_KEY_FILE": key})
	files := tlsconfig.Read(env, "MUTT_API_TLS", false)
	require.NoError(t, env.Err())
	e := newCoreEnv(t, func(o *Options) { o.TLS = files })
	base := serveReal(t, e)
	require.True(t, strings.HasPrefix(base, "https://"))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	req, err := http.NewRequest(http.MethodGet, base+"/api/v2/version", nil)
	require.NoError(t, err)
	req.Header.Set(HeaderAPIKey, testAdminKey)
	res, err := client.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool, MaxVersion: tls.VersionTLS11}}}
	_, err = old.Get(base + "/health")
	require.Error(t, err, "TLS 1.1 is refused")
}

// A client without a key that announces a body and never sends it gets its
// 401 and a closed connection, not a socket held until the read timeout.
func TestUnauthenticatedSlowBodyIsNotWaitedFor(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	base := serveReal(t, e)
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second))) // the listener's read timeout is 30 s
	_, err = io.WriteString(c, "POST /api/v2/rules HTTP/1.1\r\nHost: mutt\r\nX-API-KEY: wrong\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"match_string\":")
	require.NoError(t, err)
	r := bufio.NewReader(c)
	res, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	_, _ = io.Copy(io.Discard, res.Body)
	_, err = io.ReadAll(r)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept the connection open")
}
