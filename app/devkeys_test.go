package app_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// `mutt dev` keeps its API keys in the secrets provider: setup stores the
// well-known dev keys there when it holds none, the banner prints the
// provider's keys, and once a rotation replaced them the dev keys the
// environment defaults to are refused. Keys given explicitly in the
// environment stay valid next to the provider's.
func TestDevKeysLiveInTheProvider(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := telemetry.NewLogger(io.Discard, "text", "error")
	id := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	t.Cleanup(func() { testenv.DropLogins(t, "mutt_"+id, "mutt_app_"+id) })
	file := filepath.Join(t.TempDir(), "secrets.json")
	env := map[string]string{"REDIS_URL": testenv.RedisURL(), "DATABASE_URL": testenv.DatabaseURL(t),
		"MUTT_SECRETS_FILE": file, "MUTT_REDIS_PREFIX": "test:devkeys:" + id + ":",
		"REDIS_USERNAME": "mutt_" + id, "DB_USER": "mutt_app_" + id,
		"MUTT_INGEST_ADDR": testenv.FreeAddr(t), "MUTT_API_ADDR": testenv.FreeAddr(t),
		"MUTT_SNMP_ADDR": testenv.FreeAddr(t)} // not mutt dev's 127.0.0.1:1162: tests run side by side
	roles := []app.Role{app.Ingestor, app.API}
	cfg, err := app.ReadConfig(config.FromMap(env), true, roles)
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, app.Setup(ctx, cfg, log, &out))
	require.Contains(t, out.String(), "stored the development API keys")
	require.NotContains(t, out.String(), app.DevIngestKey, "setup prints no key")

	prov := secrets.NewFile(file, nil)
	snap, err := prov.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, app.DevIngestKey, snap.Get(secrets.IngestAPIKey))
	require.Equal(t, app.DevAPIAdminKey, snap.Get(secrets.WebUIAPIKey))
	cache, err := secrets.NewCache(ctx, prov)
	require.NoError(t, err)
	var banner strings.Builder
	app.Banner(&banner, cfg, cache, "http://127.0.0.1:8233", "http://127.0.0.1:9090")
	require.Contains(t, banner.String(), "X-API-KEY: "+app.DevIngestKey)
	require.Contains(t, banner.String(), "X-API-KEY: "+app.DevAPIAdminKey)

	// A rotation replaced both keys (as its last step leaves the provider).
	vals := maps.Clone(snap.Values)
	vals[secrets.IngestAPIKey], vals[secrets.WebUIAPIKey] = "rotated-ingest-key", "rotated-admin-key"
	_, err = prov.Write(ctx, vals, snap.Version)
	require.NoError(t, err)
	require.NoError(t, app.Setup(ctx, cfg, log, io.Discard))
	snap, err = prov.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, "rotated-ingest-key", snap.Get(secrets.IngestAPIKey), "setup again does not bring the dev key back")
	require.NoError(t, cache.Reload(ctx))
	banner.Reset()
	app.Banner(&banner, cfg, cache, "http://127.0.0.1:8233", "http://127.0.0.1:9090")
	require.Contains(t, banner.String(), "X-API-KEY: rotated-ingest-key", "the banner prints the current key")
	require.Contains(t, banner.String(), "X-API-KEY: rotated-admin-key")

	run(t, cfg, roles)
	ingestURL, versionURL := "http://"+cfg.Ingest.Addr+"/ingest", "http://"+cfg.APIAddr+"/api/v2/version"
	event := `{"hostname":"h1","timestamp":"2026-11-26T10:00:00Z","message":"m"}`
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 200, status(c, http.MethodGet, versionURL, "rotated-admin-key", ""))
	},
		10*time.Second, 50*time.Millisecond)
	require.Equal(t, 401, status(t, http.MethodGet, versionURL, app.DevAPIAdminKey, ""), "the replaced dev admin key is refused")
	// The ingestor may start listening after the API does.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 200, status(c, http.MethodPost, ingestURL, "rotated-ingest-key", event))
	},
		10*time.Second, 50*time.Millisecond)
	require.Equal(t, 401, status(t, http.MethodPost, ingestURL, app.DevIngestKey, event), "the replaced dev ingest key is refused")

	// Explicit environment keys are the operator's: kept (and never rotated).
	env["WEBUI_API_KEY"], env["MUTT_API_ADDR"] = "explicit-admin-key", testenv.FreeAddr(t)
	cfg, err = app.ReadConfig(config.FromMap(env), true, []app.Role{app.API})
	require.NoError(t, err)
	run(t, cfg, []app.Role{app.API})
	versionURL = "http://" + cfg.APIAddr + "/api/v2/version"
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 200, status(c, http.MethodGet, versionURL, "explicit-admin-key", ""))
	},
		10*time.Second, 50*time.Millisecond)
	require.Equal(t, 200, status(t, http.MethodGet, versionURL, "rotated-admin-key", ""))
}

// run connects and runs roles until the test ends.
func run(t *testing.T, cfg app.Config, roles []app.Role) {
	t.Helper()
	d, err := app.Connect(context.Background(), cfg, telemetry.NewLogger(io.Discard, "text", "error"), roles)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, d, roles) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		d.Close()
	})
}

// status sends one request with key and answers its status (0 when it fails).
// status is the HTTP status of one request, 0 when it cannot be sent; t may
// be an EventuallyWithT condition's collect T.
func status(t assert.TestingT, method, url, key, body string) int {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if !assert.NoError(t, err) {
		return 0
	}
	req.Header.Set("X-API-KEY", key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}
