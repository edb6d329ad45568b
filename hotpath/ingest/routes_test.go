package ingest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRoutesAreExactAndNeverRedirect: only a route's exact path is served;
// an unclean or slash-suffixed path gets the JSON 404 (never a redirect to
// the clean path, which a client posting events would follow or fail on),
// GET routes answer HEAD, and a wrong method gets 405 with Allow.
func TestRoutesAreExactAndNeverRedirect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	auth := map[string]string{"X-API-KEY": key}
	for _, p := range []string{"//ingest", "/api/v2/../v2/ingest", "/./ingest", "/ingest/", "/api//v1/ingest"} {
		r := e.do(t, http.MethodPost, p, evt("h", 0), auth)
		requireError(t, r, http.StatusNotFound, "no such endpoint")
		require.Empty(t, r.header.Get("Location"), p)
	}
	for _, p := range []string{"//", "/health/", "/x/"} {
		r := e.do(t, http.MethodGet, p, "", nil)
		requireError(t, r, http.StatusNotFound, "no such endpoint")
	}
	r := e.do(t, http.MethodHead, "/health", "", nil)
	require.Equal(t, http.StatusOK, r.code)
	r = e.do(t, http.MethodPut, "/", "", nil)
	requireError(t, r, http.StatusMethodNotAllowed, "method PUT is not allowed on /; use GET")
	require.Equal(t, "GET, HEAD", r.header.Get("Allow"))
	r = e.do(t, http.MethodDelete, "/api/v1/ingest", "", auth)
	requireError(t, r, http.StatusMethodNotAllowed, "use POST")
	require.Equal(t, "POST", r.header.Get("Allow"))
	require.Equal(t, http.StatusOK, e.post(t, evt("h", 0)).code)
}
