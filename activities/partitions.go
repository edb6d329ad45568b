package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workflows"
)

// partitionLockTimeout bounds the lock waits of the maintenance transactions:
// past it the attempt fails and Temporal retries later, instead of queueing the
// hot path's inserts behind a lock request stuck on some long transaction.
const partitionLockTimeout = "10s"

// partSQLStateOverlap is invalid_object_definition, what ATTACH answers when
// another partition already covers part of the range.
const partSQLStateOverlap = "42P17"

const (
	// partSQLAttached lists the partitions of event_audit_log by name.
	partSQLAttached = `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'event_audit_log'::regclass`
	// partSQLDefaultMonths counts the rows parked in DEFAULT per UTC month.
	partSQLDefaultMonths = `SELECT date_trunc('month', event_timestamp, 'UTC') AS month, count(*)
FROM event_audit_log_default GROUP BY 1 ORDER BY 1`
	// partSQLState says whether a table of that name exists and whether it is
	// a partition of event_audit_log.
	partSQLState = `SELECT to_regclass($1) IS NOT NULL,
	EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1) AND inhparent = 'event_audit_log'::regclass)`
	// partSQLLock holds the hot path's inserts at the door (SHARE ROW EXCLUSIVE
	// conflicts with their ROW EXCLUSIVE, not with reads) before they pick a
	// partition: an insert routed to DEFAULT before the ATTACH and written
	// after it would fail on DEFAULT's narrowed constraint. Then DEFAULT
	// itself, which ATTACH scans. Parent first, as inserts lock, so no
	// deadlock; ONLY the parent, since inserts lock it before any partition
	// (other partitions stay free for vacuum and retention); the lock is
	// self-conflicting, so concurrent runs serialise.
	partSQLLock = `LOCK TABLE ONLY event_audit_log IN SHARE ROW EXCLUSIVE MODE;
LOCK TABLE event_audit_log_default IN ACCESS EXCLUSIVE MODE`
	// SELECT * is safe here: the new table is made LIKE the parent, so both
	// have the parent's columns in the parent's order, whatever later
	// migrations add.
	partSQLCopyFromDefault   = `INSERT INTO %s SELECT * FROM event_audit_log_default WHERE event_timestamp >= $1 AND event_timestamp < $2`
	partSQLDeleteFromDefault = `DELETE FROM event_audit_log_default WHERE event_timestamp >= $1 AND event_timestamp < $2`
)

type partitionMetrics struct {
	ahead       prometheus.Gauge
	lastSuccess prometheus.Gauge
	defaultRows prometheus.Gauge
	created     prometheus.Counter
	moved       prometheus.Counter
}

func newPartitionMetrics(reg prometheus.Registerer) (*partitionMetrics, error) {
	m := &partitionMetrics{
		ahead: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mutt_partitions_ahead",
			Help: "Consecutive months after the current UTC month that have an event_audit_log partition, at the last maintenance run."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mutt_partition_maintenance_last_success_timestamp_seconds",
			Help: "Unix time of the last successful partition maintenance run (dry runs excluded)."}),
		defaultRows: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mutt_partition_default_rows",
			Help: "Rows found in event_audit_log_default at the last maintenance run (they are then moved to their partitions)."}),
		created: prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_partitions_created_total",
			Help: "Partitions of event_audit_log created by partition maintenance."}),
		moved: prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_partition_default_rows_moved_total",
			Help: "Rows moved out of event_audit_log_default into their month's partition."}),
	}
	if err := telemetry.Register(reg, "partition metrics", m.ahead, m.lastSuccess, m.defaultRows, m.created, m.moved); err != nil {
		return nil, err
	}
	return m, nil
}

// partitionActivities are the activities of PartitionMaintenanceWorkflow.
type partitionActivities struct {
	activityGroup[*partitionMetrics]
}

func registerPartitions(r Registry, d *Deps) error {
	g, err := newActivityGroup(d, "partitions", newPartitionMetrics)
	if err != nil {
		return err
	}
	a := &partitionActivities{g}
	registerAs(r, map[string]any{
		workflows.ActivityPartitionInspect:     a.Inspect,
		workflows.ActivityPartitionEnsureMonth: a.EnsureMonth,
		workflows.ActivityPartitionReport:      a.Report,
		workflows.ActivityPartitionPolicy:      a.d.policy,
	})
	return nil
}

// Inspect reports which window months have their partition, and the months
// with rows parked in DEFAULT (it sets mutt_partition_default_rows). Read only.
func (a *partitionActivities) Inspect(ctx context.Context, in workflows.PartitionInspectInput) (workflows.PartitionInspectResult, error) {
	attached, err := a.attached(ctx)
	if err != nil {
		return workflows.PartitionInspectResult{}, err
	}
	res := workflows.PartitionInspectResult{Window: []workflows.PartitionMonth{}, Default: []workflows.PartitionMonth{}}
	for _, m := range in.Months {
		m = schema.MonthStart(m)
		name := schema.PartitionName(m)
		res.Window = append(res.Window, workflows.PartitionMonth{Month: m, Partition: name, Exists: attached[name]})
	}
	rows, err := a.d.DB.Query(ctx, partSQLDefaultMonths)
	if err != nil {
		return res, fmt.Errorf("count rows in the default partition: %w", err)
	}
	var total int64
	for rows.Next() {
		var pm workflows.PartitionMonth
		if err := rows.Scan(&pm.Month, &pm.Rows); err != nil {
			return res, fmt.Errorf("count rows in the default partition: %w", err)
		}
		pm.Month = pm.Month.UTC()
		pm.Partition = schema.PartitionName(pm.Month)
		total += pm.Rows
		res.Default = append(res.Default, pm)
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("count rows in the default partition: %w", err)
	}
	a.m.defaultRows.Set(float64(total))
	if total > 0 {
		a.logger(ctx).WarnContext(ctx, "rows parked in the default partition", "rows", total, "months", len(res.Default))
	}
	return res, nil
}

// EnsureMonth makes sure the partition of in.Month exists, moving that month's
// rows out of DEFAULT into it (PostgreSQL refuses to create a partition over
// rows DEFAULT holds). It is one transaction: lock out writers (the hot path's
// inserts wait for the commit, reads go on), create the partition as a
// standalone table LIKE the parent, copy the month's rows from DEFAULT into
// it, delete them from DEFAULT, ATTACH it (which adds the parent's indexes). A
// failure at any point rolls everything back: no row is lost or duplicated.
// Idempotent: an attached partition is left alone.
func (a *partitionActivities) EnsureMonth(ctx context.Context, in workflows.PartitionEnsureInput) (workflows.PartitionEnsureResult, error) {
	from := schema.MonthStart(in.Month)
	to := from.AddDate(0, 1, 0)
	name := schema.PartitionName(from)
	res := workflows.PartitionEnsureResult{Partition: name}
	stop := heartbeatDuringStatement(ctx, name)
	defer stop()

	err := pgx.BeginFunc(ctx, a.d.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+partitionLockTimeout+`'`); err != nil {
			return fmt.Errorf("set lock timeout: %w", err)
		}
		// Lock first, then look: a concurrent run that created the partition
		// meanwhile has committed by the time we hold the lock.
		if _, err := tx.Exec(ctx, partSQLLock); err != nil {
			return fmt.Errorf("lock event_audit_log: %w", err)
		}
		var exists, attached bool
		if err := tx.QueryRow(ctx, partSQLState, name).Scan(&exists, &attached); err != nil {
			return fmt.Errorf("look up %s: %w", name, err)
		}
		if attached {
			return nil
		}
		if exists {
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("table %s exists but is not a partition of event_audit_log; attach or rename it", name),
				workflows.ErrTypePartitionConflict, nil)
		}
		ident := pgx.Identifier{name}.Sanitize()
		if _, err := tx.Exec(ctx, `CREATE TABLE `+ident+` (LIKE event_audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`); err != nil {
			return fmt.Errorf("create table %s: %w", name, err)
		}
		tag, err := tx.Exec(ctx, fmt.Sprintf(partSQLCopyFromDefault, ident), from, to)
		if err != nil {
			return fmt.Errorf("copy rows of %s out of the default partition: %w", name, err)
		}
		copied := tag.RowsAffected()
		tag, err = tx.Exec(ctx, partSQLDeleteFromDefault, from, to)
		if err != nil {
			return fmt.Errorf("delete rows of %s from the default partition: %w", name, err)
		}
		if tag.RowsAffected() != copied { // cannot happen under the lock; never commit if it does
			return fmt.Errorf("move rows of %s: copied %d rows but deleted %d", name, copied, tag.RowsAffected())
		}
		// Bounds are rendered in UTC so the session time zone cannot shift them.
		attach := fmt.Sprintf(`ALTER TABLE event_audit_log ATTACH PARTITION %s FOR VALUES FROM ('%s') TO ('%s')`,
			ident, from.Format(time.RFC3339), to.Format(time.RFC3339))
		if _, err := tx.Exec(ctx, attach); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == partSQLStateOverlap {
				// Another partition (not named by our convention) covers part of
				// the month: retrying cannot help, an operator must look.
				return temporal.NewNonRetryableApplicationError(fmt.Sprintf("attach %s: %v", name, err),
					workflows.ErrTypePartitionConflict, err)
			}
			return fmt.Errorf("attach %s: %w", name, err)
		}
		res.Created, res.MovedRows = true, copied
		return nil
	})
	if err != nil {
		return workflows.PartitionEnsureResult{Partition: name}, err
	}
	if res.Created {
		a.m.created.Inc()
		a.m.moved.Add(float64(res.MovedRows))
		a.logger(ctx).InfoContext(ctx, "partition created", "partition", name, "moved_from_default", res.MovedRows)
	}
	return res, nil
}

// Report counts the consecutive months after the current one that have a
// partition and sets the gauges (the last-success time only for real runs).
func (a *partitionActivities) Report(ctx context.Context, in workflows.PartitionReportInput) (workflows.PartitionReportResult, error) {
	attached, err := a.attached(ctx)
	if err != nil {
		return workflows.PartitionReportResult{}, err
	}
	now := in.Now
	if now.IsZero() {
		now = a.now()
	}
	ahead := 0
	for m := schema.MonthStart(now).AddDate(0, 1, 0); attached[schema.PartitionName(m)] && ahead < len(attached); m = m.AddDate(0, 1, 0) {
		ahead++
	}
	a.m.ahead.Set(float64(ahead))
	if !in.DryRun {
		a.m.lastSuccess.Set(float64(a.now().Unix()))
	}
	return workflows.PartitionReportResult{PartitionsAhead: ahead}, nil
}

func (a *partitionActivities) attached(ctx context.Context) (map[string]bool, error) {
	rows, err := a.d.DB.Query(ctx, partSQLAttached)
	if err != nil {
		return nil, fmt.Errorf("list partitions of event_audit_log: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list partitions of event_audit_log: %w", err)
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// heartbeatDuringStatement records details every third of the heartbeat timeout until
// the returned stop is called. One long statement (a month moved out of
// DEFAULT, a whole partition copied to the archive) would otherwise outlast
// the heartbeat timeout, and heartbeats are how a cancellation reaches us.
func heartbeatDuringStatement(ctx context.Context, details ...any) (stop func()) {
	every := 10 * time.Second
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 {
		every = max(hb/3, time.Second)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, details...)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
