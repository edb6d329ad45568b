package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// RetentionPolicy is the maintenance policy a worker is configured with
// (PARTITION_ADVANCE_MONTHS, EVENT_RETENTION_DAYS, ARCHIVE_RETENTION_DAYS,
// CONFIG_AUDIT_RETENTION_DAYS). The schedules pass it in their input; a run
// started by hand that leaves a field unset gets the worker's value for it
// instead of the code default, so `--input '{"dry_run":true}'` counts what the
// configured policy would do. Zero fields mean the code defaults.
type RetentionPolicy struct {
	PartitionAdvanceMonths   int `json:"partition_advance_months"`
	EventRetentionDays       int `json:"event_retention_days"`
	ArchiveRetentionDays     int `json:"archive_retention_days"`
	ConfigAuditRetentionDays int `json:"config_audit_retention_days"`
}

// Local activities answering the worker's RetentionPolicy: func(ctx)
// (RetentionPolicy, error). One per workflow, each registered with that
// workflow's activities, so a worker running only one of them still answers.
const (
	ActivityRetentionPolicy = "RetentionPolicy"
	ActivityPartitionPolicy = "PartitionPolicy"
)

// policyChangeID versions the workflows' read of the worker's policy:
// histories recorded before it filled unset fields with the code defaults
// without asking, and keep replaying that way.
const policyChangeID = "worker-retention-policy"

// workerPolicy asks the worker running this workflow task for its configured
// policy. It is a local activity (no round trip through the server) whose
// answer is recorded, so a replay on a differently configured worker decides
// the same. A failure fails the run: guessing the code defaults instead could
// archive or purge earlier than the operator configured.
func workerPolicy(ctx workflow.Context, activityName string) (RetentionPolicy, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: time.Minute,
		StartToCloseTimeout:    10 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	})
	var p RetentionPolicy
	err := workflow.ExecuteLocalActivity(ctx, activityName).Get(ctx, &p)
	return p, err
}
