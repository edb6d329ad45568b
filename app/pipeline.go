package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/mutt-ops/mutt/api"
	"github.com/mutt-ops/mutt/hotpath/alert"
	"github.com/mutt-ops/mutt/hotpath/forward"
	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/hotpath/snmptrap"
	"github.com/mutt-ops/mutt/hotpath/syslog"
	"github.com/mutt-ops/mutt/internal/apikey"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/postgres"
	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/tally"
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
	// API is the management API (`mutt api`): Redis and PostgreSQL.
	API Role = "api"
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
	DB            *pgxpool.Pool // nil unless an alerter, worker or API runs
	Keys          keyspace.Keys
	Dyn           *dynconfig.Store
	StreamMetrics *stream.Metrics
	Provider      secrets.Provider
	Secrets       *secrets.Cache
	// AdminRedis and AdminDB are the privileged connections, opened only for
	// the worker role (rotation and partition DDL).
	AdminRedis redis.UniversalClient
	AdminDB    *pgxpool.Pool
	// Ops is the API's optional Temporal connection (the console's dead
	// letters and ops jobs pages); the caller sets it.
	Ops      *api.Ops
	instance string
}

// Connect opens what roles need: the secrets provider, then Redis and
// PostgreSQL with the dual-credential connectors (CURRENT, then NEXT).
func Connect(ctx context.Context, cfg Config, log *slog.Logger, roles []Role) (*Deps, error) {
	d := &Deps{Cfg: cfg, Log: log, Reg: telemetry.NewRegistry(), Keys: keyspace.New(cfg.RedisPrefix, cfg.Shards),
		instance: stream.ConsumerName(roleNames(roles))}
	d.StreamMetrics = stream.NewMetrics(d.Reg)
	for _, w := range cfg.InsecureTransport {
		log.Warn("plaintext connection outside this machine", "setting", w)
	}
	if !slices.ContainsFunc(roles, func(r Role) bool { return r != MoogSim }) {
		return d, nil
	}
	var err error
	if d.Provider, err = secrets.Open(ctx, cfg.Secrets, log); err != nil {
		return nil, err
	}
	if d.Secrets, err = secrets.NewCache(ctx, d.Provider); err != nil {
		return nil, err
	}
	if slices.Contains(roles, Ingestor) && len(d.Cfg.Ingest.APIKeys) > 0 {
		log.Warn("INGEST_API_KEY from the environment: accepted next to the secrets provider's keys and never rotated; " +
			"move it to the provider and remove it from the environment (docs/SECRET_ROTATION_PROCEDURE.md)")
	}
	if slices.Contains(roles, API) && len(d.Cfg.APIAdminKeys) > 0 {
		log.Warn("WEBUI_API_KEY from the environment: accepted next to the secrets provider's keys and never rotated; " +
			"move it to the provider and remove it from the environment (docs/SECRET_ROTATION_PROCEDURE.md)")
	}
	if err := d.checkProviderKeys(roles); err != nil {
		return nil, err
	}
	if slices.Contains(roles, Ingestor) && len(d.ingestKeys()) == 0 {
		return nil, errors.New("INGEST_API_KEY: is required (in the environment or the secrets provider)")
	}
	redisconn.SetDriverLogger(log.With("component", "redis"))
	rdb, err := redisconn.Open(ctx, redisconn.Options{URL: cfg.RedisURL, Cluster: cfg.RedisCluster, Username: cfg.RedisUsername,
		Secrets: d.Secrets, Registerer: d.Reg, AuthWait: cfg.RedisAuthWait, Log: log.With("component", "redis")})
	if err != nil {
		return nil, err
	}
	d.Redis = rdb
	d.Dyn = dynconfig.NewStore(rdb, d.Keys, log)
	if err := d.Dyn.Reload(ctx); err != nil {
		d.Close()
		return nil, err
	}
	if slices.Contains(roles, Alerter) || slices.Contains(roles, Worker) || slices.Contains(roles, API) {
		db, err := postgres.Open(ctx, postgres.Options{URL: cfg.DatabaseURL, User: cfg.DBUser, Secrets: d.Secrets, Registerer: d.Reg})
		if err != nil {
			d.Close()
			return nil, err
		}
		d.DB = db
	}
	if slices.Contains(roles, Worker) {
		if d.AdminRedis, err = redisconn.Open(ctx, redisconn.Options{URL: cfg.RedisAdminURL, Cluster: cfg.RedisCluster}); err != nil {
			d.Close()
			return nil, err
		}
		if d.AdminDB, err = postgres.Open(ctx, postgres.Options{URL: cfg.DatabaseAdminURL}); err != nil {
			d.Close()
			return nil, err
		}
	}
	redisconn.WarnIfDefaultUserOpen(ctx, cfg.RedisURL, d.AdminRedis, log.With("component", "redis"))
	logShardPlacement(ctx, rdb, d.Keys, log.With("component", "redis"))
	if err := checkEvictionPolicy(ctx, rdb, d.AdminRedis, log.With("component", "redis")); err != nil {
		d.Close()
		return nil, err
	}
	if err := checkRedisVersion(ctx, rdb, log.With("component", "redis")); err != nil {
		d.Close()
		return nil, err
	}
	if slices.Contains(roles, Ingestor) {
		if err := checkDurability(ctx, rdb, cfg.Ingest.Durability, log.With("component", "redis")); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

func roleNames(roles []Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, "+")
}

// ingestKeys are the accepted ingest keys: the environment's (INGEST_API_KEY
// list) and the secrets provider's CURRENT and NEXT, so a rotation through the
// provider needs no restart.
func (d *Deps) ingestKeys() []string {
	keys := slices.Clone(d.Cfg.Ingest.APIKeys)
	for _, k := range d.Secrets.Pair(secrets.IngestAPIKey, secrets.IngestAPIKeyNext) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// dbUser is the services' PostgreSQL role: DB_USER, else the provider's.
func (d *Deps) dbUser() string {
	if d.Cfg.DBUser != "" {
		return d.Cfg.DBUser
	}
	return d.Secrets.Get(secrets.DBUser)
}

// keyNameSecret is MUTT_KEY_FINGERPRINT_SECRET, else the provider's
// KEY_FINGERPRINT_SECRET (api.KeyName).
func (d *Deps) keyNameSecret() []byte {
	if d.Cfg.KeyNameSecret != "" {
		return []byte(d.Cfg.KeyNameSecret)
	}
	return []byte(d.Secrets.Get(secrets.KeyFingerprintSecret))
}

// checkProviderKeys refuses, outside mutt dev, API keys in the secrets
// provider shorter than apikey.MinLength, for the roles that accept them.
func (d *Deps) checkProviderKeys(roles []Role) error {
	if d.Cfg.Dev {
		return nil
	}
	var names []string
	if slices.Contains(roles, Ingestor) {
		names = append(names, secrets.IngestAPIKey, secrets.IngestAPIKeyNext)
	}
	if slices.Contains(roles, API) {
		names = append(names, secrets.WebUIAPIKey, secrets.WebUIAPIKeyNext, secrets.WebUIReadOnlyAPIKey)
	}
	for _, n := range names {
		var keys []string
		for _, k := range strings.Split(d.Secrets.Get(n), ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
		if err := apikey.CheckLength(n, keys); err != nil {
			return fmt.Errorf("%w (in the %s secrets provider)", err, d.Provider.Name())
		}
	}
	return nil
}

// moogAPIKey is the provider's MOOG_API_KEY, else the environment's.
func (d *Deps) moogAPIKey() string {
	if k := d.Secrets.Get(secrets.MoogAPIKey); k != "" {
		return k
	}
	return d.Cfg.MoogAPIKey
}

// Close releases the connections.
func (d *Deps) Close() {
	for _, db := range []*pgxpool.Pool{d.DB, d.AdminDB} {
		if db != nil {
			db.Close()
		}
	}
	for _, r := range []redis.UniversalClient{d.Redis, d.AdminRedis} {
		if r != nil {
			_ = r.Close()
		}
	}
}

// Run runs roles until ctx ends or one of them fails, then stops the others
// and lets each drain.
func Run(ctx context.Context, d *Deps, roles []Role) error {
	g, ctx := errgroup.WithContext(ctx)
	// One dashboard tally per process, flushed every few seconds (ADR 0030).
	var tl *tally.Recorder
	if slices.ContainsFunc(roles, func(r Role) bool { return r == Ingestor || r == Alerter || r == Forwarder }) {
		tl = tally.New(d.Redis, d.Keys, d.Log.With("component", "tally"))
		g.Go(func() error { return tl.Run(ctx) })
	}
	if d.Dyn != nil {
		g.Go(func() error { return d.Dyn.Run(ctx) })
		w, err := d.watcher(roles)
		if err != nil {
			return err
		}
		g.Go(func() error { return w.Run(ctx) })
		g.Go(func() error { return secrets.RunProvider(ctx, d.Provider) })
	}
	for _, r := range roles {
		log := d.Log.With("component", string(r))
		switch r {
		case Ingestor:
			s, err := ingest.New(ingest.Options{Config: d.Cfg.Ingest, APIKeys: d.ingestKeys, RefreshKeys: d.Secrets.Reload, Redis: d.Redis,
				Keys: d.Keys, Dyn: d.Dyn, Log: log, Registerer: d.Reg, Gatherer: d.Reg, HTTP: d.Cfg.HTTP, Tally: tl})
			if err != nil {
				return fmt.Errorf("ingestor: %w", err)
			}
			hc, err := s.HTTPConfig()
			if err != nil {
				return err
			}
			g.Go(func() error { return telemetry.Serve(ctx, log, d.Cfg.Ingest.Addr, d.withPprof(s.Handler()), hc) })
			g.Go(func() error { return s.TrackQueueDepth(ctx) })
			if d.Cfg.SNMP.Addr != "" {
				tr, err := snmptrap.New(snmptrap.Options{Config: d.Cfg.SNMP, Submit: s, Redis: d.Redis,
					DLQ: d.Keys.SNMPDLQ(), Log: d.Log.With("component", "snmp"), Registerer: d.Reg})
				if err == nil {
					err = tr.Listen() // bound before Run returns to its caller's goroutines: a busy port fails the start
				}
				if err != nil {
					return fmt.Errorf("snmp trap receiver: %w", err)
				}
				g.Go(func() error { return tr.Run(ctx) })
			}
			if d.Cfg.Syslog.Enabled() {
				rcv, err := syslog.New(syslog.Options{Config: d.Cfg.Syslog, Submit: s, Redis: d.Redis, Keys: d.Keys,
					Log: d.Log.With("component", "syslog"), Registerer: d.Reg})
				if err != nil {
					return fmt.Errorf("syslog: %w", err)
				}
				if err := rcv.Listen(); err != nil {
					return err
				}
				g.Go(func() error { return rcv.Serve(ctx) })
			}
		case Alerter:
			a, err := alert.New(alert.Options{Redis: d.Redis, DB: d.DB, Keys: d.Keys, Dyn: d.Dyn, Log: d.Log,
				Registerer: d.Reg, StreamMetrics: d.StreamMetrics, Consumer: stream.ConsumerName("alerter"), Tally: tl})
			if err != nil {
				return fmt.Errorf("alerter: %w", err)
			}
			g.Go(func() error { return a.Run(ctx) })
			g.Go(func() error {
				return telemetry.Serve(ctx, log, d.Cfg.AlerterAddr, d.OpsHandler("mutt-alerter", telemetry.Check{Name: "batches", Fn: a.Health}), d.Cfg.HTTP)
			})
		case Forwarder:
			if d.Cfg.MoogWebhookURL == "" {
				return errors.New("forwarder: MOOG_WEBHOOK_URL: is required")
			}
			f, err := forward.New(forward.Options{Redis: d.Redis, Keys: d.Keys, Dyn: d.Dyn, Log: d.Log,
				Registerer: d.Reg, StreamMetrics: d.StreamMetrics, Consumer: stream.ConsumerName("forwarder"),
				WebhookURL: d.Cfg.MoogWebhookURL, APIKeyFunc: d.moogAPIKey, RefreshAPIKey: d.Secrets.Reload, Concurrency: d.Cfg.ForwarderConcurrency, Tally: tl})
			if err != nil {
				return fmt.Errorf("forwarder: %w", err)
			}
			g.Go(func() error { return f.Run(ctx) })
			g.Go(func() error {
				return telemetry.Serve(ctx, log, d.Cfg.ForwarderAddr, d.OpsHandler("mutt-forwarder"), d.Cfg.HTTP)
			})
		case API:
			s, err := api.New(api.Options{DB: d.DB, Redis: d.Redis, Keys: d.Keys, Dyn: d.Dyn, Secrets: d.Secrets,
				AdminKeys: d.Cfg.APIAdminKeys, ReadOnlyKeys: d.Cfg.APIReadOnlyKeys, KeyNameSecret: d.keyNameSecret(), Log: log,
				Registerer: d.Reg, Gatherer: d.Reg, HTTP: d.Cfg.HTTP, TLS: d.Cfg.APITLS, Ops: d.Ops})
			if err != nil {
				return fmt.Errorf("api: %w", err)
			}
			g.Go(func() error { return s.Run(ctx, d.Cfg.APIAddr) })
		case Worker:
			// The worker holds the admin connection: it re-creates the ACL
			// user when a Redis restart lost it (ADR 0015).
			if d.AdminRedis != nil {
				k, err := secrets.NewRedisUserKeeper(secrets.RedisUserKeeperOptions{Admin: d.AdminRedis, User: d.Cfg.RedisUsername,
					Prefix: d.Cfg.RedisPrefix, Provider: d.Provider, Interval: d.Cfg.RedisUserCheckInterval, Log: log})
				if err != nil {
					return fmt.Errorf("worker: %w", err)
				}
				g.Go(func() error { return k.Run(ctx) })
			}
		case MoogSim:
			sim := moogsim.New(moogsim.Options{APIKey: d.Cfg.MoogAPIKey, Log: log, HTTP: d.Cfg.HTTP})
			g.Go(func() error {
				return telemetry.Serve(ctx, log.With("component", "moogsim"), d.Cfg.MoogSimAddr, d.withPprof(sim.Handler()), d.Cfg.HTTP)
			})
		default:
			return fmt.Errorf("unknown role %q", r)
		}
	}
	return g.Wait()
}

// watcher answers rotation notices for this process: it re-reads the secrets
// and proves it can log in with the new credential of each backend it uses.
func (d *Deps) watcher(roles []Role) (*secrets.Watcher, error) {
	uses := []string{secrets.TargetRedis}
	if d.DB != nil {
		uses = append(uses, secrets.TargetPostgres)
	}
	if slices.Contains(roles, Ingestor) {
		uses = append(uses, secrets.TargetIngestAPIKey)
	}
	// The API reads WEBUI_API_KEY[_NEXT] from the cache per request: the
	// watcher's default check (the cache holds the key the rotation stored)
	// is what it needs.
	if slices.Contains(roles, API) {
		uses = append(uses, secrets.TargetWebUIAPIKey)
	}
	pick := func(which, current, next string) string {
		if which == "next" {
			return d.Secrets.Get(next)
		}
		return d.Secrets.Get(current)
	}
	checks := map[string]func(context.Context, string) error{
		secrets.TargetRedis: func(ctx context.Context, which string) error {
			return redisconn.CheckLogin(ctx, d.Cfg.RedisURL, d.Cfg.RedisCluster, d.Cfg.RedisUsername, pick(which, secrets.RedisPassCurrent, secrets.RedisPassNext))
		},
	}
	resets := map[string]func(){}
	if d.DB != nil {
		checks[secrets.TargetPostgres] = func(ctx context.Context, which string) error {
			user := d.Cfg.DBUser
			if user == "" {
				user = d.Secrets.Get(secrets.DBUser)
			}
			return postgres.CheckLogin(ctx, d.Cfg.DatabaseURL, user, pick(which, secrets.DBPassCurrent, secrets.DBPassNext))
		}
		resets[secrets.TargetPostgres] = d.DB.Reset
	}
	return secrets.NewWatcher(secrets.WatcherOptions{Redis: d.Redis, Keys: d.Keys, Cache: d.Secrets,
		Instance: secrets.Instance{ID: d.instance, Role: roleNames(roles), Uses: uses, Started: time.Now().UTC()},
		Checks:   checks, Resets: resets, Log: d.Log.With("component", "secrets")})
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
	mux.Handle("GET /health", telemetry.HealthHandler(d.Log.With("component", service), service, checks...))
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
