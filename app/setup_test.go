package app_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestSetupDisablesTheDefaultUser: while Redis's default user can run
// everything, setup and every role say so; --disable-default-user is refused
// (changing nothing) while REDIS_ADMIN_URL logs in as default, and with a
// named admin it disables default after the MUTT user is in place, saves the
// ACL to the aclfile, and a kill -9 and restart of Redis keeps it all: the
// ingestor accepts events and no role warns any more.
func TestSetupDisablesTheDefaultUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := testenv.StartRedis(t, testenv.RedisServerOptions{AOF: true, ACLFile: true})
	root := srv.Client(t)
	id := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	t.Cleanup(func() { testenv.DropLogins(t, "mutt_"+id, "mutt_app_"+id) })
	env := map[string]string{"REDIS_URL": "redis://" + srv.Addr + "/0", "DATABASE_URL": testenv.DatabaseURL(t),
		"MUTT_SECRETS_FILE": filepath.Join(t.TempDir(), "secrets.json"), "MUTT_REDIS_PREFIX": "mutt:",
		"DB_USER": "mutt_app_" + id, "REDIS_USERNAME": "mutt_" + id, "INGEST_API_KEY": "ingest-key-0123456789abcdef-" + id, "MUTT_INGEST_ADDR": testenv.FreeAddr(t)}
	readConfig := func() app.Config {
		cfg, err := app.ReadConfig(config.FromMap(env), false, []app.Role{app.Ingestor})
		require.NoError(t, err)
		return cfg
	}
	log := telemetry.NewLogger(io.Discard, "text", "error")
	const warning = "the redis default user is enabled and can run every command"

	// Without the flag: setup works and points at the open default user.
	cfg := readConfig()
	var out strings.Builder
	require.NoError(t, app.Setup(ctx, cfg, log, &out))
	require.Contains(t, out.String(), "setup: WARNING: "+warning)
	require.Contains(t, out.String(), "saved to Redis's aclfile (ACL SAVE)")
	var logs testenv.LogBuffer
	d, err := app.Connect(ctx, cfg, telemetry.NewLogger(&logs, "text", "info"), []app.Role{app.Ingestor})
	require.NoError(t, err)
	d.Close()
	require.Equal(t, 1, strings.Count(logs.String(), warning), "the role warns once at start: %s", logs.String())

	// The flag with the default user as admin: refused before any change.
	cfg.DisableDefaultRedisUser = true
	err = app.Setup(ctx, cfg, log, io.Discard)
	require.ErrorContains(t, err, "REDIS_ADMIN_URL: logs in as the Redis default user")
	u, err := secrets.InspectRedisUser(ctx, root, "default")
	require.NoError(t, err)
	require.True(t, u.Enabled && u.AllCommands, "nothing changed")

	// A named admin user first (what the procedure says), then the flag.
	require.NoError(t, root.Do(ctx, "ACL", "SETUSER", "mutt_admin", "on", ">admin-pw", "~*", "&*", "+@all").Err())
	env["REDIS_ADMIN_URL"] = "redis://mutt_admin:admin-pw@" + srv.Addr + "/0"
	cfg = readConfig()
	cfg.DisableDefaultRedisUser = true
	out.Reset()
	require.NoError(t, app.Setup(ctx, cfg, log, &out))
	require.Contains(t, out.String(), `redis default user disabled (ACL SETUSER default reset); the admin connection logs in as "mutt_admin"`)
	require.Contains(t, out.String(), "saved to Redis's aclfile")
	require.NotContains(t, out.String(), "WARNING")
	anon := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2, MaxRetries: -1})
	t.Cleanup(func() { _ = anon.Close() })
	require.ErrorContains(t, anon.Ping(ctx).Err(), "NOAUTH", "a new connection without a login is refused")
	require.ErrorContains(t, root.Ping(ctx).Err(), "NOPERM", "one still logged in as default may run nothing")

	// Redis crashes and comes back: the aclfile brought every user back.
	srv.Kill()
	srv.Start()
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "mutt_admin", Password: "admin-pw"})
	t.Cleanup(func() { _ = admin.Close() })
	u, err = secrets.InspectRedisUser(ctx, admin, "default")
	require.NoError(t, err)
	require.Equal(t, secrets.RedisUserACL{Exists: true}, u, "the default user is still disabled after the restart")
	require.NoError(t, app.Setup(ctx, cfg, log, io.Discard), "setup again is idempotent")

	logs = testenv.LogBuffer{}
	cfg = readConfig()
	d, err = app.Connect(ctx, cfg, telemetry.NewLogger(&logs, "text", "debug"), []app.Role{app.Ingestor})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx, d, []app.Role{app.Ingestor}) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done); d.Close() })
	event := `{"hostname":"h1","timestamp":"2026-11-26T10:00:00Z","message":"m"}`
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 200, status(c, http.MethodPost, "http://"+cfg.Ingest.Addr+"/ingest", "ingest-key-0123456789abcdef-"+id, event))
	}, 10*time.Second, 50*time.Millisecond)
	require.NotContains(t, logs.String(), warning)
	require.Contains(t, logs.String(), "cannot tell whether the redis default user is restricted", "said at debug level")
}
