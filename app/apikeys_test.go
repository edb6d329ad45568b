package app_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
)

const longKey = "0123456789abcdef0123456789abcdef"

// Outside mutt dev an API key shorter than 32 bytes stops the start, naming
// the variable (never the key), whether it comes from the environment or
// the secrets provider; mutt dev keeps its short well-known keys.
func TestShortAPIKeysAreRefusedOutsideDev(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"INGEST_API_KEY", "INGEST_API_KEY_NEXT", "WEBUI_API_KEY", "WEBUI_READONLY_API_KEY"} {
		env := map[string]string{"INGEST_API_KEY": longKey, name: longKey + ",short-key"}
		_, err := app.ReadConfig(config.FromMap(env), false, []app.Role{app.Ingestor, app.API})
		require.ErrorContains(t, err, name+": key 2 of 2 is 9 bytes")
		require.NotContains(t, err.Error(), "short-key")
		_, err = app.ReadConfig(config.FromMap(env), true, []app.Role{app.Ingestor, app.API})
		require.NoError(t, err, "mutt dev")
	}

	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "secrets.json")
	p := secrets.NewFile(file, nil)
	_, err := p.Write(ctx, map[string]string{secrets.IngestAPIKey: "mutt-dev-key"}, 0)
	require.NoError(t, err)
	cfg, err := app.ReadConfig(config.FromMap(map[string]string{"REDIS_URL": testenv.RedisURL(),
		"MUTT_SECRETS_FILE": file, "MUTT_REDIS_PREFIX": "test:shortkeys:"}), false, []app.Role{app.Ingestor})
	require.NoError(t, err)
	_, err = app.Connect(ctx, cfg, telemetry.NewLogger(io.Discard, "text", "error"), []app.Role{app.Ingestor})
	require.ErrorContains(t, err, "INGEST_API_KEY: key 1 of 1 is 12 bytes")
	require.ErrorContains(t, err, "secrets provider")
}
