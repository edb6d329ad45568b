package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// secretCalls records the order of the (mocked) activity calls.
type secretCalls struct {
	mu    sync.Mutex
	steps []string
}

func (c *secretCalls) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.steps = append(c.steps, s)
}

func (c *secretCalls) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.steps...)
}

// secretTestEnv registers SecretRotationWorkflow and stand-ins for its
// activities; every activity succeeds unless failures says otherwise:
// failures[name] is the error of the first len(...) calls of that step
// (verify steps are named by stage).
func secretTestEnv(t *testing.T, failures map[string][]error) (*testsuite.TestWorkflowEnvironment, *secretCalls) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(SecretRotationWorkflow, workflow.RegisterOptions{Name: "SecretRotationWorkflow"})
	calls := &secretCalls{}
	var mu sync.Mutex
	next := func(name string) error {
		calls.add(name)
		mu.Lock()
		defer mu.Unlock()
		if errs := failures[name]; len(errs) > 0 {
			failures[name] = errs[1:]
			return errs[0]
		}
		return nil
	}
	for _, name := range []string{ActivitySecretPreflight, ActivitySecretStoreNext, ActivitySecretApplyNext,
		ActivitySecretPromote, ActivitySecretRemoveOld} {
		env.RegisterActivityWithOptions(func(_ context.Context, in SecretStepInput) (SecretStepResult, error) {
			return SecretStepResult{Fingerprint: "abc123"}, next(name)
		}, activity.RegisterOptions{Name: name})
	}
	env.RegisterActivityWithOptions(func(_ context.Context, in SecretStepInput) (SecretStepResult, error) {
		n := ActivitySecretCompensate
		if in.UndoBackend {
			n += "+backend"
		}
		return SecretStepResult{}, next(n)
	}, activity.RegisterOptions{Name: ActivitySecretCompensate})
	env.RegisterActivityWithOptions(func(_ context.Context, in SecretVerifyInput) (SecretStepResult, error) {
		return SecretStepResult{}, next("verify:" + in.Stage)
	}, activity.RegisterOptions{Name: ActivitySecretNotifyVerify})
	env.RegisterActivityWithOptions(func(_ context.Context, in SecretOutcomeInput) error {
		calls.add("outcome:" + in.Outcome)
		return nil
	}, activity.RegisterOptions{Name: ActivitySecretRecordOutcome})
	return env, calls
}

var secretHappyPath = []string{ActivitySecretPreflight, ActivitySecretStoreNext, ActivitySecretApplyNext, "verify:next_stored",
	ActivitySecretPromote, "verify:promoted", ActivitySecretRemoveOld, "verify:old_removed", "outcome:success"}

func TestSecretRotationRunsStepsInOrder(t *testing.T) {
	t.Parallel()
	env, calls := secretTestEnv(t, nil)
	var timers []string
	env.SetOnTimerScheduledListener(func(_ string, d time.Duration) { timers = append(timers, d.String()) })
	env.ExecuteWorkflow(SecretRotationWorkflow, SecretRotationInput{Target: "redis"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res SecretRotationResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, secretHappyPath, calls.list())
	require.Equal(t, []string{"10m0s"}, timers, "the grace period is a durable timer")
	require.True(t, res.Promoted)
	require.True(t, res.OldRemoved)
	require.Equal(t, "abc123", res.Fingerprint)
	require.Equal(t, "10m0s", res.GracePeriod)
	var names []string
	for _, s := range res.Steps {
		require.NotEqual(t, SecretStatusFailed, s.Status)
		names = append(names, s.Step)
	}
	require.Equal(t, []string{SecretStepPreflight, SecretStepStoreNext, SecretStepApplyNext, SecretStepVerifyNext, SecretStepPromote,
		SecretStepVerifyCurrent, SecretStepGracePeriod, SecretStepRemoveOld, SecretStepVerifyRemoved}, names)
}

func TestSecretRotationDefaultsPerTarget(t *testing.T) {
	t.Parallel()
	for target, want := range map[string]string{"postgres": "0s", "ingest_api_key": "24h0m0s", "webui_api_key": "24h0m0s"} {
		env, calls := secretTestEnv(t, nil)
		env.ExecuteWorkflow(SecretRotationWorkflow, SecretRotationInput{Target: target})
		require.NoError(t, env.GetWorkflowError())
		var res SecretRotationResult
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, want, res.GracePeriod, target)
		require.Equal(t, secretHappyPath, calls.list(), target)
	}
}

func TestSecretRotationRejectsBadInput(t *testing.T) {
	t.Parallel()
	for _, in := range []SecretRotationInput{{}, {Target: "mysql"}, {Target: "redis", GracePeriod: "soon"}, {Target: "redis", VerifyTimeout: "-1m"}} {
		env, calls := secretTestEnv(t, nil)
		env.ExecuteWorkflow(SecretRotationWorkflow, in)
		err := env.GetWorkflowError()
		require.Error(t, err)
		require.True(t, isErrType(err, SecretErrInvalid), err.Error())
		require.Empty(t, calls.list())
	}
}

func TestSecretRotationDryRunOnlyChecks(t *testing.T) {
	t.Parallel()
	env, calls := secretTestEnv(t, nil)
	env.ExecuteWorkflow(SecretRotationWorkflow, SecretRotationInput{Target: "redis", DryRun: true})
	require.NoError(t, env.GetWorkflowError())
	var res SecretRotationResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, []string{ActivitySecretPreflight}, calls.list())
	require.False(t, res.Promoted)
	require.Len(t, res.Steps, 9)
	for _, s := range res.Steps[1:] {
		require.Equal(t, SecretStatusSkipped, s.Status)
	}
}

// A failure at each step before promotion is rolled back, and the failure
// says where, why, and that it was rolled back.
func TestSecretRotationCompensatesBeforePromotion(t *testing.T) {
	t.Parallel()
	boom := temporal.NewNonRetryableApplicationError("boom", "Boom", nil)
	cases := []struct {
		name, failing, step, compensation string
		err                               error
		ran                               []string
	}{
		{"store", ActivitySecretStoreNext, SecretStepStoreNext, ActivitySecretCompensate, boom,
			[]string{ActivitySecretPreflight, ActivitySecretStoreNext}},
		{"apply", ActivitySecretApplyNext, SecretStepApplyNext, ActivitySecretCompensate + "+backend", boom,
			[]string{ActivitySecretPreflight, ActivitySecretStoreNext, ActivitySecretApplyNext}},
		{"apply refused", ActivitySecretApplyNext, SecretStepApplyNext, ActivitySecretCompensate,
			temporal.NewApplicationError("NOPERM", SecretErrBackendRefused),
			[]string{ActivitySecretPreflight, ActivitySecretStoreNext, ActivitySecretApplyNext}},
		{"verify", "verify:next_stored", SecretStepVerifyNext, ActivitySecretCompensate + "+backend",
			temporal.NewApplicationError("alerter-1: WRONGPASS", SecretErrVerify),
			[]string{ActivitySecretPreflight, ActivitySecretStoreNext, ActivitySecretApplyNext, "verify:next_stored"}},
		{"promote", ActivitySecretPromote, SecretStepPromote, ActivitySecretCompensate + "+backend", boom,
			[]string{ActivitySecretPreflight, ActivitySecretStoreNext, ActivitySecretApplyNext, "verify:next_stored", ActivitySecretPromote}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env, calls := secretTestEnv(t, map[string][]error{tc.failing: {tc.err}})
			env.ExecuteWorkflow(SecretRotationWorkflow, SecretRotationInput{Target: "redis"})
			err := env.GetWorkflowError()
			require.Error(t, err)
			require.ErrorContains(t, err, "rotation of redis failed at step "+tc.step)
			require.ErrorContains(t, err, "rolled back")
			require.True(t, isErrType(err, SecretErrRotation))
			require.Equal(t, append(tc.ran, tc.compensation, "outcome:compensated"), calls.list())
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app))
			var res SecretRotationResult
			require.NoError(t, app.Details(&res))
			require.True(t, res.Compensated)
			require.False(t, res.Promoted)
			require.Equal(t, tc.step, res.FailedStep)
		})
	}
}

// Conflicts (another rotation holds NEXT) and preflight failures change
// nothing, so nothing is rolled back.
func TestSecretRotationConflictIsNotCompensated(t *testing.T) {
	t.Parallel()
	conflict := temporal.NewApplicationError("rotation x of redis is in flight", SecretErrConflict)
	env, calls := secretTestEnv(t, map[string][]error{ActivitySecretStoreNext: {conflict}})
	env.ExecuteWorkflow(SecretRotationWorkflow, SecretRotationInput{Target: "redis"})
	err := env.GetWorkflowError()
	require.ErrorContains(t, err, "in flight")
	require.ErrorContains(t, err, "nothing was changed")
	require.Equal(t, []string{ActivitySecretPreflight, ActivitySecretStoreNext, "outcome:failed"}, calls.list())

	env, calls = secretTestEnv(t, map[string][]error{ActivitySecretPreflight: {temporal.NewApplicationError("no user", SecretErrInvalid)}})
	env.ExecuteWorkflow(SecretRotationWorkflow, SecretRotationInput{Target: "redis"})
	require.ErrorContains(t, env.GetWorkflowError(), "failed at step preflight")
	require.Equal(t, []string{ActivitySecretPreflight, "outcome:failed"}, calls.list())
}

func TestSecretRotationReportsFailedCompensation(t *testing.T) {
	t.Parallel()
	env, _ := secretTestEnv(t, map[string][]error{
		ActivitySecretApplyNext:               {temporal.NewNonRetryableApplicationError("down", "Down", nil)},
		ActivitySecretCompensate + "+backend": {temporal.NewNonRetryableApplicationError("still down", "Down", nil)},
	})
	env.ExecuteWorkflow(SecretRotationWorkflow, SecretRotationInput{Target: "postgres"})
	err := env.GetWorkflowError()
	require.ErrorContains(t, err, "rollback FAILED too (still down)")
}

// Transient failures are retried by the activity retry policy, before and
// after promotion; nothing is rolled back.
func TestSecretRotationRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	flaky := errors.New("connection reset")
	env, calls := secretTestEnv(t, map[string][]error{
		ActivitySecretApplyNext: {flaky, flaky},
		ActivitySecretRemoveOld: {flaky, flaky, flaky, flaky, flaky, flaky}, // past the pre-promotion limit of 5
		"verify:promoted":       {temporal.NewApplicationError("ingestor-1 silent", SecretErrVerify)},
	})
	env.ExecuteWorkflow(SecretRotationWorkflow, SecretRotationInput{Target: "redis", GracePeriod: "1m"})
	require.NoError(t, env.GetWorkflowError())
	count := map[string]int{}
	for _, c := range calls.list() {
		count[c]++
	}
	require.Equal(t, 3, count[ActivitySecretApplyNext])
	require.Equal(t, 7, count[ActivitySecretRemoveOld])
	require.Equal(t, 2, count["verify:promoted"])
	require.Zero(t, count[ActivitySecretCompensate]+count[ActivitySecretCompensate+"+backend"])
	require.Equal(t, 1, count["outcome:success"])
}

// The verification gets a heartbeat timeout and a start-to-close timeout
// longer than the wait it is asked for.
func TestSecretRotationVerifyOptions(t *testing.T) {
	t.Parallel()
	env, _ := secretTestEnv(t, nil)
	var seen []SecretVerifyInput
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name == ActivitySecretNotifyVerify {
			require.NotZero(t, info.HeartbeatTimeout)
			var in SecretVerifyInput
			require.NoError(t, args.Get(&in))
			seen = append(seen, in)
		}
	})
	env.ExecuteWorkflow(SecretRotationWorkflow, SecretRotationInput{Target: "redis", VerifyTimeout: "45s"})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, seen, 3)
	require.Equal(t, "next", seen[0].Expect)
	require.False(t, seen[0].Retryable)
	require.Equal(t, "current", seen[1].Expect)
	require.True(t, seen[1].Retryable)
	for _, in := range seen {
		require.Equal(t, 45*time.Second, in.Timeout)
	}
}

// Every rotation records its outcome in the memo (shown by the Temporal UI
// and the console's jobs page) — rotated, rolled back or failed, at which
// step — and the memo never holds a secret, a fingerprint or an activity's
// words, even when the activities put them in their details and errors.
func TestSecretRotationRecordsItsOutcomeInTheMemo(t *testing.T) {
	t.Parallel()
	const secret, fingerprint = "s3cr3t-Pa55word", "9f86d081884c"
	leak := func(typ string) error {
		return temporal.NewNonRetryableApplicationError("backend said: AUTH "+secret+" ("+fingerprint+")", typ, nil)
	}
	steps := func(ok, failed, skipped int64) map[string]int64 {
		return map[string]int64{"steps_ok": ok, "steps_failed": failed, "steps_skipped": skipped}
	}
	for _, tc := range []struct {
		name     string
		in       SecretRotationInput
		failures map[string][]error
		line     string
		flags    map[string]int64 // rotated, rolled_back, promoted, old_removed
		steps    map[string]int64
	}{
		{name: "rotated", in: SecretRotationInput{Target: "redis"},
			line:  "rotated: redis has a new credential; the old one was removed after a grace period of 10m0s",
			flags: map[string]int64{"rotated": 1, "rolled_back": 0, "promoted": 1, "old_removed": 1}, steps: steps(9, 0, 0)},
		{name: "rotated without grace", in: SecretRotationInput{Target: "postgres"},
			line:  "rotated: postgres has a new credential; the old one was removed without a grace period",
			flags: map[string]int64{"rotated": 1, "rolled_back": 0, "promoted": 1, "old_removed": 1}, steps: steps(8, 0, 1)},
		{name: "rolled back", in: SecretRotationInput{Target: "redis"},
			failures: map[string][]error{ActivitySecretApplyNext: {leak("Boom")}},
			line:     "rolled back: the rotation of redis stopped at step apply_next; the new credential was removed, the current one is unchanged",
			flags:    map[string]int64{"rotated": 0, "rolled_back": 1, "promoted": 0, "old_removed": 0}, steps: steps(3, 1, 0)},
		{name: "rollback failed", in: SecretRotationInput{Target: "webui_api_key"},
			failures: map[string][]error{"verify:next_stored": {leak(SecretErrVerify)}, ActivitySecretCompensate + "+backend": {leak("Down")}},
			line: "failed: the rotation of webui_api_key stopped at step verify_next and its rollback failed too; " +
				"check the provider and the backend by hand",
			flags: map[string]int64{"rotated": 0, "rolled_back": 0, "promoted": 0, "old_removed": 0}, steps: steps(3, 2, 0)},
		{name: "failed after promotion", in: SecretRotationInput{Target: "ingest_api_key", GracePeriod: "1m"},
			failures: map[string][]error{ActivitySecretRemoveOld: {leak(SecretErrConflict)}},
			line: "failed: the rotation of ingest_api_key stopped at step remove_old after promotion; " +
				"the new credential is in use, not rolled back",
			flags: map[string]int64{"rotated": 0, "rolled_back": 0, "promoted": 1, "old_removed": 0}, steps: steps(7, 1, 0)},
		{name: "preflight refused", in: SecretRotationInput{Target: "redis"},
			failures: map[string][]error{ActivitySecretPreflight: {leak(SecretErrInvalid)}},
			line:     "failed: the rotation of redis stopped at step preflight; nothing was promoted",
			flags:    map[string]int64{"rotated": 0, "rolled_back": 0, "promoted": 0, "old_removed": 0}, steps: steps(0, 1, 0)},
		{name: "invalid target", in: SecretRotationInput{Target: secret},
			line:  "failed: the rotation of an unknown target stopped at step preflight; nothing was promoted",
			flags: map[string]int64{"rotated": 0, "rolled_back": 0, "promoted": 0, "old_removed": 0}, steps: steps(0, 0, 0)},
		{name: "dry run", in: SecretRotationInput{Target: "redis", DryRun: true},
			line:  "dry run: the preflight checks of redis passed; nothing was changed",
			flags: map[string]int64{"rotated": 0, "rolled_back": 0, "promoted": 0, "old_removed": 0}, steps: steps(1, 0, 8)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			failures := tc.failures
			if failures == nil {
				failures = map[string][]error{}
			}
			env, _ := secretTestEnv(t, failures)
			memo := recordMemo(env)
			// The store step reports a fingerprint and a detail naming the secret.
			env.OnActivity(ActivitySecretStoreNext, mock.Anything, mock.Anything).
				Return(SecretStepResult{Version: 2, Fingerprint: fingerprint, Detail: "stored " + secret}, nil)
			env.ExecuteWorkflow(SecretRotationWorkflow, tc.in)
			require.True(t, env.IsWorkflowCompleted())
			line, counts := memo.get(t)
			require.Equal(t, tc.line, line)
			want := map[string]int64{}
			maps.Copy(want, tc.flags)
			maps.Copy(want, tc.steps)
			require.Equal(t, want, counts)

			raw, err := json.Marshal(memo.memo)
			require.NoError(t, err)
			require.NotContains(t, string(raw), secret)
			require.NotContains(t, string(raw), fingerprint)
			require.NotContains(t, string(raw), "abc123") // the stand-ins' fingerprint
		})
	}
}
