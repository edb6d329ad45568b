package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/apikey"
	"github.com/mutt-ops/mutt/internal/correlation"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/tlsconfig"
)

// ServiceName is the service label of /health.
const ServiceName = "mutt-api"

// Options configure the API server.
type Options struct {
	DB    *pgxpool.Pool
	Redis redis.UniversalClient
	Keys  keyspace.Keys
	Dyn   *dynconfig.Store
	// Secrets supplies WEBUI_API_KEY and WEBUI_API_KEY_NEXT (admin keys),
	// read per request so rotations apply at once. May be nil.
	Secrets *secrets.Cache
	// ReadOnlyKeys are WEBUI_READONLY_API_KEY; AdminKeys WEBUI_API_KEY from the environment.
	ReadOnlyKeys []string
	AdminKeys    []string
	// KeyNameSecret is the server secret of the names audit rows record
	// for a key (KeyName): the secrets provider's KEY_FINGERPRINT_SECRET,
	// which mutt setup generates. Required.
	KeyNameSecret []byte
	Log           *slog.Logger
	Registerer    prometheus.Registerer
	Gatherer      prometheus.Gatherer
	Now           func() time.Time
	// HTTP bounds the listener Run serves on; TLS (MUTT_API_TLS_CERT_FILE,
	// MUTT_API_TLS_KEY_FILE), when set, makes it HTTPS.
	HTTP telemetry.HTTPConfig
	TLS  tlsconfig.Files
	// Ops is the optional Temporal connection of the dead-letter and jobs
	// pages; nil: they say Temporal is not configured.
	Ops *Ops
}

// Server is the management API.
type Server struct {
	o        Options
	engine   *gin.Engine
	build    BuildInfo
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// The Python MUTT web UI's names: mutt_webui_api_requests_total
	// {endpoint,status} (status success or error) and
	// mutt_webui_api_latency_seconds{endpoint}, endpoint the route template.
	pyRequests *prometheus.CounterVec
	pyLatency  *prometheus.HistogramVec
	// pyDBLatency is the Python web UI's mutt_webui_db_query_latency_ms
	// {operation}: operation get_rules, the rule list's query, in ms.
	pyDBLatency *prometheus.HistogramVec
	ui          *ui
	guard       *apikey.Guard // failed authentications per client
}

// New builds the server and its routes.
func New(o Options) (*Server, error) {
	if o.DB == nil || o.Redis == nil {
		return nil, errors.New("api: DB and Redis are required")
	}
	if len(o.KeyNameSecret) == 0 {
		return nil, errors.New("api: KEY_FINGERPRINT_SECRET is missing from the secrets provider: run mutt setup (it generates one)")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.NewRegistry()
	}
	ui, err := loadUI()
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, build: buildInfo(), ui: ui}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mutt_api_requests_total", Help: "API requests by method, route template and status code.",
	}, []string{"method", "route", "status"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "mutt_api_request_duration_seconds", Help: "API request latency by method and route template.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
	s.pyRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mutt_webui_api_requests_total", Help: "The Python MUTT's name: /api requests by route template (endpoint) and status (success below 400, else error).",
	}, []string{"endpoint", "status"})
	s.pyLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "mutt_webui_api_latency_seconds", Help: "The Python MUTT's name: /api request latency by route template (endpoint).",
		Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5},
	}, []string{"endpoint"})
	s.pyDBLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "mutt_webui_db_query_latency_ms", Help: "The Python MUTT's name: duration in milliseconds of the rule list's database query and read (operation get_rules).",
		Buckets: []float64{1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500},
	}, []string{"operation"})
	if err := telemetry.Register(o.Registerer, "api: metrics", s.requests, s.duration, s.pyRequests, s.pyLatency, s.pyDBLatency); err != nil {
		return nil, err
	}
	if s.guard, err = apikey.NewGuard(apikey.GuardOptions{Listener: "api", Registerer: o.Registerer, Now: o.Now}); err != nil {
		return nil, err
	}
	s.engine = s.routes()
	return s, nil
}

// Handler is the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.engine }

// Engine exposes the gin engine (the route/OpenAPI test walks its routes).
func (s *Server) Engine() *gin.Engine { return s.engine }

// Run serves on addr until ctx ends, then drains.
func (s *Server) Run(ctx context.Context, addr string) error {
	hc := s.o.HTTP
	if s.o.TLS.Enabled() {
		tc, err := tlsconfig.New(s.o.TLS, s.o.Log)
		if err != nil {
			return fmt.Errorf("api tls: %w", err)
		}
		hc.TLS = tc
	}
	return telemetry.Serve(ctx, s.o.Log, addr, s.engine, hc)
}

func (s *Server) routes() *gin.Engine {
	// gin's debug mode prints every route at start-up to stdout, bypassing slog.
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(securityHeaders, dropRefusedBody, s.correlate, apiVersionHeaders, s.accessLog, s.recover)
	r.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, errMethodNotAllowed, "method not allowed on this route")
	})

	r.GET("/health", gin.WrapH(telemetry.HealthHandler(s.o.Log, ServiceName,
		telemetry.Check{Name: "redis", Fn: func(ctx context.Context) error { return s.o.Redis.Ping(ctx).Err() }},
		telemetry.Check{Name: "postgres", Fn: s.o.DB.Ping},
	)))
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.o.Gatherer, promhttp.HandlerOpts{})))
	r.GET("/api/openapi.json", s.openAPI)
	r.GET("/docs/:name", s.document)

	for _, v := range supportedVersions {
		// /version answers without a key, as the Python MUTT's did (its
		// clients probe it first); a key that is sent must be valid.
		s.registerVersion(r.Group("/api/"+v, acceptVersion, s.optionalAuth), v)
		g := r.Group("/api/"+v, acceptVersion, s.authenticate)
		// Routes that change something are registered on admin: a
		// read-only key gets 403 before the handler runs
		// (TestRouteTableAuth walks every route).
		admin := g.Group("", requireAdmin)
		s.registerConfig(g, admin, v)
		s.registerMetrics(g, v)
		s.registerPipeline(g, v)
		s.registerDashboard(g, v)
		s.registerSLO(g, v)
		s.registerRules(g, admin, v)
		s.registerRuleTools(g, v)
		s.registerWhoami(g, v)
		s.registerHosts(g, admin, v)
		s.registerAudit(g, v)
		s.registerDLQ(g, admin, v)
		s.registerJobs(g, admin, v)
		s.registerEvents(g, v)
	}
	s.registerUI(r)
	return r
}

// securityHeaders puts telemetry's security headers (nosniff, no-store, the
// CSP, no framing, no referrer) on every answer: API JSON, UI pages, static
// files (which relax Cache-Control), errors and /health. The listener
// (telemetry.NewServer) sets them too; here they also reach callers that
// serve Handler themselves.
func securityHeaders(c *gin.Context) {
	telemetry.SetSecurityHeaders(c.Writer.Header())
	c.Next()
}

// dropRefusedBody makes a 401's connection close without reading the rest
// of the request body: net/http would otherwise wait (up to the listener's
// read timeout) for a body nobody will read, a free slot for a client with
// no key. The expired read deadline makes that discard fail at once.
func dropRefusedBody(c *gin.Context) {
	c.Next()
	if c.Writer.Status() == http.StatusUnauthorized && c.Request.ContentLength != 0 {
		_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now())
	}
}

// correlate takes X-Correlation-ID when valid, else generates one, and echoes it.
func (s *Server) correlate(c *gin.Context) {
	id := correlation.FromHeader(c.GetHeader("X-Correlation-ID"))
	c.Set(ctxCorrelationID, id)
	c.Header("X-Correlation-ID", id)
	c.Next()
}

// accessLog logs each request once and feeds the request metrics. Routes are
// the templates, so ids in paths do not explode label cardinality.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = c.GetString(ctxRoute) // set by the UI fallback
	}
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	elapsed := time.Since(start)
	s.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
	s.duration.WithLabelValues(c.Request.Method, route).Observe(elapsed.Seconds())
	if strings.HasPrefix(route, "/api/v") {
		s.pyRequests.WithLabelValues(route, map[bool]string{true: "success", false: "error"}[status < 400]).Inc()
		s.pyLatency.WithLabelValues(route).Observe(elapsed.Seconds())
	}
	// Answered requests are debug: the UI calls the API several times a
	// page, probes and scrapes never stop, and at info they drowned the log
	// (and `mutt dev`'s banner). Refusals stay visible at info, failures at error.
	level := slog.LevelDebug
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400 && !strings.HasPrefix(c.Request.URL.Path, "/health"):
		level = slog.LevelInfo
	}
	s.o.Log.Log(c.Request.Context(), level, "request", "component", "api", "method", c.Request.Method,
		"route", route, "status", status, "duration_ms", elapsed.Milliseconds(),
		"correlation_id", correlationID(c), "caller", caller(c))
}

// recover turns a handler panic into a JSON 500 without internals.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // net/http's own abort signal must propagate
			}
			s.internalError(c, "handler panicked", fmt.Errorf("panic: %v", v))
		}
	}()
	c.Next()
}
