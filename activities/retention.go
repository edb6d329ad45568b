package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/workflows"
)

// retSQLArchiveColumns are the event_audit_log columns the archive keeps.
const retSQLArchiveColumns = `id, event_id, event_timestamp, received_at, hostname, matched_rule_id, handling_decision,
	forwarded_to_moog, team_assignment, environment, correlation_id, raw_message`

const (
	// retSQLPartitionNames lists the monthly partitions of event_audit_log.
	retSQLPartitionNames = `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'event_audit_log'::regclass AND c.relname ~ '^event_audit_log_p[0-9]{6}$' ORDER BY c.relname`

	// retSQLArchiveBatch moves a partition's oldest expired rows, $2 at most,
	// in one statement, hence one transaction: the DELETE … RETURNING feeds
	// the INSERT, so a row leaves event_audit_log only if its archive copy
	// commits with it. %[1]s is the partition (a leaf: no routing, one simple
	// plan), $3 its name for archived_from_partition. Rows are picked by ctid
	// (a TID scan: the cost of a batch does not grow with the partition, as a
	// join on the key would once the planner turns it into a merge join over
	// the whole partition). An archive row with the same key (an event
	// archived before, then redelivered) is kept: DO NOTHING.
	retSQLArchiveBatch = `WITH moved AS (
	DELETE FROM ONLY %[1]s WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM ONLY %[1]s WHERE event_timestamp < $1 ORDER BY event_timestamp LIMIT $2))
	RETURNING *
), archived AS (
	INSERT INTO event_audit_log_archive (` + retSQLArchiveColumns + `, archived_from_partition)
	SELECT ` + retSQLArchiveColumns + `, $3 FROM moved
	ON CONFLICT (event_id, event_timestamp) DO NOTHING
	RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM archived)`

	// retSQLLeaves lists every partition of event_audit_log, DEFAULT included.
	retSQLLeaves = `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'event_audit_log'::regclass ORDER BY c.relname`

	// retSQLCountExpired is the dry run of the batches: expired rows per
	// partition (a real run moves each partition's rows in its own batches).
	retSQLCountExpired = `SELECT c.relname, x.n FROM (
	SELECT tableoid, count(*) AS n FROM event_audit_log WHERE event_timestamp < $1 GROUP BY tableoid) x
JOIN pg_class c ON c.oid = x.tableoid ORDER BY c.relname`

	// retSQLCopyPartition copies a whole partition into the archive; %[1]s is the
	// partition's quoted name, $1 its name as a value.
	retSQLCopyPartition = `INSERT INTO event_audit_log_archive (` + retSQLArchiveColumns + `, archived_from_partition)
SELECT ` + retSQLArchiveColumns + `, $1 FROM %[1]s
ON CONFLICT (event_id, event_timestamp) DO NOTHING`
	// retSQLCopyPartitionLate copies the rows of a detached partition not yet in the
	// archive (inserted after retSQLCopyPartition's snapshot).
	retSQLCopyPartitionLate = `INSERT INTO event_audit_log_archive (` + retSQLArchiveColumns + `, archived_from_partition)
SELECT ` + retSQLArchiveColumns + `, $1 FROM %[1]s p
WHERE NOT EXISTS (SELECT 1 FROM event_audit_log_archive a WHERE a.event_id = p.event_id AND a.event_timestamp = p.event_timestamp)
ON CONFLICT (event_id, event_timestamp) DO NOTHING`
	retSQLCountPartition = `SELECT count(*), count(*) FILTER (WHERE event_timestamp >= $1) FROM %[1]s`

	retSQLPurgeArchive = `DELETE FROM event_audit_log_archive WHERE ctid = ANY(ARRAY(
	SELECT ctid FROM event_audit_log_archive WHERE event_timestamp < $1 ORDER BY event_timestamp LIMIT $2))`
	retSQLCountArchive     = `SELECT count(*) FROM event_audit_log_archive WHERE event_timestamp < $1`
	retSQLPurgeConfigAudit = `DELETE FROM config_audit_log WHERE id IN (
	SELECT id FROM config_audit_log WHERE changed_at < $1 ORDER BY changed_at LIMIT $2)`
	retSQLCountConfigAudit = `SELECT count(*) FROM config_audit_log WHERE changed_at < $1`

	retSQLOldestEvent = `SELECT min(event_timestamp) FROM event_audit_log`
)

// retentionPartitionRE parses the month out of a monthly partition's name.
var retentionPartitionRE = regexp.MustCompile(`^event_audit_log_p(\d{4})(\d{2})$`)

// retentionPartitionMonth is the first instant of the month a partition named
// event_audit_log_pYYYYMM holds.
func retentionPartitionMonth(name string) (time.Time, bool) {
	m := retentionPartitionRE.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse("200601", m[1]+m[2])
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

type retentionMetrics struct {
	archived          counters
	deleted           counters
	configDeleted     counters
	partitionsDropped prometheus.Counter
	oldestAge         prometheus.Gauge
	lastSuccess       gauges
	// pyPolicyDays is the Python MUTT's mutt_retention_policy_days{type}: the
	// worker's configured retentions (what the schedule's runs use).
	pyPolicyDays *prometheus.GaugeVec
	// pyErrors is the Python MUTT's mutt_retention_errors_total{task}: failed
	// activity attempts of a retention run, by step.
	pyErrors *prometheus.CounterVec
}

// Tasks of mutt_retention_errors_total (the Python enforcer's step names).
const (
	retTaskAll            = "enforce_all"            // listing partitions, the final report
	retTaskArchive        = "archive_events"         // moving events into the archive
	retTaskPurgeArchive   = "delete_archived_events" // purging the archive
	retTaskPurgeConfigLog = "delete_config_audits"   // purging config_audit_log
)

// counters and gauges move a metric and its aliases (the Python MUTT's
// names of the same fact) together.
type counters []prometheus.Counter

func (cs counters) Add(v float64) {
	for _, c := range cs {
		c.Add(v)
	}
}

func (cs counters) Inc() { cs.Add(1) }

type gauges []prometheus.Gauge

func (gs gauges) Set(v float64) {
	for _, g := range gs {
		g.Set(v)
	}
}

// pythonRetentionMetrics are the Python MUTT's retention metric names
// (shared/reference/peer-management.md §5.3-5.5), which its alert and
// recording rules query. Its cleanup script wrote per-run values under
// counter names; these are real counters, so its increase() rules work.
func pythonRetentionMetrics() (cleanup *prometheus.CounterVec, archived, deleted, configDeleted prometheus.Counter, lastRun, enforcerLastRun prometheus.Gauge) {
	cleanup = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mutt_retention_cleanup_records_deleted_total",
		Help: "The Python MUTT's name: rows removed by retention, by type: event_audit (events moved out of event_audit_log into the archive), config_audit, dlq (always 0: MUTT does not expire dead letters)."},
		[]string{"type"})
	archived = prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_retention_events_archived_total",
		Help: "The Python MUTT's alias of mutt_events_archived_total."})
	deleted = prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_retention_events_deleted_total",
		Help: "The Python MUTT's alias of mutt_events_deleted_total (archived events deleted past the archive retention)."})
	configDeleted = prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_retention_config_audits_deleted_total",
		Help: "The Python MUTT's alias of mutt_config_audit_deleted_total."})
	lastRun = prometheus.NewGauge(prometheus.GaugeOpts{Name: "mutt_retention_cleanup_last_run_timestamp_seconds",
		Help: "The Python MUTT's alias of mutt_retention_last_success_timestamp_seconds."})
	enforcerLastRun = prometheus.NewGauge(prometheus.GaugeOpts{Name: "mutt_retention_last_run_timestamp",
		Help: "The Python MUTT's (retention enforcer) alias of mutt_retention_last_success_timestamp_seconds."})
	return
}

func newRetentionMetrics(reg prometheus.Registerer) (*retentionMetrics, error) {
	archived := prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_events_archived_total",
		Help: "Events moved from event_audit_log to event_audit_log_archive."})
	deleted := prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_events_deleted_total",
		Help: "Archived events deleted for good past the archive retention."})
	configDeleted := prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_config_audit_deleted_total",
		Help: "config_audit_log rows deleted past their retention."})
	lastSuccess := prometheus.NewGauge(prometheus.GaugeOpts{Name: "mutt_retention_last_success_timestamp_seconds",
		Help: "Unix time of the last successful retention run (dry runs excluded)."})
	pyCleanup, pyArchived, pyDeleted, pyConfig, pyLastRun, pyEnforcerLastRun := pythonRetentionMetrics()
	m := &retentionMetrics{
		archived:      counters{archived, pyArchived, pyCleanup.WithLabelValues("event_audit")},
		deleted:       counters{deleted, pyDeleted},
		configDeleted: counters{configDeleted, pyConfig, pyCleanup.WithLabelValues("config_audit")},
		partitionsDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_retention_partitions_dropped_total",
			Help: "Expired event_audit_log partitions moved to the archive whole and dropped."}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mutt_oldest_event_age_days",
			Help: "Age in days of the oldest event left in event_audit_log at the last retention run (0 when empty)."}),
		lastSuccess: gauges{lastSuccess, pyLastRun, pyEnforcerLastRun},
	}
	m.pyPolicyDays = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mutt_retention_policy_days",
		Help: "The Python MUTT's name: the worker's configured retention in days, by type: event_audit, config_audit, archive (event archive)."},
		[]string{"type"})
	m.pyErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mutt_retention_errors_total",
		Help: "The Python MUTT's name: failed attempts of retention steps, by task: archive_events, delete_archived_events, delete_config_audits, enforce_all (the others). Temporal retries them; a run fails when retries are exhausted."},
		[]string{"task"})
	for _, task := range []string{retTaskAll, retTaskArchive, retTaskPurgeArchive, retTaskPurgeConfigLog} {
		m.pyErrors.WithLabelValues(task)
	}
	pyCleanup.WithLabelValues("dlq")
	if err := telemetry.Register(reg, "retention metrics", archived, deleted, configDeleted, m.partitionsDropped, m.oldestAge, lastSuccess,
		pyCleanup, pyArchived, pyDeleted, pyConfig, pyLastRun, pyEnforcerLastRun, m.pyPolicyDays, m.pyErrors); err != nil {
		return nil, err
	}
	return m, nil
}

// retentionActivities are the activities of RetentionWorkflow.
type retentionActivities struct {
	activityGroup[*retentionMetrics]
	// afterBatch, set only by tests, runs after each committed batch of
	// ArchiveBatches (to fail an attempt part-way).
	afterBatch func(ctx context.Context, p workflows.RetentionBatchProgress) error
	// beforeDetach, set only by tests, runs in ArchivePartition between the
	// copy and the DETACH (to insert a late row).
	beforeDetach func(ctx context.Context) error
}

func newRetentionActivities(d *Deps) (*retentionActivities, error) {
	g, err := newActivityGroup(d, "retention", newRetentionMetrics)
	if err != nil {
		return nil, err
	}
	d, m := g.d, g.m
	days := func(v, def int) float64 {
		if v == 0 {
			return float64(def)
		}
		return float64(v)
	}
	m.pyPolicyDays.WithLabelValues("event_audit").Set(days(d.Retention.EventRetentionDays, workflows.DefaultEventRetentionDays))
	m.pyPolicyDays.WithLabelValues("config_audit").Set(days(d.Retention.ConfigAuditRetentionDays, workflows.DefaultConfigAuditRetentionDays))
	m.pyPolicyDays.WithLabelValues("archive").Set(days(d.Retention.ArchiveRetentionDays, workflows.DefaultArchiveRetentionDays))
	return &retentionActivities{activityGroup: g}, nil
}

// retCountErrors counts an activity's failed attempts under task in
// mutt_retention_errors_total.
func retCountErrors[I, O any](c *prometheus.CounterVec, task func(I) string, f func(context.Context, I) (O, error)) func(context.Context, I) (O, error) {
	return func(ctx context.Context, in I) (O, error) {
		out, err := f(ctx, in)
		if err != nil {
			c.WithLabelValues(task(in)).Inc()
		}
		return out, err
	}
}

func retTask[I any](task string) func(I) string { return func(I) string { return task } }

func retPurgeTask(in workflows.RetentionPurgeInput) string {
	if in.Target == workflows.RetentionPurgeConfigAudit {
		return retTaskPurgeConfigLog
	}
	return retTaskPurgeArchive
}

func registerRetention(r Registry, d *Deps) error {
	a, err := newRetentionActivities(d)
	if err != nil {
		return err
	}
	a.register(r)
	return nil
}

func (a *retentionActivities) register(r Registry) {
	e := a.m.pyErrors
	r.RegisterActivityWithOptions(retCountErrors(e, retTask[workflows.RetentionPartitionsInput](retTaskAll), a.ExpiredPartitions),
		activity.RegisterOptions{Name: workflows.ActivityRetentionExpiredPartitions})
	r.RegisterActivityWithOptions(retCountErrors(e, retTask[workflows.RetentionPartitionInput](retTaskArchive), a.ArchivePartition),
		activity.RegisterOptions{Name: workflows.ActivityRetentionArchivePartition})
	r.RegisterActivityWithOptions(retCountErrors(e, retTask[workflows.RetentionBatchInput](retTaskArchive), a.ArchiveBatches),
		activity.RegisterOptions{Name: workflows.ActivityRetentionArchiveBatches})
	r.RegisterActivityWithOptions(retCountErrors(e, retPurgeTask, a.Purge), activity.RegisterOptions{Name: workflows.ActivityRetentionPurge})
	r.RegisterActivityWithOptions(retCountErrors(e, retTask[workflows.RetentionReportInput](retTaskAll), a.Report),
		activity.RegisterOptions{Name: workflows.ActivityRetentionReport})
	r.RegisterActivityWithOptions(a.d.policy, activity.RegisterOptions{Name: workflows.ActivityRetentionPolicy})
}

// ExpiredPartitions lists the monthly partitions whose whole month ends at or
// before the cut-off, oldest first. Read only.
func (a *retentionActivities) ExpiredPartitions(ctx context.Context, in workflows.RetentionPartitionsInput) (workflows.RetentionPartitionsResult, error) {
	rows, err := a.d.DB.Query(ctx, retSQLPartitionNames)
	if err != nil {
		return workflows.RetentionPartitionsResult{}, fmt.Errorf("list partitions of event_audit_log: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return workflows.RetentionPartitionsResult{}, fmt.Errorf("list partitions of event_audit_log: %w", err)
	}
	res := workflows.RetentionPartitionsResult{Partitions: []string{}}
	for _, n := range names {
		if m, ok := retentionPartitionMonth(n); ok && !m.AddDate(0, 1, 0).After(in.Cutoff) {
			res.Partitions = append(res.Partitions, n)
		}
	}
	slices.Sort(res.Partitions) // pYYYYMM sorts by month
	return res, nil
}

// ArchivePartition moves a whole expired partition into the archive and drops
// it, in one transaction: copy every row (the hot path keeps inserting
// meanwhile: nothing is locked but the rows read), DETACH (a brief ACCESS
// EXCLUSIVE on the parent; from here no row can arrive), copy the rows that
// arrived during the first copy if any, check that every row really is past
// the cut-off, DROP. A failure rolls it all back. Idempotent: a partition
// already gone is reported as not found.
func (a *retentionActivities) ArchivePartition(ctx context.Context, in workflows.RetentionPartitionInput) (workflows.RetentionPartitionResult, error) {
	res := workflows.RetentionPartitionResult{Partition: in.Partition}
	month, ok := retentionPartitionMonth(in.Partition)
	if !ok {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%q is not a monthly partition of event_audit_log", in.Partition), workflows.ErrTypeRetentionInput, nil)
	}
	if month.AddDate(0, 1, 0).After(in.Cutoff) {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("partition %s is not entirely older than the cut-off %s", in.Partition, in.Cutoff.Format(time.RFC3339)),
			workflows.ErrTypeRetentionInput, nil)
	}
	var exists, attached bool
	if err := a.d.DB.QueryRow(ctx, partSQLState, in.Partition).Scan(&exists, &attached); err != nil {
		return res, fmt.Errorf("look up %s: %w", in.Partition, err)
	}
	if !exists {
		return res, nil
	}
	if !attached {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("table %s exists but is not a partition of event_audit_log; archive it by hand", in.Partition),
			workflows.ErrTypeRetentionInput, nil)
	}
	res.Found = true
	ident := pgx.Identifier{in.Partition}.Sanitize()
	if in.DryRun {
		var young int64
		if err := a.d.DB.QueryRow(ctx, fmt.Sprintf(retSQLCountPartition, ident), in.Cutoff).Scan(&res.Rows, &young); err != nil {
			return res, fmt.Errorf("count rows of %s: %w", in.Partition, err)
		}
		return res, nil
	}

	stop := heartbeatDuringStatement(ctx, in.Partition)
	defer stop()
	err := pgx.BeginFunc(ctx, a.d.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, fmt.Sprintf(retSQLCopyPartition, ident), in.Partition)
		if err != nil {
			return fmt.Errorf("copy %s to the archive: %w", in.Partition, err)
		}
		copied := tag.RowsAffected()
		if a.beforeDetach != nil {
			if err := a.beforeDetach(ctx); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+partitionLockTimeout+`'`); err != nil {
			return fmt.Errorf("set lock timeout: %w", err)
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE event_audit_log DETACH PARTITION `+ident); err != nil {
			return fmt.Errorf("detach %s: %w", in.Partition, err)
		}
		var total, young int64
		if err := tx.QueryRow(ctx, fmt.Sprintf(retSQLCountPartition, ident), in.Cutoff).Scan(&total, &young); err != nil {
			return fmt.Errorf("count rows of %s: %w", in.Partition, err)
		}
		if young > 0 { // the name promised a month its bounds do not hold
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("partition %s holds %d rows newer than the cut-off; not archived", in.Partition, young),
				workflows.ErrTypeRetentionInput, nil)
		}
		if total != copied {
			// Rows inserted after the copy's snapshot, or rows the archive
			// already had (DO NOTHING did not count them): copy what is missing.
			tag, err := tx.Exec(ctx, fmt.Sprintf(retSQLCopyPartitionLate, ident), in.Partition)
			if err != nil {
				return fmt.Errorf("copy late rows of %s to the archive: %w", in.Partition, err)
			}
			a.logger(ctx).InfoContext(ctx, "partition rows arrived during its archival", "partition", in.Partition,
				"copied", copied, "late", tag.RowsAffected(), "rows", total)
		}
		if _, err := tx.Exec(ctx, `DROP TABLE `+ident); err != nil {
			return fmt.Errorf("drop %s: %w", in.Partition, err)
		}
		res.Rows = total
		return nil
	})
	if err != nil {
		return workflows.RetentionPartitionResult{Partition: in.Partition, Found: true}, err
	}
	res.Dropped = true
	a.m.archived.Add(float64(res.Rows))
	a.m.partitionsDropped.Inc()
	a.logger(ctx).InfoContext(ctx, "partition archived and dropped", "partition", in.Partition, "rows", res.Rows)
	return res, nil
}

// ArchiveBatches moves every expired row left (in the partition the cut-off
// falls in, in DEFAULT) to the archive, partition by partition, BatchSize rows
// per transaction, oldest first. It heartbeats its progress after every batch;
// a retry reads it back and continues the count (the rows already moved are
// gone from the source, so the work itself simply resumes).
func (a *retentionActivities) ArchiveBatches(ctx context.Context, in workflows.RetentionBatchInput) (workflows.RetentionBatchProgress, error) {
	if in.BatchSize <= 0 {
		in.BatchSize = workflows.DefaultRetentionBatchSize
	}
	if in.DryRun {
		return a.countExpired(ctx, in)
	}
	p := retentionResumeProgress(ctx, a.logger(ctx))
	rows, err := a.d.DB.Query(ctx, retSQLLeaves)
	if err != nil {
		return p, fmt.Errorf("list partitions of event_audit_log: %w", err)
	}
	leaves, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return p, fmt.Errorf("list partitions of event_audit_log: %w", err)
	}
	for _, leaf := range leaves {
		batch := fmt.Sprintf(retSQLArchiveBatch, pgx.Identifier{leaf}.Sanitize())
		for {
			if err := ctx.Err(); err != nil {
				return p, fmt.Errorf("archive events: %w", err)
			}
			var moved, inserted int64
			if err := a.d.DB.QueryRow(ctx, batch, in.Cutoff, in.BatchSize, leaf).Scan(&moved, &inserted); err != nil {
				if retentionIsUndefinedTable(err) { // dropped meanwhile (by a concurrent run): nothing left there
					break
				}
				return p, fmt.Errorf("archive a batch of %s older than %s: %w", leaf, in.Cutoff.Format(time.RFC3339), err)
			}
			if moved != inserted {
				a.logger(ctx).WarnContext(ctx, "events already in the archive were removed from the audit log",
					"partition", leaf, "moved", moved, "inserted", inserted)
			}
			if moved > 0 {
				p.Rows += moved
				p.Batches++
				a.m.archived.Add(float64(moved))
			}
			activity.RecordHeartbeat(ctx, p)
			if moved > 0 && a.afterBatch != nil {
				if err := a.afterBatch(ctx, p); err != nil {
					return p, err
				}
			}
			if moved < int64(in.BatchSize) {
				break
			}
		}
	}
	return p, nil
}

// countExpired is ArchiveBatches' dry run: what it would move, leaving out
// the partitions the whole-partition step counts.
func (a *retentionActivities) countExpired(ctx context.Context, in workflows.RetentionBatchInput) (workflows.RetentionBatchProgress, error) {
	rows, err := a.d.DB.Query(ctx, retSQLCountExpired, in.Cutoff)
	if err != nil {
		return workflows.RetentionBatchProgress{}, fmt.Errorf("count expired events: %w", err)
	}
	var p workflows.RetentionBatchProgress
	var leaf string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&leaf, &n}, func() error {
		if !slices.Contains(in.ExcludePartitions, leaf) {
			p.Rows += n
			p.Batches += retentionCeilDiv(n, int64(in.BatchSize))
		}
		return nil
	})
	if err != nil {
		return workflows.RetentionBatchProgress{}, fmt.Errorf("count expired events: %w", err)
	}
	return p, nil
}

// retentionIsUndefinedTable reports a table dropped under our feet.
func retentionIsUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P01"
}

// Purge deletes the rows of the archive or of config_audit_log older than the
// cut-off, BatchSize rows per transaction, heartbeating its progress like
// ArchiveBatches.
func (a *retentionActivities) Purge(ctx context.Context, in workflows.RetentionPurgeInput) (workflows.RetentionBatchProgress, error) {
	var purge, count string
	var counter counters
	switch in.Target {
	case workflows.RetentionPurgeArchive:
		purge, count, counter = retSQLPurgeArchive, retSQLCountArchive, a.m.deleted
	case workflows.RetentionPurgeConfigAudit:
		purge, count, counter = retSQLPurgeConfigAudit, retSQLCountConfigAudit, a.m.configDeleted
	default:
		return workflows.RetentionBatchProgress{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("unknown purge target %q", in.Target), workflows.ErrTypeRetentionInput, nil)
	}
	if in.BatchSize <= 0 {
		in.BatchSize = workflows.DefaultRetentionBatchSize
	}
	if in.DryRun {
		var n int64
		if err := a.d.DB.QueryRow(ctx, count, in.Cutoff).Scan(&n); err != nil {
			return workflows.RetentionBatchProgress{}, fmt.Errorf("count expired rows of %s: %w", in.Target, err)
		}
		return workflows.RetentionBatchProgress{Rows: n, Batches: retentionCeilDiv(n, int64(in.BatchSize))}, nil
	}
	p := retentionResumeProgress(ctx, a.logger(ctx))
	for {
		if err := ctx.Err(); err != nil {
			return p, fmt.Errorf("purge %s: %w", in.Target, err)
		}
		tag, err := a.d.DB.Exec(ctx, purge, in.Cutoff, in.BatchSize)
		if err != nil {
			return p, fmt.Errorf("purge a batch of %s older than %s: %w", in.Target, in.Cutoff.Format(time.RFC3339), err)
		}
		n := tag.RowsAffected()
		if n > 0 {
			p.Rows += n
			p.Batches++
			counter.Add(float64(n))
		}
		activity.RecordHeartbeat(ctx, p)
		if n < int64(in.BatchSize) {
			if p.Rows > 0 {
				a.logger(ctx).InfoContext(ctx, "purged", "table", in.Target, "rows", p.Rows)
			}
			return p, nil
		}
	}
}

// Report measures the oldest event left in event_audit_log and sets the
// gauges (the last-success time only for real runs).
func (a *retentionActivities) Report(ctx context.Context, in workflows.RetentionReportInput) (workflows.RetentionReportResult, error) {
	var oldest *time.Time
	if err := a.d.DB.QueryRow(ctx, retSQLOldestEvent).Scan(&oldest); err != nil {
		return workflows.RetentionReportResult{}, fmt.Errorf("find the oldest event: %w", err)
	}
	now := in.Now
	if now.IsZero() {
		now = a.now()
	}
	res := workflows.RetentionReportResult{}
	if oldest != nil {
		t := oldest.UTC()
		res.OldestEvent = &t
		res.OldestEventAgeDays = math.Max(0, now.Sub(t).Hours()/24)
	}
	a.m.oldestAge.Set(res.OldestEventAgeDays)
	if !in.DryRun {
		a.m.lastSuccess.Set(float64(a.now().Unix()))
	}
	return res, nil
}

// retentionResumeProgress is the progress an earlier attempt heartbeated, or zero.
func retentionResumeProgress(ctx context.Context, log *slog.Logger) workflows.RetentionBatchProgress {
	var p workflows.RetentionBatchProgress
	if !activity.HasHeartbeatDetails(ctx) {
		return p
	}
	if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
		// Only the count is lost, not the work: the rows moved are gone from
		// the source either way.
		log.WarnContext(ctx, "unreadable heartbeat details; counting from zero", "err", err)
		return workflows.RetentionBatchProgress{}
	}
	log.InfoContext(ctx, "resuming from heartbeat", "rows", p.Rows, "batches", p.Batches)
	return p
}

func retentionCeilDiv(n, d int64) int64 {
	if d <= 0 {
		return 0
	}
	return (n + d - 1) / d
}
