package forward_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/forward"
	"github.com/mutt-ops/mutt/internal/testenv"
)

func TestBreakerOpensAfterConsecutiveFailures(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	b := forward.NewBreaker(rdb, keys.CircuitBreaker())

	acq, err := b.Acquire(ctx, time.Hour, time.Hour, "t")
	require.NoError(t, err)
	require.Equal(t, forward.Send, acq.Decision)
	require.Equal(t, forward.StateClosed, acq.State)

	for range 2 {
		st, tripped, err := b.Record(ctx, forward.Failure, 3, "")
		require.NoError(t, err)
		require.Equal(t, forward.StateClosed, st)
		require.False(t, tripped)
	}
	acq, err = b.Acquire(ctx, time.Hour, time.Hour, "t")
	require.NoError(t, err)
	require.EqualValues(t, 2, acq.Failures)
	// A success in between resets the count: failures must be consecutive.
	_, _, err = b.Record(ctx, forward.Success, 3, "")
	require.NoError(t, err)
	for i := range 3 {
		st, tripped, err := b.Record(ctx, forward.Failure, 3, "")
		require.NoError(t, err)
		require.Equal(t, i == 2, tripped)
		if i == 2 {
			require.Equal(t, forward.StateOpen, st)
		}
	}
	require.Equal(t, "1", rdb.HGet(ctx, keys.CircuitBreaker(), "trips").Val())

	acq, err = b.Acquire(ctx, time.Hour, time.Hour, "t")
	require.NoError(t, err)
	require.Equal(t, forward.Wait, acq.Decision)
	require.Equal(t, forward.StateOpen, acq.State)
	require.Greater(t, acq.Wait, 59*time.Minute)
	st, wait, err := b.Peek(ctx, time.Hour)
	require.NoError(t, err)
	require.Equal(t, forward.StateOpen, st)
	require.Greater(t, wait, 59*time.Minute)

	// Late results of requests sent before the trip change nothing.
	st, tripped, err := b.Record(ctx, forward.Failure, 3, "")
	require.NoError(t, err)
	require.Equal(t, forward.StateOpen, st)
	require.False(t, tripped)
	st, _, err = b.Record(ctx, forward.Success, 3, "")
	require.NoError(t, err)
	require.Equal(t, forward.StateOpen, st)
}

func trip(t *testing.T, b *forward.Breaker) {
	t.Helper()
	_, tripped, err := b.Record(context.Background(), forward.Failure, 1, "")
	require.NoError(t, err)
	require.True(t, tripped)
}

func TestBreakerGrantsExactlyOneProbe(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	b := forward.NewBreaker(rdb, keys.CircuitBreaker())
	trip(t, b)

	// The open timeout (0 here) has passed: many forwarders ask at once.
	var mu sync.Mutex
	var probes []string
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			tok := fmt.Sprintf("fwd-%d", i)
			acq, err := b.Acquire(ctx, 0, time.Hour, tok)
			require.NoError(t, err)
			if acq.Decision == forward.Probe {
				mu.Lock()
				probes = append(probes, tok)
				mu.Unlock()
			} else {
				require.Equal(t, forward.Wait, acq.Decision)
				require.Equal(t, forward.StateHalfOpen, acq.State)
			}
		})
	}
	wg.Wait()
	require.Len(t, probes, 1)
	st, _, err := b.Peek(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, forward.StateHalfOpen, st)

	// Others' outcomes do not decide; the probe's success closes it.
	st, _, err = b.Record(ctx, forward.Success, 1, "someone-else")
	require.NoError(t, err)
	require.Equal(t, forward.StateHalfOpen, st)
	st, _, err = b.Record(ctx, forward.Success, 1, probes[0])
	require.NoError(t, err)
	require.Equal(t, forward.StateClosed, st)
	acq, err := b.Acquire(ctx, 0, time.Hour, "x")
	require.NoError(t, err)
	require.Equal(t, forward.Send, acq.Decision)
	require.Equal(t, "1", rdb.HGet(ctx, keys.CircuitBreaker(), "probes").Val())
}

func TestBreakerProbeFailureReopens(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	b := forward.NewBreaker(rdb, keys.CircuitBreaker())
	trip(t, b)
	acq, err := b.Acquire(ctx, 0, time.Hour, "p1")
	require.NoError(t, err)
	require.Equal(t, forward.Probe, acq.Decision)
	st, tripped, err := b.Record(ctx, forward.Failure, 1, "p1")
	require.NoError(t, err)
	require.Equal(t, forward.StateOpen, st)
	require.False(t, tripped, "a failed probe re-opens; it is not a new trip")
	acq, err = b.Acquire(ctx, time.Hour, time.Hour, "p2")
	require.NoError(t, err)
	require.Equal(t, forward.Wait, acq.Decision, "the open period starts again")
	require.Greater(t, acq.Wait, 59*time.Minute)
	require.Equal(t, "1", rdb.HGet(ctx, keys.CircuitBreaker(), "trips").Val())
}

func TestBreakerCrashedProberDoesNotWedgeIt(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	b := forward.NewBreaker(rdb, keys.CircuitBreaker())
	trip(t, b)
	acq, err := b.Acquire(ctx, 0, 50*time.Millisecond, "crashes")
	require.NoError(t, err)
	require.Equal(t, forward.Probe, acq.Decision)
	// The prober never reports. Once its lease lapses another gets the probe.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		acq, err := b.Acquire(ctx, 0, time.Hour, "p2")
		assert.NoError(c, err)
		assert.Equal(c, forward.Probe, acq.Decision)
	}, 10*time.Second, 10*time.Millisecond)
	// The crashed prober's late report is ignored.
	st, _, err := b.Record(ctx, forward.Success, 1, "crashes")
	require.NoError(t, err)
	require.Equal(t, forward.StateHalfOpen, st)

	// A released probe (not sent) can be taken at once.
	st, _, err = b.Record(ctx, forward.Release, 1, "p2")
	require.NoError(t, err)
	require.Equal(t, forward.StateHalfOpen, st)
	acq, err = b.Acquire(ctx, 0, time.Hour, "p3")
	require.NoError(t, err)
	require.Equal(t, forward.Probe, acq.Decision)
}

// TestBreakerKeepsRedisTime: every time in the shared breaker is Redis's
// (TIME in the scripts; Go passes only durations), so replicas whose clocks
// disagree or jump cannot open, hold or release it early or late for the
// others: the trip's opened_at and a Retry-After hold's end lie between
// Redis clock readings taken around the calls (ADR 0045).
func TestBreakerKeepsRedisTime(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	b := forward.NewBreaker(rdb, keys.CircuitBreaker())
	redisMicros := func() int64 {
		now, err := rdb.Time(ctx).Result()
		require.NoError(t, err)
		return now.UnixMicro()
	}

	before := redisMicros()
	trip(t, b)
	left, err := b.Hold(ctx, 2*time.Second)
	require.NoError(t, err)
	after := redisMicros()
	require.Equal(t, 2*time.Second, left)

	h, err := rdb.HMGet(ctx, keys.CircuitBreaker(), "opened_at", "hold_until").Result()
	require.NoError(t, err)
	var opened, hold int64
	_, err = fmt.Sscan(h[0].(string), &opened)
	require.NoError(t, err)
	_, err = fmt.Sscan(h[1].(string), &hold)
	require.NoError(t, err)
	require.GreaterOrEqual(t, opened, before)
	require.LessOrEqual(t, opened, after)
	require.GreaterOrEqual(t, hold, before+2_000_000)
	require.LessOrEqual(t, hold, after+2_000_000)
}
