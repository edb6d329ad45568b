package forward_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/forward"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/ratelimit"
)

// tripCounter is a go-redis hook that sorts round trips to Redis: those that
// ask the breaker whether to send, and those of them that also take from the
// rate limit.
type tripCounter struct {
	breaker, limit string
	mu             sync.Mutex
	acquires       int // round trips carrying a breaker acquire
	shared         int // of those, round trips also carrying the rate limit
}

func (h *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (h *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.count(cmds)
		return next(ctx, cmds)
	}
}

// count classifies one round trip. A script call's args are name, sha or
// body, number of keys, key, ARGV; the breaker's acquire is the call on its
// key with three ARGV of which the first is a number (record's is a word,
// peek has one).
func (h *tripCounter) count(cmds []redis.Cmder) {
	acquire, limit := false, false
	for _, c := range cmds {
		a := c.Args()
		if len(a) < 4 || (c.Name() != "evalsha" && c.Name() != "eval") {
			continue
		}
		switch a[3] {
		case h.breaker:
			if _, isWord := a[4].(string); len(a) == 7 && !isWord {
				acquire = true
			}
		case h.limit:
			limit = true
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if acquire {
		h.acquires++
		if limit {
			h.shared++
		}
	}
}

// TestOneRoundTripPerRequestWhileClosed: with the breaker closed and a rate
// limit set, asking the breaker and taking from the limit share one round
// trip to Redis for each Moogsoft request (issue 13).
func TestOneRoundTripPerRequestWhileClosed(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, map[string]string{
		"moog_batch_size": "1", // one request per alert
		"moog_rate_limit": "1000000",
	}, nil)
	ids := r.addAlerts(40)
	// The pipeline sends EVALSHA; load the scripts as a running system has.
	_, err := forward.NewBreaker(r.rdb, r.keys.Prefix+"warm:cb").Acquire(r.ctx, time.Second, time.Second, "")
	require.NoError(t, err)
	_, err = ratelimit.Allow(r.ctx, r.rdb, r.keys.Prefix+"warm:rl", ratelimit.Limit{Rate: 1, Period: time.Second}, 1)
	require.NoError(t, err)
	h := &tripCounter{breaker: r.keys.CircuitBreaker(), limit: r.keys.MoogRateLimit()}
	rdb := redis.NewClient(r.rdb.Options())
	t.Cleanup(func() { _ = rdb.Close() })
	rdb.AddHook(h)
	r.startWith("a", "", rdb, quiet)
	r.waitDelivered(ids)

	h.mu.Lock()
	defer h.mu.Unlock()
	require.GreaterOrEqual(t, h.acquires, len(ids), "the breaker is asked once per request")
	require.Equal(t, h.acquires, h.shared, "every ask shares its round trip with the rate limit")
}

var _ redis.Hook = (*tripCounter)(nil)
