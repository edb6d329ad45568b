package alert

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// stuckAfter is how long a batch step must keep failing before /health
// reports it: a single failed attempt that the next retry fixes is no alarm.
const stuckAfter = 5 * time.Second

// stepHealth tracks the batch steps that are failing right now. A PostgreSQL
// that answers its health ping but cannot write (a full disk: SQLSTATE 53100,
// "No space left on device"; a lost privilege) or a Redis that answers but
// refuses writes (maxmemory) stalls every batch while the dependency checks
// stay green; this makes it visible in /health.
type stepHealth struct {
	mu      sync.Mutex
	failing map[string]stepFailure // by step name
	after   time.Duration
}

type stepFailure struct {
	since time.Time
	err   string
}

func (h *stepHealth) fail(step string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing == nil {
		h.failing = map[string]stepFailure{}
	}
	f, ok := h.failing[step]
	if !ok {
		f.since = time.Now()
	}
	f.err = err.Error()
	h.failing[step] = f
}

func (h *stepHealth) ok(step string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.failing, step)
}

// Health is the alerter's /health check "batches": an error naming the step
// and its last error while a batch step has been failing for longer than
// stuckAfter (the batch is held and retried: nothing is lost, nothing moves).
func (a *Alerter) Health(context.Context) error {
	h := &a.steps
	h.mu.Lock()
	defer h.mu.Unlock()
	for step, f := range h.failing {
		if d := time.Since(f.since); d >= h.after {
			return fmt.Errorf("batch step %s failing for %s, retrying: %s", step, d.Round(time.Second), f.err)
		}
	}
	return nil
}
