package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/ratelimit"
	"github.com/mutt-ops/mutt/internal/testenv"
)

func TestBurstThenDenyWithRetryAfter(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	lim := ratelimit.Limit{Rate: 10, Period: time.Second}
	key := keys.IngestRateLimit()

	r, err := ratelimit.Allow(ctx, rdb, key, lim, 6)
	require.NoError(t, err)
	require.True(t, r.Allowed)
	r, err = ratelimit.Allow(ctx, rdb, key, lim, 4)
	require.NoError(t, err)
	require.True(t, r.Allowed)
	r, err = ratelimit.Allow(ctx, rdb, key, lim, 5)
	require.NoError(t, err)
	require.False(t, r.Allowed)
	require.Greater(t, r.RetryAfter, 300*time.Millisecond)
	require.LessOrEqual(t, r.RetryAfter, 500*time.Millisecond)

	time.Sleep(r.RetryAfter)
	r, err = ratelimit.Allow(ctx, rdb, key, lim, 5)
	require.NoError(t, err)
	require.True(t, r.Allowed, "after waiting RetryAfter the same request passes")

	r, err = ratelimit.Allow(ctx, rdb, key, lim, 11)
	require.NoError(t, err)
	require.True(t, r.Impossible)

	r, err = ratelimit.Allow(ctx, rdb, key, ratelimit.Limit{Rate: 0, Period: time.Second}, 1_000_000)
	require.NoError(t, err)
	require.True(t, r.Allowed, "rate 0 is unlimited")
}
