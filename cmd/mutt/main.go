// Command mutt runs MUTT's services. Each subcommand reads its configuration
// from the environment (see README), builds the parts it needs and runs them
// until SIGINT/SIGTERM, after which in-flight work drains.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/mutt-ops/mutt/activities"
	"github.com/mutt-ops/mutt/api"
	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/deploy"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/postgres"
	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

const usage = `usage: mutt <command> [flags]

Services (configured from the environment; see README):
  dev          everything in one process for development: migrates and seeds the
               database, starts the ingestor, alerter, forwarder, admin API and a Moogsoft simulator,
               a Temporal dev server (when none answers at TEMPORAL_ADDRESS; with TEMPORAL_NAMESPACE),
               a Prometheus scraping every role for the SLO report (unless PROMETHEUS_URL is set or
               MUTT_DEV_PROMETHEUS_ADDR=off), applies the schedules and runs the ops-plane worker
  all          ingestor, alerter and forwarder in one process
  ingestor     HTTP ingest (MUTT_INGEST_ADDR, default :8080)
  alerter      rules, audit and alerts (health/metrics on MUTT_ALERTER_ADDR, :8082)
  forwarder    delivery to Moogsoft (health/metrics on MUTT_FORWARDER_ADDR, :8084)
  api          the admin API /api/v1, /api/v2 (MUTT_API_ADDR, :8090; keys WEBUI_API_KEY,
               WEBUI_READONLY_API_KEY)
  moog-sim     a Moogsoft webhook simulator (MUTT_MOOGSIM_ADDR, :18083)
  worker       the Temporal worker of the ops plane (task queue mutt-ops; health/metrics on
               MUTT_WORKER_ADDR, :8086)

Operations:
  setup [--disable-default-user]
                           create the Redis ACL user and PostgreSQL role the services use (least
                           privilege), generating their passwords into the secrets provider if missing,
                           and save the ACL users where Redis keeps them across restarts;
                           --disable-default-user also disables Redis's default user
  migrate up|status        apply or list the database migrations
  migrate from-python [--dry-run] [--output json] [--rollback | --finalize]
                           adopt a running Python MUTT v2.x: its database in place and its
                           Redis queues and keys (docs/MIGRATION_FROM_PYTHON_MUTT.md)
  config init [--dry-run]  seed dynamic config in Redis from env without overwriting
  config env-example       print every setting with its default (deploy/mutt.env.example)
  schedules apply [--dry-run]
                           create or update the Temporal schedules (only the fields MUTT owns)
  bench [flags]            end-to-end benchmark: runs muttdev bench (muttdev bench -h)
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "dev":
		err = runDev(ctx, stdout)
	case "all":
		err = runRoles(ctx, []app.Role{app.Ingestor, app.Alerter, app.Forwarder})
	case "ingestor", "alerter", "forwarder", "moog-sim", "api":
		err = runRoles(ctx, []app.Role{app.Role(cmd)})
	case "worker":
		err = runWorker(ctx, stdout)
	case "schedules":
		err = runSchedules(ctx, rest, stdout)
	case "setup":
		err = runSetup(ctx, rest, stdout)
	case "migrate":
		err = runMigrate(ctx, rest, stdout)
	case "config":
		err = runConfig(ctx, rest, stdout)
	case "bench":
		err = runBench(rest)
	default:
		fmt.Fprintf(stderr, "mutt: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "mutt %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func logger(c config.Common) *slog.Logger {
	return telemetry.NewLogger(os.Stderr, c.LogFormat, c.LogLevel)
}

func runRoles(ctx context.Context, roles []app.Role) error {
	env := config.FromOS()
	cfg, err := app.ReadConfig(env, false, roles)
	if err != nil {
		return err
	}
	log := logger(cfg.Common)
	app.ApplyMemoryLimit(cfg, log)
	d, err := app.Connect(ctx, cfg, log, roles)
	if err != nil {
		return err
	}
	defer d.Close()
	if slices.Contains(roles, app.API) {
		ops, err := apiOps(env, log)
		if err != nil {
			return err
		}
		if ops != nil {
			defer ops.Client.Close()
		}
		d.Ops = ops
	}
	log.Info("starting", "roles", roles, "redis_prefix", cfg.RedisPrefix, "shards", cfg.Shards)
	return app.Run(ctx, d, roles)
}

// apiOps is the API's Temporal connection for the console's dead letters and
// ops jobs pages: only when TEMPORAL_ADDRESS is set (nil otherwise: the pages
// say Temporal is not configured), and lazy, so the API starts and answers
// while Temporal is down.
func apiOps(env *config.Env, log *slog.Logger) (*api.Ops, error) {
	if _, _, ok := env.Lookup("TEMPORAL_ADDRESS"); !ok {
		log.Info("TEMPORAL_ADDRESS not set: the console's dead-letter actions and ops jobs page are off")
		return nil, nil
	}
	wcfg := workers.ReadConfig(env)
	if err := env.Err(); err != nil {
		return nil, err
	}
	tc, err := workers.DialLazy(wcfg.Temporal, log)
	if err != nil {
		return nil, err
	}
	return opsOf(tc, wcfg, workflows.TaskQueue, "", wcfg.UIURL), nil
}

// opsOf describes the ops plane for the API.
func opsOf(tc client.Client, wcfg workers.Config, taskQueue, prefix, uiURL string) *api.Ops {
	o := &api.Ops{Client: tc, Namespace: wcfg.Temporal.Namespace, TaskQueue: taskQueue, IDPrefix: prefix, UIURL: uiURL}
	for _, s := range workers.Schedules(prefix, taskQueue, wcfg.Retention, wcfg.RotationEnabled) {
		o.Schedules = append(o.Schedules, api.OpsSchedule{ID: s.ID, Workflow: s.Workflow, Description: s.Description})
	}
	return o
}

func runDev(ctx context.Context, stdout io.Writer) error {
	env := config.FromOS()
	cfg, err := app.ReadConfig(env, true, app.AllRoles)
	if err != nil {
		return err
	}
	wcfg := workers.ReadConfig(env)
	if err := env.Err(); err != nil {
		return err
	}
	// Also into a file, so `muttdev logs` can read and follow it.
	logFile, err := app.OpenDevLog(cfg.DevLogFile)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	log := telemetry.NewLogger(io.MultiWriter(os.Stderr, logFile), cfg.LogFormat, cfg.LogLevel)
	app.ApplyMemoryLimit(cfg, log)
	if err := app.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	// The services log in as a dedicated Redis ACL user and PostgreSQL role whose
	// passwords live in the (file) secrets provider, so a rotation can be tried locally.
	if err := app.Setup(ctx, cfg, log, io.Discard); err != nil {
		return err
	}
	d, err := app.Connect(ctx, cfg, log, append(app.AllRoles, app.Worker))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := app.Bootstrap(ctx, d); err != nil {
		return err
	}
	ui := "(Temporal was already running at " + wcfg.Temporal.Address + "; use its own UI)"
	// A dev server speaks plaintext: never start one for a TLS configuration.
	if !wcfg.Temporal.TLS && !workers.Reachable(ctx, wcfg.Temporal.Address) {
		ds, err := workers.StartDevServer(ctx, wcfg.Temporal.Address, wcfg.Temporal.Namespace, log)
		if err != nil {
			return err
		}
		defer ds.Stop()
		ui = ds.UIURL
	}
	promURL, stopProm := devPrometheus(ctx, cfg, &wcfg, log)
	defer stopProm()
	proc, err := workerProcess(ctx, d, wcfg, log)
	if err != nil {
		return err
	}
	defer proc.Client.Close()
	// Apply the schedules before saying we are up, so the banner's promise
	// holds. An instance with its own key prefix gets its own task queue and
	// schedule ids (app.DevTemporal).
	proc.TaskQueue, proc.SchedulePrefix = app.DevTemporal(cfg.RedisPrefix)
	if _, err := workers.Apply(ctx, proc.Client, proc.TaskQueue,
		workers.Schedules(proc.SchedulePrefix, proc.TaskQueue, wcfg.Retention, wcfg.RotationEnabled), false, io.Discard); err != nil {
		return err
	}
	proc.Cfg.ApplySchedules = false
	uiURL := wcfg.UIURL
	if uiURL == "" && strings.HasPrefix(ui, "http") {
		uiURL = ui // the dev server this process started
	}
	d.Ops = opsOf(proc.Client, wcfg, proc.TaskQueue, proc.SchedulePrefix, uiURL)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return proc.Run(gctx, io.Discard) })
	// With the worker role, as `mutt worker` does: this process advertises
	// it (the dashboard lists it up) and keeps the Redis ACL user (ADR 0015).
	g.Go(func() error { return app.Run(gctx, d, append(slices.Clone(app.AllRoles), app.Worker)) })
	app.Banner(stdout, cfg, d.Secrets, ui, promURL)
	// The banner again on request: `muttdev status` reads this file.
	if err := app.WriteDevState(cfg.DevStateFile, app.NewDevState(cfg, d.Secrets, ui, promURL)); err != nil {
		log.Warn("muttdev status will not show this instance", "err", err)
	} else {
		defer func() { _ = os.Remove(cfg.DevStateFile) }()
	}
	return g.Wait()
}

// devPrometheus starts the Prometheus of `mutt dev` unless PROMETHEUS_URL
// names one already or MUTT_DEV_PROMETHEUS_ADDR is off, and points the SLO
// report (wcfg.PrometheusURL) at it. A Prometheus that is missing or does not
// start is a warning: dev runs on without it and the SLO report says no_data.
// It returns what the banner shows and the function that stops it.
func devPrometheus(ctx context.Context, cfg app.Config, wcfg *workers.Config, log *slog.Logger) (string, func()) {
	pc := cfg.DevPrometheus
	switch {
	case wcfg.PrometheusURL != "":
		return wcfg.PrometheusURL + " (PROMETHEUS_URL; not started by mutt dev)", func() {}
	case pc.Addr == "":
		return "(off: MUTT_DEV_PROMETHEUS_ADDR=off; the SLO report says no_data)", func() {}
	}
	rules, err := fs.Sub(deploy.PrometheusRules, "prometheus/rules")
	if err != nil {
		return "(not running: " + err.Error() + ")", func() {}
	}
	target := func(job, addr string, samples bool) workers.ScrapeTarget {
		return workers.ScrapeTarget{Job: job, Addr: app.Loopback(addr), Samples: samples}
	}
	ingest := target("mutt-ingestor", cfg.Ingest.Addr, true)
	ingest.HTTPS = cfg.Ingest.TLS.Enabled()
	api := target("mutt-api", cfg.APIAddr, false)
	api.HTTPS = cfg.APITLS.Enabled()
	p, err := workers.StartDevPrometheus(ctx, workers.DevPrometheusOptions{
		Binary: pc.Binary, Addr: pc.Addr, ScanPorts: !pc.AddrSet, Dir: pc.Dir,
		ScrapeInterval: pc.ScrapeInterval, Retention: pc.Retention, Rules: rules,
		Targets: []workers.ScrapeTarget{ingest, target("mutt-alerter", cfg.AlerterAddr, false),
			target("mutt-forwarder", cfg.ForwarderAddr, false), api, target("mutt-worker", wcfg.WorkerAddr, false)},
	}, log)
	if err != nil {
		log.Warn("running without prometheus: the SLO report says no_data", "err", err)
		return "(not running: " + err.Error() + ")", func() {}
	}
	wcfg.PrometheusURL = p.URL
	return p.URL, p.Stop
}

func workerProcess(ctx context.Context, d *app.Deps, wcfg workers.Config, log *slog.Logger) (*workers.Process, error) {
	tc, err := workers.Dial(ctx, wcfg.Temporal, log)
	if err != nil {
		return nil, err
	}
	dbUser := d.Cfg.DBUser
	if dbUser == "" {
		dbUser = d.Secrets.Get(secrets.DBUser)
	}
	deps := &activities.Deps{DB: d.AdminDB, Redis: d.Redis, Keys: d.Keys, Log: log.With("component", "worker"),
		Registerer: d.Reg, PrometheusURL: wcfg.PrometheusURL, MoogURL: d.Cfg.MoogWebhookURL, MoogAPIKey: d.Cfg.MoogAPIKey,
		Secrets: d.Provider, RedisAdmin: d.AdminRedis, RedisUsername: d.Cfg.RedisUsername, DBAdmin: d.AdminDB, DBUser: dbUser}
	temporalCheck := telemetry.Check{Name: "temporal", Fn: func(ctx context.Context) error {
		_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}
	return &workers.Process{Cfg: wcfg, Client: tc, Deps: deps, Log: log,
		Health: d.OpsHandler("mutt-worker", temporalCheck)}, nil
}

func runWorker(ctx context.Context, stdout io.Writer) error {
	env := config.FromOS()
	roles := []app.Role{app.Worker}
	cfg, err := app.ReadConfig(env, false, roles)
	if err != nil {
		return err
	}
	wcfg := workers.ReadConfig(env)
	if err := env.Err(); err != nil {
		return err
	}
	log := logger(cfg.Common)
	app.ApplyMemoryLimit(cfg, log)
	d, err := app.Connect(ctx, cfg, log, roles)
	if err != nil {
		return err
	}
	defer d.Close()
	proc, err := workerProcess(ctx, d, wcfg, log)
	if err != nil {
		return err
	}
	defer proc.Client.Close()
	log.Info("starting worker", "task_queue", workflows.TaskQueue, "temporal", wcfg.Temporal.Address)
	// app.Run with only the worker role runs what every process needs
	// besides its own work: dynamic config, the secrets watcher (so this
	// process follows rotations too) and the provider's token renewal.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return proc.Run(gctx, stdout) })
	g.Go(func() error { return app.Run(gctx, d, roles) })
	return g.Wait()
}

// parseDryRun parses the arguments of `<command> verb [--dry-run]`; other
// arguments are answered with usage.
func parseDryRun(args []string, verb, name, help, usage string) (dry bool, err error) {
	if len(args) == 0 || args[0] != verb {
		return false, errors.New(usage)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	d := fs.Bool("dry-run", false, help)
	if err := fs.Parse(args[1:]); err != nil {
		return false, err
	}
	return *d, nil
}

// readCommon reads the settings every command shares from the environment;
// env reads the command's own.
func readCommon() (env *config.Env, c config.Common, err error) {
	env = config.FromOS()
	c = config.ReadCommon(env)
	return env, c, env.Err()
}

// openAdminDB reads the common settings and opens the privileged database
// connection (DATABASE_ADMIN_URL, else DATABASE_URL) of migrations.
func openAdminDB(ctx context.Context) (*config.Env, config.Common, *pgxpool.Pool, error) {
	env, c, err := readCommon()
	if err != nil {
		return nil, c, nil, err
	}
	db, err := postgres.Open(ctx, postgres.Options{URL: env.String(c.DatabaseURL, "DATABASE_ADMIN_URL")})
	return env, c, db, err
}

func runSchedules(ctx context.Context, args []string, stdout io.Writer) error {
	dry, err := parseDryRun(args, "apply", "schedules apply", "print the changes; change nothing", "usage: mutt schedules apply [--dry-run]")
	if err != nil {
		return err
	}
	env := config.FromOS()
	c := config.ReadCommon(env)
	wcfg := workers.ReadConfig(env)
	if err := env.Err(); err != nil {
		return err
	}
	tc, err := workers.Dial(ctx, wcfg.Temporal, logger(c))
	if err != nil {
		return err
	}
	defer tc.Close()
	_, err = workers.Apply(ctx, tc, workflows.TaskQueue, workers.Schedules("", workflows.TaskQueue, wcfg.Retention, wcfg.RotationEnabled), dry, stdout)
	return err
}

func runSetup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	disableDefault := fs.Bool("disable-default-user", false,
		"disable Redis's default user after creating MUTT's (REDIS_ADMIN_URL must log in as a named admin user)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := app.ReadConfig(config.FromOS(), false, nil)
	if err != nil {
		return err
	}
	cfg.DisableDefaultRedisUser = *disableDefault
	return app.Setup(ctx, cfg, logger(cfg.Common), stdout)
}

func runMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "from-python" {
		return runFromPython(ctx, args[1:], stdout)
	}
	if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
		return errors.New("usage: mutt migrate up|status|from-python")
	}
	env, _, db, err := openAdminDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "up" {
		done, err := schema.Up(ctx, db, time.Now())
		for _, m := range done {
			fmt.Fprintf(stdout, "applied %04d_%s\n", m.Version, m.Name)
		}
		if err != nil {
			return err
		}
		if len(done) == 0 {
			fmt.Fprintln(stdout, "database is up to date")
		}
		// The services' role gets exactly its table privileges on the tables
		// this migration may have added (mutt setup does the same).
		// Before the first `mutt setup` the role does not exist: setup grants.
		var exists bool
		role := env.String("", "DB_USER")
		if role != "" {
			if err := db.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
				return fmt.Errorf("look up postgres role %q: %w", role, err)
			}
		}
		if exists {
			if err := secrets.GrantPostgresRole(ctx, db, role); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "granted postgres role %q its table privileges\n", role)
		}
		return nil
	}
	st, err := schema.List(ctx, db)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
	for _, s := range st {
		applied := "pending"
		if !s.AppliedAt.IsZero() {
			applied = s.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%04d\t%s\t%s\n", s.Version, s.Name, applied)
	}
	return tw.Flush()
}

func runConfig(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 1 && args[0] == "env-example" {
		writeEnvExample(stdout)
		return nil
	}
	dry, err := parseDryRun(args, "init", "config init", "print what would be set; write nothing",
		"usage: mutt config init [--dry-run] | mutt config env-example")
	if err != nil {
		return err
	}
	e, c, err := readCommon()
	if err != nil {
		return err
	}
	rdb, err := redisconn.Open(ctx, redisconn.Options{URL: e.String(c.RedisURL, "REDIS_ADMIN_URL"), Cluster: c.RedisCluster})
	if err != nil {
		return err
	}
	defer func() { _ = rdb.Close() }()
	_, err = dynconfig.Init(ctx, rdb, keyspace.New(c.RedisPrefix, c.Shards), os.LookupEnv, dry, stdout)
	return err
}
