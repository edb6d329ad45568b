package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/ratelimit"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// The forwarders drain a full Redis only if their rate limit still answers
// there: its one fixed-size key may be written at maxmemory (ADR 0046).
func TestAllowWorksAtRedisMaxmemory(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t, testenv.RedisServerOptions{})
	rdb := srv.Client(t)
	ctx := context.Background()
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "1").Err()) // every byte is over
	require.ErrorContains(t, rdb.Set(ctx, "probe", "x", 0).Err(), "OOM")

	lim := ratelimit.Limit{Rate: 2, Period: time.Hour}
	r, err := ratelimit.Allow(ctx, rdb, "rl", lim, 2)
	require.NoError(t, err)
	require.True(t, r.Allowed)
	r, err = ratelimit.Allow(ctx, rdb, "rl", lim, 2)
	require.NoError(t, err)
	require.False(t, r.Allowed, "the units taken at maxmemory were recorded")

	pipe := rdb.Pipeline()
	p := ratelimit.Queue(ctx, pipe, "rl2", lim, 1)
	_, _ = pipe.Exec(ctx)
	r, err = p.Result()
	require.NoError(t, err)
	require.True(t, r.Allowed)
}
