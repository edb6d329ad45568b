package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/testenv"
)

const (
	testAdminKey    = "admin-key-one"
	testAdmin2Key   = "admin-key-two"
	testReadOnlyKey = "readonly-key-one"
)

// testKeyNameSecret is the tests' KEY_FINGERPRINT_SECRET.
var testKeyNameSecret = []byte("test-key-name-secret")

type coreEnv struct {
	s    *Server
	rdb  redis.UniversalClient
	keys keyspace.Keys
	db   *pgxpool.Pool
	now  time.Time
}

type envOpt func(*Options)

func newCoreEnv(t *testing.T, opts ...envOpt) *coreEnv {
	t.Helper()
	rdb, keys := testenv.Redis(t)
	db := testenv.Postgres(t)
	reg := prometheus.NewRegistry()
	e := &coreEnv{rdb: rdb, keys: keys, db: db, now: time.Date(2026, 3, 4, 10, 30, 20, 0, time.UTC)}
	o := Options{DB: db, Redis: rdb, Keys: keys, AdminKeys: []string{testAdminKey, testAdmin2Key}, KeyNameSecret: testKeyNameSecret,
		ReadOnlyKeys: []string{testReadOnlyKey}, Registerer: reg, Gatherer: reg,
		Now: func() time.Time { return e.now }}
	for _, f := range opts {
		f(&o)
	}
	s, err := New(o)
	require.NoError(t, err)
	e.s = s
	return e
}

type resp struct {
	code int
	h    http.Header
	body []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

// do serves one request; t may be an EventuallyWithT condition's collect T.
func (e *coreEnv) do(t require.TestingT, method, path, key string, body any, hdr ...string) resp {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	setTestReason(req)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(w, req)
	return resp{code: w.Code, h: w.Header(), body: w.Body.Bytes()}
}

func requireError(t *testing.T, r resp, code int, errCode string) map[string]any {
	t.Helper()
	require.Equal(t, code, r.code, string(r.body))
	m := r.json(t)
	require.Equal(t, errCode, m["error"])
	require.NotEmpty(t, m["message"])
	require.NotEmpty(t, m["correlation_id"])
	require.Equal(t, r.h.Get("X-Correlation-ID"), m["correlation_id"])
	return m
}

func TestAuth(t *testing.T) {
	t.Parallel()
	sc := secrets.StaticCache(map[string]string{secrets.WebUIAPIKey: "vault-admin-a, vault-admin-b", secrets.WebUIAPIKeyNext: "vault-next",
		secrets.WebUIReadOnlyAPIKey: "vault-readonly"})
	e := newCoreEnv(t, func(o *Options) { o.Secrets = sc })
	for _, v := range []string{"v1", "v2"} {
		p := "/api/" + v + "/config"
		requireError(t, e.do(t, "GET", p, "", nil), 401, errUnauthorized)
		requireError(t, e.do(t, "GET", p, "wrong", nil), 401, errUnauthorized)
		// A key in the query string is never accepted.
		r := requireError(t, e.do(t, "GET", p+"?api_key="+testAdminKey, "", nil), 401, errUnauthorized)
		require.NotContains(t, r["message"], testAdminKey)
		for _, k := range []string{testAdminKey, testAdmin2Key, testReadOnlyKey, "vault-admin-a", "vault-admin-b", "vault-next", "vault-readonly"} {
			require.Equal(t, 200, e.do(t, "GET", p, k, nil).code, k)
		}
	}
	// 401 responses carry the version headers too.
	r := e.do(t, "GET", "/api/v1/config", "", nil)
	require.Equal(t, "v1", r.h.Get("X-API-Version"))
	require.NotEmpty(t, r.h.Get("Deprecation"))

	// Read-only keys read but do not write.
	require.Equal(t, 200, e.do(t, "GET", "/api/v2/config", testReadOnlyKey, nil).code)
	requireError(t, e.do(t, "PUT", "/api/v2/config/unhandled_threshold", testReadOnlyKey, map[string]any{"value": 5}), 403, errForbidden)
	requireError(t, e.do(t, "PUT", "/api/v2/config/unhandled_threshold", "vault-readonly", map[string]any{"value": 5}), 403, errForbidden)

	// Key names, never keys, are recorded: role and fingerprint, whatever the
	// key's position in its list.
	require.Regexp(t, `^admin-[0-9a-f]{12}$`, KeyName(testKeyNameSecret, "vault-next", true))
	require.NotEqual(t, KeyName(testKeyNameSecret, "vault-admin-a", true), KeyName(testKeyNameSecret, "vault-admin-b", true))
	for _, key := range []string{testAdmin2Key, "vault-admin-b", "vault-next"} {
		name := KeyName(testKeyNameSecret, key, true)
		r := e.do(t, "PUT", "/api/v2/config/unhandled_threshold", key, map[string]any{"value": 7, "reason": "by " + name})
		require.Equal(t, 200, r.code, string(r.body))
		var by string
		require.NoError(t, e.db.QueryRow(context.Background(),
			`SELECT changed_by FROM config_audit_log WHERE reason = $1`, "by "+name).Scan(&by))
		require.Equal(t, name, by)
	}
}

func TestSecretsRotationAppliesPerRequest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/secrets.json"
	require.NoError(t, secrets.SeedFile(dir, map[string]string{secrets.WebUIAPIKey: "old-key"}))
	p := secrets.NewFile(dir, nil)
	sc, err := secrets.NewCache(context.Background(), p)
	require.NoError(t, err)
	e := newCoreEnv(t, func(o *Options) { o.Secrets = sc; o.AdminKeys = nil })
	require.Equal(t, 200, e.do(t, "GET", "/api/v2/version", "old-key", nil).code)
	_, err = p.Write(context.Background(), map[string]string{secrets.WebUIAPIKey: "new-key"}, sc.Snapshot().Version)
	require.NoError(t, err)
	require.NoError(t, sc.Reload(context.Background()))
	require.Equal(t, 200, e.do(t, "GET", "/api/v2/version", "new-key", nil).code)
	require.Equal(t, 401, e.do(t, "GET", "/api/v2/version", "old-key", nil).code)
}

func TestVersioningHeaders(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	r := e.do(t, "GET", "/api/v1/version", testAdminKey, nil)
	require.Equal(t, 200, r.code)
	require.Equal(t, "v1", r.h.Get("X-API-Version"))
	require.Equal(t, "v1, v2", r.h.Get("X-API-Supported-Versions"))
	require.Equal(t, v1DeprecatedSince, r.h.Get("Deprecation"))
	require.Equal(t, V1Sunset, r.h.Get("Sunset"))
	_, err := http.ParseTime(r.h.Get("Sunset"))
	require.NoError(t, err)
	require.Equal(t, `</docs/MIGRATION_v1_to_v2.md>; rel="deprecation"; type="text/markdown"`, r.h.Get("Link"))
	m := r.json(t)
	require.Equal(t, "v2", m["current"])
	require.Equal(t, "v1", m["requested"])
	require.Equal(t, []any{"v1", "v2"}, m["versions"])
	require.Equal(t, []any{"v1"}, m["deprecated"])
	require.NotEmpty(t, m["build"].(map[string]any)["go_version"])

	r = e.do(t, "GET", "/api/v2/version", testAdminKey, nil)
	require.Equal(t, "v2", r.h.Get("X-API-Version"))
	require.Equal(t, "v1, v2", r.h.Get("X-API-Supported-Versions"))
	require.Empty(t, r.h.Get("Deprecation"))
	require.Empty(t, r.h.Get("Sunset"))
	require.Empty(t, r.h.Get("Link"))

	for _, ok := range []string{"v1", "v2", "2", "V2.0", "1.0"} {
		require.Equal(t, 200, e.do(t, "GET", "/api/v2/version", testAdminKey, nil, "Accept-Version", ok).code, ok)
	}
	for _, bad := range []string{"v3", "banana", "2.1"} {
		m := requireError(t, e.do(t, "GET", "/api/v2/config", testAdminKey, nil, "Accept-Version", bad), 400, errUnsupportedVersion)
		require.Contains(t, m["message"], "Accept-Version")
	}
	// Non-/api routes carry no version headers.
	r = e.do(t, "GET", "/health", "", nil)
	require.Empty(t, r.h.Get("X-API-Version"))

	// Errors gin answers outside the version groups carry them too.
	for _, c := range []struct{ method, path, version string }{
		{"GET", "/api/v1/nope", "v1"}, {"DELETE", "/api/v1/version", "v1"}, {"GET", "/api/v2/nope", "v2"},
		{"DELETE", "/api/v2/version", "v2"}, {"GET", "/api/openapi.json", "v2"}, {"GET", "/api/v9/rules", "v2"},
	} {
		r := e.do(t, c.method, c.path, testAdminKey, nil)
		require.Equal(t, c.version, r.h.Get("X-API-Version"), c)
		require.Equal(t, "v1, v2", r.h.Get("X-API-Supported-Versions"), c)
		require.Equal(t, c.version == "v1", r.h.Get("Sunset") != "", c)
	}
	// The deprecation Link leads somewhere.
	r = e.do(t, "GET", "/docs/MIGRATION_v1_to_v2.md", "", nil)
	require.Equal(t, 200, r.code)
	require.Contains(t, string(r.body), "v2")
	requireError(t, e.do(t, "GET", "/docs/secrets.json", "", nil), 404, errNotFound)
}

func TestCorrelationID(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	r := e.do(t, "GET", "/api/v2/version", testAdminKey, nil, "X-Correlation-ID", "abc-123:x.y_z")
	require.Equal(t, "abc-123:x.y_z", r.h.Get("X-Correlation-ID"))
	for _, bad := range []string{"has space", strings.Repeat("a", 65), "semi;colon"} {
		r := e.do(t, "GET", "/api/v2/version", testAdminKey, nil, "X-Correlation-ID", bad)
		require.NotEqual(t, bad, r.h.Get("X-Correlation-ID"))
		require.Regexp(t, `^[0-9a-f]{32}$`, r.h.Get("X-Correlation-ID"))
	}
	r = e.do(t, "GET", "/api/v2/config", "", nil, "X-Correlation-ID", "mine-1")
	require.Equal(t, "mine-1", r.json(t)["correlation_id"])
}

func TestNotFoundMethodAndPanicAreJSON(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	requireError(t, e.do(t, "GET", "/nope", "", nil), 404, errNotFound)
	requireError(t, e.do(t, "DELETE", "/api/v2/version", testAdminKey, nil), 405, errMethodNotAllowed)
	e.s.Engine().GET("/panic-test", func(_ *gin.Context) { panic("secret internals") })
	r := requireError(t, e.do(t, "GET", "/panic-test", "", nil), 500, errInternal)
	require.NotContains(t, string(r["message"].(string)), "secret")
}

func TestHealthAndPrometheus(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	r := e.do(t, "GET", "/health", "", nil)
	require.Equal(t, 200, r.code, string(r.body))
	m := r.json(t)
	require.Equal(t, "healthy", m["status"])
	require.Equal(t, map[string]any{"redis": "ok", "postgres": "ok"}, m["dependencies"])
	e.do(t, "GET", "/api/v2/version", testAdminKey, nil)
	r = e.do(t, "GET", "/metrics", "", nil)
	require.Equal(t, 200, r.code)
	require.Contains(t, string(r.body), `mutt_api_requests_total{method="GET",route="/api/v2/version",status="200"} 1`)
	require.Contains(t, string(r.body), `mutt_api_request_duration_seconds_bucket`)
}

func TestHealthUnhealthyWhenRedisDown(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewProxy(t, "127.0.0.1:6379")
	_, keys := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr(), MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	e := newCoreEnv(t, func(o *Options) { o.Redis = rdb; o.Keys = keys })
	proxy.Cut()
	r := e.do(t, "GET", "/health", "", nil)
	require.Equal(t, 503, r.code)
	require.Equal(t, "unhealthy", r.json(t)["status"])
	requireError(t, e.do(t, "GET", "/api/v2/config", testAdminKey, nil), 503, errUnavailable)
	requireError(t, e.do(t, "GET", "/api/v2/metrics", testAdminKey, nil), 503, errUnavailable)
	requireError(t, e.do(t, "PUT", "/api/v2/config/unhandled_threshold", testAdminKey, map[string]any{"value": 9}), 503, errUnavailable)
	proxy.Restore()
	var n int
	require.NoError(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM config_audit_log`).Scan(&n))
	require.Zero(t, n, "a failed change leaves no audit row")
}

// PostgreSQL unreachable: reads and writes answer 503 without driver text,
// and the change is made once it is back.
func TestPostgresDownIs503(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("connect_timeout", "1")
	u.RawQuery = q.Encode()
	db := testenv.PostgresAt(t, u.String())
	e := newCoreEnv(t, func(o *Options) { o.DB = db })
	proxy.Cut()
	body := map[string]any{"match_string": "x", "prod_handling": "ignore", "dev_handling": "ignore", "team_assignment": "NET"}
	for _, c := range [][2]string{{"GET", "/api/v2/rules"}, {"POST", "/api/v2/rules"}, {"GET", "/api/v2/dev-hosts"}, {"GET", "/api/v2/config-audit"}} {
		var b any
		if c[0] == "POST" {
			b = body
		}
		r := requireError(t, e.do(t, c[0], c[1], testAdminKey, b), 503, errUnavailable)
		require.NotContains(t, r["message"], "dial", c)
		require.NotContains(t, r["message"], "SQLSTATE", c)
	}
	proxy.Restore()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 201, e.do(c, "POST", "/api/v2/rules", testAdminKey, body).code)
	}, 10*time.Second, 100*time.Millisecond)
}

// TestAccessLogIsDebug: an answered request (a UI page's API call, a probe)
// is logged at debug, so an info log — `mutt dev`'s — is not flooded; a
// refused one stays at info.
func TestAccessLogIsDebug(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := newCoreEnv(t, func(o *Options) {
		o.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	require.Equal(t, http.StatusOK, e.do(t, "GET", "/api/v2/version", testAdminKey, nil).code)
	require.Equal(t, http.StatusOK, e.do(t, "GET", "/api/v2/config", testAdminKey, nil).code)
	require.NotContains(t, logs.String(), "msg=request")
	requireError(t, e.do(t, "GET", "/api/v2/version", "wrong", nil), http.StatusUnauthorized, errUnauthorized)
	require.Contains(t, logs.String(), "msg=request")
	require.Contains(t, logs.String(), "status=401")
}
