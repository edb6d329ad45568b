package forward

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPauseDoublesToItsCapWithoutJitterAndResets: Redis retries wait lo,
// 2·lo, ... up to hi, exactly, and reset starts over at lo.
func TestPauseDoublesToItsCapWithoutJitterAndResets(t *testing.T) {
	t.Parallel()
	p := newPause(100*time.Millisecond, 5*time.Second)
	var got []time.Duration
	for range 9 {
		got = append(got, p.b.NextBackOff())
	}
	require.Equal(t, []time.Duration{
		100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second, 5 * time.Second,
	}, got)
	p.reset()
	require.Equal(t, 100*time.Millisecond, p.b.NextBackOff())
}

// TestBackoffStaysWithinItsCeiling: with the real random source every retry
// delay lies in [0, min(maxDelay, base·2^(attempt-1))], including a base above
// the cap and attempt counts whose doubling would overflow.
func TestBackoffStaysWithinItsCeiling(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ base, maxDelay time.Duration }{
		{100 * time.Millisecond, 5 * time.Second},
		{time.Second, 10 * time.Minute},
		{time.Minute, time.Second},    // base above the cap: the cap wins
		{time.Millisecond, time.Hour}, // moog_retry_max_delay_ms at its maximum
	} {
		for attempt := range 100 {
			ceil := tc.maxDelay
			if shift := max(attempt-1, 0); shift < 62 && tc.base <= tc.maxDelay>>shift {
				ceil = tc.base << shift
			}
			for range 20 {
				got := backoff(attempt, tc.base, tc.maxDelay, rand.Int64N)
				require.GreaterOrEqual(t, got, time.Duration(0), "%+v attempt %d", tc, attempt)
				require.LessOrEqual(t, got, ceil, "%+v attempt %d", tc, attempt)
			}
		}
	}
}

// BenchmarkBackoff is the cost of scheduling one retry (once per failed alert)
// with the defaults (1 s doubling to 60 s), early and once the cap is reached.
func BenchmarkBackoff(b *testing.B) {
	for _, attempt := range []int{1, 20} {
		b.Run(fmt.Sprintf("attempt=%d", attempt), func(b *testing.B) {
			for b.Loop() {
				_ = backoff(attempt, time.Second, time.Minute, rand.Int64N)
			}
		})
	}
}
