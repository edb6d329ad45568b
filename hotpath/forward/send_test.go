package forward

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		class  class
		reason string
	}{
		{200, delivered, ""}, {201, delivered, ""}, {202, delivered, ""}, {204, delivered, ""},
		{408, retryable, reasonHTTP}, {429, retryable, reasonRateLimit}, {500, retryable, reasonHTTP},
		{502, retryable, reasonHTTP}, {503, retryable, reasonHTTP}, {504, retryable, reasonHTTP},
		{400, rejected, reasonRejected}, {401, rejected, reasonRejected}, {403, rejected, reasonRejected},
		{404, rejected, reasonRejected}, {413, rejected, reasonRejected}, {301, rejected, reasonRejected},
		{302, rejected, reasonRejected}, {307, rejected, reasonRejected},
	} {
		o := classify(tc.status)
		require.Equal(t, tc.class, o.class, "%d", tc.status)
		require.Equal(t, tc.reason, o.reason, "%d", tc.status)
		if tc.class != delivered {
			require.Contains(t, o.err, http.StatusText(tc.status))
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {" 0 ", 0}, {"-4", 0}, {"soon", 0},
		{"99999999999", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
	} {
		require.Equal(t, tc.want, parseRetryAfter(tc.in, now), tc.in)
	}
}

func TestBackoffIsFullJitterUnderADoublingCap(t *testing.T) {
	t.Parallel()
	base, maxDelay := 100*time.Millisecond, 5*time.Second
	top := func(n int64) int64 { return n - 1 } // the largest value rnd may return
	for attempt, want := range map[int]time.Duration{
		1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		6: 3200 * time.Millisecond, 7: 5 * time.Second, 70: 5 * time.Second, 0: 100 * time.Millisecond,
	} {
		require.Equal(t, want, backoff(attempt, base, maxDelay, top), "attempt %d", attempt)
		require.Zero(t, backoff(attempt, base, maxDelay, func(int64) int64 { return 0 }))
	}
	require.Equal(t, time.Duration(0), backoff(3, 0, maxDelay, top))
}
