package tally

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/keyspace"
)

// Counter names: the fields of a minute's hash.
const (
	AcceptedPrefix   = "accepted_" // + event source (http, syslog, snmp)
	RefusedRateLimit = "refused_rate_limit"
	RefusedBacklog   = "refused_backlog"
	Matched          = "matched"      // events a rule matched
	Audited          = "audited"      // audit rows written
	Ignored          = "ignored"      // matched with handling ignore (audited, not forwarded)
	Alerts           = "alerts"       // alerts added to the alert stream (rule alerts and meta-alerts)
	Unhandled        = "unhandled"    // events no rule matched
	AlerterDead      = "alerter_dead" // events the alerter dead-lettered
	Delivered        = "delivered"    // alerts Moogsoft acknowledged
	MoogDead         = "moog_dead"    // alerts dead-lettered by the forwarder
	MoogOK           = "moog_ok"      // Moogsoft requests answered 2xx
	MoogFailed       = "moog_failed"  // Moogsoft requests that failed (retried or rejected)
	MoogLatencyMS    = "moog_latency_ms"
	BreakerTrips     = "breaker_trips"
)

// MinuteLayout names a minute's hash (UTC).
const MinuteLayout = "2006-01-02T15:04"

// TTL is how long a minute's hash is kept: a day and an hour, so the
// dashboard's 24 h view is always whole.
const TTL = 25 * time.Hour

// FlushEvery is how often a Recorder writes what it counted.
const FlushEvery = 2 * time.Second

// Recorder counts in memory and flushes to Redis. A nil *Recorder counts
// nothing, so components built without one (unit tests) need no checks.
type Recorder struct {
	rdb  redis.UniversalClient
	keys keyspace.Keys
	log  *slog.Logger
	now  func() time.Time

	mu     sync.Mutex
	counts map[string]map[string]int64 // minute → field → n
}

// New returns a recorder writing under keys. log may be nil.
func New(rdb redis.UniversalClient, keys keyspace.Keys, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{rdb: rdb, keys: keys, log: log, now: time.Now, counts: map[string]map[string]int64{}}
}

// Add counts n of field in the current minute.
func (r *Recorder) Add(field string, n int64) {
	if r == nil || n == 0 {
		return
	}
	minute := r.now().UTC().Format(MinuteLayout)
	r.mu.Lock()
	m := r.counts[minute]
	if m == nil {
		m = map[string]int64{}
		r.counts[minute] = m
	}
	m[field] += n
	r.mu.Unlock()
}

// Flush writes what was counted since the last flush. On failure the counts
// are kept for the next attempt.
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	pending := r.counts
	r.counts = map[string]map[string]int64{}
	r.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for minute, fields := range pending {
			k := r.keys.Tally(minute)
			for f, n := range fields {
				p.HIncrBy(ctx, k, f, n)
			}
			p.Expire(ctx, k, TTL)
		}
		return nil
	})
	if err != nil {
		r.mu.Lock()
		for minute, fields := range pending {
			m := r.counts[minute]
			if m == nil {
				r.counts[minute] = fields
				continue
			}
			for f, n := range fields {
				m[f] += n
			}
		}
		r.mu.Unlock()
		return fmt.Errorf("flush tally: %w", err)
	}
	return nil
}

// Run flushes every FlushEvery until ctx ends, then once more.
func (r *Recorder) Run(ctx context.Context) error {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := r.Flush(fctx); err != nil {
				r.log.Warn("dashboard counters not written at shutdown", "err", err)
			}
			return nil
		case <-t.C:
			if err := r.Flush(ctx); err != nil {
				r.log.Warn("dashboard counters not written; kept for the next flush", "err", err)
			}
		}
	}
}

// Minute is one minute's counters.
type Minute struct {
	Start  time.Time
	Counts map[string]int64
}

// Read returns the n whole minutes before now's minute and now's minute
// itself, oldest first (n+1 entries); a minute nobody counted in is empty.
func Read(ctx context.Context, rdb redis.UniversalClient, keys keyspace.Keys, now time.Time, n int) ([]Minute, error) {
	cur := now.UTC().Truncate(time.Minute)
	cmds := make([]*redis.MapStringStringCmd, n+1)
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i <= n; i++ {
			cmds[i] = p.HGetAll(ctx, keys.Tally(cur.Add(-time.Duration(n-i)*time.Minute).Format(MinuteLayout)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read tally: %w", err)
	}
	out := make([]Minute, n+1)
	for i, c := range cmds {
		out[i] = Minute{Start: cur.Add(-time.Duration(n-i) * time.Minute), Counts: map[string]int64{}}
		for f, v := range c.Val() {
			// A malformed field reads as zero rather than failing the view.
			if x, err := strconv.ParseInt(v, 10, 64); err == nil && x > 0 {
				out[i].Counts[f] = x
			}
		}
	}
	return out, nil
}

// Sum adds the counters of minutes.
func Sum(minutes []Minute) map[string]int64 {
	out := map[string]int64{}
	for _, m := range minutes {
		for f, n := range maps.All(m.Counts) {
			out[f] += n
		}
	}
	return out
}
