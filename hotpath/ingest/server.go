package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/mutt-ops/mutt/internal/apikey"
	"github.com/mutt-ops/mutt/internal/apiversion"
	"github.com/mutt-ops/mutt/internal/correlation"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/jsonenc"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/ratelimit"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/tally"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/tlsconfig"
)

// ServiceName is how the ingestor names itself in /health and /.
const ServiceName = "mutt-ingestor"

// queueFullRetryAfter is the Retry-After (seconds) of a 503: long enough for
// the alerters to drain a share of the backlog, short enough that rsyslog's
// retry does not fall far behind.
const queueFullRetryAfter = 5

// depthEvery is the period of the backlog refresh behind
// mutt_ingest_queue_depth, so the gauge stays current while no request is
// accepted (idle, or answering 503).
const depthEvery = 2 * time.Second

// answerTimeout is how long an ingest answer may take to write once the body
// is in: queueing is a few Redis round trips.
const answerTimeout = 30 * time.Second

// Options build a Server.
type Options struct {
	Config Config
	Redis  redis.UniversalClient
	Keys   keyspace.Keys
	// Dyn serves ingest_max_rate, ingest_rate_window and
	// max_ingest_queue_size; the caller runs Dyn.Run so changes apply.
	Dyn *dynconfig.Store
	// Log is used as given; the caller sets component (cmd/mutt: "ingestor").
	Log *slog.Logger
	// Registerer receives the metrics; Gatherer serves /metrics (when nil,
	// Registerer is used if it is also a Gatherer, as *prometheus.Registry is).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	Now        func() time.Time // clock of received_at and the dashboard buckets; time.Now
	// APIKeys, when set, is asked for the accepted keys on every request
	// and wins over Config.APIKeys: during a rotation it returns CURRENT
	// and NEXT (secrets.Cache.Pair), so a new key works the moment the
	// cache holds it. Empty entries are ignored; an empty list refuses
	// every request.
	APIKeys func() []string
	// RefreshKeys, when set, re-reads the source of APIKeys (the secrets
	// cache) before a request with an unknown key is refused, at most once
	// per keyRefreshInterval: a NEXT key stored in the provider moments ago
	// is accepted before the rotation notice reaches this process.
	RefreshKeys func(ctx context.Context) error
	// HTTP bounds the listener Run serves on; Run adds Config.TLS.
	HTTP telemetry.HTTPConfig
	// Tally, when set, counts accepted events by source and refusals for
	// the live dashboard (it is flushed by whoever runs it).
	Tally *tally.Recorder
}

// keyRefreshInterval bounds how often requests with unknown keys make the
// ingestor re-read the secrets provider (bad keys must not hammer Vault).
const keyRefreshInterval = time.Second

// Server is the HTTP ingestor.
type Server struct {
	cfg      Config
	rdb      redis.UniversalClient
	keys     keyspace.Keys
	dyn      *dynconfig.Store
	log      *slog.Logger
	now      func() time.Time
	m        *metrics
	dec      decoder
	apiKeys  func() []string        // nil: staticKeys only
	static   *keySet                // from Config.APIKeys
	keyCache atomic.Pointer[keySet] // digests of the last list apiKeys returned
	refresh  func(ctx context.Context) error
	guard    *apikey.Guard // failed authentications per client
	http     telemetry.HTTPConfig
	refreshM sync.Mutex
	lastRef  time.Time // start of the last refresh (guarded by refreshM)
	metrics  http.Handler
	health   http.Handler
	mux      *http.ServeMux
	bufs     sync.Pool // *bytes.Buffer for request bodies
	batches  sync.Pool // *batch: the decoder's envelopes and buffers
	payloads sync.Pool // *payloads: the stream payloads of a request

	buckets atomic.Pointer[minuteBuckets] // dashboard counter keys of the last minute counted

	depthMu sync.Mutex
	depths  []int64 // last backlog seen per ingest shard; the gauge shows the largest
	tally   *tally.Recorder

	// memFull is set while Redis refuses writes for memory (maxmemory):
	// the monotonic time (since started) until which /health reports
	// redis_memory as failing; 0 once a write succeeds again.
	started time.Time
	memFull atomic.Int64
}

// route is the one method a path answers (GET also answers HEAD).
type route struct {
	method string
	h      func(w http.ResponseWriter, r *http.Request, cid string)
}

// New checks the options and builds a Server.
func New(o Options) (*Server, error) {
	cfg := o.Config.withDefaults()
	switch {
	case o.Redis == nil:
		return nil, errors.New("ingest: Options.Redis is required")
	case o.Dyn == nil:
		return nil, errors.New("ingest: Options.Dyn is required")
	case o.Keys.Shards < 1 || o.Keys.Prefix == "":
		return nil, errors.New("ingest: Options.Keys must come from keyspace.New")
	case o.Registerer == nil:
		return nil, errors.New("ingest: Options.Registerer is required")
	case len(cfg.APIKeys) == 0 && o.APIKeys == nil:
		return nil, errors.New("ingest: at least one API key is required (INGEST_API_KEY)")
	}
	gatherer := o.Gatherer
	if gatherer == nil {
		g, ok := o.Registerer.(prometheus.Gatherer)
		if !ok {
			return nil, errors.New("ingest: Options.Gatherer is required when Registerer is not a Gatherer")
		}
		gatherer = g
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if off := cfg.ClockOffset; off != 0 {
		wall := now
		now = func() time.Time { return wall().Add(off) }
		log.Warn("MUTT_TEST_CLOCK_OFFSET is set: this ingestor stamps events with a clock that is off by it (a fault test, ADR 0041)",
			"offset", off)
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:  cfg,
		rdb:  o.Redis,
		keys: o.Keys,
		dyn:  o.Dyn,
		log:  log,
		now:  now,
		m:    m,
		dec: decoder{
			maxBatch: cfg.MaxBatch, maxField: cfg.MaxFieldBytes, maxDepth: cfg.MaxDepth, newID: uuid.NewV7,
			ids: &v7Source{now: time.Now},
		},
		metrics:  promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}),
		bufs:     sync.Pool{New: func() any { return new(bytes.Buffer) }},
		batches:  sync.Pool{New: func() any { return new(batch) }},
		payloads: sync.Pool{New: func() any { return new(payloads) }},
		depths:   make([]int64, o.Keys.Shards),
		tally:    o.Tally,
	}
	for i, k := range cfg.APIKeys {
		if k == "" {
			return nil, fmt.Errorf("ingest: API key %d is empty", i)
		}
	}
	s.static = newKeySet(cfg.APIKeys)
	if s.guard, err = apikey.NewGuard(apikey.GuardOptions{Listener: "ingest", Registerer: o.Registerer, Now: now}); err != nil {
		return nil, err
	}
	s.apiKeys = o.APIKeys
	s.refresh = o.RefreshKeys
	s.http = o.HTTP
	s.started = time.Now()
	s.health = telemetry.HealthHandler(log, ServiceName, telemetry.Check{
		Name: "redis",
		Fn:   func(ctx context.Context) error { return s.rdb.Ping(ctx).Err() },
	}, telemetry.Check{
		Name: "redis_memory",
		Fn: func(context.Context) error {
			if until := s.memFull.Load(); until != 0 && int64(time.Since(s.started)) < until {
				return errRedisMemory
			}
			return nil
		},
	})
	s.mux = s.newMux()
	return s, nil
}

// routeTable is every route of the ingestor: path → its one method and handler.
func (s *Server) routeTable() map[string]route {
	return map[string]route{
		"/ingest":        {http.MethodPost, s.ingest},
		"/api/v1/ingest": {http.MethodPost, s.ingest},
		"/api/v2/ingest": {http.MethodPost, s.ingest},
		"/health":        {http.MethodGet, func(w http.ResponseWriter, r *http.Request, _ string) { s.health.ServeHTTP(w, r) }},
		"/metrics":       {http.MethodGet, func(w http.ResponseWriter, r *http.Request, _ string) { s.metrics.ServeHTTP(w, r) }},
		"/":              {http.MethodGet, s.info},
		"/admin/config":  {http.MethodGet, s.adminConfig},
	}
}

// Routes lists the ingestor's routes (path → method), so a test can walk
// every one of them and a new route is covered without editing the test.
func Routes() map[string]string {
	out := map[string]string{}
	for p, r := range (&Server{}).routeTable() {
		out[p] = r.method
	}
	return out
}

// Handler serves every route of the ingestor.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Run serves Handler on Config.Addr (with TLS when Config.TLS names
// files) and keeps the backlog gauge current (TrackQueueDepth) until ctx
// ends, then drains in-flight requests. Dynamic config is kept current by
// the caller's Dyn.Run.
func (s *Server) Run(ctx context.Context) error {
	hc, err := s.HTTPConfig()
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.TrackQueueDepth(ctx) })
	g.Go(func() error { return telemetry.Serve(ctx, s.log, s.cfg.Addr, s.Handler(), hc) })
	return g.Wait()
}

// HTTPConfig is Options.HTTP with the TLS of Config.TLS, for a caller that
// serves Handler itself.
func (s *Server) HTTPConfig() (telemetry.HTTPConfig, error) {
	hc := s.http
	if s.cfg.TLS.Enabled() {
		tc, err := tlsconfig.New(s.cfg.TLS, s.log)
		if err != nil {
			return hc, fmt.Errorf("ingest tls: %w", err)
		}
		hc.TLS = tc
	}
	return hc, nil
}

// TrackQueueDepth refreshes mutt_ingest_queue_depth from the ingest streams
// every few seconds until ctx ends, so the gauge follows the backlog while no
// request is accepted. Requests update it too. A caller that serves Handler
// itself runs this next to it; Run does both.
func (s *Server) TrackQueueDepth(ctx context.Context) error {
	t := time.NewTicker(depthEvery)
	defer t.Stop()
	failing := false
	for {
		depths, err := stream.Depths(ctx, s.rdb, s.keys.IngestStreams()...)
		switch {
		case err == nil:
			for sh, d := range depths {
				s.noteDepth(sh, d)
			}
			failing = false
		case ctx.Err() == nil && !failing:
			// Once per outage; the gauge keeps the last value seen.
			s.log.Warn("read the ingest backlog for mutt_ingest_queue_depth", "err", err)
			failing = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// noteDepth records the backlog of one shard and sets the gauge to the
// largest known, the one that decides the next 503.
func (s *Server) noteDepth(shard int, depth int64) {
	s.depthMu.Lock()
	defer s.depthMu.Unlock()
	s.depths[shard] = depth
	s.m.depth.Set(float64(slices.Max(s.depths)))
}

// newMux registers every route as a method pattern of a ServeMux (GET also
// answers HEAD), each path with a method-less pattern after it that answers
// 405 naming the allowed method, and a catch-all answering 404: both with
// the ingestor's JSON error body rather than the mux's plain text.
func (s *Server) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	for p, rt := range s.routeTable() {
		pat := p
		if p == "/" {
			pat = "/{$}" // "/" alone would match every path
		}
		mux.Handle(rt.method+" "+pat, withCorrelationID(rt.h))
		mux.Handle(pat, withCorrelationID(func(w http.ResponseWriter, r *http.Request, cid string) {
			allow := rt.method
			if rt.method == http.MethodGet {
				allow += ", " + http.MethodHead
			}
			w.Header().Set("Allow", allow)
			s.writeError(w, &requestError{status: http.StatusMethodNotAllowed,
				msg: fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, rt.method)}, cid)
		}))
	}
	mux.Handle("/", withCorrelationID(s.notFound))
	return mux
}

// withCorrelationID adapts a route's handler: serveHTTP has put the
// request's correlation id on the response already.
func withCorrelationID(h func(w http.ResponseWriter, r *http.Request, cid string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, w.Header().Get("X-Correlation-ID"))
	})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, cid string) {
	s.writeError(w, &requestError{status: http.StatusNotFound,
		msg: fmt.Sprintf("no such endpoint %s; GET / lists the endpoints", r.URL.Path)}, cid)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	cid := correlation.FromHeader(r.Header.Get("X-Correlation-ID"))
	w.Header().Set("X-Correlation-ID", cid)
	apiversion.Set(w.Header(), r.URL.Path) // the admin API's version headers on /api/v*/ingest
	// The mux would redirect an unclean path (//ingest, /a/../ingest) to
	// its clean form; a client posting events must not be redirected, so
	// a path that is not exactly a route's is not found.
	if p := r.URL.EscapedPath(); p != cleanPath(p) {
		s.notFound(w, r, cid)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// cleanPath is the form ServeMux redirects a request path to.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// authorized compares the X-API-KEY header with every configured key in
// constant time (no early exit, so timing does not tell which key nearly
// matched). Any byte in the header is just a key that does not match.
func (s *Server) authorized(r *http.Request) bool {
	if s.matches(r) {
		return true
	}
	if s.refresh == nil || s.apiKeys == nil {
		return false
	}
	arrived := time.Now()
	s.refreshM.Lock()
	defer s.refreshM.Unlock()
	// A refresh that started after this request arrived already covers it.
	if s.lastRef.Before(arrived) && time.Since(s.lastRef) >= keyRefreshInterval {
		s.lastRef = time.Now()
		if err := s.refresh(r.Context()); err != nil {
			s.log.Warn("re-read the API keys", "err", err)
		}
	}
	return s.matches(r)
}

// matches compares the header with the keys in force (apikey.Set: constant
// time, no early exit).
func (s *Server) matches(r *http.Request) bool {
	_, ok := s.acceptedKeys().set.Match(r.Header.Get("X-API-KEY"))
	return ok
}

// keySet is a list of accepted keys and their matcher.
type keySet struct {
	keys []string
	set  *apikey.Set[struct{}]
}

func newKeySet(keys []string) *keySet {
	ks := make([]apikey.Key[struct{}], len(keys))
	for i, k := range keys {
		ks[i] = apikey.Key[struct{}]{Value: k}
	}
	return &keySet{keys: slices.Clone(keys), set: apikey.NewSet(ks)}
}

// acceptedKeys asks Options.APIKeys for the list on every request; the
// digests are recomputed only when the list differs from the last one (a
// rotation), so the common path is one slice compare.
func (s *Server) acceptedKeys() *keySet {
	if s.apiKeys == nil {
		return s.static
	}
	keys := s.apiKeys()
	if ks := s.keyCache.Load(); ks != nil && slices.Equal(ks.keys, keys) {
		return ks
	}
	ks := newKeySet(keys)
	s.keyCache.Store(ks)
	return ks
}

// authenticate answers 429 to a client that failed authentication too often
// (apikey.Guard), 401 to a missing or unknown key, and reports whether the
// request may go on. Failures are counted (mutt_auth_failures_total), not
// logged one line each.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, cid string) bool {
	if wait, blocked := s.guard.Blocked(r); blocked {
		s.m.requests.WithLabelValues("fail", reasonAuth).Inc()
		s.writeError(w, &requestError{status: http.StatusTooManyRequests, reason: reasonAuth,
			retryAfter: max(1, int(wait.Round(time.Second)/time.Second)),
			msg:        "too many failed authentications from this address: retry later with a valid X-API-KEY"}, cid)
		return false
	}
	if !s.authorized(r) {
		s.guard.Failed(r)
		s.unauthorized(w, r, cid)
		return false
	}
	s.guard.Succeeded(r)
	return true
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, cid string) {
	// A client without a key gets no time to send its body: net/http would
	// otherwise wait for the rest of it (to reuse the connection) under the
	// listener's read timeout. The expired deadline makes that discard fail
	// at once, and the connection closes after the 401.
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	s.m.requests.WithLabelValues("fail", reasonAuth).Inc()
	s.writeError(w, &requestError{status: http.StatusUnauthorized, reason: reasonAuth,
		msg: "unauthorized: missing or invalid X-API-KEY header"}, cid)
}

// errorBody is every error response.
type errorBody struct {
	Status        string `json:"status"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlation_id"`
	RetryAfter    int    `json:"retry_after,omitempty"`
	QueueDepth    *int64 `json:"queue_depth,omitempty"`
	QueueLimit    *int64 `json:"queue_limit,omitempty"`
}

func (s *Server) writeError(w http.ResponseWriter, e *requestError, cid string) {
	body := errorBody{Status: "error", Message: e.msg, CorrelationID: cid, RetryAfter: e.retryAfter}
	if e.reason == reasonQueueFull {
		body.QueueDepth, body.QueueLimit = &e.queueDepth, &e.queueLimit
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	telemetry.WriteJSON(w, e.status, body)
}

// queued is the 200 answer.
type queued struct {
	Status        string   `json:"status"`
	CorrelationID string   `json:"correlation_id"`
	QueueDepth    int64    `json:"queue_depth"`
	Count         int      `json:"count"`
	EventIDs      []string `json:"event_ids"`
}

// writeQueued writes the 200 answer byte for byte as telemetry.WriteJSON
// does (TestWriteQueuedIsWriteJSON), by hand: encoding/json's reflection
// over a hundred event ids cost more than the rest of the answer.
// AppendString is encoding/json's encoding but for HTML escaping, which
// the status and event ids (UUIDs the decoder or Submit made) never need;
// a correlation id that would (correlation.FromHeader keeps none) goes to
// encoding/json.
func writeQueued(w http.ResponseWriter, q *queued) {
	if strings.ContainsAny(q.CorrelationID, "<>&") || strings.ContainsAny(q.Status, "<>&") {
		telemetry.WriteJSON(w, http.StatusOK, q)
		return
	}
	buf := make([]byte, 0, 128+len(q.CorrelationID)+len(q.EventIDs)*(uuidLen+3))
	buf = jsonenc.AppendStringMember(buf, `{"status":`, q.Status)
	buf = jsonenc.AppendStringMember(buf, `,"correlation_id":`, q.CorrelationID)
	buf = strconv.AppendInt(append(buf, `,"queue_depth":`...), q.QueueDepth, 10)
	buf = strconv.AppendInt(append(buf, `,"count":`...), int64(q.Count), 10)
	buf = append(buf, `,"event_ids":`...)
	if q.EventIDs == nil {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, '[')
		for i, id := range q.EventIDs {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = jsonenc.AppendString(buf, id)
		}
		buf = append(buf, ']')
	}
	buf = append(buf, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf) // #nosec G705 -- JSON, not HTML: ids are our UUIDs; a correlation id with <, > or & takes telemetry.WriteJSON (see the caller)
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request, cid string) {
	if !s.authenticate(w, r, cid) {
		return
	}
	start := time.Now()
	buf := s.bufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4<<20 { // huge bodies are rare; let the GC have their buffers
			buf.Reset()
			s.bufs.Put(buf)
		}
	}()
	res, n, err := s.accept(w, r, cid, buf)
	if err != nil {
		var re *requestError
		if !errors.As(err, &re) {
			s.log.Error("ingest failed", "err", err, "correlation_id", cid)
			re = &requestError{status: http.StatusInternalServerError, reason: "internal", msg: "internal error"}
		}
		s.m.requests.WithLabelValues("fail", re.reason).Inc()
		s.m.countEvents(event.SourceHTTP, "rejected", max(n, 1))
		s.writeError(w, re, cid)
	} else {
		s.m.requests.WithLabelValues("success", "").Inc()
		s.m.countEvents(event.SourceHTTP, "accepted", n)
		writeQueued(w, &res)
	}
	s.m.latency.Observe(time.Since(start).Seconds())
}

// accept runs the checks in contract order (size 413, parse 400, rate 429,
// backlog 503) and queues the events. n is the number of events decoded.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, cid string, buf *bytes.Buffer) (queued, int, error) {
	limit := s.cfg.MaxBodyBytes
	tooLarge := func() error {
		return &requestError{status: http.StatusRequestEntityTooLarge, reason: reasonTooLarge,
			msg: fmt.Sprintf("request body larger than %d bytes (limit MUTT_INGEST_MAX_BODY_BYTES); send smaller batches", limit)}
	}
	if r.ContentLength > limit {
		return queued{}, 0, tooLarge()
	}
	// The key is good: the body may take up to BodyTimeout, longer than
	// the listener's read timeout, and the answer its write time after that.
	// (An error means the connection cannot take deadlines: a test recorder.)
	rc := http.NewResponseController(w)
	bodyDone := time.Now().Add(s.cfg.BodyTimeout)
	_ = rc.SetReadDeadline(bodyDone)
	_ = rc.SetWriteDeadline(bodyDone.Add(answerTimeout))
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1) // +1: ReadFrom needs room to see EOF
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return queued{}, 0, tooLarge()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.Header().Set("Connection", "close")
			return queued{}, 0, &requestError{status: http.StatusRequestTimeout, reason: reasonTimeout,
				msg: fmt.Sprintf("request body not received within %s (MUTT_INGEST_BODY_TIMEOUT)", s.cfg.BodyTimeout)}
		}
		return queued{}, 0, badJSON("could not read the request body: %v", err)
	}

	receivedAt := s.now().UTC()
	b := s.batches.Get().(*batch)
	defer func() {
		if b.release() {
			s.batches.Put(b)
		}
	}()
	envs, err := s.dec.decodeInto(b, buf.Bytes(), stamp{correlationID: cid, receivedAt: receivedAt})
	if err != nil {
		return queued{}, 0, err
	}
	n := len(envs)
	depth, err := s.queue(r.Context(), envs, receivedAt, cid)
	if err != nil {
		return queued{}, n, err
	}

	ids := make([]string, n)
	for i := range envs {
		ids[i] = envs[i].EventID
	}
	s.log.Debug("queued events", "count", n, "correlation_id", cid)
	return queued{Status: "queued", CorrelationID: cid, QueueDepth: depth, Count: n, EventIDs: ids}, n, nil
}

// queue is the path every source shares once its events are stamped: the
// global rate limit (in events), the backlog limit, the add to the ingest
// shards and the dashboard counters. It returns the backlog after the add;
// a refusal is a *requestError and leaves nothing queued.
func (s *Server) queue(ctx context.Context, envs []event.Envelope, receivedAt time.Time, cid string) (int64, error) {
	n := len(envs)
	if err := s.rateLimit(ctx, n, cid); err != nil {
		s.countRefusal(err, n)
		return 0, err
	}
	depth, err := s.enqueue(ctx, envs, cid)
	if err != nil {
		s.countRefusal(err, n)
		return 0, err
	}
	// One Add per run of one source (a request has one): Add takes a lock
	// and formats the minute.
	for i := 0; i < len(envs); {
		j := i + 1
		for j < len(envs) && envs[j].Source == envs[i].Source {
			j++
		}
		s.tally.Add(tally.AcceptedPrefix+envs[i].Source, int64(j-i))
		i = j
	}
	// The events are in Redis; the dashboard counters are best effort, and
	// counted even if the client has gone.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	s.countEvents(cctx, receivedAt, n)
	cancel()
	return depth, nil
}

// countRefusal counts a rate-limit (429) or backlog (503) refusal of n
// events for the dashboard.
func (s *Server) countRefusal(err error, n int) {
	var re *requestError
	if !errors.As(err, &re) {
		return
	}
	switch re.reason {
	case reasonRateLimit:
		s.tally.Add(tally.RefusedRateLimit, int64(n))
	case reasonQueueFull:
		s.tally.Add(tally.RefusedBacklog, int64(n))
	}
}

// redisDown is the 503 for a Redis failure; the error itself is logged by
// the caller and never sent to the client.
func redisDown(what string) *requestError {
	return &requestError{status: http.StatusServiceUnavailable, reason: reasonRedis, retryAfter: queueFullRetryAfter,
		msg: "service unavailable: Redis is unavailable (" + what + "); retry later"}
}

// errRedisMemory is what /health says while Redis refuses writes for memory.
var errRedisMemory = errors.New("redis refuses writes: out of memory (maxmemory reached)")

// memFullFor is how long /health reports redis_memory failing after the
// last write Redis refused for memory, unless a write succeeds before.
const memFullFor = 10 * time.Second

// isOutOfMemory reports whether Redis refused a command because it is at its
// maxmemory with a policy that evicts nothing it may evict (the OOM error
// reply, also when a script's write hit it).
func isOutOfMemory(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.Contains(rerr.Error(), "OOM command not allowed")
}

// redisFailed logs a failed Redis step and returns its 503: "out of memory"
// when Redis refused the write for memory (it answers, it has no room: the
// operator must free or raise maxmemory), "unavailable" otherwise. Nothing
// of the request was queued either way.
func (s *Server) redisFailed(err error, what, cid string) *requestError {
	if isOutOfMemory(err) {
		s.memFull.Store(int64(time.Since(s.started) + memFullFor))
		s.log.Error("redis refuses writes: out of memory (maxmemory reached); ingest answers 503 until memory is freed or maxmemory raised",
			"step", what, "err", err, "correlation_id", cid)
		return &requestError{status: http.StatusServiceUnavailable, reason: reasonRedisMemory, retryAfter: queueFullRetryAfter,
			msg: "service unavailable: Redis is out of memory (its maxmemory is reached) and refuses new events; nothing was queued; retry later"}
	}
	s.log.Error(what+" failed", "err", err, "correlation_id", cid)
	return redisDown(what)
}

// wrote notes a successful write: Redis has room (again).
func (s *Server) wrote() {
	if s.memFull.Load() != 0 {
		s.memFull.Store(0)
	}
}

// rateLimit takes n events from the global limit, read from dynamic config
// on every request so a change applies at once.
func (s *Server) rateLimit(ctx context.Context, n int, cid string) error {
	lim := ratelimit.Limit{Rate: s.dyn.Int(dynconfig.IngestMaxRate), Period: s.dyn.Duration(dynconfig.IngestRateWindow)}
	res, err := ratelimit.Allow(ctx, s.rdb, s.keys.IngestRateLimit(), lim, int64(n))
	if err != nil {
		return s.redisFailed(err, "rate limit", cid)
	}
	switch {
	case res.Impossible:
		return &requestError{status: http.StatusRequestEntityTooLarge, reason: reasonTooLarge,
			msg: fmt.Sprintf("batch of %d events is larger than the rate limit allows at once (%d events per %s); send smaller batches",
				n, lim.Rate, lim.Period)}
	case !res.Allowed:
		s.m.rateHits.Inc()
		s.m.rateAlias.Inc()
		secs := max(1, int(math.Ceil(res.RetryAfter.Seconds())))
		return &requestError{status: http.StatusTooManyRequests, reason: reasonRateLimit, retryAfter: secs,
			msg: fmt.Sprintf("too many requests: ingest rate limit of %d events per %s exceeded; retry after %d s",
				lim.Rate, lim.Period, secs)}
	}
	return nil
}

// shardOf is the ingest stream shard of a host: FNV-1a of the lower-cased
// name, so one host always lands on one shard and keeps its order.
func shardOf(host string, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = io.WriteString(h, strings.ToLower(host))
	return int(h.Sum32() % uint32(shards)) // #nosec G115 -- shards > 1 here and is a small configured shard count, far below 2^32
}

// enqueue adds every envelope to its shard, as entries of up to
// stream.MaxPerEntry events in request order (ADR 0048), and returns the
// backlog in events after the add (the largest of the shards touched). A
// refusal never leaves part of the request queued: with one shard the check
// and the add are one atomic script; with several, every shard is checked
// before any is added.
func (s *Server) enqueue(ctx context.Context, envs []event.Envelope, cid string) (int64, error) {
	if len(envs) == 0 {
		return 0, nil
	}
	limit := s.dyn.Int(dynconfig.MaxIngestQueueSize)
	// The limit is for the whole backlog; each shard gets its share (at
	// least 1, as 0 would mean unbounded to stream.Enqueue).
	perShard := max(1, limit/int64(s.keys.Shards))
	full := func(depth int64) error {
		s.log.Info("ingest backlog full, refusing request", "depth", depth, "limit", perShard, "correlation_id", cid)
		return &requestError{status: http.StatusServiceUnavailable, reason: reasonQueueFull, retryAfter: queueFullRetryAfter,
			queueDepth: depth, queueLimit: perShard,
			msg: fmt.Sprintf("service unavailable: ingest queue full (%d of %d); retry later", depth, perShard)}
	}

	idx, shards := s.shardsOf(envs)
	streams := make([]string, len(shards))
	for i, sh := range shards {
		streams[i] = s.keys.IngestStream(sh)
	}
	// One shard's push script checks its backlog atomically with the add.
	// It is read first only when it was last seen at its limit: the request
	// is then likely refused, and the backlog alone (a small round trip)
	// says so without encoding the events and sending them all to Redis to
	// be turned away — under overload that is most requests, and each cost
	// nearly what an accepted one does. The push still checks.
	if len(shards) > 1 || s.seenFull(shards[0], perShard) {
		depths, err := stream.Depths(ctx, s.rdb, streams...)
		if err != nil {
			s.log.Error("backlog check failed", "err", err, "correlation_id", cid)
			return 0, redisDown("backlog check")
		}
		for i, d := range depths {
			s.noteDepth(shards[i], d)
		}
		for _, d := range depths {
			if d >= perShard {
				return 0, full(d)
			}
		}
	}

	p := s.payloads.Get().(*payloads)
	defer func() {
		if p.release() {
			s.payloads.Put(p)
		}
	}()
	payloads := p.encode(envs)
	byShard := p.pack(byShard(idx, payloads), len(payloads))
	if len(shards) == 1 {
		sh, pk := shards[0], byShard[shards[0]]
		depth, err := stream.PushDurable(ctx, s.rdb, streams[0], perShard, pk.entries, pk.events, s.cfg.Durability)
		var fe *stream.FullError
		if errors.As(err, &fe) {
			s.noteDepth(sh, fe.Depth)
			return 0, full(fe.Depth)
		}
		if nd := s.notDurable(err, cid); nd != nil {
			return 0, nd
		}
		if err != nil {
			return 0, s.redisFailed(err, "enqueue", cid)
		}
		s.wrote()
		s.noteDepth(sh, depth)
		return depth, nil
	}

	var depth int64
	for i, sh := range shards {
		pk := byShard[sh]
		d, err := stream.PushDurable(ctx, s.rdb, streams[i], 0, pk.entries, pk.events, s.cfg.Durability)
		if nd := s.notDurable(err, cid); nd != nil {
			return 0, nd
		}
		if err != nil {
			// Shards before this one already hold their events; the
			// client's retry queues them again under new event IDs: a
			// duplicate, never a loss.
			s.log.Error("enqueue failed", "shards_queued", i, "shards", len(shards), "correlation_id", cid)
			return 0, s.redisFailed(err, "enqueue", cid)
		}
		s.wrote()
		s.noteDepth(sh, d)
		depth = max(depth, d)
	}
	return depth, nil
}

// oneShard is shardsOf's answer with one shard; never modified.
var oneShard = []int{0}

// shardsOf returns the shard of each of envs (nil with one shard: all go to
// shard 0) and the shards they touch, in order.
func (s *Server) shardsOf(envs []event.Envelope) (idx, shards []int) {
	if s.keys.Shards <= 1 {
		return nil, oneShard
	}
	idx = make([]int, len(envs))
	touched := make([]bool, s.keys.Shards)
	for i := range envs {
		idx[i] = shardOf(envs[i].Hostname, s.keys.Shards)
		touched[idx[i]] = true
	}
	for sh, t := range touched {
		if t {
			shards = append(shards, sh)
		}
	}
	return idx, shards
}

// byShard sorts payloads by their shard (idx from shardsOf); with one shard
// (the default) they are all on it as they are.
func byShard(idx []int, payloads [][]byte) map[int][][]byte {
	if idx == nil {
		return map[int][][]byte{0: payloads}
	}
	out := make(map[int][][]byte)
	for i, sh := range idx {
		out[sh] = append(out[sh], payloads[i])
	}
	return out
}

// seenFull reports whether shard's backlog was at limit or above when last
// seen (a push's answer, a refusal, or the periodic refresh).
func (s *Server) seenFull(shard int, limit int64) bool {
	s.depthMu.Lock()
	defer s.depthMu.Unlock()
	return s.depths[shard] >= limit
}

// notDurable turns an enqueue the replicas did not confirm in time into a
// 503: the events are in the stream and will be processed, but the 2xx
// promises more (ADR 0034), so the client is told to retry — a duplicate
// under new event IDs at worst, never a loss.
func (s *Server) notDurable(err error, cid string) *requestError {
	var nd *stream.NotDurableError
	if !errors.As(err, &nd) {
		return nil
	}
	s.log.Warn("events written but not confirmed durable", "err", err, "correlation_id", cid)
	return &requestError{status: http.StatusServiceUnavailable, reason: reasonNotDurable, retryAfter: 1,
		msg: "service unavailable: the events were not confirmed by the Redis replicas in time (" + nd.Error() +
			"); retry (they may then be delivered twice)"}
}

// rateBuckets are the dashboard's event-rate counters (the peer's layout).
var rateBuckets = [...]struct {
	res, layout string
	ttl         time.Duration
}{
	{"1m", "2006-01-02T15:04", 7200 * time.Second},
	{"1h", "2006-01-02T15", 172800 * time.Second},
	{"24h", "2006-01-02", 2592000 * time.Second},
}

// countEvents adds n to the dashboard counters of now's buckets. A failure
// is only logged: the events are already accepted.
func (s *Server) countEvents(ctx context.Context, now time.Time, n int) {
	keys := s.bucketKeys(now)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, b := range rateBuckets {
			p.IncrBy(ctx, keys[i], int64(n))
			p.Expire(ctx, keys[i], b.ttl)
		}
		return nil
	})
	if err != nil {
		s.log.Warn("dashboard counters not updated", "err", err, "count", n)
	}
}

// minuteBuckets are the counter keys of the rateBuckets of one minute.
type minuteBuckets struct {
	minute int64 // Unix time / 60
	keys   [len(rateBuckets)]string
}

// bucketKeys are the counter keys of now's buckets, kept for the minute:
// every request of a minute shares them.
func (s *Server) bucketKeys(now time.Time) *[len(rateBuckets)]string {
	minute := now.Unix() / 60
	if mb := s.buckets.Load(); mb != nil && mb.minute == minute && now.Unix() >= 60 {
		return &mb.keys // (before 1970-01-01T00:01 a minute number is not unique)
	}
	now = now.UTC()
	mb := &minuteBuckets{minute: minute}
	for i, b := range rateBuckets {
		mb.keys[i] = s.keys.RateBucket(b.res, now.Format(b.layout))
	}
	s.buckets.Store(mb)
	return &mb.keys
}

func (s *Server) info(w http.ResponseWriter, _ *http.Request, _ string) {
	telemetry.WriteJSON(w, http.StatusOK, map[string]any{
		"service":     ServiceName,
		"description": "MUTT HTTP ingestor: accepts syslog and SNMP-trap events as JSON and queues them for the alerters",
		"endpoints": map[string]string{
			"ingest":  "POST /ingest, POST /api/v1/ingest, POST /api/v2/ingest (X-API-KEY header; a JSON object, a JSON array of objects, or NDJSON)",
			"health":  "GET /health",
			"metrics": "GET /metrics",
			"config":  "GET /admin/config (X-API-KEY header)",
			"info":    "GET /",
		},
	})
}

// dynamicValue is one row of /admin/config.
type dynamicValue struct {
	Name     string   `json:"name"`
	Value    string   `json:"value"`
	Default  string   `json:"default"`
	Source   string   `json:"source"`
	Services []string `json:"services"`
}

func (s *Server) adminConfig(w http.ResponseWriter, r *http.Request, cid string) {
	if !s.authenticate(w, r, cid) {
		return
	}
	var dyn []dynamicValue
	for _, v := range s.dyn.Effective() {
		dyn = append(dyn, dynamicValue{Name: v.Key.Name, Value: v.Raw, Default: v.Key.Default, Source: v.Source, Services: v.Key.Services})
	}
	// Static settings without the API keys: only how many there are.
	telemetry.WriteJSON(w, http.StatusOK, map[string]any{
		"service": ServiceName,
		"static": map[string]any{
			"addr":                s.cfg.Addr,
			"max_body_bytes":      s.cfg.MaxBodyBytes,
			"max_batch":           s.cfg.MaxBatch,
			"max_field_bytes":     s.cfg.MaxFieldBytes,
			"max_hostname_bytes":  MaxHostnameBytes,
			"max_depth":           s.cfg.MaxDepth,
			"api_keys_configured": s.acceptedKeys().set.Len(),
			"redis_prefix":        s.keys.Prefix,
			"stream_shards":       s.keys.Shards,
		},
		"dynamic": dyn,
	})
}
