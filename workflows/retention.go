package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Activities of RetentionWorkflow, registered under these names by the
// activities package.
const (
	// ActivityRetentionExpiredPartitions lists the event_audit_log partitions
	// whose whole month is older than the cut-off.
	ActivityRetentionExpiredPartitions = "RetentionExpiredPartitions"
	// ActivityRetentionArchivePartition moves one expired partition into the
	// archive and drops it, in one transaction.
	ActivityRetentionArchivePartition = "RetentionArchivePartition"
	// ActivityRetentionArchiveBatches moves the remaining expired rows into the
	// archive in batches (one transaction each), heartbeating its progress.
	ActivityRetentionArchiveBatches = "RetentionArchiveBatches"
	// ActivityRetentionPurge deletes expired rows of the archive or of
	// config_audit_log in batches, heartbeating its progress.
	ActivityRetentionPurge = "RetentionPurge"
	// ActivityRetentionReport measures the oldest event left and sets the gauges.
	ActivityRetentionReport = "RetentionReport"
)

// Defaults of RetentionInput (EVENT_RETENTION_DAYS, ARCHIVE_RETENTION_DAYS,
// CONFIG_AUDIT_RETENTION_DAYS and the batch size).
const (
	DefaultEventRetentionDays       = 90
	DefaultArchiveRetentionDays     = 2555
	DefaultConfigAuditRetentionDays = 365
	DefaultRetentionBatchSize       = 10000
)

// maxRetentionBatchSize keeps one batch's transaction (and its locks and WAL)
// reasonable whatever an operator types.
const maxRetentionBatchSize = 1_000_000

// Targets of ActivityRetentionPurge.
const (
	RetentionPurgeArchive     = "event_audit_log_archive"
	RetentionPurgeConfigAudit = "config_audit_log"
)

// ErrTypeRetentionInput is the application error type of a retention input
// that can never succeed; it is not retried.
const ErrTypeRetentionInput = "InvalidRetentionInput"

// RetentionInput is RetentionWorkflow's input. Zero values mean defaults: a
// retention left unset is the worker's configured one (EVENT_RETENTION_DAYS,
// ARCHIVE_RETENTION_DAYS, CONFIG_AUDIT_RETENTION_DAYS), else the code's: `{}`
// on a worker with nothing configured archives events older than 90 days,
// purges the archive past 2555 days and the config audit past 365 days, in
// batches of 10000.
type RetentionInput struct {
	DryRun                   bool `json:"dry_run"`
	EventRetentionDays       int  `json:"event_retention_days"`
	ArchiveRetentionDays     int  `json:"archive_retention_days"`
	ConfigAuditRetentionDays int  `json:"config_audit_retention_days"`
	BatchSize                int  `json:"batch_size"`
	// Now pins the clock the cut-offs are computed from; empty means the
	// workflow's own time.
	Now *time.Time `json:"now,omitempty"`
}

// RetentionResult is RetentionWorkflow's result: what each step did (in a dry
// run: would do).
type RetentionResult struct {
	DryRun bool      `json:"dry_run"`
	Now    time.Time `json:"now"`
	// The retentions the run applied (from the input, the worker's policy or
	// the code defaults).
	EventRetentionDays       int       `json:"event_retention_days"`
	ArchiveRetentionDays     int       `json:"archive_retention_days"`
	ConfigAuditRetentionDays int       `json:"config_audit_retention_days"`
	EventCutoff              time.Time `json:"event_cutoff"`
	ArchiveCutoff            time.Time `json:"archive_cutoff"`
	ConfigAuditCutoff        time.Time `json:"config_audit_cutoff"`
	// Archived is every event moved from event_audit_log to the archive:
	// ArchivedFromPartitions + ArchivedInBatches.
	Archived               int64 `json:"archived"`
	ArchivedFromPartitions int64 `json:"archived_from_partitions"`
	ArchivedInBatches      int64 `json:"archived_in_batches"`
	Batches                int64 `json:"batches"`
	// PartitionsDropped counts the whole expired partitions moved and dropped.
	PartitionsDropped  int64    `json:"partitions_dropped"`
	DroppedPartitions  []string `json:"dropped_partitions"`
	ArchivePurged      int64    `json:"archive_purged"`
	ConfigAuditPurged  int64    `json:"config_audit_purged"`
	OldestEventAgeDays float64  `json:"oldest_event_age_days"`
	// OldestEvent is the oldest event_timestamp left in event_audit_log.
	OldestEvent *time.Time `json:"oldest_event,omitempty"`
}

// RetentionPartitionsInput asks for the partitions entirely older than Cutoff.
type RetentionPartitionsInput struct {
	Cutoff time.Time `json:"cutoff"`
}

// RetentionPartitionsResult lists them, oldest first.
type RetentionPartitionsResult struct {
	Partitions []string `json:"partitions"`
}

// RetentionPartitionInput names one partition to move to the archive.
type RetentionPartitionInput struct {
	Partition string    `json:"partition"`
	Cutoff    time.Time `json:"cutoff"`
	DryRun    bool      `json:"dry_run"`
}

// RetentionPartitionResult says what happened to it.
type RetentionPartitionResult struct {
	Partition string `json:"partition"`
	// Found is false when the partition was already gone (an earlier attempt
	// committed but its answer was lost).
	Found   bool  `json:"found"`
	Rows    int64 `json:"rows"`
	Dropped bool  `json:"dropped"`
}

// RetentionBatchInput drives ActivityRetentionArchiveBatches.
type RetentionBatchInput struct {
	Cutoff    time.Time `json:"cutoff"`
	BatchSize int       `json:"batch_size"`
	DryRun    bool      `json:"dry_run"`
	// ExcludePartitions are not counted by a dry run: their rows are counted
	// by the whole-partition step, which in a dry run leaves them in place.
	ExcludePartitions []string `json:"exclude_partitions,omitempty"`
}

// RetentionPurgeInput drives ActivityRetentionPurge.
type RetentionPurgeInput struct {
	Target    string    `json:"target"` // RetentionPurgeArchive or RetentionPurgeConfigAudit
	Cutoff    time.Time `json:"cutoff"`
	BatchSize int       `json:"batch_size"`
	DryRun    bool      `json:"dry_run"`
}

// RetentionBatchProgress is both the heartbeat details of a batched activity
// (so a retry continues the count instead of restarting it) and its result.
type RetentionBatchProgress struct {
	Rows    int64 `json:"rows"`
	Batches int64 `json:"batches"`
}

// RetentionReportInput is what the report activity needs.
type RetentionReportInput struct {
	Now    time.Time `json:"now"`
	DryRun bool      `json:"dry_run"`
}

// RetentionReportResult is the state of event_audit_log after the run.
type RetentionReportResult struct {
	OldestEvent        *time.Time `json:"oldest_event,omitempty"`
	OldestEventAgeDays float64    `json:"oldest_event_age_days"`
}

// retentionActivityOptions are shared by every activity of the workflow. The
// batched activities heartbeat after every batch and during long statements,
// so a lost worker is noticed within a minute and the retry resumes.
func retentionActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 4 * time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        10 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Minute,
			MaximumAttempts:        8,
			NonRetryableErrorTypes: []string{ErrTypeRetentionInput},
		},
	}
}

// needsPolicy reports whether a retention is left unset.
func (in RetentionInput) needsPolicy() bool {
	return in.EventRetentionDays == 0 || in.ArchiveRetentionDays == 0 || in.ConfigAuditRetentionDays == 0
}

// withPolicy fills the retentions left unset from the worker's policy.
func (in RetentionInput) withPolicy(p RetentionPolicy) RetentionInput {
	if in.EventRetentionDays == 0 {
		in.EventRetentionDays = p.EventRetentionDays
	}
	if in.ArchiveRetentionDays == 0 {
		in.ArchiveRetentionDays = p.ArchiveRetentionDays
	}
	if in.ConfigAuditRetentionDays == 0 {
		in.ConfigAuditRetentionDays = p.ConfigAuditRetentionDays
	}
	return in
}

// withDefaults fills zero values and rejects what can never work.
func (in RetentionInput) withDefaults() (RetentionInput, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&in.EventRetentionDays, DefaultEventRetentionDays)
	def(&in.ArchiveRetentionDays, DefaultArchiveRetentionDays)
	def(&in.ConfigAuditRetentionDays, DefaultConfigAuditRetentionDays)
	def(&in.BatchSize, DefaultRetentionBatchSize)
	for _, f := range []struct {
		name string
		v    int
	}{
		{"event_retention_days", in.EventRetentionDays},
		{"archive_retention_days", in.ArchiveRetentionDays},
		{"config_audit_retention_days", in.ConfigAuditRetentionDays},
	} {
		if f.v < 0 {
			return in, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s must be positive, got %d", f.name, f.v), ErrTypeRetentionInput, nil)
		}
	}
	if in.BatchSize < 0 || in.BatchSize > maxRetentionBatchSize {
		return in, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("batch_size must be between 1 and %d, got %d", maxRetentionBatchSize, in.BatchSize),
			ErrTypeRetentionInput, nil)
	}
	return in, nil
}

// retentionCutoff is the instant days×24h before t: events older than it are past retention.
func retentionCutoff(t time.Time, days int) time.Time {
	return t.Add(-time.Duration(days) * 24 * time.Hour)
}

// RetentionWorkflow archives events older than the event retention into
// event_audit_log_archive (whole expired partitions in one statement each, the
// rest in batches), then purges the archive and config_audit_log past their
// retention. No step loses a row: every move is one transaction, and every
// step is idempotent, so a retry or a second run only continues the work. In
// a dry run it counts what each step would do and changes nothing.
func RetentionWorkflow(ctx workflow.Context, in RetentionInput) (RetentionResult, error) {
	res, err := retention(ctx, in)
	outcome, counts := res.outcome(err)
	setOutcomeMemo(ctx, retentionMemoChangeID, outcome, counts)
	return res, err
}

// retentionMemoChangeID versions the outcome memo (setOutcomeMemo).
const retentionMemoChangeID = "retention-outcome-memo"

func retention(ctx workflow.Context, in RetentionInput) (RetentionResult, error) {
	// A run started by hand leaves retentions unset: they are the worker's
	// configured ones, not the code defaults (the schedule passes them all).
	if in.needsPolicy() && workflow.GetVersion(ctx, policyChangeID, workflow.DefaultVersion, 1) == 1 {
		p, err := workerPolicy(ctx, ActivityRetentionPolicy)
		if err != nil {
			return RetentionResult{}, fmt.Errorf("read the worker's retention policy: %w", err)
		}
		in = in.withPolicy(p)
	}
	in, err := in.withDefaults()
	if err != nil {
		return RetentionResult{}, err
	}
	now := workflow.Now(ctx).UTC()
	if in.Now != nil {
		now = in.Now.UTC()
	}
	res := RetentionResult{
		DryRun:                   in.DryRun,
		Now:                      now,
		EventRetentionDays:       in.EventRetentionDays,
		ArchiveRetentionDays:     in.ArchiveRetentionDays,
		ConfigAuditRetentionDays: in.ConfigAuditRetentionDays,
		EventCutoff:              retentionCutoff(now, in.EventRetentionDays),
		ArchiveCutoff:            retentionCutoff(now, in.ArchiveRetentionDays),
		ConfigAuditCutoff:        retentionCutoff(now, in.ConfigAuditRetentionDays),
		DroppedPartitions:        []string{},
	}
	log := workflow.GetLogger(ctx)
	ctx = workflow.WithActivityOptions(ctx, retentionActivityOptions())

	// 1. Whole partitions past the cut-off: one INSERT … SELECT and a DROP each,
	// far cheaper than deleting their rows batch by batch.
	var expired RetentionPartitionsResult
	if err := workflow.ExecuteActivity(ctx, ActivityRetentionExpiredPartitions,
		RetentionPartitionsInput{Cutoff: res.EventCutoff}).Get(ctx, &expired); err != nil {
		return res, fmt.Errorf("list expired partitions: %w", err)
	}
	for _, p := range expired.Partitions {
		var moved RetentionPartitionResult
		if err := workflow.ExecuteActivity(ctx, ActivityRetentionArchivePartition,
			RetentionPartitionInput{Partition: p, Cutoff: res.EventCutoff, DryRun: in.DryRun}).Get(ctx, &moved); err != nil {
			return res, fmt.Errorf("archive partition %s: %w", p, err)
		}
		res.ArchivedFromPartitions += moved.Rows
		if moved.Dropped || (in.DryRun && moved.Found) {
			res.PartitionsDropped++
			res.DroppedPartitions = append(res.DroppedPartitions, p)
		}
	}

	// 2. Expired rows elsewhere (the partition the cut-off falls in, DEFAULT).
	batchIn := RetentionBatchInput{Cutoff: res.EventCutoff, BatchSize: in.BatchSize, DryRun: in.DryRun}
	if in.DryRun {
		batchIn.ExcludePartitions = expired.Partitions
	}
	var batches RetentionBatchProgress
	if err := workflow.ExecuteActivity(ctx, ActivityRetentionArchiveBatches, batchIn).Get(ctx, &batches); err != nil {
		return res, fmt.Errorf("archive events in batches: %w", err)
	}
	res.ArchivedInBatches, res.Batches = batches.Rows, batches.Batches
	res.Archived = res.ArchivedFromPartitions + res.ArchivedInBatches

	// 3. Purges.
	for _, p := range []struct {
		target string
		cutoff time.Time
		out    *int64
	}{
		{RetentionPurgeArchive, res.ArchiveCutoff, &res.ArchivePurged},
		{RetentionPurgeConfigAudit, res.ConfigAuditCutoff, &res.ConfigAuditPurged},
	} {
		var purged RetentionBatchProgress
		if err := workflow.ExecuteActivity(ctx, ActivityRetentionPurge, RetentionPurgeInput{
			Target: p.target, Cutoff: p.cutoff, BatchSize: in.BatchSize, DryRun: in.DryRun,
		}).Get(ctx, &purged); err != nil {
			return res, fmt.Errorf("purge %s: %w", p.target, err)
		}
		*p.out = purged.Rows
	}

	// 4. What is left, for the result and the gauges.
	var rep RetentionReportResult
	if err := workflow.ExecuteActivity(ctx, ActivityRetentionReport,
		RetentionReportInput{Now: now, DryRun: in.DryRun}).Get(ctx, &rep); err != nil {
		return res, fmt.Errorf("report retention: %w", err)
	}
	res.OldestEvent, res.OldestEventAgeDays = rep.OldestEvent, rep.OldestEventAgeDays
	log.Info("retention done", "archived", res.Archived, "partitions_dropped", res.PartitionsDropped,
		"archive_purged", res.ArchivePurged, "config_audit_purged", res.ConfigAuditPurged, "dry_run", in.DryRun)
	return res, nil
}

// outcome summarises a run for its memo (err: the run failed).
func (r RetentionResult) outcome(err error) (string, map[string]int64) {
	counts := map[string]int64{
		"archived":                 r.Archived,
		"archived_from_partitions": r.ArchivedFromPartitions,
		"archived_in_batches":      r.ArchivedInBatches,
		"partitions_dropped":       r.PartitionsDropped,
		"archive_purged":           r.ArchivePurged,
		"config_audit_purged":      r.ConfigAuditPurged,
		"deleted":                  r.ArchivePurged + r.ConfigAuditPurged,
	}
	if err != nil {
		return failedOutcome(err), counts
	}
	line := fmt.Sprintf("archived %s older than %d days", plural(r.Archived, "event"), r.EventRetentionDays)
	if r.PartitionsDropped > 0 {
		line += " (" + plural(r.PartitionsDropped, "whole partition") + " dropped)"
	}
	line += fmt.Sprintf("; deleted %s older than %d days and %s older than %d days",
		plural(r.ArchivePurged, "archived event"), r.ArchiveRetentionDays, plural(r.ConfigAuditPurged, "config audit row"), r.ConfigAuditRetentionDays)
	if r.OldestEvent != nil {
		line += fmt.Sprintf("; oldest event left %.1f days old", r.OldestEventAgeDays)
	}
	if r.DryRun {
		line = "dry run: " + line
	}
	return line, counts
}
