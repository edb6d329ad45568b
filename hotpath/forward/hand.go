package forward

import (
	"bytes"
	"container/heap"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// item is one alert this forwarder holds: read from a shard and not yet
// acknowledged or dead-lettered.
type item struct {
	shard      int
	id         string // stream entry ID
	data       []byte // the entry as read, for the dead-letter stream
	deliveries int64
	replays    int64 // times DLQ remediation replayed it; kept if it is dead-lettered again

	eventID, correlationID string
	receivedAt             time.Time
	payload                []byte // the encoded Moogsoft event, reused by retries
	// detached: data, payload and the IDs no longer share the buffers of
	// the read the alert came in (stream.Consumer.Read, accept), which a
	// retry would keep alive.
	detached bool

	failures   int       // failed attempts that count toward moog_max_retries (retryable failures, not probes)
	due        time.Time // when a retry may be sent
	solo       bool      // send alone: a batch holding it was rejected
	lastStatus int
	lastErr    string

	// Guarded by hand.mu:
	attempts int  // requests that carried it, probes included
	retrying bool // counted in hand.retrying
}

// detach gives the alert its own copies of what it shares with the other
// alerts of its read; called by the one worker holding it.
func (it *item) detach() {
	if it.detached {
		return
	}
	it.data, it.payload = bytes.Clone(it.data), bytes.Clone(it.payload)
	it.eventID, it.correlationID = strings.Clone(it.eventID), strings.Clone(it.correlationID)
	it.detached = true
}

type handKey struct {
	shard int
	id    string
}

// hand is the set of alerts a forwarder holds and the schedule of their
// attempts: ready alerts in arrival order, retries ordered by due time, and a
// hold that pauses every request (breaker open, rate limit exhausted).
//
// Alerts that have failed (retrying, whether due yet or not) and the others
// (fresh) have separate bounds: readers reserve room among the fresh ones
// before reading, and an alert joins the retrying ones only while there is
// room (scheduleRetry). So alerts that keep failing never stop the reading
// of others, and what a forwarder holds stays bounded.
// Every change closes the changed channel, waking whoever waits on it.
type hand struct {
	mu       sync.Mutex
	items    map[handKey]*item
	ready    []*item
	retries  retryHeap
	retrying int // items with retrying set
	untried  int // items never sent
	reserved int
	hold     time.Time
	changed  chan struct{}
	gauge    prometheus.Gauge // every item
	rgauge   prometheus.Gauge // retrying items
}

func newHand(gauge, rgauge prometheus.Gauge) *hand {
	return &hand{items: make(map[handKey]*item), changed: make(chan struct{}), gauge: gauge, rgauge: rgauge}
}

// notifyLocked wakes every waiter.
func (h *hand) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// size is the number of alerts held.
func (h *hand) size() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.items)
}

// hasUntried reports whether an alert held was never sent.
func (h *hand) hasUntried() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.untried > 0
}

// sending counts an attempt of each alert about to be sent.
func (h *hand) sending(its []*item) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, it := range its {
		if it.attempts == 0 {
			h.untried--
		}
		it.attempts++
	}
}

// reserve makes room for a read of n alerts if the forwarder would still hold
// at most limit alerts that are not retrying; otherwise it returns a channel
// closed on the next change.
func (h *hand) reserve(n, limit int) (bool, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.items)-h.retrying+h.reserved+n > limit {
		return false, h.changed
	}
	h.reserved += n
	return true, nil
}

func (h *hand) unreserve(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reserved -= n
}

// add takes new alerts as ready. An entry already held (reclaimed back after
// a lease could not be extended) is not added twice.
func (h *hand) add(its []*item) {
	if len(its) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, it := range its {
		k := handKey{it.shard, it.id}
		if _, dup := h.items[k]; dup {
			continue
		}
		h.items[k] = it
		h.ready = append(h.ready, it)
		if it.attempts == 0 {
			h.untried++
		}
	}
	h.gauge.Set(float64(len(h.items)))
	h.notifyLocked()
}

// take returns up to limit alerts to send now. With none, it returns how long
// until a retry falls due (< 0: nothing scheduled) and a channel closed on the
// next change.
func (h *hand) take(limit int, now time.Time) ([]*item, time.Duration, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now.Before(h.hold) {
		return nil, h.hold.Sub(now), h.changed
	}
	for len(h.retries) > 0 && !h.retries[0].due.After(now) {
		h.ready = append(h.ready, heap.Pop(&h.retries).(*item))
	}
	if len(h.ready) == 0 {
		wait := time.Duration(-1)
		if len(h.retries) > 0 {
			wait = h.retries[0].due.Sub(now)
		}
		return nil, wait, h.changed
	}
	n := 0
	for n < len(h.ready) && n < limit {
		if h.ready[n].solo {
			if n == 0 {
				n = 1
			}
			break
		}
		n++
	}
	out := make([]*item, n)
	copy(out, h.ready[:n])
	clear(h.ready[:n])
	h.ready = h.ready[n:]
	return out, 0, nil
}

// putBack returns alerts that were taken but not sent to the front of the
// queue, in order.
func (h *hand) putBack(its []*item) {
	if len(its) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ready = append(append(make([]*item, 0, len(its)+len(h.ready)), its...), h.ready...)
	h.notifyLocked()
}

// scheduleRetry sets an alert aside until its due time. An alert not yet
// retrying joins the retrying ones only if fewer than limit are; otherwise
// it is refused (false) and left to the caller.
func (h *hand) scheduleRetry(it *item, limit int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !it.retrying {
		if h.retrying >= limit {
			return false
		}
		it.retrying = true
		h.retrying++
		h.rgauge.Set(float64(h.retrying))
	}
	heap.Push(&h.retries, it)
	h.notifyLocked()
	return true
}

// probeFrom picks the alert to probe the breaker with among its (just taken)
// and the ready queue: the one sent least often, so an alert that keeps
// failing does not keep the breaker open while others wait, and successive
// probes go round the alerts held. The rest go back to the front of the
// queue.
func (h *hand) probeFrom(its []*item) *item {
	h.mu.Lock()
	defer h.mu.Unlock()
	all := append(append(make([]*item, 0, len(its)+len(h.ready)), its...), h.ready...)
	best := 0
	for i, it := range all {
		if it.attempts < all[best].attempts {
			best = i
		}
	}
	probe := all[best]
	h.ready = slices.Delete(all, best, best+1)
	h.notifyLocked()
	return probe
}

// holdFor pauses every request for d (extending, never shortening, a hold).
func (h *hand) holdFor(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := time.Now().Add(d); t.After(h.hold) {
		h.hold = t
	}
}

// release ends any hold at once (the breaker closed).
func (h *hand) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hold = time.Time{}
	h.notifyLocked()
}

// wakeChan is closed on the next change.
func (h *hand) wakeChan() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

// wake wakes every waiter without changing anything.
func (h *hand) wake() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notifyLocked()
}

// remove forgets alerts that were acknowledged or dead-lettered (or given up
// to be reclaimed from the stream).
func (h *hand) remove(its []*item) {
	if len(its) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, it := range its {
		k := handKey{it.shard, it.id}
		if h.items[k] != it {
			continue // not held (already removed): keep the counts right
		}
		delete(h.items, k)
		if it.attempts == 0 {
			h.untried--
		}
		if it.retrying {
			it.retrying = false
			h.retrying--
		}
	}
	h.gauge.Set(float64(len(h.items)))
	h.rgauge.Set(float64(h.retrying))
	h.notifyLocked()
}

// ids lists the entry IDs held per shard, for extending their leases.
func (h *hand) ids() map[int][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[int][]string)
	for k := range h.items {
		out[k.shard] = append(out[k.shard], k.id)
	}
	return out
}

// retryHeap orders scheduled retries by due time.
type retryHeap []*item

func (r retryHeap) Len() int           { return len(r) }
func (r retryHeap) Less(i, j int) bool { return r[i].due.Before(r[j].due) }
func (r retryHeap) Swap(i, j int)      { r[i], r[j] = r[j], r[i] }
func (r *retryHeap) Push(x any)        { *r = append(*r, x.(*item)) }
func (r *retryHeap) Pop() any {
	old := *r
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*r = old[:len(old)-1]
	return it
}
