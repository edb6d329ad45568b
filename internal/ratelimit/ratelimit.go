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
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local qty = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local newtat = tat + interval * qty
local allow_at = newtat - tolerance - interval
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
	if lim.Rate <= 0 {
		return Result{Allowed: true}, nil
	}
	if qty > lim.Rate {
		return Result{Impossible: true}, nil
	}
	interval := lim.Period.Microseconds() / lim.Rate
	if interval < 1 {
		interval = 1
	}
	tolerance := interval * lim.Rate
	res, err := gcra.Run(ctx, rdb, []string{key}, interval, tolerance, qty).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("rate limit %s: %w", key, err)
	}
	return Result{Allowed: res[0] == 1, RetryAfter: time.Duration(res[1]) * time.Microsecond}, nil
}
