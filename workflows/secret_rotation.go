package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Activities of SecretRotationWorkflow (implemented in activities/secrets.go).
// Every one takes a SecretStepInput or SecretVerifyInput; none takes or returns
// a secret value: values are generated, read and written inside the
// activities, so the workflow history never holds one.
const (
	// ActivitySecretPreflight checks that a rotation can start (provider
	// readable, no rotation in flight, backend user present and not a
	// superuser/default user): func(ctx, SecretStepInput) (SecretStepResult, error).
	ActivitySecretPreflight = "SecretPreflight"
	// ActivitySecretStoreNext generates the new value and stores it as NEXT
	// (check-and-set), marked with the rotation id: func(ctx, SecretStepInput) (SecretStepResult, error).
	ActivitySecretStoreNext = "SecretStoreNext"
	// ActivitySecretApplyNext makes the backend accept NEXT (Redis: added next
	// to the old password; PostgreSQL: the role's password): func(ctx, SecretStepInput) (SecretStepResult, error).
	ActivitySecretApplyNext = "SecretApplyNext"
	// ActivitySecretNotifyVerify publishes a secrets.Notice and waits for
	// every live instance using the target to ack it: func(ctx, SecretVerifyInput) (SecretStepResult, error).
	ActivitySecretNotifyVerify = "SecretNotifyVerify"
	// ActivitySecretPromote makes NEXT the CURRENT value: func(ctx, SecretStepInput) (SecretStepResult, error).
	ActivitySecretPromote = "SecretPromote"
	// ActivitySecretRemoveOld removes the old credential after the grace
	// period: func(ctx, SecretStepInput) (SecretStepResult, error).
	ActivitySecretRemoveOld = "SecretRemoveOld"
	// ActivitySecretCompensate undoes a rotation that failed before promotion:
	// func(ctx, SecretStepInput) (SecretStepResult, error).
	ActivitySecretCompensate = "SecretCompensate"
	// ActivitySecretRecordOutcome counts the outcome in the worker's metrics:
	// func(ctx, SecretOutcomeInput) error.
	ActivitySecretRecordOutcome = "SecretRecordOutcome"
)

// Targets of a rotation: the values of internal/secrets' Target* constants,
// repeated here because that package does I/O (Vault, Redis, PostgreSQL) and
// workflows must not import it.
const (
	SecretTargetRedis        = "redis"
	SecretTargetPostgres     = "postgres"
	SecretTargetIngestAPIKey = "ingest_api_key" // #nosec G101 -- a target name, not a credential
	SecretTargetWebUIAPIKey  = "webui_api_key"  // #nosec G101 -- a target name, not a credential
)

// Steps of a rotation, as named in SecretRotationResult.Steps and in errors.
const (
	SecretStepPreflight     = "preflight"
	SecretStepStoreNext     = "store_next"
	SecretStepApplyNext     = "apply_next"
	SecretStepVerifyNext    = "verify_next"
	SecretStepPromote       = "promote"
	SecretStepVerifyCurrent = "verify_promoted"
	SecretStepGracePeriod   = "grace_period"
	SecretStepRemoveOld     = "remove_old"
	SecretStepVerifyRemoved = "verify_old_removed" // #nosec G101 -- a step name, not a credential
	SecretStepCompensate    = "compensate"
)

// Status of a step.
const (
	SecretStatusOK      = "ok"
	SecretStatusFailed  = "failed"
	SecretStatusSkipped = "skipped"
)

// Outcomes counted by mutt_secret_rotations_total.
const (
	SecretOutcomeSuccess     = "success"
	SecretOutcomeFailed      = "failed"
	SecretOutcomeCompensated = "compensated"
)

// Error types the secret activities return; the workflow and its retry
// policy branch on them.
const (
	// SecretErrConflict: another rotation holds NEXT, or the state is not what
	// this step needs. Not retried.
	SecretErrConflict = "SecretRotationConflict"
	// SecretErrInvalid: misconfiguration (unknown target, missing provider,
	// superuser or default user). Not retried.
	SecretErrInvalid = "SecretRotationInvalid"
	// SecretErrBackendRefused: the backend refused the command for lack of
	// permission, so it certainly changed nothing. Not retried.
	SecretErrBackendRefused = "SecretBackendRefused"
	// SecretErrVerify: an instance could not use the credential, or not every
	// instance acked in time. Not retried before promotion (the rotation is
	// rolled back); retried after it.
	SecretErrVerify = "SecretVerifyFailed"
	// SecretErrRotation is the type of the workflow's own failure.
	SecretErrRotation = "SecretRotationFailed"
)

// Defaults of SecretRotationInput.
const (
	// SecretDefaultGraceRedis is how long the old Redis password keeps working
	// after promotion (connections opened before keep working anyway).
	SecretDefaultGraceRedis = 10 * time.Minute
	// SecretDefaultGraceAPIKey is how long the old API key stays accepted.
	SecretDefaultGraceAPIKey = 24 * time.Hour
	// SecretDefaultVerifyTimeout bounds each notify-and-verify step.
	SecretDefaultVerifyTimeout = 2 * time.Minute
)

// SecretRotationWorkflowID is the workflow id manual rotations of target run
// under (and the id of its schedule): Temporal refuses a second start with it
// while one runs. Scheduled runs get this id plus the scheduled time, so only
// the provider's rotation marker keeps them from overlapping a manual run.
func SecretRotationWorkflowID(target string) string { return "mutt-secret-rotation-" + target }

// SecretTargets lists every rotation target.
func SecretTargets() []string {
	return []string{SecretTargetRedis, SecretTargetPostgres, SecretTargetIngestAPIKey, SecretTargetWebUIAPIKey}
}

// SecretRotationInput is the input of SecretRotationWorkflow.
type SecretRotationInput struct {
	// Target is "redis", "postgres", "ingest_api_key" or "webui_api_key" (required).
	Target string `json:"target"`
	// GracePeriod is a Go duration ("10m", "24h"): how long the old credential
	// keeps working after promotion. "" → 10m for redis, 24h for API keys, 0
	// for postgres (a role has one password: the old one stopped working when
	// the new one was applied; connectors fall back to NEXT).
	GracePeriod string `json:"grace_period,omitempty"`
	// VerifyTimeout is a Go duration bounding each wait for the instances'
	// acks; "" → 2m.
	VerifyTimeout string `json:"verify_timeout,omitempty"`
	// DryRun only runs the preflight checks and changes nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// normalize applies the defaults; the durations come back parsed.
func (in SecretRotationInput) normalize() (grace, verify time.Duration, err error) {
	var errs []error
	switch in.Target {
	case SecretTargetRedis:
		grace = SecretDefaultGraceRedis
	case SecretTargetPostgres:
		grace = 0
	case SecretTargetIngestAPIKey, SecretTargetWebUIAPIKey:
		grace = SecretDefaultGraceAPIKey
	default:
		errs = append(errs, fmt.Errorf("unknown target %q (want one of %v)", in.Target, SecretTargets()))
	}
	parse := func(name, s string, def time.Duration) time.Duration {
		if s == "" {
			return def
		}
		d, perr := time.ParseDuration(s)
		if perr != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s %q is not a non-negative Go duration like \"10m\"", name, s))
			return def
		}
		return d
	}
	grace = parse("grace_period", in.GracePeriod, grace)
	verify = parse("verify_timeout", in.VerifyTimeout, SecretDefaultVerifyTimeout)
	if verify == 0 {
		verify = SecretDefaultVerifyTimeout
	}
	return grace, verify, errors.Join(errs...)
}

// SecretStepInput is the input of every rotation step but the verification.
type SecretStepInput struct {
	Target     string `json:"target"`
	RotationID string `json:"rotation_id"` // the workflow run id; marks the provider's state
	// UndoBackend (compensation only): the apply step may have changed the
	// backend, so the new credential must be removed from it.
	UndoBackend bool `json:"undo_backend,omitempty"`
}

// SecretVerifyInput is the input of ActivitySecretNotifyVerify.
type SecretVerifyInput struct {
	Target     string `json:"target"`
	RotationID string `json:"rotation_id"`
	Stage      string `json:"stage"`  // secrets.Notice Stage
	Expect     string `json:"expect"` // "next" or "current"
	// Timeout bounds the wait for the acks.
	Timeout time.Duration `json:"timeout"`
	// Retryable: a refusal or a timeout is a retryable error (after
	// promotion, where nothing is rolled back) instead of a final one.
	Retryable bool `json:"retryable,omitempty"`
}

// SecretStepResult is what a step did; it never holds a secret.
type SecretStepResult struct {
	// Version is the provider version after the step (0 if it wrote nothing).
	Version int `json:"version,omitempty"`
	// AlreadyDone: a previous attempt did it (idempotent re-run).
	AlreadyDone bool `json:"already_done,omitempty"`
	// Fingerprint is the first 12 hex digits of the SHA-256 of the new value,
	// to tell versions apart in logs; it does not reveal the value.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Instances that acked (verification).
	Instances []string `json:"instances,omitempty"`
	Detail    string   `json:"detail,omitempty"`
}

// SecretOutcomeInput is the input of ActivitySecretRecordOutcome.
type SecretOutcomeInput struct {
	Target  string `json:"target"`
	Outcome string `json:"outcome"`
}

// SecretStep is one step of SecretRotationResult.
type SecretStep struct {
	Step   string    `json:"step"`
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// SecretRotationResult is the result of SecretRotationWorkflow (also attached
// as the details of its failure).
type SecretRotationResult struct {
	Target      string       `json:"target"`
	RotationID  string       `json:"rotation_id"`
	DryRun      bool         `json:"dry_run,omitempty"`
	Steps       []SecretStep `json:"steps"`
	Fingerprint string       `json:"fingerprint,omitempty"`
	Promoted    bool         `json:"promoted"`
	OldRemoved  bool         `json:"old_removed"`
	Compensated bool         `json:"compensated,omitempty"`
	GracePeriod string       `json:"grace_period"`
	// FailedStep and Error say where and why a failed rotation stopped.
	FailedStep string `json:"failed_step,omitempty"`
	Error      string `json:"error,omitempty"`
}

// SecretRotationWorkflow rotates one credential with the dual-credential
// pattern: store NEXT → apply on the backend → verify every instance can use
// NEXT → promote NEXT to CURRENT → verify → grace period (durable timer) →
// remove the old credential → verify. A failure before promotion is
// compensated (new credential removed from the backend, NEXT cleared) and the
// workflow fails saying which step failed; after promotion the steps are
// retried until they succeed, never rolled back (the new credential is in use).
//
// The provider's rotation marker refuses a second rotation of the same target
// while one is in flight, whatever the workflow id; running manual rotations
// under SecretRotationWorkflowID(target) also makes Temporal refuse the start.
func SecretRotationWorkflow(ctx workflow.Context, in SecretRotationInput) (SecretRotationResult, error) {
	res, err := secretRotation(ctx, in)
	outcome, counts := res.outcome(err)
	setOutcomeMemo(ctx, secretMemoChangeID, outcome, counts)
	return res, err
}

// secretMemoChangeID versions the outcome memo (setOutcomeMemo).
const secretMemoChangeID = "secret-rotation-outcome-memo"

func secretRotation(ctx workflow.Context, in SecretRotationInput) (SecretRotationResult, error) {
	log := workflow.GetLogger(ctx)
	res := SecretRotationResult{
		Target:     in.Target,
		RotationID: workflow.GetInfo(ctx).WorkflowExecution.RunID,
		DryRun:     in.DryRun,
	}
	grace, verifyTimeout, err := in.normalize()
	if err != nil {
		res.FailedStep, res.Error = SecretStepPreflight, err.Error()
		return res, temporal.NewNonRetryableApplicationError("invalid input: "+err.Error(), SecretErrInvalid, nil, res)
	}
	res.GracePeriod = grace.String()

	nonRetryable := []string{SecretErrConflict, SecretErrInvalid, SecretErrBackendRefused, SecretErrVerify}
	// Before promotion a step that keeps failing ends the rotation (and rolls
	// it back); after promotion it is retried until it works.
	preCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 5, NonRetryableErrorTypes: nonRetryable,
		},
	})
	postCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{SecretErrConflict, SecretErrInvalid},
		},
	})
	verifyOpts := func(base workflow.Context) workflow.Context {
		o := workflow.GetActivityOptions(base)
		o.StartToCloseTimeout = verifyTimeout + time.Minute
		o.HeartbeatTimeout = 30 * time.Second
		return workflow.WithActivityOptions(base, o)
	}
	preVerifyCtx, postVerifyCtx := verifyOpts(preCtx), verifyOpts(postCtx)

	step := SecretStepInput{Target: in.Target, RotationID: res.RotationID}
	record := func(name, status, detail string) {
		res.Steps = append(res.Steps, SecretStep{Step: name, Status: status, Detail: detail, At: workflow.Now(ctx)})
	}
	run := func(actx workflow.Context, name, activityName string, input any) (SecretStepResult, error) {
		var out SecretStepResult
		err := workflow.ExecuteActivity(actx, activityName, input).Get(actx, &out)
		if err != nil {
			record(name, SecretStatusFailed, rootMessage(err))
			return out, err
		}
		detail := out.Detail
		if out.AlreadyDone {
			detail = joinDetail(detail, "already done by an earlier attempt")
		}
		record(name, SecretStatusOK, detail)
		return out, nil
	}
	outcome := func(o string) {
		if in.DryRun {
			return
		}
		// Metrics are best effort: a failure to count must not change the outcome.
		octx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		})
		if err := workflow.ExecuteActivity(octx, ActivitySecretRecordOutcome, SecretOutcomeInput{Target: in.Target, Outcome: o}).Get(octx, nil); err != nil {
			log.Warn("record rotation outcome", "err", err)
		}
	}
	fail := func(name string, cause error, compensated bool, extra string) (SecretRotationResult, error) {
		res.FailedStep, res.Error = name, rootMessage(cause)
		msg := fmt.Sprintf("rotation of %s failed at step %s: %s", in.Target, name, res.Error)
		if extra != "" {
			msg += "; " + extra
		}
		o := SecretOutcomeFailed
		if compensated {
			o = SecretOutcomeCompensated
		}
		outcome(o)
		return res, temporal.NewNonRetryableApplicationError(msg, SecretErrRotation, cause, res)
	}
	// compensate undoes a rotation that failed before promotion; it runs on a
	// disconnected context so a cancelled workflow still rolls back.
	compensate := func(failed string, cause error, undoBackend bool) (SecretRotationResult, error) {
		dctx, cancel := workflow.NewDisconnectedContext(preCtx)
		defer cancel()
		cin := step
		cin.UndoBackend = undoBackend
		if _, cerr := run(dctx, SecretStepCompensate, ActivitySecretCompensate, cin); cerr != nil {
			log.Error("compensation failed", "failed_step", failed, "err", cerr)
			return fail(failed, cause, false, "rollback FAILED too ("+rootMessage(cerr)+"): check the provider's NEXT value and the backend by hand")
		}
		res.Compensated = true
		log.Warn("rotation rolled back", "failed_step", failed, "err", cause)
		return fail(failed, cause, true, "rolled back: the new credential was removed and NEXT restored; CURRENT is unchanged")
	}

	if _, err := run(preCtx, SecretStepPreflight, ActivitySecretPreflight, step); err != nil {
		return fail(SecretStepPreflight, err, false, "nothing was changed")
	}
	if in.DryRun {
		for _, s := range []string{SecretStepStoreNext, SecretStepApplyNext, SecretStepVerifyNext, SecretStepPromote,
			SecretStepVerifyCurrent, SecretStepGracePeriod, SecretStepRemoveOld, SecretStepVerifyRemoved} {
			record(s, SecretStatusSkipped, "dry run")
		}
		return res, nil
	}

	stored, err := run(preCtx, SecretStepStoreNext, ActivitySecretStoreNext, step)
	if err != nil {
		// A conflict means another rotation's NEXT is there: not ours to undo.
		if isErrType(err, SecretErrConflict) || isErrType(err, SecretErrInvalid) {
			return fail(SecretStepStoreNext, err, false, "nothing was changed")
		}
		return compensate(SecretStepStoreNext, err, false)
	}
	res.Fingerprint = stored.Fingerprint
	if _, err := run(preCtx, SecretStepApplyNext, ActivitySecretApplyNext, step); err != nil {
		// A refusal for lack of permission changed nothing on the backend.
		return compensate(SecretStepApplyNext, err, !isErrType(err, SecretErrBackendRefused))
	}
	if _, err := run(preVerifyCtx, SecretStepVerifyNext, ActivitySecretNotifyVerify, SecretVerifyInput{
		Target: in.Target, RotationID: res.RotationID, Stage: "next_stored", Expect: "next", Timeout: verifyTimeout,
	}); err != nil {
		return compensate(SecretStepVerifyNext, err, true)
	}
	if _, err := run(preCtx, SecretStepPromote, ActivitySecretPromote, step); err != nil {
		// Promotion is one check-and-set write: if it failed, nothing was promoted.
		return compensate(SecretStepPromote, err, true)
	}
	res.Promoted = true
	log.Info("credential promoted; later failures are retried, not rolled back", "target", in.Target)

	if _, err := run(postVerifyCtx, SecretStepVerifyCurrent, ActivitySecretNotifyVerify, SecretVerifyInput{
		Target: in.Target, RotationID: res.RotationID, Stage: "promoted", Expect: "current", Timeout: verifyTimeout, Retryable: true,
	}); err != nil {
		return fail(SecretStepVerifyCurrent, err, false, "promoted, not rolled back: the old credential still works; fix and re-run from this step by hand")
	}
	if grace > 0 {
		if err := workflow.Sleep(ctx, grace); err != nil {
			record(SecretStepGracePeriod, SecretStatusFailed, rootMessage(err))
			return fail(SecretStepGracePeriod, err, false, "promoted, not rolled back: the old credential was not removed")
		}
		record(SecretStepGracePeriod, SecretStatusOK, grace.String())
	} else {
		record(SecretStepGracePeriod, SecretStatusSkipped, "no grace period")
	}
	if _, err := run(postCtx, SecretStepRemoveOld, ActivitySecretRemoveOld, step); err != nil {
		return fail(SecretStepRemoveOld, err, false, "promoted, not rolled back: the old credential was not removed")
	}
	res.OldRemoved = true
	if _, err := run(postVerifyCtx, SecretStepVerifyRemoved, ActivitySecretNotifyVerify, SecretVerifyInput{
		Target: in.Target, RotationID: res.RotationID, Stage: "old_removed", Expect: "current", Timeout: verifyTimeout, Retryable: true,
	}); err != nil {
		return fail(SecretStepVerifyRemoved, err, false, "the rotation is complete but not every instance confirmed it")
	}
	outcome(SecretOutcomeSuccess)
	return res, nil
}

// outcome summarises a rotation for its memo. The memo is shown in every
// list of runs, so it is built from fixed words, the target, step names and
// counts only: never the fingerprint, a step's detail or an error message
// (an activity's words are in the result, not in the memo).
func (r SecretRotationResult) outcome(err error) (string, map[string]int64) {
	b := func(v bool) int64 {
		if v {
			return 1
		}
		return 0
	}
	counts := map[string]int64{
		"rotated":     b(err == nil && !r.DryRun),
		"rolled_back": b(r.Compensated),
		"promoted":    b(r.Promoted),
		"old_removed": b(r.OldRemoved),
		"steps_ok":    0, "steps_failed": 0, "steps_skipped": 0,
	}
	for _, st := range r.Steps {
		switch st.Status {
		case SecretStatusOK:
			counts["steps_ok"]++
		case SecretStatusFailed:
			counts["steps_failed"]++
		case SecretStatusSkipped:
			counts["steps_skipped"]++
		}
	}
	target := "an unknown target"
	for _, t := range SecretTargets() {
		if r.Target == t {
			target = t
		}
	}
	step := "an unknown step"
	for _, s := range []string{SecretStepPreflight, SecretStepStoreNext, SecretStepApplyNext, SecretStepVerifyNext,
		SecretStepPromote, SecretStepVerifyCurrent, SecretStepGracePeriod, SecretStepRemoveOld, SecretStepVerifyRemoved} {
		if r.FailedStep == s {
			step = s
		}
	}
	switch {
	case err == nil && r.DryRun:
		return "dry run: the preflight checks of " + target + " passed; nothing was changed", counts
	case err == nil:
		grace := "without a grace period"
		if r.GracePeriod != "" && r.GracePeriod != "0s" {
			grace = "after a grace period of " + r.GracePeriod
		}
		return "rotated: " + target + " has a new credential; the old one was removed " + grace, counts
	case r.Compensated:
		return "rolled back: the rotation of " + target + " stopped at step " + step +
			"; the new credential was removed, the current one is unchanged", counts
	case r.Promoted:
		return "failed: the rotation of " + target + " stopped at step " + step +
			" after promotion; the new credential is in use, not rolled back", counts
	case counts["steps_failed"] > 1:
		// The step and its rollback (compensate) failed.
		return "failed: the rotation of " + target + " stopped at step " + step +
			" and its rollback failed too; check the provider and the backend by hand", counts
	default:
		return "failed: the rotation of " + target + " stopped at step " + step + "; nothing was promoted", counts
	}
}

// rootMessage is the message of the innermost application error (what the
// activity said), without the SDK's wrapping.
func rootMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "canceled"
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "timed out (" + timeout.TimeoutType().String() + ")"
	}
	return err.Error()
}

func isErrType(err error, typ string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == typ
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
