package activities

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workflows"
)

// rtClock is the pinned clock of the retention tests: the event cut-off is
// 2026-08-17T02:00Z, the archive's 2019-11-24T02:00Z, the config audit's
// 2025-11-15T02:00Z.
func rtClock() time.Time { return time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC) }

// rtSnapshot is what a retention run may change.
type rtSnapshot struct {
	Live, Archive, ConfigAudit int64
	Partitions                 []string
}

func rtSnap(t *testing.T, db *pgxpool.Pool) rtSnapshot {
	t.Helper()
	return rtSnapshot{
		Live:        prCount(t, db, `SELECT count(*) FROM event_audit_log`),
		Archive:     prCount(t, db, `SELECT count(*) FROM event_audit_log_archive`),
		ConfigAudit: prCount(t, db, `SELECT count(*) FROM config_audit_log`),
		Partitions:  prPartitions(t, db),
	}
}

// rtSeed fills a database the way a real one ages: whole expired months
// (p202606, p202607), the month the cut-off falls in (p202608), old rows parked
// in DEFAULT (January 2025), recent events, an archive with rows past and
// within its retention, and config audit rows on both sides of its cut-off.
func rtSeed(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	_, err := schema.EnsurePartitions(ctx, db, ptMonth(2026, 6), 6) // p202606 … p202611
	require.NoError(t, err)
	prInsertRows(t, db, 60_000, ptMonth(2026, 6), ptMonth(2026, 7))
	prInsertRows(t, db, 60_000, ptMonth(2026, 7), ptMonth(2026, 8))
	prInsertRows(t, db, 120_000, ptMonth(2026, 8), ptMonth(2026, 9))
	prInsertRows(t, db, 1_000, ptMonth(2025, 1), ptMonth(2025, 2))
	prInsertRows(t, db, 5_000, ptMonth(2026, 11), rtClock())
	_, err = db.Exec(ctx, `INSERT INTO event_audit_log_archive (id, event_id, event_timestamp, received_at, hostname,
	handling_decision, archived_from_partition)
SELECT -g, gen_random_uuid(), ts, ts, 'old-host', 'Ticket_only', 'event_audit_log_p' || to_char(ts AT TIME ZONE 'UTC', 'YYYYMM')
FROM generate_series(1, 800) g, LATERAL (SELECT CASE WHEN g <= 500 THEN '2018-03-01'::timestamptz ELSE '2024-03-01'::timestamptz END
	+ g * interval '1 hour' AS ts) t`)
	require.NoError(t, err)
	_, err = db.Exec(ctx, `INSERT INTO config_audit_log (changed_at, changed_by, operation, table_name, record_id, new_values)
SELECT CASE WHEN g <= 200 THEN '2025-06-01'::timestamptz ELSE '2026-10-01'::timestamptz END + g * interval '1 minute',
	'admin', 'UPDATE', 'alert_rules', g::text, '{"priority": 10}'
FROM generate_series(1, 250) g`)
	require.NoError(t, err)
}

// TestRetentionAgainstRealServers runs RetentionWorkflow on the Temporal dev
// server against a quarter of a million audit rows in PostgreSQL: the dry run
// reports exactly what the real run then does and changes nothing; the real
// run moves every expired row (whole partitions and batches) and purges, and
// its counts match the database; a second run has nothing left to do.
func TestRetentionAgainstRealServers(t *testing.T) {
	t.Parallel()
	rtNow := rtClock()
	db := prDB(t, ptMonth(2030, 1)) // the migrator's partitions (p203001, p203002) are out of the way
	rtSeed(t, db)
	deps, reg := prDeps(db, rtNow)
	c, tq := prWorker(t, func(r Registry) { require.NoError(t, registerRetention(r, deps)) })

	cutoff := rtNow.AddDate(0, 0, -90)
	expArchived := prCount(t, db, `SELECT count(*) FROM event_audit_log WHERE event_timestamp < $1`, cutoff)
	expWhole := prCount(t, db, `SELECT count(*) FROM event_audit_log WHERE event_timestamp < '2026-08-01Z'`)
	expArchivePurged := prCount(t, db, `SELECT count(*) FROM event_audit_log_archive WHERE event_timestamp < $1`, rtNow.AddDate(0, 0, -2555))
	expConfigPurged := prCount(t, db, `SELECT count(*) FROM config_audit_log WHERE changed_at < $1`, rtNow.AddDate(0, 0, -365))
	require.EqualValues(t, 121_000, expWhole)
	require.EqualValues(t, 500, expArchivePurged)
	require.EqualValues(t, 200, expConfigPurged)
	var oldestKept time.Time
	require.NoError(t, db.QueryRow(context.Background(),
		`SELECT min(event_timestamp) FROM event_audit_log WHERE event_timestamp >= $1`, cutoff).Scan(&oldestKept))
	before := rtSnap(t, db)

	// Dry run: the counts of the real run, nothing changed.
	dry, _ := prRun[workflows.RetentionResult](t, c, tq, "dry", "RetentionWorkflow",
		workflows.RetentionInput{DryRun: true, BatchSize: 7000, Now: &rtNow})
	require.Equal(t, before, rtSnap(t, db), "a dry run changes nothing")
	require.True(t, dry.DryRun)
	require.Equal(t, expArchived, dry.Archived)
	require.EqualValues(t, 120_000, dry.ArchivedFromPartitions)
	require.Equal(t, []string{"event_audit_log_p202606", "event_audit_log_p202607"}, dry.DroppedPartitions)
	require.EqualValues(t, 2, dry.PartitionsDropped)
	require.Equal(t, expArchivePurged, dry.ArchivePurged)
	require.Equal(t, expConfigPurged, dry.ConfigAuditPurged)
	require.InDelta(t, rtNow.Sub(ptMonth(2025, 1)).Hours()/24, dry.OldestEventAgeDays, 0.001)
	require.Zero(t, testenv.Metric(t, reg, "mutt_events_archived_total", nil))
	require.Zero(t, testenv.Metric(t, reg, "mutt_retention_last_success_timestamp_seconds", nil))

	// The real run.
	res, run := prRun[workflows.RetentionResult](t, c, tq, "run", "RetentionWorkflow",
		workflows.RetentionInput{BatchSize: 7000, Now: &rtNow})
	require.False(t, res.DryRun)
	require.Equal(t, cutoff, res.EventCutoff)
	require.Equal(t, expArchived, res.Archived)
	require.Equal(t, dry.Archived, res.Archived)
	require.Equal(t, dry.ArchivedFromPartitions, res.ArchivedFromPartitions)
	require.Equal(t, dry.ArchivedInBatches, res.ArchivedInBatches)
	require.Equal(t, dry.Batches, res.Batches)
	require.Equal(t, dry.DroppedPartitions, res.DroppedPartitions)
	require.EqualValues(t, 2, res.PartitionsDropped)
	require.Equal(t, expArchivePurged, res.ArchivePurged)
	require.Equal(t, expConfigPurged, res.ConfigAuditPurged)
	require.NotNil(t, res.OldestEvent)
	require.True(t, oldestKept.Equal(*res.OldestEvent))
	require.InDelta(t, rtNow.Sub(oldestKept).Hours()/24, res.OldestEventAgeDays, 0.001)

	// The database agrees with the result, and no row was lost or duplicated.
	after := rtSnap(t, db)
	require.Equal(t, before.Live-res.Archived, after.Live)
	require.Equal(t, before.Archive+res.Archived-res.ArchivePurged, after.Archive)
	require.Equal(t, before.ConfigAudit-res.ConfigAuditPurged, after.ConfigAudit)
	require.NotContains(t, after.Partitions, "event_audit_log_p202606")
	require.NotContains(t, after.Partitions, "event_audit_log_p202607")
	require.Contains(t, after.Partitions, "event_audit_log_p202608")
	require.Zero(t, prCount(t, db, `SELECT count(*) FROM event_audit_log WHERE event_timestamp < $1`, cutoff))
	require.Zero(t, prCount(t, db, `SELECT count(*) FROM event_audit_log_archive WHERE event_timestamp < $1`, res.ArchiveCutoff))
	require.Zero(t, prCount(t, db, `SELECT count(*) FROM config_audit_log WHERE changed_at < $1`, res.ConfigAuditCutoff))
	for part, n := range map[string]int64{
		"event_audit_log_p202606": 60_000, "event_audit_log_p202607": 60_000,
		"event_audit_log_p202608": expArchived - 121_000, "event_audit_log_default": 1_000,
	} {
		require.Equal(t, n, prCount(t, db, `SELECT count(*) FROM event_audit_log_archive
			WHERE archived_from_partition = $1 AND archived_at > '2026-01-01Z'`, part), part)
	}
	require.EqualValues(t, expArchived, testenv.Metric(t, reg, "mutt_events_archived_total", nil))
	require.EqualValues(t, expArchivePurged, testenv.Metric(t, reg, "mutt_events_deleted_total", nil))
	require.EqualValues(t, expConfigPurged, testenv.Metric(t, reg, "mutt_config_audit_deleted_total", nil))
	require.EqualValues(t, 2, testenv.Metric(t, reg, "mutt_retention_partitions_dropped_total", nil))
	require.InDelta(t, res.OldestEventAgeDays, testenv.Metric(t, reg, "mutt_oldest_event_age_days", nil), 1e-9)
	require.EqualValues(t, rtNow.Unix(), testenv.Metric(t, reg, "mutt_retention_last_success_timestamp_seconds", nil))
	// The Python MUTT's names (docs/MIGRATION_FROM_PYTHON_MUTT.md, metrics table) count alike.
	require.EqualValues(t, expArchived, testenv.Metric(t, reg, "mutt_retention_events_archived_total", nil))
	require.EqualValues(t, expArchivePurged, testenv.Metric(t, reg, "mutt_retention_events_deleted_total", nil))
	require.EqualValues(t, expConfigPurged, testenv.Metric(t, reg, "mutt_retention_config_audits_deleted_total", nil))
	require.EqualValues(t, expArchived, testenv.Metric(t, reg, "mutt_retention_cleanup_records_deleted_total", map[string]string{"type": "event_audit"}))
	require.EqualValues(t, expConfigPurged, testenv.Metric(t, reg, "mutt_retention_cleanup_records_deleted_total", map[string]string{"type": "config_audit"}))
	require.Zero(t, testenv.Metric(t, reg, "mutt_retention_cleanup_records_deleted_total", map[string]string{"type": "dlq"}))
	require.EqualValues(t, rtNow.Unix(), testenv.Metric(t, reg, "mutt_retention_cleanup_last_run_timestamp_seconds", nil))
	require.EqualValues(t, rtNow.Unix(), testenv.Metric(t, reg, "mutt_retention_last_run_timestamp", nil))
	require.EqualValues(t, workflows.DefaultEventRetentionDays, testenv.Metric(t, reg, "mutt_retention_policy_days", map[string]string{"type": "event_audit"}))
	require.Zero(t, testenv.Metric(t, reg, "mutt_retention_errors_total", map[string]string{"task": "archive_events"}))
	prCheckHistory(t, c, run, "retention_history.json")

	// Idempotent: a second run finds nothing to move.
	again, _ := prRun[workflows.RetentionResult](t, c, tq, "again", "RetentionWorkflow",
		workflows.RetentionInput{Now: &rtNow})
	require.Zero(t, again.Archived)
	require.Zero(t, again.PartitionsDropped)
	require.Zero(t, again.ArchivePurged)
	require.Zero(t, again.ConfigAuditPurged)
	require.Equal(t, after, rtSnap(t, db))
}

// TestRetentionKeepsRowsTheHotPathInsertsMeanwhile archives while the hot
// path keeps inserting rows into the months being archived (late events) and
// into the current month: every row it inserted ends up exactly once, either
// still in event_audit_log or in the archive.
func TestRetentionKeepsRowsTheHotPathInsertsMeanwhile(t *testing.T) {
	t.Parallel()
	rtNow := rtClock()
	db := prDB(t, ptMonth(2030, 1))
	_, err := schema.EnsurePartitions(context.Background(), db, ptMonth(2026, 6), 6)
	require.NoError(t, err)
	prInsertRows(t, db, 20_000, ptMonth(2026, 6), ptMonth(2026, 7))
	prInsertRows(t, db, 20_000, ptMonth(2026, 7), ptMonth(2026, 8))
	prInsertRows(t, db, 20_000, ptMonth(2026, 8), ptMonth(2026, 9))
	deps, _ := prDeps(db, rtNow)
	c, tq := prWorker(t, func(r Registry) { require.NoError(t, registerRetention(r, deps)) })

	ins := ptStartInserter(t, db, ptMonth(2026, 7), ptMonth(2026, 6), ptMonth(2026, 8), ptMonth(2026, 11))
	require.Eventually(t, func() bool { return ins.total() > 20 }, 10*time.Second, 5*time.Millisecond)
	res, _ := prRun[workflows.RetentionResult](t, c, tq, "run", "RetentionWorkflow",
		workflows.RetentionInput{BatchSize: 2000, Now: &rtNow})
	ins.halt()
	require.Zero(t, ins.errs.Load(), "hot-path inserts failed during retention: %v", ins.first.Load())
	require.EqualValues(t, 2, res.PartitionsDropped)
	require.GreaterOrEqual(t, res.Archived, int64(40_000))

	ids := ins.ids
	require.EqualValues(t, len(ids), prCount(t, db, `SELECT count(DISTINCT event_id) FROM (
		SELECT event_id FROM event_audit_log WHERE event_id = ANY($1)
		UNION ALL SELECT event_id FROM event_audit_log_archive WHERE event_id = ANY($1)) x`, ids))
	require.EqualValues(t, len(ids), prCount(t, db, `SELECT count(*) FROM (
		SELECT event_id FROM event_audit_log WHERE event_id = ANY($1)
		UNION ALL SELECT event_id FROM event_audit_log_archive WHERE event_id = ANY($1)) x`, ids))
	require.EqualValues(t, 60_000+int64(len(ids)), prCount(t, db, `SELECT
		(SELECT count(*) FROM event_audit_log) + (SELECT count(*) FROM event_audit_log_archive)`))
}

// TestRetentionBatchesResumeFromHeartbeatAfterAFailure runs the workflow in
// the SDK test suite with the real activities against PostgreSQL; the batch
// activity's first attempt dies after three committed batches. The retry
// starts from the heartbeated progress: the counts add up, and every row is
// archived exactly once.
func TestRetentionBatchesResumeFromHeartbeatAfterAFailure(t *testing.T) {
	t.Parallel()
	rtNow := rtClock()
	db := prDB(t, ptMonth(2030, 1))
	prInsertRows(t, db, 25_000, ptMonth(2025, 1), ptMonth(2025, 2)) // DEFAULT: no whole partition to move
	deps, reg := prDeps(db, rtNow)
	a, err := newRetentionActivities(deps)
	require.NoError(t, err)
	type seen struct {
		attempt int32
		p       workflows.RetentionBatchProgress
	}
	var mu sync.Mutex
	var calls []seen
	a.afterBatch = func(ctx context.Context, p workflows.RetentionBatchProgress) error {
		attempt := activity.GetInfo(ctx).Attempt
		mu.Lock()
		calls = append(calls, seen{attempt, p})
		mu.Unlock()
		if attempt == 1 && p.Batches == 3 {
			return errors.New("read tcp 127.0.0.1:5432: connection reset by peer")
		}
		return nil
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	// The activities here do real PostgreSQL work: the suite's 3 s wall-clock default fails
	// on a loaded machine or under make cover's instrumentation, not because of a bug.
	env.SetTestTimeout(2 * time.Minute)
	env.RegisterWorkflowWithOptions(workflows.RetentionWorkflow, workflow.RegisterOptions{Name: "RetentionWorkflow"})
	a.register(env)

	env.ExecuteWorkflow(workflows.RetentionWorkflow, workflows.RetentionInput{BatchSize: 2000, Now: &rtNow})
	require.NoError(t, env.GetWorkflowError())
	var res workflows.RetentionResult
	require.NoError(t, env.GetWorkflowResult(&res))

	require.Equal(t, seen{1, workflows.RetentionBatchProgress{Rows: 6000, Batches: 3}}, calls[2])
	require.Equal(t, seen{2, workflows.RetentionBatchProgress{Rows: 8000, Batches: 4}}, calls[3],
		"the retry continued from the heartbeat instead of counting from zero")
	require.EqualValues(t, 25_000, res.ArchivedInBatches)
	require.EqualValues(t, 13, res.Batches)
	require.EqualValues(t, 25_000, prCount(t, db, `SELECT count(*) FROM event_audit_log_archive
		WHERE archived_from_partition = 'event_audit_log_default'`))
	require.Zero(t, prCount(t, db, `SELECT count(*) FROM event_audit_log`))
	require.EqualValues(t, 25_000, testenv.Metric(t, reg, "mutt_events_archived_total", nil))
}

// rtActivityEnv runs retention activities outside a workflow.
func rtActivityEnv(t *testing.T, a *retentionActivities) *testsuite.TestActivityEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a.register(env)
	return env
}

// TestRetentionArchivePartitionCatchesRowsInsertedDuringTheCopy inserts a row
// into the partition after its copy to the archive and before the DETACH: the
// activity notices and archives it too instead of dropping it.
func TestRetentionArchivePartitionCatchesRowsInsertedDuringTheCopy(t *testing.T) {
	t.Parallel()
	rtNow := rtClock()
	db := prDB(t, ptMonth(2030, 1))
	_, err := schema.EnsurePartitions(context.Background(), db, ptMonth(2026, 7), 1)
	require.NoError(t, err)
	prInsertRows(t, db, 1000, ptMonth(2026, 7), ptMonth(2026, 8))
	deps, _ := prDeps(db, rtNow)
	a, err := newRetentionActivities(deps)
	require.NoError(t, err)
	late := uuid.New()
	a.beforeDetach = func(ctx context.Context) error {
		_, err := db.Exec(ctx, ptHotPathInsert, late, time.Date(2026, 7, 20, 0, 0, 0, 0, time.UTC))
		return err
	}
	env := rtActivityEnv(t, a)

	v, err := env.ExecuteActivity(workflows.ActivityRetentionArchivePartition, workflows.RetentionPartitionInput{
		Partition: "event_audit_log_p202607", Cutoff: rtNow.AddDate(0, 0, -90)})
	require.NoError(t, err)
	var res workflows.RetentionPartitionResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, workflows.RetentionPartitionResult{Partition: "event_audit_log_p202607", Found: true, Rows: 1001, Dropped: true}, res)
	require.EqualValues(t, 1, prCount(t, db, `SELECT count(*) FROM event_audit_log_archive WHERE event_id = $1`, late))
	require.EqualValues(t, 1001, prCount(t, db, `SELECT count(*) FROM event_audit_log_archive`))
	require.NotContains(t, prPartitions(t, db), "event_audit_log_p202607")

	// Gone now: a retry whose first answer was lost finds nothing to do.
	v, err = env.ExecuteActivity(workflows.ActivityRetentionArchivePartition, workflows.RetentionPartitionInput{
		Partition: "event_audit_log_p202607", Cutoff: rtNow.AddDate(0, 0, -90)})
	require.NoError(t, err)
	require.NoError(t, v.Get(&res))
	require.Equal(t, workflows.RetentionPartitionResult{Partition: "event_audit_log_p202607"}, res)
}

// TestRetentionActivitiesRefuseWhatCouldLoseData: a partition whose name
// claims an expired month but whose bounds hold newer rows is not dropped, a
// partition not past the cut-off is not touched, an unknown purge target is
// rejected; none of these is retried.
func TestRetentionActivitiesRefuseWhatCouldLoseData(t *testing.T) {
	t.Parallel()
	rtNow := rtClock()
	ctx := context.Background()
	db := prDB(t, ptMonth(2030, 1))
	_, err := db.Exec(ctx, `CREATE TABLE event_audit_log_p202607 PARTITION OF event_audit_log
		FOR VALUES FROM ('2026-07-01Z') TO ('2026-12-01Z')`) // five months under a one-month name
	require.NoError(t, err)
	prInsertRows(t, db, 100, ptMonth(2026, 7), ptMonth(2026, 12))
	deps, _ := prDeps(db, rtNow)
	a, err := newRetentionActivities(deps)
	require.NoError(t, err)
	env := rtActivityEnv(t, a)
	cutoff := rtNow.AddDate(0, 0, -90)

	for want, call := range map[string]func() error{
		"holds 69 rows newer than the cut-off": func() error {
			_, err := env.ExecuteActivity(workflows.ActivityRetentionArchivePartition,
				workflows.RetentionPartitionInput{Partition: "event_audit_log_p202607", Cutoff: cutoff})
			return err
		},
		"is not entirely older than the cut-off": func() error {
			_, err := env.ExecuteActivity(workflows.ActivityRetentionArchivePartition,
				workflows.RetentionPartitionInput{Partition: "event_audit_log_p202608", Cutoff: cutoff})
			return err
		},
		"is not a monthly partition": func() error {
			_, err := env.ExecuteActivity(workflows.ActivityRetentionArchivePartition,
				workflows.RetentionPartitionInput{Partition: "event_audit_log_default", Cutoff: cutoff})
			return err
		},
		`unknown purge target "alert_rules"`: func() error {
			_, err := env.ExecuteActivity(workflows.ActivityRetentionPurge,
				workflows.RetentionPurgeInput{Target: "alert_rules", Cutoff: cutoff})
			return err
		},
	} {
		err := call()
		var ae *temporal.ApplicationError
		require.True(t, errors.As(err, &ae), "%s: %v", want, err)
		require.True(t, ae.NonRetryable(), want)
		require.Contains(t, err.Error(), want)
	}
	require.EqualValues(t, 100, prCount(t, db, `SELECT count(*) FROM event_audit_log_p202607`))
	require.Zero(t, prCount(t, db, `SELECT count(*) FROM event_audit_log_archive`))
}

func TestRetentionPartitionMonth(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]time.Time{
		"event_audit_log_p202607": ptMonth(2026, 7),
		"event_audit_log_p199912": ptMonth(1999, 12),
		"event_audit_log_p202613": {},
		"event_audit_log_p20261":  {},
		"event_audit_log_default": {},
		"event_audit_log_archive": {},
		"x_event_audit_log_p2026": {},
	} {
		got, ok := retentionPartitionMonth(name)
		require.Equal(t, !want.IsZero(), ok, name)
		require.Equal(t, want, got, name)
	}
}

// FuzzRetentionPartitionMonth: any name either is refused or names exactly the
// partition of the month it parses to (so a name can never claim a month its
// partition does not have).
func FuzzRetentionPartitionMonth(f *testing.F) {
	for _, s := range []string{"event_audit_log_p202607", "event_audit_log_p000001", "event_audit_log_p999912",
		"event_audit_log_p202600", "event_audit_log_default", "event_audit_log_p２０２６０７", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		m, ok := retentionPartitionMonth(name)
		if !ok {
			return
		}
		require.Equal(t, schema.PartitionName(m), name)
		require.Equal(t, schema.MonthStart(m), m)
	})
}
