package ingest_test

import (
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
