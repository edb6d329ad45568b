package forward

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Breaker states, as stored in the hash and exported by the state gauge.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half_open"
)

// stateValue is the gauge value of a state (0 closed, 1 open, 2 half-open).
func stateValue(s string) float64 {
	switch s {
	case StateOpen:
		return 1
	case StateHalfOpen:
		return 2
	default:
		return 0
	}
}

// The breaker is one hash shared by every forwarder, changed only by these
// single-key scripts so transitions are atomic and timed by Redis's clock
// (forwarders' clocks may disagree). Fields: state, failures (consecutive, while
// closed), opened_at and probe_until (µs, Redis time), probe_owner, trips
// (closed→open transitions), probes (probes granted), hold_until (µs, Redis
// time: Moogsoft's Retry-After, which holds every request whatever the state;
// ADR 0040), holds (Retry-After answers recorded). Every state ends by
// itself: open ends after the timeout, half-open when the probe's lease runs
// out, so a forwarder that crashes mid-probe cannot wedge the breaker.

// acquireScript decides whether a request may be sent.
// ARGV: open timeout µs, probe lease µs, probe token.
// Returns {decision, state, wait µs, failures, held}: decision 0 send (closed),
// 1 do not send (wait µs is when to ask again), 2 send as the single probe;
// held 1 when the answer is 1 because of a Retry-After hold.
var acquireScript = redis.NewScript(`#!lua flags=allow-oom
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local h = redis.call('HMGET', KEYS[1], 'state', 'failures', 'opened_at', 'probe_until', 'hold_until')
local state = h[1] or 'closed'
local hold = tonumber(h[5] or '0')
if now < hold then
  return {1, state, hold - now, tonumber(h[2] or '0'), 1}
end
if state == 'closed' then
  return {0, 'closed', 0, tonumber(h[2] or '0'), 0}
end
if state == 'open' then
  local due = tonumber(h[3] or '0') + tonumber(ARGV[1])
  if now < due then return {1, 'open', due - now, 0, 0} end
elseif state == 'half_open' then
  local until_ = tonumber(h[4] or '0')
  if now < until_ then return {1, 'half_open', until_ - now, 0, 0} end
end
redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_owner', ARGV[3],
  'probe_until', string.format('%d', now + tonumber(ARGV[2])))
redis.call('HINCRBY', KEYS[1], 'probes', 1)
return {2, 'half_open', 0, 0, 0}
`)

// holdScript records a Retry-After: no forwarder sends before it elapsed.
// It extends a hold, never shortens one. ARGV: the Retry-After in µs.
// Returns the hold's end in µs from now.
var holdScript = redis.NewScript(`#!lua flags=allow-oom
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'hold_until') or '0')
redis.call('HINCRBY', KEYS[1], 'holds', 1)
if until_ > cur then
  redis.call('HSET', KEYS[1], 'hold_until', string.format('%d', until_))
  return until_ - now
end
return cur - now
`)

// recordScript records the outcome of a request.
// ARGV: outcome (success | failure | release), threshold, probe token ("" if
// the request was not the probe). Returns {state, tripped (0/1)}.
// Results of requests that were not the probe change nothing while the breaker
// is open or half-open: they were sent before it opened, and the probe alone
// decides what happens next.
var recordScript = redis.NewScript(`#!lua flags=allow-oom
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local h = redis.call('HMGET', KEYS[1], 'state', 'failures', 'probe_owner')
local state = h[1] or 'closed'
local outcome = ARGV[1]
if state == 'half_open' then
  if ARGV[3] == '' or h[3] ~= ARGV[3] then return {state, 0} end
  if outcome == 'success' then
    redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0, 'probe_until', 0)
    redis.call('HDEL', KEYS[1], 'probe_owner')
    return {'closed', 0}
  elseif outcome == 'failure' then
    redis.call('HSET', KEYS[1], 'state', 'open', 'failures', 0, 'probe_until', 0,
      'opened_at', string.format('%d', now))
    redis.call('HDEL', KEYS[1], 'probe_owner')
    return {'open', 0}
  end
  redis.call('HSET', KEYS[1], 'probe_until', 0)
  return {'half_open', 0}
end
if state ~= 'closed' then return {state, 0} end
if outcome == 'success' then
  if tonumber(h[2] or '0') ~= 0 then redis.call('HSET', KEYS[1], 'failures', 0) end
  return {'closed', 0}
end
if outcome == 'failure' then
  local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  if n >= tonumber(ARGV[2]) then
    redis.call('HSET', KEYS[1], 'state', 'open', 'failures', 0, 'opened_at', string.format('%d', now))
    redis.call('HINCRBY', KEYS[1], 'trips', 1)
    return {'open', 1}
  end
end
return {'closed', 0}
`)

// peekScript reports the state without changing it.
// ARGV: open timeout µs. Returns {state, wait µs until a probe may be sent}.
var peekScript = redis.NewScript(`#!lua flags=allow-oom
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local h = redis.call('HMGET', KEYS[1], 'state', 'opened_at', 'probe_until')
local state = h[1] or 'closed'
local wait = 0
if state == 'open' then
  wait = tonumber(h[2] or '0') + tonumber(ARGV[1]) - now
elseif state == 'half_open' then
  wait = tonumber(h[3] or '0') - now
end
if wait < 0 then wait = 0 end
return {state, wait}
`)

// Decision is the breaker's answer to one request.
type Decision int

// Decisions.
const (
	Send  Decision = iota // closed: send
	Wait                  // open or someone else's probe: do not send
	Probe                 // send as the single half-open probe
)

// Acquired is the result of Breaker.Acquire.
type Acquired struct {
	Decision Decision
	State    string
	// Wait is how long until asking again makes sense (Decision Wait).
	Wait time.Duration
	// Failures is the consecutive failure count when closed; a success
	// needs no record when it is 0.
	Failures int64
	// Held: the answer is Wait because Moogsoft's Retry-After has not
	// elapsed (State is the breaker's state all the same).
	Held bool
}

// Breaker is the shared Moogsoft circuit breaker at one Redis key.
type Breaker struct {
	rdb redis.Scripter
	key string
}

// NewBreaker returns the breaker stored at key.
func NewBreaker(rdb redis.Scripter, key string) *Breaker { return &Breaker{rdb: rdb, key: key} }

// Acquire asks whether a request may be sent now. timeout is how long the
// breaker stays open; lease is how long a granted probe stays exclusive
// (longer than a request can take); token identifies the probe if granted.
func (b *Breaker) Acquire(ctx context.Context, timeout, lease time.Duration, token string) (Acquired, error) {
	return parseAcquired(acquireScript.Run(ctx, b.rdb, []string{b.key}, timeout.Microseconds(), lease.Microseconds(), token))
}

// queueAcquire adds Acquire to a pipeline (as EVALSHA: after Redis lost its
// script cache the answer is a NOSCRIPT error, and Acquire is the way on);
// parseAcquired reads it after Exec.
func (b *Breaker) queueAcquire(ctx context.Context, pipe redis.Pipeliner, timeout, lease time.Duration, token string) *redis.Cmd {
	return acquireScript.EvalSha(ctx, pipe, []string{b.key}, timeout.Microseconds(), lease.Microseconds(), token)
}

func parseAcquired(cmd *redis.Cmd) (Acquired, error) {
	res, err := cmd.Slice()
	if err != nil {
		return Acquired{}, fmt.Errorf("circuit breaker acquire: %w", err)
	}
	if len(res) != 5 {
		return Acquired{}, fmt.Errorf("circuit breaker acquire: unexpected reply %v", res)
	}
	d, _ := res[0].(int64)
	st, _ := res[1].(string)
	wait, _ := res[2].(int64)
	fails, _ := res[3].(int64)
	held, _ := res[4].(int64)
	return Acquired{Decision: Decision(d), State: st, Wait: time.Duration(wait) * time.Microsecond, Failures: fails,
		Held: held == 1}, nil
}

// Hold records Moogsoft's Retry-After d: every forwarder's Acquire answers
// Wait until d has elapsed on Redis's clock. It returns how long the hold
// lasts from now (longer than d when an earlier hold ends later).
func (b *Breaker) Hold(ctx context.Context, d time.Duration) (time.Duration, error) {
	left, err := holdScript.Run(ctx, b.rdb, []string{b.key}, d.Microseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("circuit breaker hold for Retry-After: %w", err)
	}
	return time.Duration(left) * time.Microsecond, nil
}

// Outcome of a request, for the breaker.
type Outcome string

// Outcomes. Release gives up a probe that was not sent.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
	Release Outcome = "release"
)

// Record reports a request's outcome (token: the probe token, "" if the
// request was not the probe). It returns the state after the record and
// whether this record opened the breaker from closed (a trip).
func (b *Breaker) Record(ctx context.Context, o Outcome, threshold int64, token string) (string, bool, error) {
	res, err := recordScript.Run(ctx, b.rdb, []string{b.key}, string(o), threshold, token).Slice()
	if err != nil {
		return "", false, fmt.Errorf("circuit breaker record %s: %w", o, err)
	}
	if len(res) != 2 {
		return "", false, fmt.Errorf("circuit breaker record %s: unexpected reply %v", o, res)
	}
	st, _ := res[0].(string)
	tripped, _ := res[1].(int64)
	return st, tripped == 1, nil
}

// Peek returns the state and, when not closed, how long until a probe may be sent.
func (b *Breaker) Peek(ctx context.Context, timeout time.Duration) (string, time.Duration, error) {
	res, err := peekScript.Run(ctx, b.rdb, []string{b.key}, timeout.Microseconds()).Slice()
	if err != nil {
		return "", 0, fmt.Errorf("circuit breaker state: %w", err)
	}
	if len(res) != 2 {
		return "", 0, fmt.Errorf("circuit breaker state: unexpected reply %v", res)
	}
	st, _ := res[0].(string)
	wait, _ := res[1].(int64)
	return st, time.Duration(wait) * time.Microsecond, nil
}

// probeToken makes a token unique to one probe grant.
func probeToken(consumer string, n uint64) string {
	return consumer + "#" + strconv.FormatUint(n, 10)
}
