package workflows

import (
	"time"

	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// dlqEnv is a test environment with DLQRemediationWorkflow and stand-ins of
// its activities registered under their names, ready to be mocked.
func dlqEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	return stubEnv(t, "DLQRemediationWorkflow", DLQRemediationWorkflow, map[string]any{
		ActivityDLQCheckMoogHealth: func(context.Context) (DLQMoogHealth, error) {
			return DLQMoogHealth{}, errors.New("not mocked")
		},
		ActivityDLQReplayStream: notMocked[DLQReplayInput, DLQReplayResult](),
		ActivityDLQRecordDepths: notMocked[DLQDepthsInput, DLQDepths](),
	})
}

func replayOf(stream string, in DLQInput) DLQReplayInput {
	n, err := in.normalize()
	if err != nil {
		panic(err)
	}
	return DLQReplayInput{Stream: stream, MaxEntries: n.MaxEntries, BatchSize: n.BatchSize,
		MaxReplays: n.MaxReplays, DryRun: n.DryRun, Reasons: n.Reasons, IDs: n.IDs, Discard: n.Discard}
}

func dlqResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) DLQResult {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res DLQResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func TestDLQInputNormalize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   DLQInput
		want DLQInput
		err  string
	}{
		{name: "zero means both with defaults", in: DLQInput{},
			want: DLQInput{Streams: []string{DLQMoog, DLQAlerter}, MaxEntries: 1000, BatchSize: 100, MaxReplays: 3}},
		{name: "canonical order without duplicates", in: DLQInput{Streams: []string{"alerter", "moog", "alerter"}},
			want: DLQInput{Streams: []string{DLQMoog, DLQAlerter}, MaxEntries: 1000, BatchSize: 100, MaxReplays: 3}},
		{name: "batch never larger than the run", in: DLQInput{Streams: []string{"alerter"}, MaxEntries: 10, DryRun: true, Reasons: []string{"shed"}},
			want: DLQInput{Streams: []string{DLQAlerter}, MaxEntries: 10, BatchSize: 10, MaxReplays: 3, DryRun: true, Reasons: []string{"shed"}}},
		{name: "unknown stream", in: DLQInput{Streams: []string{"dead"}}, err: `unknown stream "dead"`},
		{name: "negative", in: DLQInput{MaxReplays: -1}, err: "max_replays -1 out of range"},
		{name: "batch too large", in: DLQInput{BatchSize: DLQMaxBatchSize + 1}, err: "batch_size 1001 out of range"},
		{name: "ids deduplicated", in: DLQInput{Streams: []string{"moog"}, IDs: []string{"1-0", "2-5", "1-0"}, Discard: true},
			want: DLQInput{Streams: []string{DLQMoog}, MaxEntries: 1000, BatchSize: 100, MaxReplays: 3, IDs: []string{"1-0", "2-5"}, Discard: true}},
		{name: "ids need one stream", in: DLQInput{IDs: []string{"1-0"}}, err: "ids need exactly one stream"},
		{name: "ids are stream ids", in: DLQInput{Streams: []string{"alerter"}, IDs: []string{"1-0", "+"}}, err: `ids: "+" is not a stream entry id`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.in.normalize()
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDLQHealthyReplaysBothWithDefaults(t *testing.T) {
	t.Parallel()
	env := dlqEnv(t)
	env.OnActivity(ActivityDLQCheckMoogHealth, mock.Anything).Return(DLQMoogHealth{Healthy: true, Status: 405}, nil).Once()
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, replayOf(DLQMoog, DLQInput{})).
		Return(DLQReplayResult{Stream: DLQMoog, Examined: 3, Replayed: 2, Poisoned: 1,
			PoisonedEntries: []DLQPoisonedEntry{{DLQ: DLQMoog, ID: "1-0", Replays: 3, Cause: "max_replays"}}}, nil).Once()
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, replayOf(DLQAlerter, DLQInput{})).
		Return(DLQReplayResult{Stream: DLQAlerter, Examined: 1, Replayed: 1}, nil).Once()
	env.OnActivity(ActivityDLQRecordDepths, mock.Anything, depthsOf(DLQDepthsInput{MaxEntries: 1000, Succeeded: true})).
		Return(DLQDepths{Moog: 0, Alerter: 4, Poison: 1}, nil).Once()

	env.ExecuteWorkflow(DLQRemediationWorkflow, DLQInput{})
	res := dlqResult(t, env)
	env.AssertExpectations(t)

	healthy := true
	require.Equal(t, DLQResult{
		MaxReplays: 3,
		MoogHealth: &DLQMoogHealth{Healthy: true, Status: 405},
		Streams: []DLQStreamResult{
			{Stream: DLQMoog, Examined: 3, Replayed: 2, Poisoned: 1, MoogHealthy: &healthy},
			{Stream: DLQAlerter, Examined: 1, Replayed: 1, Depth: 4},
		},
		Poisoned:    []DLQPoisonedEntry{{DLQ: DLQMoog, ID: "1-0", Replays: 3, Cause: "max_replays"}},
		PoisonDepth: 1,
	}, res)
}

func TestDLQUnhealthyMoogSkipsOnlyTheMoogDLQ(t *testing.T) {
	t.Parallel()
	env := dlqEnv(t)
	env.OnActivity(ActivityDLQCheckMoogHealth, mock.Anything).Return(DLQMoogHealth{Healthy: false, Status: 503, Detail: "HTTP 503"}, nil).Once()
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, replayOf(DLQAlerter, DLQInput{})).
		Return(DLQReplayResult{Stream: DLQAlerter, Examined: 2, Replayed: 2}, nil).Once()
	env.OnActivity(ActivityDLQRecordDepths, mock.Anything, depthsOf(DLQDepthsInput{MoogSkipped: true, MaxEntries: 1000, Succeeded: true})).
		Return(DLQDepths{Moog: 7, SkippedUnhealthy: 7}, nil).Once()

	env.ExecuteWorkflow(DLQRemediationWorkflow, DLQInput{})
	res := dlqResult(t, env)
	env.AssertExpectations(t)
	env.AssertActivityNotCalled(t, ActivityDLQReplayStream, mock.Anything, replayOf(DLQMoog, DLQInput{}))

	require.Len(t, res.Streams, 2)
	moog := res.Streams[0]
	require.Equal(t, DLQMoog, moog.Stream)
	require.NotNil(t, moog.MoogHealthy)
	require.False(t, *moog.MoogHealthy)
	require.Equal(t, 7, moog.SkippedUnhealthy)
	require.EqualValues(t, 7, moog.Depth)
	require.Zero(t, moog.Examined)
	require.Equal(t, DLQStreamResult{Stream: DLQAlerter, Examined: 2, Replayed: 2}, res.Streams[1])
}

func TestDLQFailedHealthCheckCountsAsUnhealthy(t *testing.T) {
	t.Parallel()
	env := dlqEnv(t)
	env.OnActivity(ActivityDLQCheckMoogHealth, mock.Anything).Return(DLQMoogHealth{}, errors.New("redis down"))
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, replayOf(DLQAlerter, DLQInput{})).
		Return(DLQReplayResult{Stream: DLQAlerter}, nil).Once()
	env.OnActivity(ActivityDLQRecordDepths, mock.Anything, mock.Anything).Return(DLQDepths{}, nil).Once()

	env.ExecuteWorkflow(DLQRemediationWorkflow, nil) // JSON null input
	res := dlqResult(t, env)
	env.AssertExpectations(t)
	env.AssertNumberOfCalls(t, ActivityDLQCheckMoogHealth, 5) // the retry policy's attempts
	require.False(t, res.MoogHealth.Healthy)
	require.Contains(t, res.MoogHealth.Detail, "redis down")
}

func TestDLQDryRunReachesEveryActivity(t *testing.T) {
	t.Parallel()
	env := dlqEnv(t)
	in := DLQInput{Streams: []string{"moog"}, DryRun: true, MaxEntries: 50, BatchSize: 10, MaxReplays: 2, Reasons: []string{"moog_rejected"}}
	env.OnActivity(ActivityDLQCheckMoogHealth, mock.Anything).Return(DLQMoogHealth{Healthy: true}, nil).Once()
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, DLQReplayInput{
		Stream: DLQMoog, MaxEntries: 50, BatchSize: 10, MaxReplays: 2, DryRun: true, Reasons: []string{"moog_rejected"},
	}).Return(DLQReplayResult{Stream: DLQMoog, Examined: 5, Replayed: 3, Poisoned: 1, Skipped: 1,
		PoisonedEntries: []DLQPoisonedEntry{{DLQ: DLQMoog, ID: "9-0", Replays: 2, Cause: "max_replays"}}}, nil).Once()
	env.OnActivity(ActivityDLQRecordDepths, mock.Anything, depthsOf(DLQDepthsInput{MaxEntries: 50, DryRun: true, Succeeded: true})).
		Return(DLQDepths{Moog: 5}, nil).Once()

	env.ExecuteWorkflow(DLQRemediationWorkflow, in)
	res := dlqResult(t, env)
	env.AssertExpectations(t)
	require.True(t, res.DryRun)
	require.Len(t, res.Streams, 1, "only the selected stream")
	require.Equal(t, 3, res.Streams[0].Replayed)
	require.Equal(t, 1, res.Streams[0].Skipped)
	require.Len(t, res.Poisoned, 1)
}

func TestDLQReplayIsRetried(t *testing.T) {
	t.Parallel()
	env := dlqEnv(t)
	in := DLQInput{Streams: []string{"alerter"}}
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, mock.Anything).
		Return(DLQReplayResult{}, errors.New("connection reset")).Twice()
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, mock.Anything).
		Return(DLQReplayResult{Stream: DLQAlerter, Examined: 1, Replayed: 1}, nil).Once()
	env.OnActivity(ActivityDLQRecordDepths, mock.Anything, mock.Anything).Return(DLQDepths{}, nil).Once()

	env.ExecuteWorkflow(DLQRemediationWorkflow, in)
	res := dlqResult(t, env)
	env.AssertNumberOfCalls(t, ActivityDLQReplayStream, 3)
	env.AssertActivityNotCalled(t, ActivityDLQCheckMoogHealth, mock.Anything)
	require.Nil(t, res.MoogHealth, "moog not selected: not probed")
	require.Equal(t, 1, res.Streams[0].Replayed)
}

func TestDLQFailedStreamDoesNotStopTheOther(t *testing.T) {
	t.Parallel()
	env := dlqEnv(t)
	env.OnActivity(ActivityDLQCheckMoogHealth, mock.Anything).Return(DLQMoogHealth{Healthy: true}, nil)
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, replayOf(DLQMoog, DLQInput{})).
		Return(DLQReplayResult{}, errors.New("redis down"))
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, replayOf(DLQAlerter, DLQInput{})).
		Return(DLQReplayResult{Stream: DLQAlerter, Replayed: 4}, nil).Once()
	// Not a success: mutt_dlq_remediation_last_success_timestamp_seconds stays.
	env.OnActivity(ActivityDLQRecordDepths, mock.Anything, depthsOf(DLQDepthsInput{MaxEntries: 1000})).Return(DLQDepths{}, nil).Once()

	env.ExecuteWorkflow(DLQRemediationWorkflow, DLQInput{})
	require.True(t, env.IsWorkflowCompleted())
	require.ErrorContains(t, env.GetWorkflowError(), "replay moog DLQ")
	env.AssertExpectations(t)
	env.AssertNumberOfCalls(t, ActivityDLQReplayStream, 5+1)
}

func TestDLQInvalidInputFailsWithoutRetry(t *testing.T) {
	t.Parallel()
	env := dlqEnv(t)
	env.ExecuteWorkflow(DLQRemediationWorkflow, DLQInput{Streams: []string{"ingest"}})
	require.True(t, env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &appErr)
	require.Equal(t, DLQErrInvalidInput, appErr.Type())
	require.True(t, appErr.NonRetryable())
	env.AssertNotCalled(t, ActivityDLQCheckMoogHealth)
}

func TestDLQReportsAtMostTheCapOfPoisonedEntries(t *testing.T) {
	t.Parallel()
	poisoned := func(dlq string, n int) []DLQPoisonedEntry {
		out := make([]DLQPoisonedEntry, n)
		for i := range out {
			out[i] = DLQPoisonedEntry{DLQ: dlq, ID: fmt.Sprintf("%d-0", i), Cause: "max_replays"}
		}
		return out
	}
	env := dlqEnv(t)
	env.OnActivity(ActivityDLQCheckMoogHealth, mock.Anything).Return(DLQMoogHealth{Healthy: true}, nil)
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, replayOf(DLQMoog, DLQInput{})).
		Return(DLQReplayResult{Stream: DLQMoog, Poisoned: 80, PoisonedEntries: poisoned(DLQMoog, 80)}, nil)
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, replayOf(DLQAlerter, DLQInput{})).
		Return(DLQReplayResult{Stream: DLQAlerter, Poisoned: 80, PoisonedEntries: poisoned(DLQAlerter, 80)}, nil)
	env.OnActivity(ActivityDLQRecordDepths, mock.Anything, mock.Anything).Return(DLQDepths{Poison: 160}, nil)

	env.ExecuteWorkflow(DLQRemediationWorkflow, DLQInput{})
	res := dlqResult(t, env)
	require.Len(t, res.Poisoned, DLQMaxReportedPoison)
	require.True(t, res.PoisonedTruncated)
	require.Equal(t, DLQAlerter, res.Poisoned[DLQMaxReportedPoison-1].DLQ)
	require.Equal(t, 80, res.Streams[1].Poisoned, "counts are not capped")
	require.EqualValues(t, 160, res.PoisonDepth)
}

// The retry of a replay that died after a batch gets that batch's heartbeat,
// so it resumes instead of starting over.
func TestDLQReplayRetryGetsHeartbeatDetails(t *testing.T) {
	t.Parallel()
	type progress struct {
		Cursor string `json:"cursor"`
		Done   int    `json:"done"`
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(DLQRemediationWorkflow, workflow.RegisterOptions{Name: "DLQRemediationWorkflow"})
	var resumedFrom []progress
	env.RegisterActivityWithOptions(func(ctx context.Context, in DLQReplayInput) (DLQReplayResult, error) {
		var p progress
		if activity.HasHeartbeatDetails(ctx) {
			if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
				return DLQReplayResult{}, err
			}
		}
		resumedFrom = append(resumedFrom, p)
		if activity.GetInfo(ctx).Attempt == 1 {
			activity.RecordHeartbeat(ctx, progress{Cursor: "5-0", Done: 5})
			return DLQReplayResult{}, errors.New("worker lost redis")
		}
		return DLQReplayResult{Stream: in.Stream, Examined: p.Done + 3, Replayed: p.Done + 3}, nil
	}, activity.RegisterOptions{Name: ActivityDLQReplayStream})
	env.RegisterActivityWithOptions(func(context.Context, DLQDepthsInput) (DLQDepths, error) {
		return DLQDepths{}, nil
	}, activity.RegisterOptions{Name: ActivityDLQRecordDepths})

	env.ExecuteWorkflow(DLQRemediationWorkflow, DLQInput{Streams: []string{"alerter"}})
	res := dlqResult(t, env)
	require.Equal(t, []progress{{}, {Cursor: "5-0", Done: 5}}, resumedFrom)
	require.Equal(t, 8, res.Streams[0].Replayed)
}

// A discard of selected moog entries does not wait for Moogsoft: it sends
// nothing there.
func TestDLQDiscardOfSelectedEntriesSkipsTheHealthCheck(t *testing.T) {
	t.Parallel()
	env := dlqEnv(t)
	in := DLQInput{Streams: []string{"moog"}, IDs: []string{"5-0", "6-0"}, Discard: true}
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, replayOf(DLQMoog, in)).
		Return(DLQReplayResult{Stream: DLQMoog, Examined: 1, Discarded: 1, NotFound: 1}, nil).Once()
	env.OnActivity(ActivityDLQRecordDepths, mock.Anything, depthsOf(DLQDepthsInput{MaxEntries: 1000, Succeeded: true})).
		Return(DLQDepths{Moog: 3}, nil).Once()

	env.ExecuteWorkflow(DLQRemediationWorkflow, in)
	res := dlqResult(t, env)
	env.AssertExpectations(t)
	env.AssertActivityNotCalled(t, ActivityDLQCheckMoogHealth, mock.Anything)
	require.True(t, res.Discard)
	require.Nil(t, res.MoogHealth)
	require.Equal(t, []DLQStreamResult{{Stream: DLQMoog, Examined: 1, Discarded: 1, NotFound: 1, Depth: 3}}, res.Streams)
}

// A replay of selected entries passes the ids to the activity.
func TestDLQReplayOfSelectedEntries(t *testing.T) {
	t.Parallel()
	env := dlqEnv(t)
	in := DLQInput{Streams: []string{"alerter"}, IDs: []string{"5-0"}}
	env.OnActivity(ActivityDLQReplayStream, mock.Anything, replayOf(DLQAlerter, in)).
		Return(DLQReplayResult{Stream: DLQAlerter, Examined: 1, Replayed: 1}, nil).Once()
	env.OnActivity(ActivityDLQRecordDepths, mock.Anything, depthsOf(DLQDepthsInput{MaxEntries: 1000, Succeeded: true})).
		Return(DLQDepths{}, nil).Once()

	env.ExecuteWorkflow(DLQRemediationWorkflow, in)
	res := dlqResult(t, env)
	env.AssertExpectations(t)
	require.Equal(t, 1, res.Streams[0].Replayed)
}

// Every run records its outcome in the memo (shown by the Temporal UI and
// the console's jobs page).
func TestDLQRunRecordsItsOutcomeInTheMemo(t *testing.T) {
	t.Parallel()
	r := DLQResult{MoogHealth: &DLQMoogHealth{Healthy: false}, Streams: []DLQStreamResult{
		{Stream: DLQMoog, SkippedUnhealthy: 4, Depth: 4},
		{Stream: DLQAlerter, Examined: 3, Replayed: 2, Poisoned: 1, Depth: 0},
	}}
	line, counts := r.outcome()
	require.Equal(t, "replayed 2, parked 1, discarded 0, left 4 (moogsoft unhealthy: moog DLQ not replayed)", line)
	require.Equal(t, map[string]int64{"examined": 3, "replayed": 2, "poisoned": 1, "discarded": 0, "skipped": 4, "not_found": 0, "left": 4}, counts)
}

// depthsOf matches a DLQDepthsInput ignoring StartedAt (the test clock's start).
func depthsOf(want DLQDepthsInput) any {
	return mock.MatchedBy(func(in DLQDepthsInput) bool {
		if in.StartedAt.IsZero() {
			return false
		}
		in.StartedAt = time.Time{}
		return in == want
	})
}
