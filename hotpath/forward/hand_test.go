package forward

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
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

	h.remove(its[:1])
	h.remove(its[:1]) // twice: the counts stay right
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

	h.remove(its)
	require.Zero(t, h.size())
	h.add(testItems(1))
	require.True(t, h.hasUntried())
}
