package workers_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/mutt-ops/mutt/activities"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

// TestTriggeredOpsSchedulesDoTheirJob is the operator's `temporal schedule
// trigger` of each ops-plane schedule as apply writes it (its own workflow
// input, the worker's retention policy), run by a real `mutt worker` against
// its own database and Redis prefix: retention archives and purges, DLQ
// remediation replays and parks with Moogsoft healthy, the SLO report without
// Prometheus says no data and is stored and published.
func TestTriggeredOpsSchedulesDoTheirJob(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, tq := testenv.Temporal(t)
	db := testenv.Postgres(t)
	rdb, keys := testenv.Redis(t)
	sim := moogsim.New(moogsim.Options{APIKey: "moog-key"})
	moog := httptest.NewServer(sim.Handler())
	t.Cleanup(moog.Close)
	log := slog.New(slog.DiscardHandler)
	runProcess(t, &workers.Process{Client: c, Log: log, TaskQueue: tq, Cfg: workers.Config{Retention: policy},
		Deps: &activities.Deps{DB: db, Redis: rdb, Keys: keys, Log: log, Registerer: prometheus.NewRegistry(),
			MoogURL: moog.URL + "/api/v1/events", MoogAPIKey: "moog-key"}})

	// Created paused (an operator setting, the input stays apply's): the
	// 5-minute interval schedules must not start runs of their own during the
	// test; a trigger runs a paused schedule all the same.
	scheds := workers.Schedules(tq+"-", tq, policy, false)
	byID := map[string]workers.Schedule{}
	for i := range scheds {
		scheds[i].Paused = true
		byID[strings.TrimPrefix(scheds[i].ID, tq+"-")] = scheds[i]
	}
	t.Cleanup(func() {
		for _, s := range scheds {
			_ = c.ScheduleClient().GetHandle(context.Background(), s.ID).Delete(context.Background())
		}
	})
	_, err := workers.Apply(ctx, c, tq, scheds, false, io.Discard)
	require.NoError(t, err)

	ret := seedRetention(t, db)
	dlq := seedDLQ(t, rdb, keys)

	// Triggered together: the three runs go on concurrently on the worker.
	runs := map[string]client.WorkflowRun{}
	for _, id := range []string{"mutt-retention", "mutt-dlq-remediation", "mutt-slo-report"} {
		runs[id] = triggerSchedule(ctx, t, c, byID[id].ID)
	}

	t.Run("retention", func(t *testing.T) {
		var res workflows.RetentionResult
		require.NoError(t, runs["mutt-retention"].Get(ctx, &res))
		require.False(t, res.DryRun)
		require.Equal(t, []int{policy.EventRetentionDays, policy.ArchiveRetentionDays, policy.ConfigAuditRetentionDays},
			[]int{res.EventRetentionDays, res.ArchiveRetentionDays, res.ConfigAuditRetentionDays}, "the schedule's input")
		require.EqualValues(t, ret.expired, res.Archived)
		require.Contains(t, res.DroppedPartitions, ret.expiredPartition)
		require.EqualValues(t, 1, res.ArchivePurged)
		require.EqualValues(t, 1, res.ConfigAuditPurged)

		require.Zero(t, count(t, db, `SELECT count(*) FROM event_audit_log WHERE event_timestamp < $1`, res.EventCutoff))
		require.EqualValues(t, ret.kept, count(t, db, `SELECT count(*) FROM event_audit_log`))
		require.EqualValues(t, ret.expired, count(t, db,
			`SELECT count(*) FROM event_audit_log_archive WHERE hostname = 'trigger-test'`), "every expired event is archived")
		require.Zero(t, count(t, db, `SELECT count(*) FROM event_audit_log_archive WHERE event_timestamp < $1`, res.ArchiveCutoff))
		require.EqualValues(t, 1, count(t, db, `SELECT count(*) FROM event_audit_log_archive WHERE hostname = 'old-host'`))
		require.Zero(t, count(t, db, `SELECT count(*) FROM config_audit_log WHERE changed_at < $1`, res.ConfigAuditCutoff))
		require.EqualValues(t, 1, count(t, db, `SELECT count(*) FROM config_audit_log WHERE changed_by = 'trigger-test'`))
		var exists bool
		require.NoError(t, db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, ret.expiredPartition).Scan(&exists))
		require.False(t, exists, "the expired partition is dropped")
	})

	t.Run("dlq remediation", func(t *testing.T) {
		var res workflows.DLQResult
		require.NoError(t, runs["mutt-dlq-remediation"].Get(ctx, &res))
		require.NotNil(t, res.MoogHealth)
		require.True(t, res.MoogHealth.Healthy, "moogsoft simulator is up: %+v", res.MoogHealth)
		require.Equal(t, workflows.DLQDefaultMaxReplays, res.MaxReplays, "the schedule's empty input means the defaults")
		require.Len(t, res.Streams, 2)
		for _, s := range res.Streams {
			require.Equal(t, 1, s.Replayed, s.Stream)
			require.Zero(t, s.Depth, s.Stream)
		}
		require.Len(t, res.Poisoned, 1)
		require.Equal(t, dlq.poisonID, res.Poisoned[0].ID)
		require.Equal(t, "max_replays", res.Poisoned[0].Cause)
		require.EqualValues(t, 1, res.PoisonDepth)
		require.Positive(t, sim.Probes())
		require.Zero(t, sim.Requests(), "the health probe posts no event")

		require.Equal(t, map[string]string{`{"event_id":"alerter-1"}`: "1"}, streamPayloads(t, rdb, keys.IngestStream(0)))
		require.Equal(t, map[string]string{`{"event_id":"moog-1"}`: "1"}, streamPayloads(t, rdb, keys.AlertStream(0)))
		for _, k := range []string{keys.AlerterDLQ(), keys.MoogDLQ()} {
			n, err := rdb.XLen(ctx, k).Result()
			require.NoError(t, err)
			require.Zero(t, n, k)
		}
		parked, err := rdb.XRange(ctx, keys.PoisonDLQ(), "-", "+").Result()
		require.NoError(t, err)
		require.Len(t, parked, 1)
		require.Equal(t, `{"event_id":"alerter-poison"}`, parked[0].Values[stream.Field])
	})

	t.Run("slo report", func(t *testing.T) {
		var res workflows.SLOReportResult
		run := runs["mutt-slo-report"]
		require.NoError(t, run.Get(ctx, &res))
		require.Equal(t, workflows.SLOStatusNoData, res.Status)
		require.Equal(t, workflows.SLOReasonNotConfigured, res.Reason)
		require.False(t, res.DryRun)
		require.True(t, res.Published)
		require.Positive(t, res.ReportID)

		var status, wfID string
		require.NoError(t, db.QueryRow(ctx, `SELECT status, report->>'workflow_id' FROM slo_reports WHERE id = $1`,
			res.ReportID).Scan(&status, &wfID))
		require.Equal(t, workflows.SLOStatusNoData, status)
		require.Equal(t, run.GetID(), wfID)

		raw, err := rdb.Get(ctx, keys.Prefix+"slo:status").Bytes()
		require.NoError(t, err, "the status is published")
		var st workflows.SLOStatus
		require.NoError(t, json.Unmarshal(raw, &st))
		require.Equal(t, res.ReportID, st.ReportID)
		require.Equal(t, workflows.SLOStatusNoData, st.Status)
	})
}

// triggerSchedule triggers the schedule and returns the run it started,
// found in the schedule's recent actions (the schedule is paused, so the
// trigger's is the only one).
func triggerSchedule(ctx context.Context, t *testing.T, c client.Client, id string) client.WorkflowRun {
	t.Helper()
	h := c.ScheduleClient().GetHandle(ctx, id)
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var wfID, runID string
	require.Eventually(t, func() bool {
		d, err := h.Describe(ctx)
		if err != nil || len(d.Info.RecentActions) == 0 {
			return false
		}
		r := d.Info.RecentActions[0].StartWorkflowResult
		wfID, runID = r.WorkflowID, r.FirstExecutionRunID
		return true
	}, 30*time.Second, 100*time.Millisecond, "schedule %s started no run", id)
	require.True(t, strings.HasPrefix(wfID, id), "run %s of schedule %s", wfID, id)
	return c.GetWorkflow(ctx, wfID, runID)
}

// retentionSeed is what seedRetention put in the database.
type retentionSeed struct {
	expired, kept    int
	expiredPartition string // a partition entirely past the event retention
}

// seedRetention adds, relative to now and the retention of policy, audit
// events past retention (in a whole expired monthly partition and a few more
// wherever they fall), events within it, an archive row past the archive
// retention and one within, and config audit rows on both sides of its cut-off.
func seedRetention(t *testing.T, db *pgxpool.Pool) retentionSeed {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	day := 24 * time.Hour
	// Five months back is always entirely past a 90-day retention.
	old := schema.MonthStart(now).AddDate(0, -5, 0)
	_, err := schema.EnsurePartitions(ctx, db, old, 5)
	require.NoError(t, err)
	events := func(ts ...time.Time) {
		for _, at := range ts {
			_, err := db.Exec(ctx, `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname,
	handling_decision) VALUES ($1, $2, $2, 'trigger-test', 'Page_and_ticket')`, uuid.New(), at)
			require.NoError(t, err)
		}
	}
	retention := time.Duration(policy.EventRetentionDays) * day
	expired := []time.Time{old.Add(time.Hour), old.Add(10 * day), old.Add(20 * day),
		now.Add(-retention - day), now.Add(-retention - 3*day)}
	kept := []time.Time{now.Add(-retention + 10*day), now.Add(-day)}
	events(expired...)
	events(kept...)

	archive := time.Duration(policy.ArchiveRetentionDays) * day
	for i, at := range []time.Time{now.Add(-archive - 30*day), now.Add(-archive + 30*day)} {
		host := "old-host"
		if i == 0 {
			host = "expired-host"
		}
		_, err := db.Exec(ctx, `INSERT INTO event_audit_log_archive (id, event_id, event_timestamp, received_at, hostname,
	handling_decision, archived_from_partition) VALUES ($1, $2, $3, $3, $4, 'Ticket_only', $5)`,
			-1-i, uuid.New(), at, host, schema.PartitionName(at))
		require.NoError(t, err)
	}
	configAudit := time.Duration(policy.ConfigAuditRetentionDays) * day
	for i, at := range []time.Time{now.Add(-configAudit - 30*day), now.Add(-configAudit + 30*day)} {
		by := "trigger-test"
		if i == 0 {
			by = "expired-admin"
		}
		_, err := db.Exec(ctx, `INSERT INTO config_audit_log (changed_at, changed_by, operation, table_name, record_id,
	new_values) VALUES ($1, $2, 'UPDATE', 'alert_rules', '1', '{"priority": 10}')`, at, by)
		require.NoError(t, err)
	}
	return retentionSeed{expired: len(expired), kept: len(kept), expiredPartition: schema.PartitionName(old)}
}

// dlqSeed is what seedDLQ put in Redis.
type dlqSeed struct{ poisonID string }

// seedDLQ dead-letters, with the fields internal/stream.Consumer.DeadLetter
// writes, one fresh alert in the moog DLQ, one fresh event and one already
// replayed max_replays times in the alerter DLQ.
func seedDLQ(t *testing.T, rdb *redis.Client, keys keyspace.Keys) dlqSeed {
	t.Helper()
	add := func(dlq, source, payload string, replays int) string {
		vals := []any{"reason", "moog_rejected", "error", "boom", "attempts", "1",
			"failed_at", time.Now().UTC().Format(time.RFC3339Nano), "source_stream", source, "source_id", "1-0",
			stream.Field, payload}
		if replays > 0 {
			vals = append(vals, stream.ReplaysField, strconv.Itoa(replays))
		}
		id, err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: dlq, Values: vals}).Result()
		require.NoError(t, err)
		return id
	}
	add(keys.MoogDLQ(), keys.AlertStream(0), `{"event_id":"moog-1"}`, 0)
	add(keys.AlerterDLQ(), keys.IngestStream(0), `{"event_id":"alerter-1"}`, 0)
	poison := add(keys.AlerterDLQ(), keys.IngestStream(0), `{"event_id":"alerter-poison"}`, workflows.DLQDefaultMaxReplays)
	return dlqSeed{poisonID: poison}
}

// streamPayloads maps the payload of every entry of a stream to its replay count.
func streamPayloads(t *testing.T, rdb *redis.Client, key string) map[string]string {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), key, "-", "+").Result()
	require.NoError(t, err)
	out := map[string]string{}
	for _, m := range msgs {
		d, _ := m.Values[stream.Field].(string)
		r, _ := m.Values[stream.ReplaysField].(string)
		out[d] = r
	}
	return out
}

func count(t *testing.T, db *pgxpool.Pool, query string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow(context.Background(), query, args...).Scan(&n), query)
	return n
}
