package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workflows"
)

// AllRoles is what `mutt dev` runs.
var AllRoles = []Role{MoogSim, Ingestor, Alerter, Forwarder, API}

// Bootstrap prepares a development installation: it creates the database if
// it does not exist, migrates it, seeds the example rules, dev hosts and teams
// into empty tables, grants the services' PostgreSQL role its privileges on
// the tables, and seeds dynamic config (never overwriting values).
func Bootstrap(ctx context.Context, d *Deps) error {
	db := d.AdminDB // the owner runs DDL; services log in as the DML-only role
	if db == nil {
		db = d.DB
	}
	if _, err := schema.Up(ctx, db, time.Now()); err != nil {
		return err
	}
	if _, err := schema.SeedExamples(ctx, db); err != nil {
		return err
	}
	// Setup ran before the tables existed: grant the services' role its
	// table privileges now (ADR 0016).
	if role := d.dbUser(); d.AdminDB != nil && role != "" {
		if err := secrets.GrantPostgresRole(ctx, d.AdminDB, role); err != nil {
			return err
		}
	}
	if _, err := dynconfig.Init(ctx, d.Redis, d.Keys, os.LookupEnv, false, nil); err != nil {
		return err
	}
	return nil
}

// EnsureDatabase creates the database named in dbURL when it is missing
// (development only: production databases are provisioned by their owners).
func EnsureDatabase(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return nil
	}
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("connect to postgres to create database %s: %w", name, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// DevTemporal is the Temporal task queue and schedule-id prefix of a
// `mutt dev` instance: the defaults for the default key prefix, else derived
// from it (DevInstance), so instances side by side on one Temporal server
// never run each other's workflows.
func DevTemporal(redisPrefix string) (taskQueue, schedulePrefix string) {
	name := DevInstance(redisPrefix)
	if name == "" {
		return workflows.TaskQueue, ""
	}
	return workflows.TaskQueue + "-" + name, name + "-"
}

// DevLogFile is the default log file of a `mutt dev` instance, beside the
// secrets file: ./.mutt/dev.log, or ./.mutt/dev-<instance>.log for an
// instance with its own key prefix (DevInstance).
func DevLogFile(redisPrefix string) string {
	if name := DevInstance(redisPrefix); name != "" {
		return "./.mutt/dev-" + name + ".log"
	}
	return "./.mutt/dev.log"
}

// OpenDevLog opens (appending) the log file of `mutt dev`, creating its directory.
func OpenDevLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("MUTT_DEV_LOG_FILE: create the directory of %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600) // #nosec G304 -- the operator's own log path (MUTT_DEV_LOG_FILE)
	if err != nil {
		return nil, fmt.Errorf("MUTT_DEV_LOG_FILE: %w", err)
	}
	return f, nil
}

// Banner tells the developer where everything is. The API keys it prints
// are the secrets provider's current ones (keys, as the running process
// reads them; Setup stored the dev keys there, and a rotation replaces them),
// else the environment's. prometheus is the URL of the Prometheus the SLO
// report queries, or why there is none.
func Banner(w io.Writer, cfg Config, keys *secrets.Cache, temporalUI, prometheus string) {
	ingestURL := "http://" + Loopback(cfg.Ingest.Addr)
	key := bannerKey(keys, secrets.IngestAPIKey, cfg.Ingest.APIKeys)
	apiKey := bannerKey(keys, secrets.WebUIAPIKey, cfg.APIAdminKeys)
	store := cfg.Secrets.Provider
	if store == secrets.ProviderFile {
		store += " " + cfg.Secrets.File
	}
	targets := workflows.SecretTargets()
	taskQueue, schedPrefix := DevTemporal(cfg.RedisPrefix)
	rotations := make([]string, len(targets))
	for i, t := range targets {
		rotations[i] = schedPrefix + workflows.SecretRotationWorkflowID(t)
	}
	ops := []string{"mutt-partition-maintenance", "mutt-retention", "mutt-dlq-remediation", "mutt-slo-report"}
	for i := range ops {
		ops[i] = schedPrefix + ops[i]
	}
	half := (len(rotations) + 1) / 2
	fmt.Fprintf(w, `
MUTT dev is running (Redis prefix %q, database %s)
  ingest        %s/ingest          (X-API-KEY: %s)
  ingest health %s/health   metrics %s/metrics   config %s/admin/config
  alerter       http://%s/health   /metrics
  forwarder     http://%s/health   /metrics
  moog-sim      http://%s/stats    (Moogsoft webhook: %s)
  admin API     http://%s/api/v2/version   (X-API-KEY: %s)   OpenAPI /api/openapi.json
  web UI        http://%s/ui/   (log in with the admin API key)
  secrets       %s   (passwords, API keys; muttdev rotate %s)
  temporal UI   %s   (worker on task queue %s)
  prometheus    %s   (scrapes every role, with deploy/prometheus/rules; SLO report /api/v2/slo)
  log           %s   (muttdev logs all --follow)
  schedules     %s,
                %s,
                %s
                (the rotations run monthly; paused unless MUTT_SECRET_ROTATION_ENABLED=true)

Try:
  curl -s -H 'X-API-KEY: %s' -H 'Content-Type: application/json' %s/ingest \
    -d '{"hostname":"router1.prod.example.com","timestamp":"%s","message":"LINK-DOWN Gi0/1 changed state to down","syslog_severity":"critical"}'
  curl -s http://%s/stats

`, cfg.RedisPrefix, redactURL(cfg.DatabaseURL), ingestURL, key, ingestURL, ingestURL, ingestURL,
		Loopback(cfg.AlerterAddr), Loopback(cfg.ForwarderAddr), Loopback(cfg.MoogSimAddr), cfg.MoogWebhookURL,
		Loopback(cfg.APIAddr), apiKey, Loopback(cfg.APIAddr), store, strings.Join(targets, "|"), temporalUI, taskQueue, prometheus, cfg.DevLogFile, strings.Join(ops, ", "),
		strings.Join(rotations[:half], ", "), strings.Join(rotations[half:], ", "),
		key, ingestURL, time.Now().UTC().Format(time.RFC3339), Loopback(cfg.MoogSimAddr))
	if cfg.SNMP.Addr != "" {
		fmt.Fprintf(w, "SNMP traps on udp %s (v1/v2c communities: %s; v3 users: %d):\n"+
			"  snmptrap -v 2c -c public %s '' 1.3.6.1.4.1.9.9.41.2.0.1\n\n",
			Loopback(cfg.SNMP.Addr), strings.Join(cfg.SNMP.Communities, ","), len(cfg.SNMP.Users), Loopback(cfg.SNMP.Addr))
	}
	if sl := cfg.Syslog; sl.Enabled() {
		fmt.Fprintf(w, "Syslog: udp %q tcp %q tls %q (\"off\" or unset: not listening)\n", sl.UDPAddr, sl.TCPAddr, sl.TLSAddr)
		if h, p, err := net.SplitHostPort(Loopback(sl.TCPAddr)); err == nil && sl.TCPAddr != "" {
			fmt.Fprintf(w, "  logger -n %s -P %s --tcp --rfc5424 -p local4.crit 'LINK-DOWN Gi0/1 changed state to down'\n\n", h, p)
		}
	}
}

// bannerKey is the first key of the provider's slot, else of the
// environment's list.
func bannerKey(keys *secrets.Cache, slot string, env []string) string {
	if keys != nil {
		for _, k := range strings.Split(keys.Get(slot), ",") {
			if k = strings.TrimSpace(k); k != "" {
				return k
			}
		}
	}
	if len(env) > 0 {
		return env[0]
	}
	return "(none: set " + slot + ")"
}

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparseable)"
}
