package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/ratelimit"
	"github.com/mutt-ops/mutt/internal/testenv"
)

func TestBurstThenDenyWithRetryAfter(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	// 10 per 4 s: a unit every 400 ms, a burst of 10. Slow enough that the
	// calls below, however stalled the machine, run within the window.
	lim := ratelimit.Limit{Rate: 10, Period: 4 * time.Second}
	key := keys.IngestRateLimit()

	start := time.Now()
	r, err := ratelimit.Allow(ctx, rdb, key, lim, 6)
	require.NoError(t, err)
	require.True(t, r.Allowed)
	r, err = ratelimit.Allow(ctx, rdb, key, lim, 4)
	require.NoError(t, err)
	require.True(t, r.Allowed)
	denied := time.Now()
	r, err = ratelimit.Allow(ctx, rdb, key, lim, 5)
	require.NoError(t, err)
	require.False(t, r.Allowed)
	// 15 units against a tolerance of one period (10 units): the 5 more are
	// due 5 × 400 ms after the burst began, less the time the calls took
	// (measured, not assumed).
	due := 5 * lim.Period / time.Duration(lim.Rate)
	require.LessOrEqual(t, r.RetryAfter, due)
	require.GreaterOrEqual(t, r.RetryAfter, due-time.Since(start))

	// The same request passes once RetryAfter has passed, and not before.
	retryAfter := r.RetryAfter
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r, err := ratelimit.Allow(ctx, rdb, key, lim, 5)
		assert.NoError(c, err)
		assert.True(c, r.Allowed)
	}, retryAfter+30*time.Second, 20*time.Millisecond, "the request passes after RetryAfter")
	require.GreaterOrEqual(t, time.Since(denied), retryAfter, "allowed no earlier than RetryAfter")

	r, err = ratelimit.Allow(ctx, rdb, key, lim, 11)
	require.NoError(t, err)
	require.True(t, r.Impossible)

	// The burst is the rate, one unit at a time too: the 11th of 11 single
	// units at once is refused, as an 11-unit request is (Impossible).
	single := keys.Prefix + "single"
	for i := range 10 {
		r, err = ratelimit.Allow(ctx, rdb, single, lim, 1)
		require.NoError(t, err)
		require.True(t, r.Allowed, "unit %d of the burst", i+1)
	}
	r, err = ratelimit.Allow(ctx, rdb, single, lim, 1)
	require.NoError(t, err)
	require.False(t, r.Allowed, "the 11th unit exceeds a burst of 10")

	r, err = ratelimit.Allow(ctx, rdb, key, ratelimit.Limit{Rate: 0, Period: time.Second}, 1_000_000)
	require.NoError(t, err)
	require.True(t, r.Allowed, "rate 0 is unlimited")
}

// TestQueueSharesAPipeline: Allow queued on a pipeline answers like Allow
// (one round trip for several), and what needs no Redis is answered at once.
func TestQueueSharesAPipeline(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	lim := ratelimit.Limit{Rate: 10, Period: 4 * time.Second}
	key := keys.IngestRateLimit()

	// Queue sends EVALSHA only; Allow loads the script into Redis.
	_, err := ratelimit.Allow(ctx, rdb, keys.Prefix+"warm", lim, 1)
	require.NoError(t, err)
	pipe := rdb.Pipeline()
	a := ratelimit.Queue(ctx, pipe, key, lim, 6)
	b := ratelimit.Queue(ctx, pipe, key, lim, 4)
	c := ratelimit.Queue(ctx, pipe, key, lim, 5)
	huge := ratelimit.Queue(ctx, pipe, key, lim, 11)
	free := ratelimit.Queue(ctx, pipe, key, ratelimit.Limit{}, 1000)
	require.Equal(t, 3, pipe.Len(), "only the three that need Redis are sent")
	_, err = pipe.Exec(ctx)
	require.NoError(t, err)
	for i, p := range []ratelimit.Pending{a, b, c, huge, free} {
		r, err := p.Result()
		require.NoError(t, err)
		switch i {
		case 0, 1:
			require.True(t, r.Allowed, "within the burst")
		case 2:
			require.False(t, r.Allowed, "beyond the burst")
			require.Positive(t, r.RetryAfter)
		case 3:
			require.True(t, r.Impossible)
		case 4:
			require.True(t, r.Allowed)
		}
	}
}
