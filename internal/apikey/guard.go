package apikey

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// GuardOptions configure a Guard. Zero values take the defaults.
type GuardOptions struct {
	Listener    string        // the metrics label: "ingest", "api"
	MaxFailures int           // failed authentications of one client within Window before it is refused; 10
	Window      time.Duration // how long failures are remembered, and the refusal lasts; 1 minute
	MaxClients  int           // clients tracked at once (memory bound); 10000
	Registerer  prometheus.Registerer
	Now         func() time.Time
}

// Guard counts failed authentications per client address and refuses a
// client that failed too often (429 with Retry-After) until its window ends,
// so a key cannot be guessed at the listener's full speed. It logs nothing
// per attempt: mutt_auth_failures_total and mutt_auth_throttled_total count
// them.
type Guard struct {
	o         GuardOptions
	failures  prometheus.Counter
	throttled prometheus.Counter

	mu      sync.Mutex
	clients map[string]*client
	// tracked mirrors len(clients), so the common case (nobody failing) costs
	// the hot path one atomic load and no lock.
	tracked atomic.Int64
}

type client struct {
	failures int
	since    time.Time // start of the window
}

// NewGuard registers the counters (shared by every Guard on one registry,
// each listener with its own label).
func NewGuard(o GuardOptions) (*Guard, error) {
	if o.MaxFailures <= 0 {
		o.MaxFailures = 10
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 10000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	failures, err := counterVec(o.Registerer, "mutt_auth_failures_total",
		"Requests refused for a missing or unknown API key, per listener.")
	if err != nil {
		return nil, err
	}
	throttled, err := counterVec(o.Registerer, "mutt_auth_throttled_total",
		"Requests refused with 429 because their client failed authentication too often, per listener.")
	if err != nil {
		return nil, err
	}
	return &Guard{o: o, failures: failures.WithLabelValues(o.Listener), throttled: throttled.WithLabelValues(o.Listener),
		clients: map[string]*client{}}, nil
}

// counterVec registers a listener-labelled counter, or returns the one
// another listener of the same process registered already.
func counterVec(reg prometheus.Registerer, name, help string) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"listener"})
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, err
	}
	return c, nil
}

// ClientAddr is the address a Guard keys on: the connection's peer, never a
// header a client can set.
func ClientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Blocked reports whether the client must wait, and how long, before it may
// try a key again; a blocked request is counted as throttled.
func (g *Guard) Blocked(r *http.Request) (retryAfter time.Duration, blocked bool) {
	if g.tracked.Load() == 0 {
		return 0, false
	}
	addr := ClientAddr(r)
	now := g.o.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.clients[addr]
	if c == nil {
		return 0, false
	}
	if end := c.since.Add(g.o.Window); !now.Before(end) {
		g.forget(addr)
		return 0, false
	} else if c.failures >= g.o.MaxFailures {
		g.throttled.Inc()
		return end.Sub(now), true
	}
	return 0, false
}

// Failed records a failed authentication of the request's client.
func (g *Guard) Failed(r *http.Request) {
	g.failures.Inc()
	addr := ClientAddr(r)
	now := g.o.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.clients[addr]
	if c == nil || !now.Before(c.since.Add(g.o.Window)) {
		if c == nil && len(g.clients) >= g.o.MaxClients {
			g.evict(now)
		}
		c = &client{since: now}
		g.clients[addr] = c
		g.tracked.Store(int64(len(g.clients)))
	}
	c.failures++
}

// Succeeded forgets the client's failures: a client with a valid key is
// never throttled for earlier typos.
func (g *Guard) Succeeded(r *http.Request) {
	if g.tracked.Load() == 0 {
		return
	}
	addr := ClientAddr(r)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.forget(addr)
}

// forget drops one client. Called with g.mu held.
func (g *Guard) forget(addr string) {
	delete(g.clients, addr)
	g.tracked.Store(int64(len(g.clients)))
}

// evict makes room: expired clients first, else one arbitrary client (the
// bound matters more than who is forgotten). Called with g.mu held.
func (g *Guard) evict(now time.Time) {
	for addr, c := range g.clients {
		if !now.Before(c.since.Add(g.o.Window)) {
			g.forget(addr)
		}
	}
	for addr := range g.clients {
		if len(g.clients) < g.o.MaxClients {
			return
		}
		g.forget(addr)
	}
}
