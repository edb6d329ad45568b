package syslog

import (
	"context"
	"errors"
	"time"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/internal/event"
)

// batcher collects one listener's envelopes into batches (BatchSize events
// or BatchWait after the first, whichever comes first) and submits them,
// retrying a refused batch until it is queued or the drain context ends.
// While it retries its queue fills: stream listeners block (backpressure),
// UDP drops and counts.
type batcher struct {
	r        *Receiver
	listener string
	source   string
	in       chan event.Envelope
	done     chan struct{} // closed by close: no more input
}

func (r *Receiver) newBatcher(listener, source string) *batcher {
	return &batcher{r: r, listener: listener, source: source,
		in: make(chan event.Envelope, 2*r.cfg.BatchSize), done: make(chan struct{})}
}

// put queues env, waiting while the queue is full; false when ctx ended.
func (b *batcher) put(ctx context.Context, env event.Envelope) bool {
	select {
	case b.in <- env:
		return true
	case <-ctx.Done():
		return false
	}
}

// offer queues env if there is room now.
func (b *batcher) offer(env event.Envelope) bool {
	select {
	case b.in <- env:
		return true
	default:
		return false
	}
}

// close says no more input will come (every reader has stopped).
func (b *batcher) close() { close(b.done) }

// run batches until close, then submits what is left. ctx is the drain
// context: it ends drainTimeout after shutdown began.
func (b *batcher) run(ctx context.Context) error {
	size := b.r.cfg.BatchSize
	batch := make([]event.Envelope, 0, size)
	t := time.NewTimer(time.Hour)
	t.Stop()
	var tick <-chan time.Time
	flush := func() {
		if len(batch) > 0 {
			b.submit(ctx, batch)
			batch = make([]event.Envelope, 0, size)
		}
		t.Stop()
		tick = nil
	}
	for {
		select {
		case env := <-b.in:
			batch = append(batch, env)
			if len(batch) == 1 {
				t.Reset(b.r.cfg.BatchWait)
				tick = t.C
			}
			if len(batch) >= size {
				flush()
			}
		case <-tick:
			flush()
		case <-b.done:
			// Readers have stopped; take what they left.
			for {
				select {
				case env := <-b.in:
					batch = append(batch, env)
					if len(batch) >= size {
						flush()
					}
					continue
				default:
				}
				break
			}
			flush()
			return nil
		}
	}
}

// submit queues batch, retrying refusals; a batch larger than the rate
// limit allows at once is split. Only the end of ctx (the drain time after
// shutdown) gives up, counting the events as dropped.
func (b *batcher) submit(ctx context.Context, batch []event.Envelope) {
	for {
		_, err := b.r.sub.Submit(ctx, b.source, batch)
		if err == nil {
			return
		}
		var ref *ingest.Refused
		switch {
		case errors.As(err, &ref) && ref.Reason == ingest.RefusedTooLarge && len(batch) > 1:
			half := len(batch) / 2
			b.submit(ctx, batch[:half])
			b.submit(ctx, batch[half:])
			return
		case errors.As(err, &ref) && ref.Reason != ingest.RefusedTooLarge:
			b.r.m.retries.WithLabelValues(b.listener, ref.Reason).Inc()
			wait := min(max(ref.RetryAfter, minRetry), maxRetry)
			select {
			case <-ctx.Done():
				b.lost(batch, err)
				return
			case <-time.After(wait):
			}
		default:
			// One event larger than the rate limit, or an envelope the
			// ingestor will never take: dead letters, not retries.
			for i := range batch {
				b.r.deadLetter(ctx, b.listener, "refused", err, batch[i].Original, sourceOf(batch[i]))
			}
			return
		}
	}
}

func (b *batcher) lost(batch []event.Envelope, err error) {
	b.r.m.dropped.WithLabelValues(b.listener, "shutdown").Add(float64(len(batch)))
	b.r.log.Error("syslog messages not queued before shutdown", "listener", b.listener, "count", len(batch), "err", err)
}
