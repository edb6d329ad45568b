package alert

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
	// shutdownGrace bounds the work on the batch in hand once Run's context ends.
	shutdownGrace = 30 * time.Second
)

// backoff is 100 ms doubling to 5 s, with equal jitter so that alerters that
// failed together do not retry together. The zero value is ready.
type backoff struct{ next time.Duration }

// sleep waits for the next delay; false when ctx ended first.
func (b *backoff) sleep(ctx context.Context) bool {
	if b.next == 0 {
		b.next = backoffMin
	}
	d := b.next/2 + rand.N(b.next/2+1) // #nosec G404 -- backoff jitter needs no unpredictability
	b.next = min(b.next*2, backoffMax)
	return sleepCtx(ctx, d)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// detach returns a context that parent's cancellation does not end at once:
// it ends grace after parent ends (or when the returned cancel is called), so
// the batch in hand can be finished during shutdown, within a bound.
func detach(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() { time.AfterFunc(grace, cancel) })
	return ctx, func() { stop(); cancel() }
}

// isDataError reports whether PostgreSQL rejected the data itself (SQLSTATE
// class 22 data exception or 23 integrity violation): retrying the same rows
// cannot succeed, so the bad rows are found and dead-lettered. Every other
// error (connection refused or lost, timeouts, 08xxx, 57Pxx, 53xxx, ...) is
// treated as the database being unavailable: the batch waits and retries, so
// an outage never dead-letters anything.
func isDataError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23")
}

// isRedisReplyError reports whether err is an error reply about the command
// itself (wrong type, script error) rather than an unavailable server
// (network errors, LOADING, READONLY, MASTERDOWN, CLUSTERDOWN, TRYAGAIN,
// BUSY, OOM), which is worth retrying.
func isRedisReplyError(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	return strings.HasPrefix(msg, "WRONGTYPE") || strings.HasPrefix(msg, "ERR")
}
