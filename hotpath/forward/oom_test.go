package forward_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/forward"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// fillRedis sets maxmemory (noeviction) to half of what rdb uses (its use moves by tens of KiB on its own), so every
// command Redis refuses at OOM is refused from now on.
func fillRedis(t *testing.T, rdb *redis.Client) {
	t.Helper()
	ctx := context.Background()
	n := testenv.RedisUsedMemory(t, rdb)
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", strconv.FormatInt(n/2, 10)).Err())
	requireFull(t, rdb)
}

// requireFull asserts Redis refuses a write for want of memory.
func requireFull(t *testing.T, rdb *redis.Client) {
	t.Helper()
	err := rdb.Set(context.Background(), "oom-probe", "x", 0).Err()
	require.ErrorContains(t, err, "OOM", "Redis is at maxmemory")
}

// At maxmemory the forwarder keeps delivering and acknowledging alerts (which
// is what frees memory): its rate limit and circuit breaker bookkeeping must
// not be refused like new data is.
func TestDeliversAndAcknowledgesAtRedisMaxmemory(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t, testenv.RedisServerOptions{})
	rdb := srv.Client(t)
	ctx := context.Background()
	keys := keyspace.New("oom:", 1)
	for k, v := range map[string]string{
		"moog_retry_base_delay_ms": "10", "moog_retry_max_delay_ms": "100", "moog_timeout_ms": "2000",
		"moog_rate_limit": "1000", "moog_max_retries": "1000", "circuit_breaker_threshold": "100000",
	} {
		require.NoError(t, dynconfig.Set(ctx, rdb, keys, k, v))
	}
	sim := moogsim.New(moogsim.Options{})
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	r := &rig{t: t, ctx: ctx, rdb: rdb, keys: keys, sim: sim, url: hs.URL + "/api/v1/events"}

	// Moogsoft refuses while Redis fills up: the forwarder holds the alerts,
	// retrying, and its breaker has failures to reset when Moogsoft is back.
	sim.Fail(http.StatusServiceUnavailable, -1)
	sim.RetryAfter(0)
	ids := r.addAlerts(50)
	w := r.start("a", "")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, w.metric(c, "mutt_moog_alerts_processed_total", map[string]string{"status": "retry"}), 50.0)
	}, eventually, 10*time.Millisecond)
	fillRedis(t, rdb)
	sim.Heal()
	r.waitDelivered(ids)
	for _, id := range ids {
		require.Equal(t, 1, sim.Seen(id), "delivered exactly once")
	}
	require.Empty(t, r.dlq(t))
	requireFull(t, rdb)
}

// Every transition of the shared breaker works at maxmemory: trip, probe,
// close, and Moogsoft's Retry-After hold.
func TestBreakerWorksAtRedisMaxmemory(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t, testenv.RedisServerOptions{})
	rdb := srv.Client(t)
	ctx := context.Background()
	fillRedis(t, rdb)
	b := forward.NewBreaker(rdb, "breaker")

	st, tripped, err := b.Record(ctx, forward.Failure, 1, "")
	require.NoError(t, err)
	require.True(t, tripped)
	require.Equal(t, forward.StateOpen, st)
	acq, err := b.Acquire(ctx, time.Microsecond, time.Minute, "probe-1")
	require.NoError(t, err)
	require.Equal(t, forward.Probe, acq.Decision)
	st, _, err = b.Record(ctx, forward.Success, 1, "probe-1")
	require.NoError(t, err)
	require.Equal(t, forward.StateClosed, st)

	left, err := b.Hold(ctx, time.Hour)
	require.NoError(t, err)
	require.Positive(t, left)
	acq, err = b.Acquire(ctx, time.Minute, time.Minute, "")
	require.NoError(t, err)
	require.True(t, acq.Held)
	requireFull(t, rdb)
}
