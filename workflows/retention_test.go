package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// retentionTestEnv is a test-suite environment with RetentionWorkflow and
// stand-ins for its activities registered under their names. batches, when
// not nil, is registered as the real ArchiveBatches implementation instead of
// a stand-in to mock.
func retentionTestEnv(t *testing.T, batches func(context.Context, RetentionBatchInput) (RetentionBatchProgress, error)) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	if batches == nil {
		batches = notMocked[RetentionBatchInput, RetentionBatchProgress]()
	}
	return stubEnv(t, "RetentionWorkflow", RetentionWorkflow, map[string]any{
		ActivityRetentionExpiredPartitions: notMocked[RetentionPartitionsInput, RetentionPartitionsResult](),
		ActivityRetentionArchivePartition:  notMocked[RetentionPartitionInput, RetentionPartitionResult](),
		ActivityRetentionArchiveBatches:    batches,
		ActivityRetentionPurge:             notMocked[RetentionPurgeInput, RetentionBatchProgress](),
		ActivityRetentionReport:            notMocked[RetentionReportInput, RetentionReportResult](),
		// A worker with no policy configured, unless a test mocks one.
		ActivityRetentionPolicy: func(context.Context) (RetentionPolicy, error) { return RetentionPolicy{}, nil },
	})
}

// retentionMockTail mocks the steps after the batches: purges and report.
func retentionMockTail(env *testsuite.TestWorkflowEnvironment, dryRun bool, oldest time.Time) {
	env.OnActivity(ActivityRetentionPurge, mock.Anything, mock.MatchedBy(func(in RetentionPurgeInput) bool {
		return in.Target == RetentionPurgeArchive && in.DryRun == dryRun
	})).Return(RetentionBatchProgress{Rows: 10, Batches: 1}, nil).Once()
	env.OnActivity(ActivityRetentionPurge, mock.Anything, mock.MatchedBy(func(in RetentionPurgeInput) bool {
		return in.Target == RetentionPurgeConfigAudit && in.DryRun == dryRun
	})).Return(RetentionBatchProgress{Rows: 3, Batches: 1}, nil).Once()
	env.OnActivity(ActivityRetentionReport, mock.Anything, mock.MatchedBy(func(in RetentionReportInput) bool {
		return in.DryRun == dryRun
	})).Return(RetentionReportResult{OldestEvent: &oldest, OldestEventAgeDays: 89.5}, nil).Once()
}

func TestRetentionWorkflowRunsEveryStep(t *testing.T) {
	t.Parallel()
	env := retentionTestEnv(t, nil)
	now := time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC)
	cutoff := now.Add(-90 * 24 * time.Hour) // 2026-08-17T02:00Z
	env.OnActivity(ActivityRetentionExpiredPartitions, mock.Anything, RetentionPartitionsInput{Cutoff: cutoff}).
		Return(RetentionPartitionsResult{Partitions: []string{"event_audit_log_p202606", "event_audit_log_p202607"}}, nil).Once()
	env.OnActivity(ActivityRetentionArchivePartition, mock.Anything,
		RetentionPartitionInput{Partition: "event_audit_log_p202606", Cutoff: cutoff}).
		Return(RetentionPartitionResult{Partition: "event_audit_log_p202606", Found: true, Rows: 100, Dropped: true}, nil).Once()
	// An earlier attempt dropped p202607 but its answer was lost: not found now.
	env.OnActivity(ActivityRetentionArchivePartition, mock.Anything,
		RetentionPartitionInput{Partition: "event_audit_log_p202607", Cutoff: cutoff}).
		Return(RetentionPartitionResult{Partition: "event_audit_log_p202607"}, nil).Once()
	env.OnActivity(ActivityRetentionArchiveBatches, mock.Anything,
		RetentionBatchInput{Cutoff: cutoff, BatchSize: 500}).
		Return(RetentionBatchProgress{Rows: 1234, Batches: 3}, nil).Once()
	oldest := cutoff.Add(time.Hour)
	retentionMockTail(env, false, oldest)

	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{BatchSize: 500, Now: &now})
	require.NoError(t, env.GetWorkflowError())
	var res RetentionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, RetentionResult{
		Now:                      now,
		EventRetentionDays:       90,
		ArchiveRetentionDays:     2555,
		ConfigAuditRetentionDays: 365,
		EventCutoff:              cutoff,
		ArchiveCutoff:            now.Add(-2555 * 24 * time.Hour),
		ConfigAuditCutoff:        now.Add(-365 * 24 * time.Hour),
		Archived:                 1334,
		ArchivedFromPartitions:   100,
		ArchivedInBatches:        1234,
		Batches:                  3,
		PartitionsDropped:        1,
		DroppedPartitions:        []string{"event_audit_log_p202606"},
		ArchivePurged:            10,
		ConfigAuditPurged:        3,
		OldestEventAgeDays:       89.5,
		OldestEvent:              &oldest,
	}, res)
	env.AssertExpectations(t)
}

func TestRetentionWorkflowRetriesAFailingActivity(t *testing.T) {
	t.Parallel()
	env := retentionTestEnv(t, nil)
	now := time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC)
	env.OnActivity(ActivityRetentionExpiredPartitions, mock.Anything, mock.Anything).
		Return(RetentionPartitionsResult{Partitions: []string{"event_audit_log_p202607"}}, nil)
	env.OnActivity(ActivityRetentionArchivePartition, mock.Anything, mock.Anything).
		Return(RetentionPartitionResult{}, errors.New("detach event_audit_log_p202607: canceling statement due to lock timeout")).Twice()
	env.OnActivity(ActivityRetentionArchivePartition, mock.Anything, mock.Anything).
		Return(RetentionPartitionResult{Partition: "event_audit_log_p202607", Found: true, Rows: 7, Dropped: true}, nil).Once()
	env.OnActivity(ActivityRetentionArchiveBatches, mock.Anything, mock.Anything).Return(RetentionBatchProgress{}, nil)
	retentionMockTail(env, false, now)

	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{Now: &now})
	require.NoError(t, env.GetWorkflowError())
	var res RetentionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.EqualValues(t, 7, res.Archived)
	require.EqualValues(t, 1, res.PartitionsDropped)
	env.AssertNumberOfCalls(t, ActivityRetentionArchivePartition, 3)
}

// TestRetentionWorkflowBatchesResumeFromHeartbeat runs a batch activity that
// heartbeats after every batch and dies after the third one: the retry gets the
// heartbeat details and continues from batch 4 instead of starting over.
func TestRetentionWorkflowBatchesResumeFromHeartbeat(t *testing.T) {
	t.Parallel()
	const total, batch = 10, 100 // ten batches of 100 rows
	var mu sync.Mutex
	var startedAt []int64 // batch each attempt started from
	fake := func(ctx context.Context, in RetentionBatchInput) (RetentionBatchProgress, error) {
		var p RetentionBatchProgress
		if activity.HasHeartbeatDetails(ctx) {
			if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
				return p, err
			}
		}
		mu.Lock()
		startedAt = append(startedAt, p.Batches)
		mu.Unlock()
		for p.Batches < total {
			p.Rows += int64(in.BatchSize)
			p.Batches++
			activity.RecordHeartbeat(ctx, p)
			if p.Batches == 3 && activity.GetInfo(ctx).Attempt == 1 {
				return p, errors.New("connection reset by peer")
			}
		}
		return p, nil
	}
	env := retentionTestEnv(t, fake)
	now := time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC)
	env.OnActivity(ActivityRetentionExpiredPartitions, mock.Anything, mock.Anything).Return(RetentionPartitionsResult{}, nil)
	retentionMockTail(env, false, now)

	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{BatchSize: batch, Now: &now})
	require.NoError(t, env.GetWorkflowError())
	var res RetentionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, []int64{0, 3}, startedAt, "the retry resumed after the last heartbeated batch")
	require.EqualValues(t, total*batch, res.ArchivedInBatches)
	require.EqualValues(t, total, res.Batches)
}

func TestRetentionWorkflowDryRunOnlyCounts(t *testing.T) {
	t.Parallel()
	env := retentionTestEnv(t, nil)
	now := time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC)
	parts := []string{"event_audit_log_p202606", "event_audit_log_p202607"}
	env.OnActivity(ActivityRetentionExpiredPartitions, mock.Anything, mock.Anything).
		Return(RetentionPartitionsResult{Partitions: parts}, nil)
	env.OnActivity(ActivityRetentionArchivePartition, mock.Anything, mock.MatchedBy(func(in RetentionPartitionInput) bool {
		return in.DryRun
	})).Return(func(_ context.Context, in RetentionPartitionInput) (RetentionPartitionResult, error) {
		return RetentionPartitionResult{Partition: in.Partition, Found: true, Rows: 50}, nil
	}).Twice()
	// The dry run leaves the expired partitions in place, so the batch count
	// must leave their rows out.
	env.OnActivity(ActivityRetentionArchiveBatches, mock.Anything, mock.MatchedBy(func(in RetentionBatchInput) bool {
		return in.DryRun && len(in.ExcludePartitions) == 2
	})).Return(RetentionBatchProgress{Rows: 20, Batches: 1}, nil).Once()
	retentionMockTail(env, true, now)

	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{DryRun: true, Now: &now})
	require.NoError(t, env.GetWorkflowError())
	var res RetentionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.True(t, res.DryRun)
	require.EqualValues(t, 120, res.Archived)
	require.EqualValues(t, 2, res.PartitionsDropped, "would be dropped")
	require.Equal(t, parts, res.DroppedPartitions)
	require.EqualValues(t, 10, res.ArchivePurged)
	require.EqualValues(t, 3, res.ConfigAuditPurged)
	env.AssertExpectations(t)
}

func TestRetentionWorkflowDefaultsFromEmptyInput(t *testing.T) {
	t.Parallel()
	env := retentionTestEnv(t, nil)
	start := time.Date(2027, 3, 1, 2, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.OnActivity(ActivityRetentionExpiredPartitions, mock.Anything, RetentionPartitionsInput{Cutoff: start.AddDate(0, 0, -90)}).
		Return(RetentionPartitionsResult{}, nil).Once()
	env.OnActivity(ActivityRetentionArchiveBatches, mock.Anything,
		RetentionBatchInput{Cutoff: start.AddDate(0, 0, -90), BatchSize: DefaultRetentionBatchSize}).
		Return(RetentionBatchProgress{}, nil).Once()
	env.OnActivity(ActivityRetentionPurge, mock.Anything, RetentionPurgeInput{Target: RetentionPurgeArchive,
		Cutoff: start.AddDate(0, 0, -2555), BatchSize: DefaultRetentionBatchSize}).Return(RetentionBatchProgress{}, nil).Once()
	env.OnActivity(ActivityRetentionPurge, mock.Anything, RetentionPurgeInput{Target: RetentionPurgeConfigAudit,
		Cutoff: start.AddDate(0, 0, -365), BatchSize: DefaultRetentionBatchSize}).Return(RetentionBatchProgress{}, nil).Once()
	env.OnActivity(ActivityRetentionReport, mock.Anything, RetentionReportInput{Now: start}).
		Return(RetentionReportResult{}, nil).Once()

	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{})
	require.NoError(t, env.GetWorkflowError())
	var res RetentionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.True(t, res.Now.Equal(start))
	require.Empty(t, res.DroppedPartitions)
	env.AssertExpectations(t)
}

// A run started by hand with only dry_run (`--input '{"dry_run":true}'`)
// uses the retentions the worker is configured with, not the code defaults;
// what the input sets still wins. A history without the policy read replays
// the old way (TestRetentionReplaysRecordedHistory).
func TestRetentionWorkflowTakesUnsetRetentionsFromTheWorker(t *testing.T) {
	t.Parallel()
	env := retentionTestEnv(t, nil)
	start := time.Date(2027, 3, 1, 2, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.OnActivity(ActivityRetentionPolicy, mock.Anything).Return(RetentionPolicy{
		PartitionAdvanceMonths: 6, EventRetentionDays: 30, ArchiveRetentionDays: 400, ConfigAuditRetentionDays: 60}, nil).Once()
	env.OnActivity(ActivityRetentionExpiredPartitions, mock.Anything, RetentionPartitionsInput{Cutoff: start.AddDate(0, 0, -30)}).
		Return(RetentionPartitionsResult{}, nil).Once()
	env.OnActivity(ActivityRetentionArchiveBatches, mock.Anything,
		RetentionBatchInput{Cutoff: start.AddDate(0, 0, -30), BatchSize: DefaultRetentionBatchSize, DryRun: true}).
		Return(RetentionBatchProgress{}, nil).Once()
	env.OnActivity(ActivityRetentionPurge, mock.Anything, RetentionPurgeInput{Target: RetentionPurgeArchive,
		Cutoff: start.AddDate(0, 0, -1000), BatchSize: DefaultRetentionBatchSize, DryRun: true}).Return(RetentionBatchProgress{}, nil).Once()
	env.OnActivity(ActivityRetentionPurge, mock.Anything, RetentionPurgeInput{Target: RetentionPurgeConfigAudit,
		Cutoff: start.AddDate(0, 0, -60), BatchSize: DefaultRetentionBatchSize, DryRun: true}).Return(RetentionBatchProgress{}, nil).Once()
	env.OnActivity(ActivityRetentionReport, mock.Anything, RetentionReportInput{Now: start, DryRun: true}).
		Return(RetentionReportResult{}, nil).Once()

	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{DryRun: true, ArchiveRetentionDays: 1000})
	require.NoError(t, env.GetWorkflowError())
	var res RetentionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, []int{30, 1000, 60}, []int{res.EventRetentionDays, res.ArchiveRetentionDays, res.ConfigAuditRetentionDays})
	require.True(t, res.EventCutoff.Equal(start.AddDate(0, 0, -30)))
	env.AssertExpectations(t)
}

// A scheduled run passes every retention: the worker is not asked.
func TestRetentionWorkflowWithEveryRetentionSetDoesNotAskTheWorker(t *testing.T) {
	t.Parallel()
	env := retentionTestEnv(t, nil)
	start := time.Date(2027, 3, 1, 2, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.OnActivity(ActivityRetentionPolicy, mock.Anything).Return(RetentionPolicy{}, errors.New("must not be asked"))
	env.OnActivity(ActivityRetentionExpiredPartitions, mock.Anything, mock.Anything).Return(RetentionPartitionsResult{}, nil).Once()
	env.OnActivity(ActivityRetentionArchiveBatches, mock.Anything, mock.Anything).Return(RetentionBatchProgress{}, nil).Once()
	env.OnActivity(ActivityRetentionPurge, mock.Anything, mock.Anything).Return(RetentionBatchProgress{}, nil).Twice()
	env.OnActivity(ActivityRetentionReport, mock.Anything, mock.Anything).Return(RetentionReportResult{}, nil).Once()

	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{EventRetentionDays: 10, ArchiveRetentionDays: 20, ConfigAuditRetentionDays: 30})
	require.NoError(t, env.GetWorkflowError())
	var res RetentionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, []int{10, 20, 30}, []int{res.EventRetentionDays, res.ArchiveRetentionDays, res.ConfigAuditRetentionDays})
	env.AssertNotCalled(t, ActivityRetentionPolicy, mock.Anything)
}

// The worker's policy cannot be read: the run fails instead of guessing the
// code defaults (which could archive or purge earlier than configured).
func TestRetentionWorkflowFailsWithoutTheWorkersPolicy(t *testing.T) {
	t.Parallel()
	env := retentionTestEnv(t, nil)
	env.OnActivity(ActivityRetentionPolicy, mock.Anything).Return(RetentionPolicy{}, errors.New("boom"))
	env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{DryRun: true})
	require.ErrorContains(t, env.GetWorkflowError(), "retention policy")
	env.AssertNotCalled(t, ActivityRetentionExpiredPartitions, mock.Anything, mock.Anything)
}

func TestRetentionWorkflowRejectsBadInput(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]RetentionInput{
		"negative event retention":   {EventRetentionDays: -1},
		"negative archive retention": {ArchiveRetentionDays: -5},
		"negative config retention":  {ConfigAuditRetentionDays: -365},
		"negative batch":             {BatchSize: -1},
		"huge batch":                 {BatchSize: maxRetentionBatchSize + 1},
	} {
		env := retentionTestEnv(t, nil)
		env.ExecuteWorkflow(RetentionWorkflow, in)
		var ae *temporal.ApplicationError
		require.ErrorAs(t, env.GetWorkflowError(), &ae, name)
		require.Equal(t, ErrTypeRetentionInput, ae.Type(), name)
		require.True(t, ae.NonRetryable(), name)
	}
}

// Every run records its outcome in the memo (shown by the Temporal UI and
// the console's jobs page): events archived, partitions dropped, rows
// deleted; a failed run says where it failed, with what it did before.
func TestRetentionRunRecordsItsOutcomeInTheMemo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC)
	oldest := now.Add(-89 * 24 * time.Hour)
	for _, tc := range []struct {
		name   string
		dryRun bool
		fail   bool
		line   string
		counts map[string]int64
	}{
		{name: "done", line: "archived 1334 events older than 90 days (1 whole partition dropped); deleted 10 archived events " +
			"older than 2555 days and 3 config audit rows older than 365 days; oldest event left 89.5 days old",
			counts: map[string]int64{"archived": 1334, "archived_from_partitions": 100, "archived_in_batches": 1234,
				"partitions_dropped": 1, "archive_purged": 10, "config_audit_purged": 3, "deleted": 13}},
		{name: "dry run", dryRun: true, line: "dry run: archived 1334 events older than 90 days (1 whole partition dropped); " +
			"deleted 10 archived events older than 2555 days and 3 config audit rows older than 365 days; oldest event left 89.5 days old",
			counts: map[string]int64{"archived": 1334, "archived_from_partitions": 100, "archived_in_batches": 1234,
				"partitions_dropped": 1, "archive_purged": 10, "config_audit_purged": 3, "deleted": 13}},
		{name: "failed", fail: true, line: "failed: archive events in batches: permission denied for table event_audit_log_archive",
			counts: map[string]int64{"archived": 0, "archived_from_partitions": 100, "archived_in_batches": 0,
				"partitions_dropped": 1, "archive_purged": 0, "config_audit_purged": 0, "deleted": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := retentionTestEnv(t, nil)
			memo := recordMemo(env)
			env.OnActivity(ActivityRetentionExpiredPartitions, mock.Anything, mock.Anything).
				Return(RetentionPartitionsResult{Partitions: []string{"event_audit_log_p202606"}}, nil).Once()
			env.OnActivity(ActivityRetentionArchivePartition, mock.Anything, mock.Anything).
				Return(RetentionPartitionResult{Partition: "event_audit_log_p202606", Found: true, Rows: 100, Dropped: !tc.dryRun}, nil).Once()
			if tc.fail {
				env.OnActivity(ActivityRetentionArchiveBatches, mock.Anything, mock.Anything).Return(RetentionBatchProgress{},
					temporal.NewNonRetryableApplicationError("permission denied for table event_audit_log_archive", ErrTypeRetentionInput, nil))
			} else {
				env.OnActivity(ActivityRetentionArchiveBatches, mock.Anything, mock.Anything).
					Return(RetentionBatchProgress{Rows: 1234, Batches: 3}, nil).Once()
				retentionMockTail(env, tc.dryRun, oldest)
			}
			env.ExecuteWorkflow(RetentionWorkflow, RetentionInput{DryRun: tc.dryRun, Now: &now})
			require.True(t, env.IsWorkflowCompleted())
			require.Equal(t, tc.fail, env.GetWorkflowError() != nil, "%v", env.GetWorkflowError())
			line, counts := memo.get(t)
			require.Equal(t, tc.line, line)
			require.Equal(t, tc.counts, counts)
		})
	}
}
