package forward_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/moogsim"
)

// TestRetryAfterHoldsEveryForwarder: Moogsoft's Retry-After asks the client
// to wait before its next request. Neither the forwarder that got it nor
// another one sends anything, fresh alerts included, before it has elapsed
// (measured at the webhook); then everything is delivered.
func TestRetryAfterHoldsEveryForwarder(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, map[string]string{
		"circuit_breaker_threshold": "100000", // about Retry-After, not the breaker
		"moog_max_retries":          "1000",
	}, nil)
	r.sim.Fail(http.StatusTooManyRequests, 1)
	r.sim.RetryAfter(2)
	first := r.addAlerts(1) // one request in flight: nothing else can race the 429
	a, b := r.start("a", ""), r.start("b", "")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 1.0, a.metric(c, "mutt_moog_requests_total", map[string]string{"reason": "rate_limit"})+
			b.metric(c, "mutt_moog_requests_total", map[string]string{"reason": "rate_limit"}))
	}, eventually, 5*time.Millisecond)

	fresh := r.addAlerts(5)
	r.waitDelivered(append(first, fresh...))
	rep := r.sim.EarlyRequests(0)
	require.Equal(t, 1, rep.Asked)
	require.Empty(t, rep.Early, "requests sent before Retry-After elapsed: %+v", rep.Early)
	require.Len(t, r.sim.Arrivals(), 7, "the 429, the retry and five fresh alerts")
}
