package redisconn_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/secrets/secretstest"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// set changes the secrets and reloads the cache, as a watcher would.
func set(t *testing.T, p *secretstest.Memory, c *secrets.Cache, current, next string) {
	t.Helper()
	ctx := context.Background()
	_, err := p.Write(ctx, map[string]string{secrets.RedisPassCurrent: current, secrets.RedisPassNext: next}, 0)
	require.NoError(t, err)
	require.NoError(t, c.Reload(ctx))
}

func used(t *testing.T, reg *prometheus.Registry, which string) float64 {
	return testenv.Metric(t, reg, "mutt_secret_credential_used_total", map[string]string{"backend": "redis", "which": which})
}

// TestRotationNeverFailsACommand walks the dual-password rotation on a
// private server while a background loop keeps issuing commands; every
// step kills the user's connections so new ones must authenticate.
func TestRotationNeverFailsACommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := testenv.PrivateRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = admin.Close() })
	acl := func(args ...any) {
		t.Helper()
		require.NoError(t, admin.Do(ctx, append([]any{"ACL", "SETUSER", "mutt"}, args...)...).Err())
	}
	acl("on", "~*", "&*", "+@all", ">pass-A")

	p := &secretstest.Memory{}
	cache, err := secrets.NewCache(ctx, p)
	require.NoError(t, err)
	set(t, p, cache, "pass-A", "")
	reg := prometheus.NewRegistry()
	rdb, err := redisconn.Open(ctx, redisconn.Options{
		URL: "redis://" + addr + "/0?pool_size=4", Username: "mutt", Secrets: cache, Registerer: reg,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	require.GreaterOrEqual(t, used(t, reg, "current"), 1.0)

	// Background load: every command must succeed across the rotation.
	lctx, stop := context.WithCancel(ctx)
	var failures, ok atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for lctx.Err() == nil {
				if err := rdb.Incr(lctx, "load").Err(); err != nil && lctx.Err() == nil {
					failures.Add(1)
					t.Logf("command failed: %v", err)
				} else {
					ok.Add(1)
				}
			}
		})
	}
	// reconnect forces new connections and waits until some commands ran on them.
	reconnect := func() {
		t.Helper()
		require.NoError(t, admin.Do(ctx, "CLIENT", "KILL", "USER", "mutt").Err())
		before := ok.Load()
		require.Eventually(t, func() bool { return ok.Load() > before+50 }, 10*time.Second, 5*time.Millisecond)
		require.NoError(t, rdb.Set(ctx, "probe", "1", 0).Err())
	}
	reconnect()

	// Rotation: B is added next to A and stored as NEXT.
	acl(">pass-B")
	set(t, p, cache, "pass-A", "pass-B")
	reconnect()

	// The backend drops A before this process hears of the promotion: new
	// connections fall back to NEXT within the same handshake.
	acl("<pass-A")
	nextBefore := used(t, reg, "next")
	reconnect()
	require.Greater(t, used(t, reg, "next"), nextBefore)
	require.GreaterOrEqual(t, testenv.Metric(t, reg, "mutt_secret_credential_failures_total", map[string]string{"backend": "redis"}), 1.0)

	// Promotion reaches the cache: B is CURRENT, tried first and accepted.
	set(t, p, cache, "pass-B", "")
	curBefore := used(t, reg, "current")
	reconnect()
	require.Greater(t, used(t, reg, "current"), curBefore)

	stop()
	wg.Wait()
	require.Zero(t, failures.Load(), "no command may fail during the rotation")
	require.Positive(t, ok.Load())

	// With neither password valid the dial fails with no secret in the error.
	set(t, p, cache, "pass-X", "pass-Y")
	require.NoError(t, admin.Do(ctx, "CLIENT", "KILL", "USER", "mutt").Err())
	fresh, err := redisconn.Open(ctx, redisconn.Options{URL: "redis://" + addr, Username: "mutt", Secrets: cache, Registerer: reg})
	require.Error(t, err)
	require.Nil(t, fresh)
	require.NotContains(t, err.Error(), "pass-X")
	require.NotContains(t, err.Error(), "pass-Y")
	require.Contains(t, err.Error(), "every password was rejected")
}

func TestWithoutSecretsTheURLCredentialsApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := testenv.PrivateRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "app", "on", "~*", "+@all", ">url-pass").Err())

	rdb, err := redisconn.Open(ctx, redisconn.Options{URL: "redis://app:url-pass@" + addr})
	require.NoError(t, err)
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	require.NoError(t, rdb.Close())

	_, err = redisconn.Open(ctx, redisconn.Options{URL: "redis://app:wrong@" + addr})
	require.Error(t, err)

	// Secrets without Redis passwords: the URL's password is the one tried.
	rdb, err = redisconn.Open(ctx, redisconn.Options{URL: "redis://app:url-pass@" + addr,
		Secrets: secrets.StaticCache(map[string]string{secrets.DBPassCurrent: "x"})})
	require.NoError(t, err)
	require.NoError(t, rdb.Close())

	// A password-less server with no password anywhere works as before.
	rdb, err = redisconn.Open(ctx, redisconn.Options{URL: "redis://" + addr, Secrets: secrets.StaticCache(nil)})
	require.NoError(t, err)
	require.NoError(t, rdb.Ping(ctx).Err())
	require.NoError(t, rdb.Close())
}

func TestCheckLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := testenv.PrivateRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "mutt", "on", "~*", "+@all", ">good-pass").Err())

	require.NoError(t, redisconn.CheckLogin(ctx, "redis://ignored:ignored@"+addr, false, "mutt", "good-pass"))
	err := redisconn.CheckLogin(ctx, "redis://"+addr, false, "mutt", "bad-pass")
	require.ErrorContains(t, err, "WRONGPASS")
	require.NotContains(t, err.Error(), "bad-pass")
	require.NoError(t, redisconn.CheckLogin(ctx, "redis://"+addr, false, "", ""), "empty password only pings")
	require.Error(t, redisconn.CheckLogin(ctx, "redis://127.0.0.1:1", false, "mutt", "good-pass"))
}
