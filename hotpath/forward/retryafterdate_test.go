package forward_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/moogsim"
)

// TestRetryAfterDateIsOnMoogsoftsClock: a Retry-After given as an HTTP date
// is on Moogsoft's clock. A forwarder whose clock disagrees by an hour, either
// way, still waits what Moogsoft asked (2 s) — not an hour (the hold then
// stalls every forwarder), and not nothing (the retry comes early).
func TestRetryAfterDateIsOnMoogsoftsClock(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var arrivals []time.Time
			wrap := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					arrivals = append(arrivals, time.Now())
					first := len(arrivals) == 1
					mu.Unlock()
					if !first {
						next.ServeHTTP(w, r)
						return
					}
					// Moogsoft's clock is off from the forwarder's by skew.
					at := time.Now().Add(skew).Truncate(time.Second)
					w.Header().Set("Date", at.UTC().Format(http.TimeFormat))
					w.Header().Set("Retry-After", at.Add(2*time.Second).UTC().Format(http.TimeFormat))
					w.WriteHeader(http.StatusServiceUnavailable)
				})
			}
			r := newRig(t, moogsim.Options{}, map[string]string{
				"circuit_breaker_threshold": "100000", // about Retry-After, not the breaker
				"moog_max_retries":          "1000",
			}, wrap)
			ids := r.addAlerts(1)
			r.start("a", "")
			r.waitDelivered(ids)
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, arrivals, 2, "the 503 and the retry")
			// Lower bound only: load can delay the retry, never advance it.
			assert.GreaterOrEqual(t, arrivals[1].Sub(arrivals[0]), 1900*time.Millisecond,
				"the retry waited for Moogsoft's Retry-After")
		})
	}
}
