package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/secrets/secretstest"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// runWatcher starts w until the test ends.
func runWatcher(t *testing.T, w *secrets.Watcher) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return cancel
}

func TestWatchersAnswerNotices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := testenv.Redis(t)
	p := &secretstest.Memory{}
	_, err := p.Write(ctx, map[string]string{secrets.RedisPassCurrent: "old-secret-value"}, 0)
	require.NoError(t, err)

	var resets atomic.Int64
	newWatcher := func(id string, check func(context.Context, string) error) (*secrets.Watcher, *secrets.Cache) {
		cache, err := secrets.NewCache(ctx, p)
		require.NoError(t, err)
		w, err := secrets.NewWatcher(secrets.WatcherOptions{
			Redis: rdb, Keys: keys, Cache: cache,
			Instance: secrets.Instance{ID: id, Role: "alerter", Uses: []string{secrets.TargetRedis, secrets.TargetIngestAPIKey}},
			Checks:   map[string]func(context.Context, string) error{secrets.TargetRedis: check},
			Resets:   map[string]func(){secrets.TargetRedis: func() { resets.Add(1) }},
		})
		require.NoError(t, err)
		return w, cache
	}
	var sawWhich atomic.Value
	good, goodCache := newWatcher("inst-good", func(_ context.Context, which string) error {
		sawWhich.Store(which)
		return nil
	})
	bad, _ := newWatcher("inst-bad", func(context.Context, string) error {
		// A careless driver error echoing the credential must not reach Redis.
		return errors.New("WRONGPASS for password new-secret-value")
	})
	stopGood := runWatcher(t, good)
	runWatcher(t, bad)

	// Instances are advertised (after subscribing) with a TTL.
	for _, id := range []string{"inst-good", "inst-bad"} {
		require.Eventually(t, func() bool { return rdb.Exists(ctx, keys.Instance(id)).Val() == 1 }, 5*time.Second, 10*time.Millisecond)
		ttl := rdb.TTL(ctx, keys.Instance(id)).Val()
		require.Positive(t, ttl)
		require.LessOrEqual(t, ttl, secrets.InstanceTTL)
		var inst secrets.Instance
		require.NoError(t, json.Unmarshal([]byte(rdb.Get(ctx, keys.Instance(id)).Val()), &inst))
		require.Equal(t, id, inst.ID)
	}

	// The workflow stores NEXT, then notifies.
	_, err = p.Write(ctx, map[string]string{secrets.RedisPassCurrent: "old-secret-value", secrets.RedisPassNext: "new-secret-value"}, 0)
	require.NoError(t, err)
	n := secrets.Notice{RotationID: "rot-1", Target: secrets.TargetRedis, Stage: "next_stored", Expect: "next"}
	require.NoError(t, rdb.Publish(ctx, keys.SecretsRotated(), secrets.Marshal(n)).Err())

	got := waitAcks(t, rdb, keys, n, 2)
	require.True(t, got["inst-good"].OK)
	require.Equal(t, "alerter", got["inst-good"].Role)
	require.Equal(t, 2, got["inst-good"].Version)
	require.False(t, got["inst-bad"].OK)
	require.Contains(t, got["inst-bad"].Error, "WRONGPASS")
	require.NotContains(t, got["inst-bad"].Error, "new-secret-value")
	require.Equal(t, "next", sawWhich.Load())
	require.Equal(t, "new-secret-value", goodCache.Get(secrets.RedisPassNext), "the notice reloaded the cache")
	ttl := rdb.TTL(ctx, keys.RotationAcks(n.AckKey())).Val()
	require.Positive(t, ttl)
	require.LessOrEqual(t, ttl, secrets.AckTTL)
	raw, err := rdb.HGetAll(ctx, keys.RotationAcks(n.AckKey())).Result()
	require.NoError(t, err)
	for _, v := range raw {
		require.NotContains(t, v, "secret-value")
	}

	// API-key target: the check is that the cache holds the key.
	k := secrets.Notice{RotationID: "rot-2", Target: secrets.TargetIngestAPIKey, Stage: "next_stored", Expect: "next"}
	require.NoError(t, rdb.Publish(ctx, keys.SecretsRotated(), secrets.Marshal(k)).Err())
	got = waitAcks(t, rdb, keys, k, 2)
	require.False(t, got["inst-good"].OK, "no INGEST_API_KEY_NEXT yet")
	require.Contains(t, got["inst-good"].Error, secrets.IngestAPIKeyNext)
	_, err = p.Write(ctx, map[string]string{secrets.IngestAPIKey: "key-1", secrets.IngestAPIKeyNext: "key-2"}, 0)
	require.NoError(t, err)
	k.RotationID = "rot-3"
	require.NoError(t, rdb.Publish(ctx, keys.SecretsRotated(), secrets.Marshal(k)).Err())
	got = waitAcks(t, rdb, keys, k, 2)
	require.True(t, got["inst-good"].OK)
	require.True(t, got["inst-bad"].OK, "its failing check is for redis only")

	// A target the instance does not use is acked without a check; a
	// promotion runs the target's reset.
	pr := secrets.Notice{RotationID: "rot-4", Target: secrets.TargetRedis, Stage: "promoted", Expect: "current"}
	require.NoError(t, rdb.Publish(ctx, keys.SecretsRotated(), secrets.Marshal(pr)).Err())
	waitAcks(t, rdb, keys, pr, 2)
	require.Equal(t, int64(1), resets.Load(), "only the instance whose check passed resets")
	pg := secrets.Notice{RotationID: "rot-5", Target: secrets.TargetPostgres, Stage: "next_stored", Expect: "next"}
	require.NoError(t, rdb.Publish(ctx, keys.SecretsRotated(), secrets.Marshal(pg)).Err())
	got = waitAcks(t, rdb, keys, pg, 2)
	require.True(t, got["inst-bad"].OK)

	// On exit the advertisement goes.
	stopGood()
	require.Eventually(t, func() bool { return rdb.Exists(ctx, keys.Instance("inst-good")).Val() == 0 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, int64(1), rdb.Exists(ctx, keys.Instance("inst-bad")).Val())
}

func TestWatcherReloadsPeriodically(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := testenv.Redis(t)
	p := &secretstest.Memory{}
	cache, err := secrets.NewCache(ctx, p)
	require.NoError(t, err)
	w, err := secrets.NewWatcher(secrets.WatcherOptions{Redis: rdb, Keys: keys, Cache: cache,
		Instance: secrets.Instance{ID: "i"}, Interval: 20 * time.Millisecond})
	require.NoError(t, err)
	runWatcher(t, w)
	_, err = p.Write(ctx, map[string]string{secrets.MoogAPIKey: "m"}, 0)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return cache.Get(secrets.MoogAPIKey) == "m" }, 5*time.Second, 10*time.Millisecond)
}

func TestNewWatcherChecksOptions(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	cache := secrets.StaticCache(nil)
	for name, o := range map[string]secrets.WatcherOptions{
		"no redis":    {Keys: keys, Cache: cache, Instance: secrets.Instance{ID: "i"}},
		"no cache":    {Redis: rdb, Keys: keys, Instance: secrets.Instance{ID: "i"}},
		"no keys":     {Redis: rdb, Cache: cache, Instance: secrets.Instance{ID: "i"}},
		"no instance": {Redis: rdb, Keys: keys, Cache: cache},
	} {
		_, err := secrets.NewWatcher(o)
		require.Error(t, err, name)
	}
}

// waitAcks waits until the notice has want acks and decodes them.
func waitAcks(t *testing.T, rdb *redis.Client, keys keyspace.Keys, n secrets.Notice, want int) map[string]secrets.Ack {
	t.Helper()
	key := keys.RotationAcks(n.AckKey())
	require.Eventually(t, func() bool { return rdb.HLen(context.Background(), key).Val() == int64(want) },
		5*time.Second, 10*time.Millisecond)
	raw, err := rdb.HGetAll(context.Background(), key).Result()
	require.NoError(t, err)
	out := map[string]secrets.Ack{}
	for id, v := range raw {
		var a secrets.Ack
		require.NoError(t, json.Unmarshal([]byte(v), &a))
		require.Equal(t, id, a.Instance)
		out[id] = a
	}
	return out
}

// A process stopped while its watcher is still starting shuts down cleanly:
// Run returns nil, not "context canceled" (which failed the whole process).
func TestWatcherStoppedWhileStartingIsNotAnError(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	w, err := secrets.NewWatcher(secrets.WatcherOptions{Redis: rdb, Keys: keys, Cache: secrets.StaticCache(nil),
		Instance: secrets.Instance{ID: "stopping"}})
	require.NoError(t, err)
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Duration(i)*100*time.Microsecond, cancel) // cancel at a different moment of the start each time
		require.NoError(t, w.Run(ctx))
	}
}

// A notice names the value the rotation stored by its fingerprint: an
// instance whose cache holds another value (a stale read of the provider)
// refuses, for API keys too, where "the cache holds some key" proved nothing.
func TestWatcherChecksTheRotatedValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := testenv.Redis(t)
	p := &secretstest.Memory{}
	_, err := p.Write(ctx, map[string]string{secrets.WebUIAPIKey: "old-admin-key"}, 0)
	require.NoError(t, err)
	cache, err := secrets.NewCache(ctx, p)
	require.NoError(t, err)
	w, err := secrets.NewWatcher(secrets.WatcherOptions{Redis: rdb, Keys: keys, Cache: cache,
		Instance: secrets.Instance{ID: "api-1", Role: "api", Uses: []string{secrets.TargetWebUIAPIKey}}})
	require.NoError(t, err)

	// The rotation promoted a new key, but this instance reads an older
	// version (the provider answers with the old key): CURRENT is not empty,
	// yet it is not the key the rotation promoted.
	n := secrets.Notice{RotationID: "rot-1", Target: secrets.TargetWebUIAPIKey, Stage: "promoted", Expect: "current",
		Fingerprint: secrets.Fingerprint("new-admin-key")}
	require.NoError(t, w.Handle(ctx, n))
	got := waitAcks(t, rdb, keys, n, 1)
	require.False(t, got["api-1"].OK, "the cache holds the old key")
	require.Contains(t, got["api-1"].Error, secrets.WebUIAPIKey)
	require.NotContains(t, got["api-1"].Error, "admin-key")

	_, err = p.Write(ctx, map[string]string{secrets.WebUIAPIKey: "new-admin-key", secrets.WebUIAPIKeyNext: "old-admin-key"}, 0)
	require.NoError(t, err)
	n.RotationID = "rot-2"
	require.NoError(t, w.Handle(ctx, n))
	require.True(t, waitAcks(t, rdb, keys, n, 1)["api-1"].OK)

	// The same holds for a target with a login check: the value is compared first.
	var tried atomic.Int64
	w, err = secrets.NewWatcher(secrets.WatcherOptions{Redis: rdb, Keys: keys, Cache: cache,
		Instance: secrets.Instance{ID: "alerter-1", Uses: []string{secrets.TargetRedis}},
		Checks: map[string]func(context.Context, string) error{secrets.TargetRedis: func(context.Context, string) error {
			tried.Add(1)
			return nil
		}}})
	require.NoError(t, err)
	r := secrets.Notice{RotationID: "rot-3", Target: secrets.TargetRedis, Stage: "next_stored", Expect: "next",
		Fingerprint: secrets.Fingerprint("new-redis-password")}
	require.NoError(t, w.Handle(ctx, r))
	require.False(t, waitAcks(t, rdb, keys, r, 1)["alerter-1"].OK)
	require.Zero(t, tried.Load())
}
