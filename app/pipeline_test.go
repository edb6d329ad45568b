package app_test

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
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

	cfg, err := app.ReadConfig(config.FromMap(env), false, []app.Role{app.Alerter})
	require.NoError(t, err)
	d, err := app.Connect(ctx, cfg, log, []app.Role{app.Alerter})
	require.NoError(t, err)
	d.Close()

	cfg, err = app.ReadConfig(config.FromMap(env), false, []app.Role{app.Ingestor})
	require.NoError(t, err)
	_, err = app.Connect(ctx, cfg, log, []app.Role{app.Ingestor})
	require.ErrorContains(t, err, "INGEST_API_KEY")
}

// Two `mutt dev` instances that differ only in ports, database and key prefix
// get their own Redis ACL user, PostgreSQL role and secrets file, so setting
// up the second does not lock the first out of its keys.
func TestDevInstancesWithOwnPrefixStayApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := telemetry.NewLogger(io.Discard, "text", "error")
	id := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	var deps []*app.Deps
	for _, side := range []string{"a", "b"} {
		prefix := "T" + id + side + ":"
		name := app.DevInstance(prefix)
		require.Equal(t, "t"+id+side, name)
		t.Cleanup(func() { testenv.DropLogins(t, "mutt_"+name, "mutt_app_"+name) }) // after the database is dropped
		env := config.FromMap(map[string]string{"REDIS_URL": testenv.RedisURL(), "DATABASE_URL": testenv.DatabaseURL(t),
			"MUTT_REDIS_PREFIX": prefix})
		cfg, err := app.ReadConfig(env, true, []app.Role{app.Alerter})
		require.NoError(t, err)
		require.Equal(t, "mutt_"+name, cfg.RedisUsername)
		require.Equal(t, "mutt_app_"+name, cfg.DBUser)
		require.Equal(t, "./.mutt/secrets-"+name+".json", cfg.Secrets.File)
		cfg.Secrets.File = filepath.Join(t.TempDir(), "secrets.json") // not in the source tree
		require.NoError(t, app.Setup(ctx, cfg, log, io.Discard))
		d, err := app.Connect(ctx, cfg, log, []app.Role{app.Alerter})
		require.NoError(t, err)
		t.Cleanup(d.Close)
		deps = append(deps, d)
	}
	for _, d := range deps {
		require.NoError(t, d.Redis.Set(ctx, d.Keys.Config("probe"), "1", time.Minute).Err(), "instance %s", d.Keys.Prefix)
		require.NoError(t, d.DB.Ping(ctx))
	}
	// And their own Temporal task queue and schedule ids.
	tq, sp := app.DevTemporal("blue:")
	require.Equal(t, [2]string{"mutt-ops-blue", "blue-"}, [2]string{tq, sp})
	tq, sp = app.DevTemporal("mutt:")
	require.Equal(t, [2]string{"mutt-ops", ""}, [2]string{tq, sp})
	// The default prefix keeps the documented defaults.
	cfg, err := app.ReadConfig(config.FromMap(map[string]string{}), true, []app.Role{app.Alerter})
	require.NoError(t, err)
	require.Equal(t, "mutt", cfg.RedisUsername)
	require.Empty(t, cfg.DBUser)
	// Explicit settings win.
	cfg, err = app.ReadConfig(config.FromMap(map[string]string{"MUTT_REDIS_PREFIX": "x:", "REDIS_USERNAME": "ops"}),
		true, []app.Role{app.Alerter})
	require.NoError(t, err)
	require.Equal(t, "ops", cfg.RedisUsername)
}
