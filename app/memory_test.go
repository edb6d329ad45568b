package app

import (
	"context"
	"log/slog"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestEvictionPolicyThatDropsStreamsIsRefused: an allkeys-* policy would
// delete a stream full of accepted events at maxmemory, so a process refuses
// to start on it, naming the setting and the fix; noeviction and volatile-*
// (which evict only keys with a TTL, never a stream) are accepted; a
// connection that may not run CONFIG GET does not stop the start.
func TestEvictionPolicyThatDropsStreamsIsRefused(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t, testenv.RedisServerOptions{})
	rdb := srv.Client(t)
	ctx := context.Background()
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	for _, p := range []string{"allkeys-lru", "allkeys-lfu", "allkeys-random"} {
		require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", p).Err())
		err := checkEvictionPolicy(ctx, rdb, nil, log)
		require.ErrorContains(t, err, "maxmemory-policy is "+p, p)
		require.ErrorContains(t, err, "noeviction", p)
	}
	for _, p := range []string{"noeviction", "volatile-lru", "volatile-ttl"} {
		require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", p).Err())
		require.NoError(t, checkEvictionPolicy(ctx, rdb, nil, log), p)
	}
	require.Contains(t, logs.String(), "policy=volatile-ttl")

	// The admin connection is asked when there is one.
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err())
	require.NoError(t, rdb.Do(ctx, "ACL", "SETUSER", "svc", "on", ">svc-password-0123456789", "~*", "+@all", "-config").Err())
	svc := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "svc", Password: "svc-password-0123456789"})
	t.Cleanup(func() { _ = svc.Close() })
	require.NoError(t, checkEvictionPolicy(ctx, svc, nil, log), "a user without CONFIG cannot tell: no failure")
	require.Contains(t, logs.String(), "cannot read redis maxmemory-policy")
	require.ErrorContains(t, checkEvictionPolicy(ctx, svc, rdb, log), "allkeys-lru")
}

// TestRedisOlderThanSevenIsRefused: the forwarder's scripts declare flags
// that Redis before 7.0 cannot compile, so a process refuses to start on it,
// naming the version; the machine's Redis (7.x) passes.
func TestRedisOlderThanSevenIsRefused(t *testing.T) {
	t.Parallel()
	for info, ok := range map[string]bool{
		"# Server\r\nredis_version:6.2.14\r\nredis_mode:standalone\r\n": false,
		"redis_version:5.0.7\r\n":         false,
		"redis_version:7.0.15\r\n":        true,
		"redis_version:7.2.4\r\n":         true,
		"redis_version:8.0.0\r\n":         true,
		"# Server\r\nno version here\r\n": true,
		"redis_version:unknown\r\n":       true,
	} {
		err := redisVersionOK(info)
		if ok {
			require.NoError(t, err, info)
		} else {
			require.ErrorContains(t, err, "needs Redis 7.0 or later", info)
		}
	}
	rdb, _ := testenv.Redis(t)
	require.NoError(t, checkRedisVersion(context.Background(), rdb, slog.New(slog.DiscardHandler)))
}
