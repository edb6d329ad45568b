// Package ratelimit is a global rate limit shared by every replica through
// Redis: GCRA (the generic cell rate algorithm) in one single-key Lua script
// that reads Redis's own clock (TIME), so replicas' clock skew does not matter
// and nothing can collide or over-admit. ADR 0044 says why this is not
// go-redis/redis_rate (its keys cannot keep the contracted names).
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcra: KEYS[1] holds the theoretical arrival time (TAT) in microseconds.
// ARGV: emission interval (µs per unit), burst tolerance (µs), quantity.
// Returns {allowed (0/1), wait µs until the request would be allowed}.
var gcra = redis.NewScript(`#!lua flags=allow-oom
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local qty = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local newtat = tat + interval * qty
local allow_at = newtat - tolerance
if allow_at > now then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', newtat), 'PX', math.ceil((newtat - now) / 1000) + 1000)
return {1, 0}
`)

// Limit is rate units per period with a burst of up to rate units.
type Limit struct {
	Rate   int64         // units per Period; 0 means unlimited
	Period time.Duration // > 0
}

// Result of one Allow call.
type Result struct {
	Allowed bool
	// RetryAfter is how long to wait before the same request can succeed.
	RetryAfter time.Duration
	// Impossible is set when qty exceeds the burst: it can never succeed.
	Impossible bool
}

// Allow takes qty units from the limit at key if they are available now.
// Denied requests take nothing.
func Allow(ctx context.Context, rdb redis.Scripter, key string, lim Limit, qty int64) (Result, error) {
	res, args, ok := prepare(lim, qty)
	if ok {
		return res, nil
	}
	return parse(key, gcra.Run(ctx, rdb, []string{key}, args...))
}

// Pending is an Allow queued on a pipeline (Queue).
type Pending struct {
	key string
	cmd *redis.Cmd // nil: answered without Redis
	res Result
}

// Queue adds Allow to pipe, so it shares one round trip with the pipeline's
// other commands; Result reads the answer after pipe.Exec. It is sent as
// EVALSHA: after Redis lost its script cache (a restart) Result fails with an
// error for which IsNoScript holds, and Allow (which loads it) is the way on.
func Queue(ctx context.Context, pipe redis.Pipeliner, key string, lim Limit, qty int64) Pending {
	res, args, ok := prepare(lim, qty)
	if ok {
		return Pending{key: key, res: res}
	}
	return Pending{key: key, cmd: gcra.EvalSha(ctx, pipe, []string{key}, args...)}
}

// Result is the queued Allow's answer, once the pipeline ran.
func (p Pending) Result() (Result, error) {
	if p.cmd == nil {
		return p.res, nil
	}
	return parse(p.key, p.cmd)
}

// IsNoScript reports whether err says Redis did not know a queued script.
func IsNoScript(err error) bool { return redis.HasErrorPrefix(err, "NOSCRIPT") }

// prepare answers without Redis when it can (ok), else returns the script's
// arguments.
func prepare(lim Limit, qty int64) (Result, []any, bool) {
	if lim.Rate <= 0 {
		return Result{Allowed: true}, nil, true
	}
	if qty > lim.Rate {
		return Result{Impossible: true}, nil, true
	}
	interval := lim.Period.Microseconds() / lim.Rate
	if interval < 1 {
		interval = 1
	}
	tolerance := interval * lim.Rate
	return Result{}, []any{interval, tolerance, qty}, false
}

func parse(key string, cmd *redis.Cmd) (Result, error) {
	res, err := cmd.Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if len(res) != 2 {
		return Result{}, fmt.Errorf("rate limit %s: unexpected reply %v", key, res)
	}
	return Result{Allowed: res[0] == 1, RetryAfter: time.Duration(res[1]) * time.Microsecond}, nil
}
