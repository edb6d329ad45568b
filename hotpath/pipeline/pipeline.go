package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/mutt-ops/mutt/hotpath/alert"
	"github.com/mutt-ops/mutt/hotpath/forward"
	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/hotpath/stream"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/postgres"
	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/internal/telemetry"
)

// Role is one part of the hot path a process can run.
type Role string

// Roles.
const (
	Ingestor  Role = "ingestor"
	Alerter   Role = "alerter"
	Forwarder Role = "forwarder"
	MoogSim   Role = "moog-sim"
	// Worker is the ops-plane worker: it needs Redis and PostgreSQL like an
	// alerter, but workers.Process runs it, not Run.
	Worker Role = "worker"
)

// Deps are the connections and shared objects of one process.
type Deps struct {
	Cfg           Config
	Log           *slog.Logger
	Reg           *prometheus.Registry
	Redis         redis.UniversalClient
	DB            *pgxpool.Pool // nil unless an alerter runs
	Keys          keyspace.Keys
	Dyn           *dynconfig.Store
	StreamMetrics *stream.Metrics
}

// Connect opens what roles need.
func Connect(ctx context.Context, cfg Config, log *slog.Logger, roles []Role) (*Deps, error) {
	d := &Deps{Cfg: cfg, Log: log, Reg: telemetry.NewRegistry(), Keys: keyspace.New(cfg.RedisPrefix, cfg.Shards)}
	d.StreamMetrics = stream.NewMetrics(d.Reg)
	if slices.ContainsFunc(roles, func(r Role) bool { return r != MoogSim }) {
		rdb, err := redisconn.Open(ctx, redisconn.Options{URL: cfg.RedisURL})
		if err != nil {
			return nil, err
		}
		d.Redis = rdb
		d.Dyn = dynconfig.NewStore(rdb, d.Keys, log)
		if err := d.Dyn.Reload(ctx); err != nil {
			d.Close()
			return nil, err
		}
	}
	if slices.Contains(roles, Alerter) || slices.Contains(roles, Worker) {
		db, err := postgres.Open(ctx, postgres.Options{URL: cfg.DatabaseURL})
		if err != nil {
			d.Close()
			return nil, err
		}
		d.DB = db
	}
	return d, nil
}

// Close releases the connections.
func (d *Deps) Close() {
	if d.DB != nil {
		d.DB.Close()
	}
	if d.Redis != nil {
		_ = d.Redis.Close()
	}
}

// Run runs roles until ctx ends or one of them fails, then stops the others
// and lets each drain.
func Run(ctx context.Context, d *Deps, roles []Role) error {
	g, ctx := errgroup.WithContext(ctx)
	if d.Dyn != nil {
		g.Go(func() error { return d.Dyn.Run(ctx) })
	}
	for _, r := range roles {
		log := d.Log.With("component", string(r))
		switch r {
		case Ingestor:
			s, err := ingest.New(ingest.Options{Config: d.Cfg.Ingest, Redis: d.Redis, Keys: d.Keys, Dyn: d.Dyn,
				Log: log, Registerer: d.Reg, Gatherer: d.Reg})
			if err != nil {
				return fmt.Errorf("ingestor: %w", err)
			}
			g.Go(func() error { return telemetry.Serve(ctx, log, d.Cfg.Ingest.Addr, d.withPprof(s.Handler())) })
		case Alerter:
			a, err := alert.New(alert.Options{Redis: d.Redis, DB: d.DB, Keys: d.Keys, Dyn: d.Dyn, Log: d.Log,
				Registerer: d.Reg, StreamMetrics: d.StreamMetrics, Consumer: stream.ConsumerName("alerter")})
			if err != nil {
				return fmt.Errorf("alerter: %w", err)
			}
			g.Go(func() error { return a.Run(ctx) })
			g.Go(func() error {
				return telemetry.Serve(ctx, log, d.Cfg.AlerterAddr, d.OpsHandler("mutt-alerter"))
			})
		case Forwarder:
			if d.Cfg.MoogWebhookURL == "" {
				return errors.New("forwarder: MOOG_WEBHOOK_URL: is required")
			}
			f, err := forward.New(forward.Options{Redis: d.Redis, Keys: d.Keys, Dyn: d.Dyn, Log: log,
				Registerer: d.Reg, StreamMetrics: d.StreamMetrics, Consumer: stream.ConsumerName("forwarder"),
				WebhookURL: d.Cfg.MoogWebhookURL, APIKey: d.Cfg.MoogAPIKey, Concurrency: d.Cfg.ForwarderConcurrency})
			if err != nil {
				return fmt.Errorf("forwarder: %w", err)
			}
			g.Go(func() error { return f.Run(ctx) })
			g.Go(func() error {
				return telemetry.Serve(ctx, log, d.Cfg.ForwarderAddr, d.OpsHandler("mutt-forwarder"))
			})
		case Worker:
		case MoogSim:
			sim := moogsim.New(moogsim.Options{APIKey: d.Cfg.MoogAPIKey, Log: log})
			g.Go(func() error { return sim.Run(ctx, d.Cfg.MoogSimAddr) })
		default:
			return fmt.Errorf("unknown role %q", r)
		}
	}
	return g.Wait()
}

// OpsHandler serves /health and /metrics of a background role: Redis and,
// when connected, PostgreSQL, plus extra checks. Health depends on the
// process's own dependencies only — never on Moogsoft, so an outage there does
// not make an orchestrator restart forwarders.
func (d *Deps) OpsHandler(service string, extra ...telemetry.Check) http.Handler {
	checks := []telemetry.Check{{Name: "redis", Fn: func(ctx context.Context) error { return d.Redis.Ping(ctx).Err() }}}
	if d.DB != nil {
		checks = append(checks, telemetry.Check{Name: "postgres", Fn: d.DB.Ping})
	}
	checks = append(checks, extra...)
	mux := http.NewServeMux()
	mux.Handle("GET /health", telemetry.HealthHandler(service, checks...))
	mux.Handle("GET /metrics", telemetry.MetricsHandler(d.Reg))
	return d.withPprof(mux)
}

// withPprof adds /debug/pprof/ in front of h when MUTT_PPROF is on.
func (d *Deps) withPprof(h http.Handler) http.Handler {
	if !d.Cfg.Pprof {
		return h
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", h)
	return mux
}
