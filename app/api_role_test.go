package app_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// The api role connects to PostgreSQL and serves the admin API on
// MUTT_API_ADDR with the WEBUI_API_KEY / WEBUI_READONLY_API_KEY keys.
func TestAPIRoleServes(t *testing.T) {
	t.Parallel()
	const ( // 32 bytes at least outside mutt dev
		a1 = "admin-key-1-0123456789abcdef01234"
		a2 = "admin-key-2-0123456789abcdef01234"
		r1 = "readonly-key-1-0123456789abcdef01"
	)
	addr := testenv.FreeAddr(t)
	env := map[string]string{"REDIS_URL": testenv.RedisURL(), "DATABASE_URL": testenv.DatabaseURL(t),
		"MUTT_SECRETS_FILE": filepath.Join(t.TempDir(), "secrets.json"), "MUTT_REDIS_PREFIX": "test:apirole:",
		"MUTT_API_ADDR": addr, "WEBUI_API_KEY": a1 + ", " + a2, "WEBUI_READONLY_API_KEY": r1,
		"MUTT_KEY_FINGERPRINT_SECRET": "0123456789abcdef0123456789abcdef"}
	roles := []app.Role{app.API}
	cfg, err := app.ReadConfig(config.FromMap(env), false, roles)
	require.NoError(t, err)
	require.Equal(t, []string{a1, a2}, cfg.APIAdminKeys)
	require.Equal(t, []string{r1}, cfg.APIReadOnlyKeys)
	d, err := app.Connect(context.Background(), cfg, telemetry.NewLogger(io.Discard, "text", "error"), roles)
	require.NoError(t, err)
	t.Cleanup(d.Close)
	require.NotNil(t, d.DB)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, d, roles) }()
	version := "http://" + addr + "/api/v2/version"
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 200, status(c, http.MethodGet, version, a2, ""))
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, 200, status(t, http.MethodGet, version, r1, ""))
	require.Equal(t, 401, status(t, http.MethodGet, version, "nope", ""))
	cancel()
	require.NoError(t, <-done)

	// mutt dev uses the dev admin key, through the secrets provider (Setup stores it).
	dev, err := app.ReadConfig(config.FromMap(map[string]string{}), true, app.AllRoles)
	require.NoError(t, err)
	require.Empty(t, dev.APIAdminKeys)
	require.Equal(t, app.DevAPIAdminKey, dev.DevKeys["WEBUI_API_KEY"])
	require.Equal(t, "127.0.0.1:8090", dev.APIAddr, "mutt dev listens on loopback")
	require.Contains(t, app.AllRoles, app.API)
}
