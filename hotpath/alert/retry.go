package alert

import (
	"context"
	"errors"
	"strings"
	"time"

	cbackoff "github.com/cenkalti/backoff/v4"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
	// shutdownGrace bounds the work on the batch in hand once Run's context ends.
	shutdownGrace = 30 * time.Second
)

// backoff is 100 ms doubling to 5 s, with equal jitter (each delay uniform in
// [d/2, d] for d = 100 ms, 200 ms, ... 5 s) so that alerters that failed
// together do not retry together. The library's jitter is symmetric around
// its interval, so the interval is 3/4 of d and the randomization 1/3:
// 3/4·d·(1 ± 1/3) = [d/2, d]. The zero value is ready; assigning backoff{}
// starts over at 100 ms.
type backoff struct{ b *cbackoff.ExponentialBackOff }

const equalJitter = 1.0 / 3

// newEqualJitter returns the library backoff for equal jitter between lo and
// hi (see backoff), with no overall time limit.
func newEqualJitter(lo, hi time.Duration) *cbackoff.ExponentialBackOff {
	return cbackoff.NewExponentialBackOff(
		cbackoff.WithInitialInterval(lo*3/4),
		cbackoff.WithMaxInterval(hi*3/4),
		cbackoff.WithMultiplier(2),
		cbackoff.WithRandomizationFactor(equalJitter),
		cbackoff.WithMaxElapsedTime(0),
	)
}

// delay returns the next delay and advances the sequence.
func (b *backoff) delay() time.Duration {
	if b.b == nil {
		b.b = newEqualJitter(backoffMin, backoffMax)
	}
	return b.b.NextBackOff()
}

// sleep waits for the next delay; false when ctx ended first.
func (b *backoff) sleep(ctx context.Context) bool {
	return sleepCtx(ctx, b.delay())
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
