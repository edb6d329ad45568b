package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// partitionTestEnv is a test-suite environment with PartitionMaintenanceWorkflow
// and stand-ins for its activities registered under their names, so tests can
// mock them by name (the workflows package never sees the real ones).
func partitionTestEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	return stubEnv(t, "PartitionMaintenanceWorkflow", PartitionMaintenanceWorkflow, map[string]any{
		ActivityPartitionInspect:     notMocked[PartitionInspectInput, PartitionInspectResult](),
		ActivityPartitionEnsureMonth: notMocked[PartitionEnsureInput, PartitionEnsureResult](),
		ActivityPartitionReport:      notMocked[PartitionReportInput, PartitionReportResult](),
		// A worker with no policy configured, unless a test mocks one.
		ActivityPartitionPolicy: func(context.Context) (RetentionPolicy, error) { return RetentionPolicy{}, nil },
	})
}

func ptMonth(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC) }

func ptPartitionOf(m time.Time) string { return "event_audit_log_p" + m.Format("200601") }

// ptInspectAnswer answers PartitionInspect: the asked months exist when listed in
// existing; DEFAULT holds rows for the months of parked.
func ptInspectAnswer(existing []time.Time, parked map[time.Time]int64) func(context.Context, PartitionInspectInput) (PartitionInspectResult, error) {
	return func(_ context.Context, in PartitionInspectInput) (PartitionInspectResult, error) {
		res := PartitionInspectResult{}
		for _, m := range in.Months {
			pm := PartitionMonth{Month: m, Partition: ptPartitionOf(m)}
			for _, e := range existing {
				pm.Exists = pm.Exists || e.Equal(m)
			}
			res.Window = append(res.Window, pm)
		}
		for _, m := range []time.Time{ptMonth(1999, 12), ptMonth(2026, 12), ptMonth(2031, 5), ptMonth(2027, 12)} {
			if n, ok := parked[m]; ok {
				res.Default = append(res.Default, PartitionMonth{Month: m, Partition: ptPartitionOf(m), Rows: n})
			}
		}
		return res, nil
	}
}

func ptEnsureAnswer(parked map[time.Time]int64) func(context.Context, PartitionEnsureInput) (PartitionEnsureResult, error) {
	return func(_ context.Context, in PartitionEnsureInput) (PartitionEnsureResult, error) {
		return PartitionEnsureResult{Partition: ptPartitionOf(in.Month), Created: true, MovedRows: parked[in.Month]}, nil
	}
}

func TestPartitionWorkflowCreatesAcrossYearBoundaryAndEmptiesDefault(t *testing.T) {
	t.Parallel()
	env := partitionTestEnv(t)
	now := time.Date(2026, 11, 15, 8, 30, 0, 0, time.UTC)
	parked := map[time.Time]int64{ptMonth(1999, 12): 1, ptMonth(2026, 12): 5, ptMonth(2031, 5): 2}
	var asked []time.Time
	env.OnActivity(ActivityPartitionInspect, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in PartitionInspectInput) (PartitionInspectResult, error) {
			asked = in.Months
			return ptInspectAnswer([]time.Time{ptMonth(2026, 11)}, parked)(ctx, in)
		}).Once()
	var ensured []time.Time
	env.OnActivity(ActivityPartitionEnsureMonth, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in PartitionEnsureInput) (PartitionEnsureResult, error) {
			ensured = append(ensured, in.Month)
			return ptEnsureAnswer(parked)(ctx, in)
		})
	env.OnActivity(ActivityPartitionReport, mock.Anything, PartitionReportInput{Now: now}).
		Return(PartitionReportResult{PartitionsAhead: 3}, nil).Once()

	env.ExecuteWorkflow(PartitionMaintenanceWorkflow, PartitionInput{AdvanceMonths: 3, Now: &now})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res PartitionResult
	require.NoError(t, env.GetWorkflowResult(&res))

	require.Equal(t, []time.Time{ptMonth(2026, 11), ptMonth(2026, 12), ptMonth(2027, 1), ptMonth(2027, 2)}, asked)
	// Oldest first; p202611 already exists so it is left alone.
	require.Equal(t, []time.Time{ptMonth(1999, 12), ptMonth(2026, 12), ptMonth(2027, 1), ptMonth(2027, 2), ptMonth(2031, 5)}, ensured)
	require.Equal(t, []string{"event_audit_log_p199912", "event_audit_log_p202612", "event_audit_log_p202701",
		"event_audit_log_p202702", "event_audit_log_p203105"}, res.Created)
	require.Equal(t, []PartitionMonth{
		{Month: ptMonth(1999, 12), Partition: "event_audit_log_p199912", Exists: true, Rows: 1, OutsideWindow: true},
		{Month: ptMonth(2026, 12), Partition: "event_audit_log_p202612", Exists: true, Rows: 5},
		{Month: ptMonth(2031, 5), Partition: "event_audit_log_p203105", Exists: true, Rows: 2, OutsideWindow: true},
	}, res.MovedFromDefault)
	require.EqualValues(t, 8, res.DefaultRowsFound)
	require.Equal(t, 3, res.PartitionsAhead)
	require.Equal(t, 3, res.AdvanceMonths)
	require.Equal(t, now, res.Now)
	require.False(t, res.DryRun)
	env.AssertExpectations(t)
}

func TestPartitionWorkflowRetriesAFailingActivity(t *testing.T) {
	t.Parallel()
	env := partitionTestEnv(t)
	now := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	env.OnActivity(ActivityPartitionInspect, mock.Anything, mock.Anything).
		Return(ptInspectAnswer([]time.Time{ptMonth(2026, 11), ptMonth(2026, 12), ptMonth(2027, 1)}, nil))
	// The first attempt hits the lock timeout; the retry succeeds.
	env.OnActivity(ActivityPartitionEnsureMonth, mock.Anything, PartitionEnsureInput{Month: ptMonth(2027, 2)}).
		Return(PartitionEnsureResult{}, errors.New("lock the default partition: canceling statement due to lock timeout")).Once()
	env.OnActivity(ActivityPartitionEnsureMonth, mock.Anything, PartitionEnsureInput{Month: ptMonth(2027, 2)}).
		Return(PartitionEnsureResult{Partition: "event_audit_log_p202702", Created: true}, nil).Once()
	env.OnActivity(ActivityPartitionReport, mock.Anything, mock.Anything).Return(PartitionReportResult{PartitionsAhead: 3}, nil)

	env.ExecuteWorkflow(PartitionMaintenanceWorkflow, PartitionInput{Now: &now})
	require.NoError(t, env.GetWorkflowError())
	var res PartitionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, []string{"event_audit_log_p202702"}, res.Created)
	env.AssertNumberOfCalls(t, ActivityPartitionEnsureMonth, 2)
}

func TestPartitionWorkflowGivesUpOnAConflict(t *testing.T) {
	t.Parallel()
	env := partitionTestEnv(t)
	now := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	env.OnActivity(ActivityPartitionInspect, mock.Anything, mock.Anything).
		Return(ptInspectAnswer([]time.Time{ptMonth(2026, 11), ptMonth(2026, 12), ptMonth(2027, 1)}, nil))
	env.OnActivity(ActivityPartitionEnsureMonth, mock.Anything, mock.Anything).Return(PartitionEnsureResult{},
		temporal.NewNonRetryableApplicationError("table exists", ErrTypePartitionConflict, nil))

	env.ExecuteWorkflow(PartitionMaintenanceWorkflow, PartitionInput{Now: &now})
	require.True(t, ptHasAppErrorType(env.GetWorkflowError(), ErrTypePartitionConflict), "%v", env.GetWorkflowError())
	env.AssertNumberOfCalls(t, ActivityPartitionEnsureMonth, 1) // not retried
}

func TestPartitionWorkflowDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	env := partitionTestEnv(t)
	now := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	parked := map[time.Time]int64{ptMonth(2026, 12): 5, ptMonth(2031, 5): 2}
	env.OnActivity(ActivityPartitionInspect, mock.Anything, mock.Anything).Return(ptInspectAnswer(nil, parked))
	env.OnActivity(ActivityPartitionReport, mock.Anything, PartitionReportInput{Now: now, DryRun: true}).
		Return(PartitionReportResult{PartitionsAhead: 0}, nil).Once()

	env.ExecuteWorkflow(PartitionMaintenanceWorkflow, PartitionInput{DryRun: true, Now: &now})
	require.NoError(t, env.GetWorkflowError())
	var res PartitionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.True(t, res.DryRun)
	require.Equal(t, []string{"event_audit_log_p202611", "event_audit_log_p202612", "event_audit_log_p202701",
		"event_audit_log_p202702", "event_audit_log_p203105"}, res.Created, "what would be created")
	require.Equal(t, []PartitionMonth{
		{Month: ptMonth(2026, 12), Partition: "event_audit_log_p202612", Rows: 5},
		{Month: ptMonth(2031, 5), Partition: "event_audit_log_p203105", Rows: 2, OutsideWindow: true},
	}, res.MovedFromDefault)
	env.AssertNotCalled(t, ActivityPartitionEnsureMonth, mock.Anything, mock.Anything)
	env.AssertExpectations(t)
}

func TestPartitionWorkflowDefaultsFromEmptyInput(t *testing.T) {
	t.Parallel()
	env := partitionTestEnv(t)
	start := time.Date(2027, 12, 20, 1, 10, 0, 0, time.UTC)
	env.SetStartTime(start)
	var asked []time.Time
	env.OnActivity(ActivityPartitionInspect, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in PartitionInspectInput) (PartitionInspectResult, error) {
			asked = in.Months
			return ptInspectAnswer(in.Months, nil)(ctx, in)
		})
	env.OnActivity(ActivityPartitionReport, mock.Anything, mock.Anything).Return(PartitionReportResult{PartitionsAhead: 3}, nil)

	env.ExecuteWorkflow(PartitionMaintenanceWorkflow, PartitionInput{}) // `--input '{}'`; no input at all is tested against the server
	require.NoError(t, env.GetWorkflowError())
	var res PartitionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, []time.Time{ptMonth(2027, 12), ptMonth(2028, 1), ptMonth(2028, 2), ptMonth(2028, 3)}, asked)
	require.Equal(t, DefaultPartitionAdvanceMonths, res.AdvanceMonths)
	require.Empty(t, res.Created)
	require.True(t, res.Now.Equal(start), "the workflow clock, not the wall clock")
}

// A run started by hand without advance_months keeps the worker's
// PARTITION_ADVANCE_MONTHS ahead, not the code default.
func TestPartitionWorkflowTakesAdvanceMonthsFromTheWorker(t *testing.T) {
	t.Parallel()
	env := partitionTestEnv(t)
	start := time.Date(2027, 12, 20, 1, 10, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.OnActivity(ActivityPartitionPolicy, mock.Anything).Return(RetentionPolicy{PartitionAdvanceMonths: 5, EventRetentionDays: 7}, nil).Once()
	var asked []time.Time
	env.OnActivity(ActivityPartitionInspect, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in PartitionInspectInput) (PartitionInspectResult, error) {
			asked = in.Months
			return ptInspectAnswer(in.Months, nil)(ctx, in)
		})
	env.OnActivity(ActivityPartitionReport, mock.Anything, mock.Anything).Return(PartitionReportResult{PartitionsAhead: 5}, nil)

	env.ExecuteWorkflow(PartitionMaintenanceWorkflow, PartitionInput{DryRun: true})
	require.NoError(t, env.GetWorkflowError())
	var res PartitionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 5, res.AdvanceMonths)
	require.Len(t, asked, 6, "the current month and 5 ahead")
	require.True(t, asked[5].Equal(ptMonth(2028, 5)))
	env.AssertExpectations(t)
}

func TestPartitionWorkflowRejectsBadInput(t *testing.T) {
	t.Parallel()
	for _, advance := range []int{-1, maxPartitionAdvanceMonths + 1} {
		env := partitionTestEnv(t)
		env.ExecuteWorkflow(PartitionMaintenanceWorkflow, PartitionInput{AdvanceMonths: advance})
		var ae *temporal.ApplicationError
		require.ErrorAs(t, env.GetWorkflowError(), &ae, "advance %d", advance)
		require.Equal(t, ErrTypePartitionInput, ae.Type())
		require.True(t, ae.NonRetryable())
	}
}

// ptHasAppErrorType reports whether an application error of that type is
// anywhere in err's chain (a workflow wraps its activities' errors).
func ptHasAppErrorType(err error, typ string) bool {
	for err != nil {
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) {
			return false
		}
		if ae.Type() == typ {
			return true
		}
		err = ae.Unwrap()
	}
	return false
}

// Every run records its outcome in the memo (shown by the Temporal UI and
// the console's jobs page): partitions created and already there, rows moved
// out of DEFAULT; a failed run says where it failed.
func TestPartitionRunRecordsItsOutcomeInTheMemo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	existing := []time.Time{ptMonth(2026, 11), ptMonth(2026, 12)}
	parked := map[time.Time]int64{ptMonth(2031, 5): 2}
	for _, tc := range []struct {
		name   string
		in     PartitionInput
		ensure func(*testsuite.TestWorkflowEnvironment)
		line   string
		counts map[string]int64
	}{
		{name: "created", in: PartitionInput{AdvanceMonths: 3, Now: &now},
			ensure: func(env *testsuite.TestWorkflowEnvironment) {
				env.OnActivity(ActivityPartitionEnsureMonth, mock.Anything, mock.Anything).Return(ptEnsureAnswer(parked))
			},
			line: "created 3 (event_audit_log_p202701, event_audit_log_p202702, event_audit_log_p203105), 2 already there, " +
				"moved 2 rows out of DEFAULT; 3 months ahead",
			counts: map[string]int64{"created": 3, "existing": 2, "moved_rows": 2, "moved_months": 1, "default_rows_found": 2, "partitions_ahead": 3}},
		{name: "dry run", in: PartitionInput{AdvanceMonths: 3, Now: &now, DryRun: true},
			ensure: func(*testsuite.TestWorkflowEnvironment) {},
			line: "dry run: created 3 (event_audit_log_p202701, event_audit_log_p202702, event_audit_log_p203105), 2 already there, " +
				"moved 2 rows out of DEFAULT; 3 months ahead",
			counts: map[string]int64{"created": 3, "existing": 2, "moved_rows": 2, "moved_months": 1, "default_rows_found": 2, "partitions_ahead": 3}},
		{name: "conflict", in: PartitionInput{AdvanceMonths: 3, Now: &now},
			ensure: func(env *testsuite.TestWorkflowEnvironment) {
				env.OnActivity(ActivityPartitionEnsureMonth, mock.Anything, mock.Anything).Return(PartitionEnsureResult{},
					temporal.NewNonRetryableApplicationError("table event_audit_log_p202701 exists", ErrTypePartitionConflict, nil))
			},
			line:   "failed: ensure partition event_audit_log_p202701: table event_audit_log_p202701 exists",
			counts: map[string]int64{"created": 0, "existing": 2, "moved_rows": 0, "moved_months": 0, "default_rows_found": 2, "partitions_ahead": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := partitionTestEnv(t)
			memo := recordMemo(env)
			env.OnActivity(ActivityPartitionInspect, mock.Anything, mock.Anything).Return(ptInspectAnswer(existing, parked))
			tc.ensure(env)
			env.OnActivity(ActivityPartitionReport, mock.Anything, mock.Anything).Return(PartitionReportResult{PartitionsAhead: 3}, nil)
			env.ExecuteWorkflow(PartitionMaintenanceWorkflow, tc.in)
			require.True(t, env.IsWorkflowCompleted())
			line, counts := memo.get(t)
			require.Equal(t, tc.line, line)
			require.Equal(t, tc.counts, counts)
		})
	}
}
