package ingest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestAPIKeysFromAFunctionApplyAtOnce: a key rotation adds NEXT to the
// secrets cache; the very next request with it is accepted, and once the old
// key is dropped it is refused — no restart, no reload call.
func TestAPIKeysFromAFunctionApplyAtOnce(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	var mu sync.Mutex
	current := []string{"key-A"}
	srv, err := ingest.New(ingest.Options{
		// A static list is also configured: the function wins.
		Config: ingest.Config{APIKeys: []string{"static-key"}}, Redis: rdb, Keys: keys,
		Dyn: dynconfig.NewStore(rdb, keys, quiet), Log: quiet, Registerer: prometheus.NewRegistry(),
		APIKeys: func() []string { mu.Lock(); defer mu.Unlock(); return current },
	})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &env{url: hs.URL}
	setKeys := func(k ...string) { mu.Lock(); defer mu.Unlock(); current = k }
	post := func(k string) int {
		return e.do(t, http.MethodPost, "/api/v2/ingest", batch("h", 1), map[string]string{"X-API-KEY": k}).code
	}

	require.Equal(t, http.StatusOK, post("key-A"))
	require.Equal(t, http.StatusUnauthorized, post("key-B"))
	require.Equal(t, http.StatusUnauthorized, post("static-key"))

	setKeys("key-A", "key-B") // NEXT stored
	require.Equal(t, http.StatusOK, post("key-B"))
	require.Equal(t, http.StatusOK, post("key-A"))

	setKeys("key-B") // promoted, old key gone
	require.Equal(t, http.StatusUnauthorized, post("key-A"))
	require.Equal(t, http.StatusOK, post("key-B"))

	// Empty entries never authorize a request without the header, and an
	// empty list refuses everything.
	setKeys("", "key-B")
	require.Equal(t, http.StatusUnauthorized, post(""))
	setKeys()
	require.Equal(t, http.StatusUnauthorized, post("key-B"))
}

// TestAPIKeysFromTheSecretsCache wires the ingestor the way cmd/mutt does.
func TestAPIKeysFromTheSecretsCache(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	cache := secrets.StaticCache(map[string]string{secrets.IngestAPIKey: "cur", secrets.IngestAPIKeyNext: "nxt"})
	srv, err := ingest.New(ingest.Options{
		Redis: rdb, Keys: keys, Dyn: dynconfig.NewStore(rdb, keys, quiet), Log: quiet, Registerer: prometheus.NewRegistry(),
		APIKeys: func() []string { return cache.Pair(secrets.IngestAPIKey, secrets.IngestAPIKeyNext) },
	})
	require.NoError(t, err, "Config.APIKeys is not required when the function is set")
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &env{url: hs.URL}
	for _, k := range []string{"cur", "nxt"} {
		r := e.do(t, http.MethodPost, "/ingest", batch("h", 1), map[string]string{"X-API-KEY": k})
		require.Equal(t, http.StatusOK, r.code, r.raw)
	}
	r := e.do(t, http.MethodGet, "/admin/config", "", map[string]string{"X-API-KEY": "nxt"})
	require.Equal(t, http.StatusOK, r.code)
	require.NotContains(t, r.raw, "cur\"")
	require.NotContains(t, r.raw, "nxt")
	require.Contains(t, r.raw, `"api_keys_configured":2`)
}

// TestUnknownKeyRefreshesTheSourceOnce: a NEXT key stored in the provider a
// moment ago (the process has not had the rotation notice yet) is accepted on
// its first request, because an unknown key makes the ingestor re-read its
// secrets before refusing; bad keys cannot make it re-read more than once a
// second.
func TestUnknownKeyRefreshesTheSourceOnce(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	var mu sync.Mutex
	accepted, stored := []string{"key-A"}, []string{"key-A"}
	refreshes := 0
	srv, err := ingest.New(ingest.Options{
		Redis: rdb, Keys: keys, Dyn: dynconfig.NewStore(rdb, keys, quiet), Log: quiet, Registerer: prometheus.NewRegistry(),
		APIKeys: func() []string { mu.Lock(); defer mu.Unlock(); return accepted },
		RefreshKeys: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			refreshes++
			accepted = stored
			return nil
		},
	})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &env{url: hs.URL}
	post := func(k string) int {
		return e.do(t, http.MethodPost, "/ingest", batch("h", 1), map[string]string{"X-API-KEY": k}).code
	}

	mu.Lock()
	stored = []string{"key-A", "key-B"} // the rotation workflow stored NEXT
	mu.Unlock()
	require.Equal(t, http.StatusOK, post("key-B"), "the first request with the new key is accepted")
	require.Equal(t, http.StatusUnauthorized, post("wrong-1"))
	require.Equal(t, http.StatusUnauthorized, post("wrong-2"))
	mu.Lock()
	defer mu.Unlock()
	require.LessOrEqual(t, refreshes, 2, "unknown keys re-read the secrets at most once a second")
}
