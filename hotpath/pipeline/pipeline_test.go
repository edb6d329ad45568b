package pipeline_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/pipeline"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// An alerter does not need the ingest key; an ingestor without a key in the
// environment or the secrets provider refuses to start, naming the variable.
func TestRolesReadOnlyWhatTheyNeed(t *testing.T) {
	t.Parallel()
	env := map[string]string{"REDIS_URL": testenv.RedisURL(), "DATABASE_URL": testenv.DatabaseURL(t),
		"MUTT_SECRETS_FILE": filepath.Join(t.TempDir(), "secrets.json"), "MUTT_REDIS_PREFIX": "test:roles:"}
	log := telemetry.NewLogger(io.Discard, "text", "error")
	ctx := context.Background()

	cfg, err := pipeline.ReadConfig(config.FromMap(env), false, []pipeline.Role{pipeline.Alerter})
	require.NoError(t, err)
	d, err := pipeline.Connect(ctx, cfg, log, []pipeline.Role{pipeline.Alerter})
	require.NoError(t, err)
	d.Close()

	cfg, err = pipeline.ReadConfig(config.FromMap(env), false, []pipeline.Role{pipeline.Ingestor})
	require.NoError(t, err)
	_, err = pipeline.Connect(ctx, cfg, log, []pipeline.Role{pipeline.Ingestor})
	require.ErrorContains(t, err, "INGEST_API_KEY")
}
