package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/mutt-ops/mutt/internal/postgres"
	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workflows"
)

// Logins of the processes of a cluster with Secrets (server-wide names, but
// the servers are the cluster's own).
const (
	chaosRedisUser = "mutt_chaos"
	chaosDBUser    = "mutt_app_chaos"
)

// Hostnames of the rows seedRetention writes, so the checks find them among
// the load's.
const (
	expiredHost = "chaos-retention-expired"
	keptHost    = "chaos-retention-kept"
)

// retentionSeed is what seedRetention wrote: rows on both sides of each
// cut-off of the default policy (events 90 days, archive 2555 days, config
// audit 365 days).
type retentionSeed struct {
	expired, kept                 int64 // event_audit_log rows
	archiveExpired, archiveKept   int64
	configExpired, configKept     int64
	expiredMonths                 []time.Time // whole months of expired events, in their own partitions
	keptFrom, keptTo, expiredNear time.Time
}

// TestChaosOpsPlane runs the ops plane's disruptive workflows on the
// cluster's worker while the load continues, started through the Temporal
// client as `temporal workflow start` does:
//   - SecretRotationWorkflow for the Redis and then the PostgreSQL password,
//     on servers that check them, under seven running processes: no accepted
//     event may be lost, no process may die, the old passwords stop working;
//   - RetentionWorkflow on an audit log seeded with aged rows on both sides of
//     the retention cut-offs: it must move exactly the expired events to the
//     archive and purge exactly the expired archive and config-audit rows.
func TestChaosOpsPlane(t *testing.T) {
	c := newCluster(t, chosenProfile(t), clusterOptions{AppendFsync: "always", Secrets: true, OwnNamespace: true})
	ctx := context.Background()
	seed := c.seedRetention(ctx)
	tc, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(), Namespace: c.namespace})
	require.NoError(t, err)
	t.Cleanup(tc.Close)

	file := secrets.NewFile(c.secretsFile, slog.New(slog.DiscardHandler))
	before, err := file.Read(ctx)
	require.NoError(t, err)
	c.phase("secret rotation of the Redis and PostgreSQL passwords during the load", func(ctx context.Context) string {
		start := time.Now()
		for _, in := range []workflows.SecretRotationInput{
			{Target: workflows.SecretTargetRedis, GracePeriod: "2s", VerifyTimeout: "2m"},
			{Target: workflows.SecretTargetPostgres, VerifyTimeout: "2m"},
		} {
			res, err := rotate(ctx, tc, in)
			require.NoError(t, err, "rotation of %s: %+v", in.Target, res)
			require.True(t, res.Promoted, in.Target)
			require.True(t, res.OldRemoved, in.Target)
		}
		return fmt.Sprintf("SecretRotationWorkflow redis (grace 2 s), then postgres; %s", time.Since(start).Round(100*time.Millisecond))
	})
	after, err := file.Read(ctx)
	require.NoError(t, err)
	oldRedis, oldDB := before.Get(secrets.RedisPassCurrent), before.Get(secrets.DBPassCurrent)
	newRedis, newDB := after.Get(secrets.RedisPassCurrent), after.Get(secrets.DBPassCurrent)
	require.NotEqual(t, oldRedis, newRedis)
	require.NotEqual(t, oldDB, newDB)
	redisURL, dbURL := "redis://"+c.redis.Addr+"/0", c.appDBURL()
	require.Error(t, redisconn.CheckLogin(ctx, redisURL, false, chaosRedisUser, oldRedis), "the old Redis password was removed")
	require.NoError(t, redisconn.CheckLogin(ctx, redisURL, false, chaosRedisUser, newRedis))
	require.Error(t, postgres.CheckLogin(ctx, dbURL, chaosDBUser, oldDB), "the old PostgreSQL password no longer works")
	require.NoError(t, postgres.CheckLogin(ctx, dbURL, chaosDBUser, newDB))

	var res workflows.RetentionResult
	c.phase("retention run (RetentionWorkflow, default policy) during the load", func(ctx context.Context) string {
		start := time.Now()
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "chaos-retention-" + uuid.NewString(),
			TaskQueue: workflows.TaskQueue, WorkflowExecutionTimeout: 5 * time.Minute},
			"RetentionWorkflow", workflows.RetentionInput{BatchSize: 500})
		require.NoError(t, err, "start RetentionWorkflow")
		require.NoError(t, run.Get(ctx, &res), "RetentionWorkflow %s", run.GetID())
		return fmt.Sprintf("archived %d (%d whole partitions dropped), archive purged %d, config audit purged %d, in %s",
			res.Archived, res.PartitionsDropped, res.ArchivePurged, res.ConfigAuditPurged,
			time.Since(start).Round(100*time.Millisecond))
	})

	// It did what the policy says, no more and no less.
	require.Equal(t, 90, res.EventRetentionDays)
	require.EqualValues(t, seed.expired, res.Archived, "every expired event and nothing else was archived")
	require.GreaterOrEqual(t, res.PartitionsDropped, int64(len(seed.expiredMonths)))
	for _, m := range seed.expiredMonths {
		require.Contains(t, res.DroppedPartitions, "event_audit_log_p"+m.Format("200601"))
	}
	require.EqualValues(t, seed.archiveExpired, res.ArchivePurged)
	require.EqualValues(t, seed.configExpired, res.ConfigAuditPurged)
	count := func(q string, args ...any) int64 {
		var n int64
		require.NoError(t, c.db.QueryRow(ctx, q, args...).Scan(&n), q)
		return n
	}
	require.Zero(t, count(`SELECT count(*) FROM event_audit_log WHERE hostname = $1`, expiredHost))
	require.Equal(t, seed.expired, count(`SELECT count(*) FROM event_audit_log_archive WHERE hostname = $1`, expiredHost),
		"the expired events are in the archive")
	require.Equal(t, seed.kept, count(`SELECT count(*) FROM event_audit_log WHERE hostname = $1`, keptHost),
		"events within the retention stay")
	require.Zero(t, count(`SELECT count(*) FROM event_audit_log_archive WHERE hostname = $1`, keptHost))
	require.Equal(t, seed.archiveKept, count(`SELECT count(*) FROM event_audit_log_archive WHERE hostname = 'chaos-archive'`))
	require.Equal(t, seed.configKept, count(`SELECT count(*) FROM config_audit_log WHERE changed_by = 'chaos'`))
	require.Zero(t, count(`SELECT count(*) FROM event_audit_log WHERE event_timestamp < $1`, res.EventCutoff))
	c.report()
}

// rotate runs one secret rotation to its end.
func rotate(ctx context.Context, tc client.Client, in workflows.SecretRotationInput) (workflows.SecretRotationResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var res workflows.SecretRotationResult
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "chaos-" + workflows.SecretRotationWorkflowID(in.Target) + "-" + uuid.NewString()[:8],
		TaskQueue: workflows.TaskQueue}, workflows.SecretRotationWorkflow, in)
	if err != nil {
		return res, fmt.Errorf("start: %w", err)
	}
	err = run.Get(ctx, &res)
	// A failed rotation attaches its result to the failure.
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() {
		_ = app.Details(&res)
	}
	return res, err
}

// withSecrets makes the cluster log in as `mutt setup` sets it up: its own
// Redis ACL user and PostgreSQL role, their passwords in a secrets file that
// every process reads (and the worker's rotations change); the worker
// changes them through the admin logins. It runs `mutt setup` and returns
// the processes' environment.
func (c *cluster) withSecrets(ctx context.Context, env []string) []string {
	t := c.t
	t.Helper()
	u, err := url.Parse(c.pg.URL)
	require.NoError(t, err)
	c.pgHost = u.Host
	c.secretsFile = filepath.Join(c.logDir, "secrets.json")
	// Later entries win (os/exec keeps the last value of a key).
	env = append(env, "MUTT_SECRETS_FILE="+c.secretsFile, "REDIS_USERNAME="+chaosRedisUser, "DB_USER="+chaosDBUser,
		"REDIS_URL=redis://"+c.redis.Addr+"/0", "REDIS_ADMIN_URL=redis://"+c.redis.Addr+"/0",
		"DATABASE_URL="+c.appDBURL(),
		"DATABASE_ADMIN_URL=postgres://postgres:admin@"+c.pgHost+"/mutt_chaos?sslmode=disable")
	cmd := exec.CommandContext(ctx, exe, "setup") // #nosec G204 -- the harness's own mutt binary
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "mutt setup: %s", out)
	return env
}

// appDBURL is the services' database URL: no credentials (DB_USER and the
// secrets file give them).
func (c *cluster) appDBURL() string {
	return "postgres://" + c.pgHost + "/mutt_chaos?sslmode=disable"
}

// seedRetention writes aged rows as a real database collects them: two whole
// expired months in their own partitions, expired rows near the cut-off,
// rows within the retention, and archive and config-audit rows on both sides
// of their cut-offs.
func (c *cluster) seedRetention(ctx context.Context) retentionSeed {
	t := c.t
	t.Helper()
	now := time.Now().UTC()
	first := schema.MonthStart(now).AddDate(0, -6, 0)
	_, err := schema.EnsurePartitions(ctx, c.db, first, 6)
	require.NoError(t, err)
	s := retentionSeed{expired: 2*2000 + 1000, kept: 1000, archiveExpired: 300, archiveKept: 200,
		configExpired: 100, configKept: 50,
		expiredMonths: []time.Time{first, first.AddDate(0, 1, 0)},
		expiredNear:   now.AddDate(0, 0, -100), keptFrom: now.AddDate(0, 0, -80), keptTo: now.AddDate(0, 0, -70)}
	insert := func(host string, n int, from, to time.Time) {
		_, err := c.db.Exec(ctx, `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname,
	matched_rule_id, handling_decision, forwarded_to_moog, team_assignment, environment, correlation_id, raw_message)
SELECT gen_random_uuid(), ts, ts, $4, NULL, 'Page_and_ticket', true, 'NETO', 'prod', 'chaos-retention',
	'%LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down'
FROM generate_series(0, $3::int - 1) g,
	LATERAL (SELECT $1::timestamptz + (g * ($2::timestamptz - $1::timestamptz) / $3::int) AS ts) x`, from, to, n, host)
		require.NoError(t, err, "seed %s rows", host)
	}
	insert(expiredHost, 2000, first, first.AddDate(0, 1, 0))
	insert(expiredHost, 2000, first.AddDate(0, 1, 0), first.AddDate(0, 2, 0))
	insert(expiredHost, 1000, s.expiredNear, s.expiredNear.Add(24*time.Hour))
	insert(keptHost, 1000, s.keptFrom, s.keptTo)
	_, err = c.db.Exec(ctx, `INSERT INTO event_audit_log_archive (id, event_id, event_timestamp, received_at, hostname,
	handling_decision, archived_from_partition)
SELECT -g, gen_random_uuid(), ts, ts, CASE WHEN g <= 300 THEN 'chaos-archive-old' ELSE 'chaos-archive' END, 'Ticket_only',
	'event_audit_log_p' || to_char(ts AT TIME ZONE 'UTC', 'YYYYMM')
FROM generate_series(1, 500) g, LATERAL (SELECT CASE WHEN g <= 300 THEN now() - interval '3000 days'
	ELSE now() - interval '1000 days' END + g * interval '1 hour' AS ts) t`)
	require.NoError(t, err)
	_, err = c.db.Exec(ctx, `INSERT INTO config_audit_log (changed_at, changed_by, operation, table_name, record_id, new_values)
SELECT CASE WHEN g <= 100 THEN now() - interval '400 days' ELSE now() - interval '10 days' END + g * interval '1 minute',
	CASE WHEN g <= 100 THEN 'chaos-old' ELSE 'chaos' END, 'UPDATE', 'alert_rules', g::text, '{"priority": 10}'
FROM generate_series(1, 150) g`)
	require.NoError(t, err)
	return s
}
