package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/redis/go-redis/v9"
)

// Durability is what an enqueue must have reached before the caller may
// acknowledge it (ADR 0034). The zero value waits for nothing: the entry is
// in the primary's memory and, with AOF, written to its file within a second.
type Durability struct {
	// Replicas (MUTT_REDIS_WAIT_REPLICAS) is how many replicas must have
	// received the entry: WAIT n after the XADD, on the same connection.
	Replicas int
	// AOF (MUTT_REDIS_WAITAOF) also requires the entry fsynced to the
	// primary's AOF and to the AOF of Replicas replicas: WAITAOF 1 n instead
	// of WAIT (Redis 7.2 and later).
	AOF bool
	// Timeout (MUTT_REDIS_WAIT_TIMEOUT) bounds the wait; fewer
	// acknowledgements than asked for by then is a *NotDurableError.
	Timeout time.Duration
}

// Enabled says whether an enqueue waits at all.
func (d Durability) Enabled() bool { return d.Replicas > 0 || d.AOF }

// String says what d waits for, for logs and errors.
func (d Durability) String() string {
	switch {
	case d.AOF:
		return fmt.Sprintf("WAITAOF 1 %d (fsynced locally and on %d replica(s))", d.Replicas, d.Replicas)
	case d.Replicas > 0:
		return fmt.Sprintf("WAIT %d (received by %d replica(s))", d.Replicas, d.Replicas)
	}
	return "none (primary's memory and its AOF policy)"
}

// NotDurableError is an enqueue whose entries are in the stream but were
// not confirmed as Durability asked within its timeout. They will be
// processed; a caller that reports failure invites a retry, that is a
// possible duplicate, never a loss.
type NotDurableError struct {
	Want       Durability
	Replicas   int64 // replicas that confirmed
	LocalFsync bool  // WAITAOF: the primary fsynced
}

func (e *NotDurableError) Error() string {
	if e.Want.AOF {
		return fmt.Sprintf("not durable: WAITAOF confirmed local fsync=%t and %d of %d replica(s) within %s",
			e.LocalFsync, e.Replicas, e.Want.Replicas, e.Want.Timeout)
	}
	return fmt.Sprintf("not durable: %d of %d replica(s) confirmed within %s", e.Replicas, e.Want.Replicas, e.Want.Timeout)
}

// EnqueueDurable is Enqueue followed, when d is enabled, by WAIT or WAITAOF
// on the same connection as the script (WAIT counts only the writes of the
// connection it is sent on). On a Redis Cluster that connection is one to
// the primary that owns stream's slot; a redirect (the slot is moving, or a
// replica was just promoted) refreshes the slot map and tries again, which
// is safe because a redirected script ran nowhere.
func EnqueueDurable(ctx context.Context, rdb redis.UniversalClient, stream string, limit int64, payloads [][]byte, events []int, d Durability) ([]string, int64, error) {
	return enqueueDurable(ctx, rdb, stream, limit, payloads, events, d, true)
}

// PushDurable is EnqueueDurable for a caller that needs no entry IDs, as
// Push is Enqueue's: it returns the backlog after the append.
func PushDurable(ctx context.Context, rdb redis.UniversalClient, stream string, limit int64, payloads [][]byte, events []int, d Durability) (int64, error) {
	_, depth, err := enqueueDurable(ctx, rdb, stream, limit, payloads, events, d, false)
	return depth, err
}

// enqueueDurable is EnqueueDurable, with the entry IDs when wantIDs.
func enqueueDurable(ctx context.Context, rdb redis.UniversalClient, stream string, limit int64, payloads [][]byte, events []int, d Durability, wantIDs bool) ([]string, int64, error) {
	if !d.Enabled() {
		if wantIDs {
			return Enqueue(ctx, rdb, stream, limit, payloads, events)
		}
		depth, err := Push(ctx, rdb, stream, limit, payloads, events)
		return nil, depth, err
	}
	cc, cluster := rdb.(*redis.ClusterClient)
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 20*time.Millisecond, 500*time.Millisecond, 10*time.Second
	var ids []string
	var depth int64
	err := backoff.Retry(func() error {
		node := redis.Cmdable(rdb)
		if cluster {
			n, err := cc.MasterForKey(ctx, stream)
			if err != nil {
				return fmt.Errorf("find the primary of %s: %w", stream, err)
			}
			node = n
		}
		var err error
		ids, depth, err = enqueueAndWait(ctx, node, stream, limit, payloads, events, d, wantIDs)
		if err == nil {
			return nil
		}
		var nd *NotDurableError
		if cluster && !errors.As(err, &nd) {
			// Moved, failed over or unreachable: the next call asks
			// the cluster again where the slot lives.
			cc.ReloadState(ctx)
			if redirected(err) {
				return err
			}
		}
		return backoff.Permanent(err)
	}, backoff.WithContext(b, ctx))
	var perm *backoff.PermanentError
	if errors.As(err, &perm) {
		err = perm.Err
	}
	return ids, depth, err
}

// redirected says whether err is a cluster redirect or a node that lost its
// slots in a failover: the command did not run and may be sent again.
func redirected(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN", "READONLY"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// enqueueAndWait runs the enqueue script and the wait in one pipeline: one
// connection of node, one round trip.
func enqueueAndWait(ctx context.Context, node redis.Cmdable, stream string, limit int64, payloads [][]byte, events []int, d Durability, wantIDs bool) ([]string, int64, error) {
	args := scriptArgs(limit, payloads, events)
	enqueue := pushScript
	if wantIDs {
		enqueue = enqueueScript
	}
	var script *redis.Cmd
	var wait *redis.Cmd
	ms := d.Timeout.Milliseconds()
	if ms <= 0 {
		ms = 1000
	}
	_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		script = enqueue.Eval(ctx, p, []string{stream, CounterKey(stream)}, args...)
		if d.AOF {
			wait = p.Do(ctx, "WAITAOF", 1, d.Replicas, ms)
		} else {
			wait = p.Do(ctx, "WAIT", d.Replicas, ms)
		}
		return nil
	})
	res, err := script.Slice()
	if err != nil {
		return nil, 0, fmt.Errorf("enqueue to %s: %w", stream, err)
	}
	var ids []string
	var depth int64
	if wantIDs {
		ids, depth, err = enqueueReply(stream, limit, res)
	} else {
		depth, err = pushReply(stream, limit, res)
	}
	if err != nil {
		return nil, depth, err // FullError: nothing was added, nothing to wait for
	}
	v, err := wait.Result()
	if err != nil {
		return ids, depth, fmt.Errorf("wait for durability of %s (%s): %w", stream, d, err)
	}
	nd := &NotDurableError{Want: d}
	switch r := v.(type) {
	case int64: // WAIT
		nd.Replicas = r
		if r >= int64(d.Replicas) {
			return ids, depth, nil
		}
	case []any: // WAITAOF: [local fsyncs, replica fsyncs]
		if len(r) == 2 {
			local, _ := r[0].(int64)
			nd.LocalFsync = local >= 1
			nd.Replicas, _ = r[1].(int64)
			if nd.LocalFsync && nd.Replicas >= int64(d.Replicas) {
				return ids, depth, nil
			}
		}
	default:
		return ids, depth, fmt.Errorf("wait for durability of %s: unexpected reply %v", stream, v)
	}
	return ids, depth, nd
}
