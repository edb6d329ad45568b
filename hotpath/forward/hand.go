package forward

import (
	"bytes"
	"container/heap"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutt-ops/mutt/internal/stream"
)

// item is one alert this forwarder holds: read from a shard and not yet
// acknowledged or dead-lettered.
type item struct {
	shard      int
	id         string // stream entry ID
	part       int    // its place in the entry, which may hold several alerts (ADR 0049)
	of         int64  // alerts the entry holds (stream.Entry.Events)
	data       []byte // the alert as read, for the dead-letter stream
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
	attempts int        // requests that carried it, probes included
	retrying bool       // counted in hand.retrying
	entry    *heldEntry // set by hand.add
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

// handKey names an alert held: its entry and its place in it.
type handKey struct {
	shard int
	id    string
	part  int
}

// entryKey names a stream entry.
type entryKey struct {
	shard int
	id    string
}

// heldEntry is an entry of the alert stream whose alerts this forwarder
// holds: it is acknowledged once every one of them is done (delivered or
// dead-lettered), and its lease is kept until then (ADR 0049).
type heldEntry struct {
	events int64  // alerts it holds (stream.Entry.Events)
	left   int    // alerts not done yet
	lost   bool   // one could not be dead-lettered: leave the entry to be reclaimed
	gen    uint64 // the call of add that took it
}

// finished is an entry all of whose alerts are done, to acknowledge.
type finished struct {
	shard int
	entry stream.Entry
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
	entries  map[entryKey]*heldEntry // every entry an item or an unacknowledged finish holds
	gen      uint64                  // counts calls of add
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
	return &hand{items: make(map[handKey]*item), entries: make(map[entryKey]*heldEntry),
		changed: make(chan struct{}), gauge: gauge, rgauge: rgauge}
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

// add takes new alerts as ready. An entry already held (reclaimed back
// after a lease could not be extended, while some of its alerts are still
// held, or all are done and it awaits its acknowledgement) is not added
// again: it finishes as it is.
func (h *hand) add(its []*item) {
	if len(its) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen++
	for _, it := range its {
		ek := entryKey{it.shard, it.id}
		e := h.entries[ek]
		if e == nil {
			e = &heldEntry{events: max(it.of, 1), gen: h.gen}
			h.entries[ek] = e
		} else if e.gen != h.gen {
			continue
		}
		k := handKey{it.shard, it.id, it.part}
		if _, dup := h.items[k]; dup {
			continue
		}
		e.left++
		it.entry = e
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

// done forgets alerts that were delivered or dead-lettered (ok), or that
// could not be (not ok: their entry is then left to be reclaimed from the
// stream once its other alerts are done). It returns the entries whose
// every alert is now done, to acknowledge; they stay held (their leases
// kept) until forget.
func (h *hand) done(its []*item, ok bool) []finished {
	if len(its) == 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []finished
	for _, it := range its {
		k := handKey{it.shard, it.id, it.part}
		if h.items[k] != it {
			continue // not held (already done): keep the counts right
		}
		delete(h.items, k)
		if it.attempts == 0 {
			h.untried--
		}
		if it.retrying {
			it.retrying = false
			h.retrying--
		}
		e := it.entry
		e.left--
		e.lost = e.lost || !ok
		if e.left > 0 {
			continue
		}
		if e.lost {
			delete(h.entries, entryKey{it.shard, it.id})
			continue
		}
		out = append(out, finished{it.shard, stream.Entry{ID: it.id, Events: e.events}})
	}
	h.gauge.Set(float64(len(h.items)))
	h.rgauge.Set(float64(h.retrying))
	h.notifyLocked()
	return out
}

// forget lets go of finished entries once acknowledged.
func (h *hand) forget(fs []finished) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range fs {
		delete(h.entries, entryKey{f.shard, f.entry.ID})
	}
}

// ids lists the entry IDs held per shard, for extending their leases.
func (h *hand) ids() map[int][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[int][]string)
	for k := range h.entries {
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
