package forward_test

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/forward"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/stream"
)

// failer stands in front of the simulator and answers 500 to every request
// carrying one of the alerts it was told to fail, a number of times or for
// ever, counting the attempts of each.
type failer struct {
	mu       sync.Mutex
	left     map[string]int // event_id → failures still to answer; < 0: always
	attempts map[string]int
}

func newFailer() *failer {
	return &failer{left: make(map[string]int), attempts: make(map[string]int)}
}

// fail makes the next n requests with id fail (n < 0: every request).
func (f *failer) fail(n int, ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.left[id] = n
	}
}

func (f *failer) attemptsOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[id]
}

func (f *failer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, ids, _ := moogsim.ParseEvents(body)
		f.mu.Lock()
		failIt := false
		for _, id := range ids {
			n, ok := f.left[id]
			if !ok {
				continue
			}
			f.attempts[id]++
			if n != 0 {
				failIt = true
				if n > 0 {
					f.left[id] = n - 1
				}
			}
		}
		f.mu.Unlock()
		if failIt {
			http.Error(w, `{"message":"internal error processing this event"}`, http.StatusInternalServerError)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, req)
	})
}

// ADR 0007: an alert waiting for a retry never holds up the others. The bad
// alert is read first and has failed at least twice before the others
// arrive; they are all delivered while it is still retrying. The breaker is
// left at its default threshold: the bad alert alone fails often enough to
// open it while nothing else is sent, and it must not keep it open for the
// others: they are read for the probe, which closes it.
func TestAlertInRetryDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		failures int  // < 0: always
		tripped  bool // the others arrive after the bad alert opened the breaker
	}{
		{"failing for ever", -1, false},
		{"failing for ever, breaker opened", -1, true},
		{"failing 12 times, breaker opened", 12, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFailer()
			r := newRig(t, moogsim.Options{}, map[string]string{
				"forwarder_batch_size":    "5", // holds 10: the others take many reads
				"moog_max_retries":        "1000",
				"circuit_breaker_timeout": "1",
			}, f.wrap)
			bad := r.addAlerts(1)[0]
			f.fail(tc.failures, bad)
			w := r.start("a", "")
			require.Eventually(t, func() bool { return f.attemptsOf(bad) >= 2 }, eventually, 10*time.Millisecond)
			if tc.tripped {
				// 10 failures in a row open the breaker, and the bad alert,
				// the only one held, is the probe that fails and reopens it.
				require.Eventually(t, func() bool {
					h := r.rdb.HGetAll(r.ctx, r.keys.CircuitBreaker()).Val()
					return h["state"] == forward.StateOpen && h["probes"] != "" && h["probes"] != "0"
				}, eventually, 10*time.Millisecond)
			}

			others := r.addAlerts(50)
			require.Eventually(t, func() bool { return r.delivered(others) }, eventually, 10*time.Millisecond,
				"the other alerts are delivered")
			if tc.failures < 0 {
				require.Zero(t, r.sim.Seen(bad), "the bad alert was never accepted")
				require.Empty(t, r.dlq(t), "nor dead-lettered: it is still being retried")
				tried := f.attemptsOf(bad)
				require.GreaterOrEqual(t, tried, 2)
				require.Eventually(t, func() bool { return f.attemptsOf(bad) > tried }, eventually, 10*time.Millisecond,
					"and it keeps being retried")
				require.EventuallyWithT(t, func(c *assert.CollectT) {
					assert.EqualValues(c, 1, r.streamLen(c))
				}, eventually, 10*time.Millisecond,
					"everything but the bad alert is acknowledged")
				return
			}
			r.waitDelivered(append(others, bad))
			require.Equal(t, 1, r.sim.Seen(bad), "delivered once it stopped failing")
			require.Equal(t, tc.failures+1, f.attemptsOf(bad))
			require.Empty(t, r.dlq(t))
			require.EqualValues(t, 51, w.metric(t, "mutt_moog_alerts_processed_total", map[string]string{"status": "success"}))
		})
	}
}

// Alerts waiting for a retry do not take the room of alerts still to be
// read: with more persistently failing alerts than a forwarder may hold, it
// keeps reading and delivering the others, and the failing alerts beyond the
// retry bound (2 × forwarder_batch_size) are dead-lettered as retry_overflow
// after their first attempt instead of stopping the forwarder.
func TestAlertsInRetryDoNotStopReading(t *testing.T) {
	t.Parallel()
	f := newFailer()
	r := newRig(t, moogsim.Options{}, map[string]string{
		"forwarder_batch_size":      "5", // 10 to send, 10 waiting for a retry
		"moog_max_retries":          "1000",
		"circuit_breaker_threshold": "100000", // this test is about the bound, not the breaker
	}, f.wrap)
	bad := r.addAlerts(15)
	f.fail(-1, bad...)
	w := r.start("a", "")

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, r.dlq(c), 5)
	}, eventually, 10*time.Millisecond,
		"the failing alerts beyond the bound are dead-lettered")
	overflowed := map[string]bool{}
	for _, m := range r.dlq(t) {
		require.Equal(t, "retry_overflow", m.Values["reason"])
		require.Equal(t, "1", m.Values["attempts"])
		require.Equal(t, "500", m.Values["status"])
		require.Contains(t, m.Values["error"], "10 alerts already wait for a retry")
		for _, id := range bad {
			if bytes.Contains([]byte(m.Values["d"].(string)), []byte(id)) {
				overflowed[id] = true
			}
		}
	}
	require.Len(t, overflowed, 5)

	others := r.addAlerts(50)
	require.Eventually(t, func() bool { return r.delivered(others) }, eventually, 10*time.Millisecond,
		"the other alerts are delivered")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 15, r.streamLen(c))
	}, eventually, 10*time.Millisecond,
		"only the entry of the failing alerts is left unacknowledged: it goes once the ten retried are done too")
	require.Len(t, r.dlq(t), 5, "the alerts within the bound are still retried, not dead-lettered")
	for _, id := range bad {
		require.Zero(t, r.sim.Seen(id))
		if !overflowed[id] {
			require.Eventually(t, func() bool { return f.attemptsOf(id) >= 2 }, eventually, 10*time.Millisecond)
		}
	}
	require.EqualValues(t, 5, w.metric(t, "mutt_stream_dead_lettered_total", map[string]string{"reason": "retry_overflow"}))
}

// Alerts spread over two stream shards are all delivered once and
// acknowledged on their own shard.
func TestDeliversFromEveryShard(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, map[string]string{"forwarder_batch_size": "7", "moog_batch_size": "5"}, nil)
	r.keys = keyspace.New(r.keys.Prefix, 2)
	ids := append(r.addAlertsTo(0, 30), r.addAlertsTo(1, 40)...)
	w := r.start("a", "")
	require.Eventually(t, func() bool { return r.delivered(ids) }, eventually, 10*time.Millisecond)
	for shard := range 2 {
		require.Eventually(t, func() bool {
			n, err := stream.Len(r.ctx, r.rdb, r.keys.AlertStream(shard))
			return err == nil && n == 0
		}, eventually, 10*time.Millisecond, "shard %d acknowledged", shard)
	}
	for _, id := range ids {
		require.Equal(t, 1, r.sim.Seen(id), id)
	}
	require.Empty(t, r.dlq(t))
	require.EqualValues(t, 70, w.metric(t, "mutt_moog_alerts_processed_total", map[string]string{"status": "success"}))
}

// A Moogsoft outage longer than the retries would last dead-letters nothing:
// failed probes, like time spent open, consume no retry.
func TestFailedProbesConsumeNoRetries(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, map[string]string{
		"moog_max_retries":          "1",
		"circuit_breaker_threshold": "1",
		"circuit_breaker_timeout":   "1",
	}, nil)
	r.sim.Fail(http.StatusServiceUnavailable, -1)
	r.sim.RetryAfter(0)
	ids := r.addAlerts(3)
	w := r.start("a", "")

	require.Eventually(t, func() bool {
		n, err := r.rdb.HGet(r.ctx, r.keys.CircuitBreaker(), "probes").Int()
		return err == nil && n >= 6
	}, eventually, 10*time.Millisecond, "probes keep failing")
	require.Empty(t, r.dlq(t), "no alert ran out of retries while Moogsoft was down")

	r.sim.Heal()
	r.waitDelivered(ids)
	require.Empty(t, r.dlq(t))
	require.Zero(t, w.metric(t, "mutt_moog_alerts_processed_total", map[string]string{"status": "dlq"}))
}
