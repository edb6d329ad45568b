package forward

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/stream"
)

func testHand() *hand {
	return newHand(prometheus.NewGauge(prometheus.GaugeOpts{Name: "held"}),
		prometheus.NewGauge(prometheus.GaugeOpts{Name: "retrying"}))
}

func testItems(n int) []*item {
	its := make([]*item, n)
	for i := range its {
		its[i] = &item{id: strconv.Itoa(i), eventID: "e" + strconv.Itoa(i)}
	}
	return its
}

// Alerts waiting for a retry leave the reading room to new alerts, and have
// a bound of their own.
func TestHandBoundsRetriesApartFromReading(t *testing.T) {
	t.Parallel()
	h := testHand()
	its := testItems(10)
	ok, _ := h.reserve(10, 10)
	require.True(t, ok)
	h.unreserve(10)
	h.add(its)
	ok, _ = h.reserve(1, 10)
	require.False(t, ok, "10 alerts to send fill the room")

	for _, it := range its[:3] {
		require.True(t, h.scheduleRetry(it, 3))
	}
	require.False(t, h.scheduleRetry(its[3], 3), "a fourth alert would exceed the retry bound")
	require.True(t, h.scheduleRetry(its[0], 3), "one already retrying is rescheduled whatever the bound")
	ok, _ = h.reserve(3, 10)
	require.True(t, ok, "retrying alerts do not take the reading room")
	h.unreserve(3)

	h.done(its[:1], true)
	h.done(its[:1], true) // twice: the counts stay right
	require.True(t, h.scheduleRetry(its[3], 3), "room again once a retrying alert is gone")
	require.Equal(t, 9, h.size())
}

// The probe is the alert sent least often, taken from the ready queue if
// need be; the others keep their order.
func TestHandProbeIsTheAlertSentLeast(t *testing.T) {
	t.Parallel()
	h := testHand()
	its := testItems(4)
	h.add(its)
	require.True(t, h.hasUntried())
	taken, _, _ := h.take(1, time.Now())
	require.Equal(t, its[:1], taken)
	h.sending(taken) // its[0] fails and is sent again
	h.sending(taken)
	h.sending(its[1:3])
	require.True(t, h.hasUntried(), "its[3] was never sent")

	probe := h.probeFrom(taken)
	require.Same(t, its[3], probe)
	require.Equal(t, []*item{its[0], its[1], its[2]}, h.ready)
	h.sending([]*item{probe})
	require.False(t, h.hasUntried())

	// Among alerts sent alike, the first in the queue.
	taken, _, _ = h.take(1, time.Now())
	require.Same(t, its[1], h.probeFrom(taken))
	require.Equal(t, []*item{its[0], its[2]}, h.ready)

	h.forget(h.done(its, true))
	require.Zero(t, h.size())
	h.add(testItems(1))
	require.True(t, h.hasUntried())
}

// An entry of several alerts is finished once every one is done, once: read
// again meanwhile (its lease lapsed and this forwarder reclaimed it), it is
// not held twice. One alert that could not be dead-lettered leaves the entry
// unacknowledged, to be reclaimed.
func TestHandFinishesAnEntryWhenAllItsAlertsAreDone(t *testing.T) {
	t.Parallel()
	h := testHand()
	entry := func() []*item {
		its := make([]*item, 3)
		for i := range its {
			its[i] = &item{id: "1-0", part: i, of: 3}
		}
		return its
	}
	its := entry()
	h.add(its)
	require.Equal(t, 3, h.size())
	require.Empty(t, h.done(its[:2], true))
	h.add(entry()) // reclaimed back while one alert is still held
	require.Equal(t, 1, h.size(), "not held twice")
	fs := h.done(its[2:], true)
	require.Equal(t, []finished{{shard: 0, entry: stream.Entry{ID: "1-0", Events: 3}}}, fs)
	require.Equal(t, map[int][]string{0: {"1-0"}}, h.ids(), "its lease is kept until it is acknowledged")
	h.add(entry())
	require.Zero(t, h.size(), "finished, not yet acknowledged: not taken again")
	h.forget(fs)
	require.Empty(t, h.ids())

	its = entry()
	h.add(its)
	require.Empty(t, h.done(its[:1], false))
	require.Empty(t, h.done(its[1:], true), "one alert could not be dead-lettered: the entry is not acknowledged")
	require.Empty(t, h.ids(), "and its lease is let go, for a reader to reclaim it")
}
