package redisconn_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestALostUserIsNamedAndWaitedFor: when Redis no longer knows the user (a
// restart without an aclfile), the error says so and what to do; with
// AuthWait, Open retries with backoff and succeeds once the user is back.
func TestALostUserIsNamedAndWaitedFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := testenv.PrivateRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = admin.Close() })
	cache := secrets.StaticCache(map[string]string{secrets.RedisPassCurrent: "pw-cur", secrets.RedisPassNext: "pw-next"})

	_, err := redisconn.Open(ctx, redisconn.Options{URL: "redis://" + addr, Username: "mutt", Secrets: cache})
	require.Error(t, err)
	var ae *redisconn.AuthError
	require.ErrorAs(t, err, &ae)
	require.Contains(t, err.Error(), `redis user "mutt" does not exist or its password was refused`)
	require.Contains(t, err.Error(), "was Redis restarted without an aclfile? run mutt setup")
	require.NotContains(t, err.Error(), "pw-cur")

	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	type result struct {
		c   redis.UniversalClient
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := redisconn.Open(ctx, redisconn.Options{URL: "redis://" + addr, Username: "mutt", Secrets: cache,
			AuthWait: time.Minute, Log: log})
		done <- result{c, err}
	}()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "redis refused the login; retrying") },
		10*time.Second, 10*time.Millisecond)
	require.NoError(t, secrets.SetupRedisUser(ctx, admin, "mutt", "pw-next", "mutt:"))
	var r result
	require.Eventually(t, func() bool {
		select {
		case r = <-done:
			return true
		default:
			return false
		}
	}, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, r.err)
	require.NoError(t, r.c.Set(ctx, "mutt:k", "v", 0).Err())
	require.NoError(t, r.c.Close())
}

// TestNoPasswordAgainstALockedServer: secrets without a Redis password
// against a server whose default user is off says a login is required.
func TestNoPasswordAgainstALockedServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := testenv.PrivateRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "default", "reset").Err())
	_, err := redisconn.Open(ctx, redisconn.Options{URL: "redis://" + addr, Username: "mutt", Secrets: secrets.StaticCache(nil)})
	require.ErrorContains(t, err, "requires a login and no password is configured for user \"mutt\": run mutt setup")
	require.True(t, redisconn.IsAuthError(err))
	require.False(t, redisconn.IsAuthError(errors.New("connection refused")))
}

// TestWarnIfDefaultUserOpen: every role warns when the default user can run
// everything; once it is disabled a role without ACL rights says at debug
// level that it cannot tell, and the worker's admin connection sees it is
// restricted — neither warns.
func TestWarnIfDefaultUserOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := testenv.PrivateRedis(t)
	url := "redis://" + addr + "/0"
	logged := func(admin redis.UniversalClient) string {
		var b bytes.Buffer
		redisconn.WarnIfDefaultUserOpen(ctx, url, admin, slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})))
		return b.String()
	}
	out := logged(nil)
	require.Equal(t, 1, strings.Count(out, "level=WARN"), out)
	require.Contains(t, out, "the redis default user is enabled and can run every command")
	require.Contains(t, out, "mutt setup --disable-default-user")

	root := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = root.Close() })
	require.NoError(t, root.Do(ctx, "ACL", "SETUSER", "mutt_admin", "on", ">a", "~*", "&*", "+@all").Err())
	admin := redis.NewClient(&redis.Options{Addr: addr, Username: "mutt_admin", Password: "a"})
	t.Cleanup(func() { _ = admin.Close() })
	require.Contains(t, logged(admin), "level=WARN", "the admin connection sees it too")
	require.NoError(t, secrets.DisableDefaultRedisUser(ctx, admin))

	out = logged(nil)
	require.NotContains(t, out, "level=WARN")
	require.Contains(t, out, "level=DEBUG msg=\"cannot tell whether the redis default user is restricted")
	out = logged(admin)
	require.NotContains(t, out, "level=WARN")
	require.Contains(t, out, "the redis default user is restricted")
}
