package activities

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workflows"
)

// ptHotPathInsert is the alerter's audit insert, one row at a time.
const ptHotPathInsert = `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname, handling_decision)
VALUES ($1, $2, now(), 'hot-path', 'Page_only') ON CONFLICT (event_id, event_timestamp) DO NOTHING`

// ptInserter keeps inserting rows the way the hot path does, round robin over
// months, until stopped; it records every row it got a commit for.
type ptInserter struct {
	stop   chan struct{}
	done   sync.WaitGroup
	errs   atomic.Int64
	first  atomic.Value // first error, for the failure message
	mu     sync.Mutex
	counts map[time.Time]int64
	ids    []uuid.UUID
}

func ptStartInserter(t *testing.T, db *pgxpool.Pool, months ...time.Time) *ptInserter {
	t.Helper()
	in := &ptInserter{stop: make(chan struct{}), counts: map[time.Time]int64{}}
	in.done.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-in.stop:
				return
			default:
			}
			m := months[i%len(months)]
			ts := m.Add(time.Duration(i%600) * time.Hour)
			id := uuid.New()
			if _, err := db.Exec(context.Background(), ptHotPathInsert, id, ts); err != nil {
				in.errs.Add(1)
				in.first.CompareAndSwap(nil, err.Error())
				continue
			}
			in.mu.Lock()
			in.counts[m]++
			in.ids = append(in.ids, id)
			in.mu.Unlock()
		}
	})
	t.Cleanup(in.halt)
	return in
}

func (in *ptInserter) total() int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	var n int64
	for _, c := range in.counts {
		n += c
	}
	return n
}

func (in *ptInserter) halt() {
	select {
	case <-in.stop:
	default:
		close(in.stop)
	}
	in.done.Wait()
}

func ptMonth(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC) }

// TestPartitionMaintenanceAgainstRealServers runs the workflow on the Temporal
// dev server against PostgreSQL with the clock pinned to 2026-11-15: a dry run
// changes nothing; the real run creates p202611…p202702 across the year
// boundary, moves the rows parked in DEFAULT (including far past and future
// months) into their partitions while hot-path inserts keep landing, loses and
// duplicates nothing; a second run is a no-op; a run without input works.
func TestPartitionMaintenanceAgainstRealServers(t *testing.T) {
	t.Parallel()
	db := prDB(t, time.Date(2000, 1, 10, 0, 0, 0, 0, time.UTC)) // partitions p200001, p200002 only
	now := time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)
	deps, reg := prDeps(db, now)
	c, tq := prWorker(t, func(r Registry) { require.NoError(t, registerPartitions(r, deps)) })

	// Rows parked in DEFAULT: a far past month, the current month, one ahead, a far future one.
	parked := map[time.Time]int64{ptMonth(1999, 12): 3, ptMonth(2026, 11): 100, ptMonth(2026, 12): 500, ptMonth(2031, 5): 20}
	for m, n := range parked {
		prInsertRows(t, db, int(n), m, m.AddDate(0, 1, 0))
	}
	prInsertRows(t, db, 50, ptMonth(2000, 1), ptMonth(2000, 2)) // in a partition already
	require.EqualValues(t, 623, prCount(t, db, `SELECT count(*) FROM event_audit_log_default`))
	before := prPartitions(t, db)

	// Dry run: reports, touches nothing.
	dry, _ := prRun[workflows.PartitionResult](t, c, tq, "dry", "PartitionMaintenanceWorkflow",
		workflows.PartitionInput{AdvanceMonths: 3, DryRun: true, Now: &now})
	require.True(t, dry.DryRun)
	require.Equal(t, []string{"event_audit_log_p199912", "event_audit_log_p202611", "event_audit_log_p202612",
		"event_audit_log_p202701", "event_audit_log_p202702", "event_audit_log_p203105"}, dry.Created)
	require.EqualValues(t, 623, dry.DefaultRowsFound)
	require.Len(t, dry.MovedFromDefault, 4)
	require.Equal(t, 0, dry.PartitionsAhead)
	require.Equal(t, before, prPartitions(t, db))
	require.EqualValues(t, 623, prCount(t, db, `SELECT count(*) FROM event_audit_log_default`))
	require.Zero(t, testenv.Metric(t, reg, "mutt_partition_maintenance_last_success_timestamp_seconds", nil))

	// The real run, with the hot path inserting into months being moved.
	ins := ptStartInserter(t, db, ptMonth(2026, 12), ptMonth(2031, 5), ptMonth(2027, 1), ptMonth(2026, 11))
	res, run := prRun[workflows.PartitionResult](t, c, tq, "run", "PartitionMaintenanceWorkflow",
		workflows.PartitionInput{AdvanceMonths: 3, Now: &now})
	after := ins.total()
	require.Eventually(t, func() bool { return ins.total() > after+20 }, 10*time.Second, 5*time.Millisecond,
		"the hot path keeps inserting into the new partitions")
	ins.halt()
	require.Zero(t, ins.errs.Load(), "hot-path inserts failed during maintenance: %v", ins.first.Load())

	require.Equal(t, dry.Created, res.Created)
	require.GreaterOrEqual(t, res.DefaultRowsFound, int64(623))
	require.Equal(t, 3, res.PartitionsAhead)
	moved := map[string]workflows.PartitionMonth{}
	for _, m := range res.MovedFromDefault {
		moved[m.Partition] = m
	}
	require.EqualValues(t, 3, moved["event_audit_log_p199912"].Rows)
	require.True(t, moved["event_audit_log_p199912"].OutsideWindow)
	require.True(t, moved["event_audit_log_p203105"].OutsideWindow)
	require.False(t, moved["event_audit_log_p202612"].OutsideWindow)
	for m, n := range parked {
		require.GreaterOrEqual(t, moved["event_audit_log_p"+m.Format("200601")].Rows, n, m)
	}

	// Every row is where it belongs, once: nothing left in DEFAULT, each month
	// holds what was parked plus what the hot path inserted.
	require.Zero(t, prCount(t, db, `SELECT count(*) FROM event_audit_log_default`))
	for m, n := range parked {
		name := "event_audit_log_p" + m.Format("200601")
		require.Equal(t, n+ins.counts[m], prCount(t, db, `SELECT count(*) FROM `+name), name)
	}
	require.Equal(t, ins.counts[ptMonth(2027, 1)], prCount(t, db, `SELECT count(*) FROM event_audit_log_p202701`))
	require.EqualValues(t, 50, prCount(t, db, `SELECT count(*) FROM event_audit_log_p200001`))
	require.Zero(t, prCount(t, db, `SELECT count(*) FROM (SELECT event_id FROM event_audit_log GROUP BY 1 HAVING count(*) > 1) d`))
	// The moved-to partitions are real partitions with the parent's indexes.
	require.EqualValues(t, 4, prCount(t, db, `SELECT count(*) FROM pg_indexes WHERE tablename = 'event_audit_log_p202612'`))

	require.EqualValues(t, 3, testenv.Metric(t, reg, "mutt_partitions_ahead", nil))
	require.EqualValues(t, res.DefaultRowsFound, testenv.Metric(t, reg, "mutt_partition_default_rows", nil))
	require.EqualValues(t, now.Unix(), testenv.Metric(t, reg, "mutt_partition_maintenance_last_success_timestamp_seconds", nil))
	require.EqualValues(t, 6, testenv.Metric(t, reg, "mutt_partitions_created_total", nil))
	prCheckHistory(t, c, run, "partition_history.json")

	// Idempotent: a second run finds nothing to do.
	again, _ := prRun[workflows.PartitionResult](t, c, tq, "again", "PartitionMaintenanceWorkflow",
		workflows.PartitionInput{AdvanceMonths: 3, Now: &now})
	require.Empty(t, again.Created)
	require.Empty(t, again.MovedFromDefault)
	require.Zero(t, again.DefaultRowsFound)
	require.Equal(t, 3, again.PartitionsAhead)
	require.Zero(t, testenv.Metric(t, reg, "mutt_partition_default_rows", nil))

	// No input at all (a bare `temporal workflow start`): defaults, the workflow's clock.
	bare, _ := prRun[workflows.PartitionResult](t, c, tq, "bare", "PartitionMaintenanceWorkflow")
	require.Equal(t, workflows.DefaultPartitionAdvanceMonths, bare.AdvanceMonths)
	require.GreaterOrEqual(t, bare.PartitionsAhead, workflows.DefaultPartitionAdvanceMonths)
	require.WithinDuration(t, time.Now(), bare.Now, time.Hour)
}

// ptActivityEnv runs the partition activities outside a workflow.
func ptActivityEnv(t *testing.T, db *pgxpool.Pool) *testsuite.TestActivityEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	deps, _ := prDeps(db, time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC))
	require.NoError(t, registerPartitions(env, deps))
	return env
}

func TestPartitionEnsureMonthIsIdempotent(t *testing.T) {
	t.Parallel()
	db := prDB(t, time.Date(2000, 1, 10, 0, 0, 0, 0, time.UTC))
	env := ptActivityEnv(t, db)
	prInsertRows(t, db, 10, ptMonth(2026, 12), ptMonth(2027, 1))

	for i, want := range []workflows.PartitionEnsureResult{
		{Partition: "event_audit_log_p202612", Created: true, MovedRows: 10},
		{Partition: "event_audit_log_p202612"}, // already there: nothing to do
	} {
		v, err := env.ExecuteActivity(workflows.ActivityPartitionEnsureMonth,
			workflows.PartitionEnsureInput{Month: time.Date(2026, 12, 17, 5, 0, 0, 0, time.UTC)}) // any instant of the month
		require.NoError(t, err)
		var got workflows.PartitionEnsureResult
		require.NoError(t, v.Get(&got))
		require.Equal(t, want, got, "run %d", i)
	}
	require.EqualValues(t, 10, prCount(t, db, `SELECT count(*) FROM event_audit_log_p202612`))

	// The bounds are UTC months: the last instant of December lands in p202612.
	var part string
	require.NoError(t, db.QueryRow(context.Background(), `INSERT INTO event_audit_log
		(event_id, event_timestamp, received_at, hostname, handling_decision)
		VALUES (gen_random_uuid(), '2026-12-31T23:59:59.999Z', now(), 'h', 'x') RETURNING tableoid::regclass::text`).Scan(&part))
	require.Equal(t, "event_audit_log_p202612", part)
}

func TestPartitionEnsureMonthRefusesTablesInTheWay(t *testing.T) {
	t.Parallel()
	db := prDB(t, time.Date(2000, 1, 10, 0, 0, 0, 0, time.UTC))
	env := ptActivityEnv(t, db)
	prInsertRows(t, db, 10, ptMonth(2030, 1), ptMonth(2030, 2))
	_, err := db.Exec(context.Background(), `CREATE TABLE event_audit_log_p203001 (x int)`)
	require.NoError(t, err)

	_, err = env.ExecuteActivity(workflows.ActivityPartitionEnsureMonth, workflows.PartitionEnsureInput{Month: ptMonth(2030, 1)})
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "%v", err)
	require.Equal(t, workflows.ErrTypePartitionConflict, ae.Type())
	require.True(t, ae.NonRetryable())
	// Rolled back: the rows are still in DEFAULT.
	require.EqualValues(t, 10, prCount(t, db, `SELECT count(*) FROM event_audit_log_default`))

	// A partition of another naming (the peer's) covering the month: not retried either.
	_, err = db.Exec(context.Background(), `CREATE TABLE event_audit_log_2026_12 PARTITION OF event_audit_log
		FOR VALUES FROM ('2026-12-01Z') TO ('2027-01-01Z')`)
	require.NoError(t, err)
	_, err = env.ExecuteActivity(workflows.ActivityPartitionEnsureMonth, workflows.PartitionEnsureInput{Month: ptMonth(2026, 12)})
	require.True(t, errors.As(err, &ae), "%v", err)
	require.Equal(t, workflows.ErrTypePartitionConflict, ae.Type())
	require.True(t, ae.NonRetryable())
	require.NotContains(t, prPartitions(t, db), "event_audit_log_p202612")
}

func TestPartitionInspectReportsDefaultMonths(t *testing.T) {
	t.Parallel()
	db := prDB(t, time.Date(2000, 1, 10, 0, 0, 0, 0, time.UTC))
	env := ptActivityEnv(t, db)
	prInsertRows(t, db, 7, ptMonth(2031, 5), ptMonth(2031, 6))
	prInsertRows(t, db, 2, ptMonth(1999, 12), ptMonth(2000, 1))

	v, err := env.ExecuteActivity(workflows.ActivityPartitionInspect, workflows.PartitionInspectInput{
		Months: []time.Time{ptMonth(2000, 1), ptMonth(2000, 2), ptMonth(2000, 3)}})
	require.NoError(t, err)
	var got workflows.PartitionInspectResult
	require.NoError(t, v.Get(&got))
	require.Equal(t, workflows.PartitionInspectResult{
		Window: []workflows.PartitionMonth{
			{Month: ptMonth(2000, 1), Partition: "event_audit_log_p200001", Exists: true},
			{Month: ptMonth(2000, 2), Partition: "event_audit_log_p200002", Exists: true},
			{Month: ptMonth(2000, 3), Partition: "event_audit_log_p200003"},
		},
		Default: []workflows.PartitionMonth{
			{Month: ptMonth(1999, 12), Partition: "event_audit_log_p199912", Rows: 2},
			{Month: ptMonth(2031, 5), Partition: "event_audit_log_p203105", Rows: 7},
		},
	}, got)
}

// TestHeartbeatDuringStatementHeartbeats: while one long statement runs, the
// activity still heartbeats (every third of its heartbeat timeout), and stops
// when the statement is done.
func TestHeartbeatDuringStatementHeartbeats(t *testing.T) {
	t.Parallel()
	var beats atomic.Int64
	long := func(ctx context.Context) (int64, error) {
		stop := heartbeatDuringStatement(ctx, "p")
		// Stands for the statement: done once two heartbeats went out.
		require.Eventually(t, func() bool { return beats.Load() >= 2 }, 30*time.Second, 10*time.Millisecond)
		stop()
		return beats.Load(), nil
	}
	wf := func(ctx workflow.Context) (int64, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute, HeartbeatTimeout: 3 * time.Second})
		var n int64
		err := workflow.ExecuteActivity(ctx, "long").Get(ctx, &n)
		return n, err
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	// The activities here do real PostgreSQL work: the suite's 3 s wall-clock default fails
	// on a loaded machine or under make cover's instrumentation, not because of a bug.
	env.SetTestTimeout(2 * time.Minute)
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "wf"})
	env.RegisterActivityWithOptions(long, activity.RegisterOptions{Name: "long"})
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats.Add(1) })
	env.ExecuteWorkflow(wf)
	require.NoError(t, env.GetWorkflowError())
	var n int64
	require.NoError(t, env.GetWorkflowResult(&n))
	require.GreaterOrEqual(t, n, int64(2))
}
