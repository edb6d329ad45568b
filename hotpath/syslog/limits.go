package syslog

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/mutt-ops/mutt/internal/event"
)

// sourceLimits is the per-sender rate limit (events/s), shared by every
// listener and connection of one address.
type sourceLimits struct {
	rate float64
	mu   sync.Mutex
	m    map[netip.Addr]*sourceLimit
}

type sourceLimit struct {
	lim  *rate.Limiter
	used time.Time
}

// sourceIdle is how long an unused sender's limiter is kept.
const sourceIdle = 10 * time.Minute

func (s *sourceLimits) get(a netip.Addr) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.m[a]
	if !ok {
		l = &sourceLimit{lim: rate.NewLimiter(rate.Limit(s.rate), max(1, int(s.rate)))}
		s.m[a] = l
	}
	l.used = time.Now()
	return l.lim
}

// allow takes one event now if the sender has room (UDP).
func (s *sourceLimits) allow(a netip.Addr) bool {
	return s.rate <= 0 || s.get(a).Allow()
}

// wait takes one event, waiting for room (TCP/TLS).
func (s *sourceLimits) wait(ctx context.Context, a netip.Addr) error {
	if s.rate <= 0 {
		return nil
	}
	return s.get(a).Wait(ctx)
}

// sweep forgets idle senders until ctx ends.
func (s *sourceLimits) sweep(ctx context.Context) {
	if s.rate <= 0 {
		return
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.mu.Lock()
			for a, l := range s.m {
				if now.Sub(l.used) > sourceIdle {
					delete(s.m, a)
				}
			}
			s.mu.Unlock()
		}
	}
}

// nameCache remembers reverse lookups, failures included, so a sender
// without DNS costs one lookup per TTL, not one per message.
type nameCache struct {
	res Resolver
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[netip.Addr]cachedName
}

type cachedName struct {
	name    string // "" when the lookup failed
	expires time.Time
}

// maxCachedNames bounds the cache; when full it starts over.
const maxCachedNames = 100000

// lookupTimeout bounds one reverse lookup (it holds up its listener).
const lookupTimeout = time.Second

func (c *nameCache) lookup(ctx context.Context, a netip.Addr) string {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[a]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.name
	}
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	names, err := c.res.LookupAddr(lctx, a.String())
	cancel()
	name := ""
	if err == nil && len(names) > 0 {
		name = strings.TrimSuffix(names[0], ".")
		if len(name) > maxHostname {
			name = ""
		}
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedNames {
		clear(c.m)
	}
	c.m[a] = cachedName{name: name, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return name
}

// sourceOf is the sender recorded in an envelope's original.
func sourceOf(e event.Envelope) netip.Addr {
	var f struct {
		SourceIP string `json:"source_ip"`
	}
	if json.Unmarshal(e.Original, &f) != nil {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(f.SourceIP)
	return a
}
