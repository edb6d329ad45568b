package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBackoffIsEqualJitterUnderADoublingCap: the n-th delay lies in [d/2, d]
// for d = 100 ms doubling to 5 s (within the library's nanosecond rounding),
// the jitter spreads over that range, and a fresh backoff starts over.
func TestBackoffIsEqualJitterUnderADoublingCap(t *testing.T) {
	t.Parallel()
	ceilings := []time.Duration{
		100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second, 5 * time.Second,
	}
	const runs = 2000
	lo := make([]time.Duration, len(ceilings))
	hi := make([]time.Duration, len(ceilings))
	for run := range runs {
		var b backoff
		for i, d := range ceilings {
			got := b.delay()
			require.GreaterOrEqual(t, got, d/2-time.Nanosecond, "run %d delay %d", run, i+1)
			require.LessOrEqual(t, got, d, "run %d delay %d", run, i+1)
			if run == 0 || got < lo[i] {
				lo[i] = got
			}
			hi[i] = max(hi[i], got)
		}
	}
	for i, d := range ceilings {
		// 2000 uniform draws: the extremes come within a tenth of each end.
		require.Less(t, lo[i], d/2+d/10, "delay %d never near its lower bound", i+1)
		require.Greater(t, hi[i], d-d/10, "delay %d never near its upper bound", i+1)
	}
	b := backoff{}
	require.LessOrEqual(t, b.delay(), ceilings[0], "a fresh backoff starts over")
}
