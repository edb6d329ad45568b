package hostile

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/api"
	"github.com/mutt-ops/mutt/hotpath/ingest"
)

// openWithoutKey are the routes that answer without an API key, each with
// the reason. Every other route of the admin API and of the ingestor must
// answer 401 without a key.
var openWithoutKey = map[string]string{
	"GET /health":           "liveness probes of load balancers and Kubernetes carry no key",
	"GET /metrics":          "Prometheus scrapes without a key (bind the listener or a proxy to restrict it)",
	"GET /api/openapi.json": "the API description is public documentation",
	"GET /docs/:name":       "the embedded documents the console links to are public",
	"GET /api/v1/version":   "ADR 0027: the Python MUTT's clients probe /version without a key first",
	"GET /api/v2/version":   "ADR 0027: as /api/v1/version",
	"GET /":                 "the ingestor's index names its routes, nothing else",
}

// readOnlyMayWrite are the non-GET routes the read-only key may call, each
// with the reason: they change nothing.
var readOnlyMayWrite = map[string]string{
	"POST /api/v1/rules/test": "tests a draft rule against recent audited events; stores nothing",
	"POST /api/v2/rules/test": "as /api/v1/rules/test",
}

var pathParam = regexp.MustCompile(`[:*][A-Za-z_]+`)

// apiRoutes is the admin API's route table, read from the server itself.
func apiRoutes(t *testing.T) []gin2 {
	t.Helper()
	// Lazy clients: nothing is dialled while the routes are listed.
	pool, err := pgxpool.New(t.Context(), "postgres://127.0.0.1:1/none")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := api.New(api.Options{DB: pool, Redis: rdb, KeyNameSecret: []byte("route table")})
	require.NoError(t, err)
	var out []gin2
	for _, r := range s.Engine().Routes() {
		out = append(out, gin2{r.Method, r.Path})
	}
	require.Greater(t, len(out), 40, "the API's route table")
	return out
}

type gin2 struct{ method, path string }

func (r gin2) String() string { return r.method + " " + r.path }

// concrete turns a route template into a path to request.
func concrete(path string) string { return pathParam.ReplaceAllString(path, "hostile") }

var clientIP atomic.Int64

// nextClient is a client from a loopback address of its own (see fromIP).
func nextClient() *http.Client {
	n := clientIP.Add(1)
	return fromIP(fmt.Sprintf("127.%d.%d.%d", 10+n/65536%200, n/256%256, 1+n%254))
}

func call(t *testing.T, c *http.Client, method, url, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader("{}"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	resp, err := c.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

// walkRoutes: every route of the admin API and of the ingestor answers 401
// without a key (except openWithoutKey), and every write of the admin API
// answers 403 with the read-only key. The tables come from the servers, so
// a route added tomorrow is walked without editing this test.
func walkRoutes(t *testing.T, in *instance, tally *tally) {
	routes := apiRoutes(t)
	seen := map[string]bool{}
	var writes []string
	for _, r := range routes {
		seen[r.String()] = true
		url := "http://" + in.api + concrete(r.path)
		code, body := call(t, nextClient(), r.method, url, "")
		tally.add("api", code)
		if reason, open := openWithoutKey[r.String()]; open {
			assert.NotEqual(t, http.StatusUnauthorized, code, "%s is open (%s): %s", r, reason, body)
			assert.Less(t, code, 500, "%s: %s", r, body)
			continue
		}
		assert.Equal(t, http.StatusUnauthorized, code, "%s without a key: %s", r, body)
		if r.method == http.MethodGet || r.method == http.MethodHead {
			continue
		}
		code, body = call(t, nextClient(), r.method, url, in.readKey)
		tally.add("api", code)
		if reason, ok := readOnlyMayWrite[r.String()]; ok {
			seen["read-only "+r.String()] = true
			assert.NotEqual(t, http.StatusForbidden, code, "%s is open to the read-only key (%s): %s", r, reason, body)
			assert.Less(t, code, 500, "%s: %s", r, body)
			continue
		}
		writes = append(writes, r.String())
		assert.Equal(t, http.StatusForbidden, code, "%s with the read-only key: %s", r, body)
	}
	ing := ingest.Routes()
	require.Contains(t, ing, "/ingest")
	for path, method := range ing {
		r := gin2{method, path}
		seen[r.String()] = true
		code, body := call(t, nextClient(), method, "http://"+in.ingest+path, "")
		tally.add("ingest", code)
		if reason, open := openWithoutKey[r.String()]; open {
			assert.NotEqual(t, http.StatusUnauthorized, code, "%s is open (%s): %s", r, reason, body)
			assert.Less(t, code, 500, "%s: %s", r, body)
			continue
		}
		assert.Equal(t, http.StatusUnauthorized, code, "ingest %s without a key: %s", r, body)
	}
	for r := range openWithoutKey {
		require.True(t, seen[r], "exception %q names no route any more: remove it", r)
	}
	for r := range readOnlyMayWrite {
		require.True(t, seen["read-only "+r], "exception %q names no route any more: remove it", r)
	}
	sort.Strings(writes)
	t.Logf("route walk: %d admin API routes (%d writes checked with the read-only key), %d ingest routes",
		len(routes), len(writes), len(ing))
}
