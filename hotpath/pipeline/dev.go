package pipeline

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/schema"
)

// AllRoles is what `mutt dev` runs.
var AllRoles = []Role{MoogSim, Ingestor, Alerter, Forwarder, API}

// Bootstrap prepares a development installation: it creates the database if
// it does not exist, migrates it, seeds the example rules, dev hosts and teams
// into empty tables, and seeds dynamic config (never overwriting values).
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

// Banner tells the developer where everything is.
func Banner(w io.Writer, cfg Config, temporalUI string) {
	ingestURL := "http://" + loopback(cfg.Ingest.Addr)
	key := DevIngestKey
	if len(cfg.Ingest.APIKeys) > 0 {
		key = cfg.Ingest.APIKeys[0]
	}
	apiKey := DevAPIAdminKey
	if len(cfg.APIAdminKeys) > 0 {
		apiKey = cfg.APIAdminKeys[0]
	}
	fmt.Fprintf(w, `
MUTT dev is running (Redis prefix %q, database %s)
  ingest        %s/ingest          (X-API-KEY: %s)
  ingest health %s/health   metrics %s/metrics   config %s/admin/config
  alerter       http://%s/health   /metrics
  forwarder     http://%s/health   /metrics
  moog-sim      http://%s/stats    (Moogsoft webhook: %s)
  admin API     http://%s/api/v2/version   (X-API-KEY: %s)   OpenAPI /api/openapi.json
  web UI        http://%s/ui/   (log in with the admin API key)
  temporal UI   %s   (schedules mutt-partition-maintenance, mutt-retention,
                mutt-dlq-remediation, mutt-slo-report; worker on task queue mutt-ops)

Try:
  curl -s -H 'X-API-KEY: %s' -H 'Content-Type: application/json' %s/ingest \
    -d '{"hostname":"router1.prod.example.com","timestamp":"%s","message":"LINK-DOWN Gi0/1 changed state to down","syslog_severity":"critical"}'
  curl -s http://%s/stats

`, cfg.RedisPrefix, redactURL(cfg.DatabaseURL), ingestURL, key, ingestURL, ingestURL, ingestURL,
		loopback(cfg.AlerterAddr), loopback(cfg.ForwarderAddr), loopback(cfg.MoogSimAddr), cfg.MoogWebhookURL,
		loopback(cfg.APIAddr), apiKey, loopback(cfg.APIAddr), temporalUI, key, ingestURL, time.Now().UTC().Format(time.RFC3339), loopback(cfg.MoogSimAddr))
}

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparseable)"
}
