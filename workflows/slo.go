package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Activities of SLOReportWorkflow (implemented in activities/slo.go).
const (
	// ActivityEvaluateSLOs queries Prometheus once per SLO and window:
	// func(ctx, EvaluateSLOsInput) (EvaluateSLOsResult, error). Heartbeats
	// after each SLO and resumes from the SLOs already measured.
	ActivityEvaluateSLOs = "EvaluateSLOs"
	// ActivityStoreSLOReport inserts the report into slo_reports, once per
	// workflow run: func(ctx, StoreSLOReportInput) (StoreSLOReportResult, error).
	ActivityStoreSLOReport = "StoreSLOReport"
	// ActivityPublishSLOStatus sets <prefix>slo:status, publishes on
	// <prefix>slo:updates and sets the mutt_slo_* gauges:
	// func(ctx, PublishSLOStatusInput) (PublishSLOStatusResult, error).
	ActivityPublishSLOStatus = "PublishSLOStatus"
)

// SLOInput is the input of SLOReportWorkflow; the zero value (or no input)
// evaluates, stores and publishes.
type SLOInput struct {
	// DryRun evaluates and returns the report without storing or publishing it.
	DryRun bool `json:"dry_run,omitempty"`
}

// SLOReportResult is what SLOReportWorkflow returns.
type SLOReportResult struct {
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	ReportID  int64     `json:"report_id,omitempty"` // row of slo_reports; 0 on a dry run
	DryRun    bool      `json:"dry_run,omitempty"`
	Published bool      `json:"published"` // false on a dry run, or when a newer report was already published
	Report    SLOReport `json:"report"`
}

// EvaluateSLOsInput is the input of EvaluateSLOs.
type EvaluateSLOsInput struct {
	// At is the instant to evaluate at (the workflow's time), so that a
	// retried or resumed evaluation measures the same windows.
	At time.Time `json:"at"`
}

// EvaluateSLOsResult is what Prometheus said, per SLO in definition order.
type EvaluateSLOsResult struct {
	Configured bool             `json:"configured"`       // PROMETHEUS_URL set
	Reason     string           `json:"reason,omitempty"` // why there is nothing to measure
	SLOs       []SLOMeasurement `json:"slos"`
}

// StoreSLOReportInput is the input of StoreSLOReport.
type StoreSLOReportInput struct {
	Report SLOReport `json:"report"`
}

// StoreSLOReportResult is the stored row.
type StoreSLOReportResult struct {
	ID int64 `json:"id"`
	// Inserted is false when a previous attempt of the same run had stored it.
	Inserted bool `json:"inserted"`
}

// PublishSLOStatusInput is the input of PublishSLOStatus.
type PublishSLOStatusInput struct {
	ReportID int64     `json:"report_id"`
	Report   SLOReport `json:"report"`
}

// PublishSLOStatusResult says whether the status was published.
type PublishSLOStatusResult struct {
	// Published is false when <prefix>slo:status already held a newer report.
	Published bool `json:"published"`
}

// SLOStatus is the JSON of <prefix>slo:status and of the messages on
// <prefix>slo:updates: the stored report plus its row id.
type SLOStatus struct {
	ReportID          int64 `json:"report_id"`
	GeneratedAtUnixMs int64 `json:"generated_at_unix_ms"` // orders publications
	SLOReport
}

// SLOReportWorkflow evaluates the SLOs from Prometheus, stores the report in
// slo_reports and publishes the status (ok / warning / critical / no_data).
// Without Prometheus, or when it does not answer, the report says no_data with
// the reason and is still stored and published: never stale or made-up numbers.
func SLOReportWorkflow(ctx workflow.Context, in SLOInput) (SLOReportResult, error) {
	res, err := sloReport(ctx, in)
	outcome, counts := res.outcome(err)
	setOutcomeMemo(ctx, sloMemoChangeID, outcome, counts)
	return res, err
}

// sloMemoChangeID versions the outcome memo (setOutcomeMemo).
const sloMemoChangeID = "slo-outcome-memo"

func sloReport(ctx workflow.Context, in SLOInput) (SLOReportResult, error) {
	log := workflow.GetLogger(ctx)
	info := workflow.GetInfo(ctx)
	at := workflow.Now(ctx).UTC()

	// Options, set once. The evaluation heartbeats after each SLO (whose
	// queries take at most 15 s) and gives up after three attempts, about
	// 3 minutes at worst: a no_data report beats none, and the schedule's
	// run timeout is 4 minutes. The writes are short and retried longer.
	queryCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		HeartbeatTimeout:    20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 15 * time.Second, MaximumAttempts: 3,
		},
	})
	writeCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 20 * time.Second, MaximumAttempts: 8,
		},
	})

	var measured EvaluateSLOsResult
	if err := workflow.ExecuteActivity(queryCtx, ActivityEvaluateSLOs, EvaluateSLOsInput{At: at}).Get(ctx, &measured); err != nil {
		log.Warn("slo evaluation failed, reporting no data", "err", err)
		measured = EvaluateSLOsResult{Configured: true, Reason: "prometheus query failed: " + sloRootCause(err)}
	}
	report := BuildSLOReport(SLODefinitions(), measured, at, info.WorkflowExecution.ID, info.WorkflowExecution.RunID)
	res := SLOReportResult{Status: report.Status, Reason: report.Reason, DryRun: in.DryRun, Report: report}
	if in.DryRun {
		return res, nil
	}

	var stored StoreSLOReportResult
	if err := workflow.ExecuteActivity(writeCtx, ActivityStoreSLOReport, StoreSLOReportInput{Report: report}).Get(ctx, &stored); err != nil {
		return res, fmt.Errorf("store slo report: %w", err)
	}
	res.ReportID = stored.ID

	var pub PublishSLOStatusResult
	if err := workflow.ExecuteActivity(writeCtx, ActivityPublishSLOStatus,
		PublishSLOStatusInput{ReportID: stored.ID, Report: report}).Get(ctx, &pub); err != nil {
		return res, fmt.Errorf("publish slo status of report %d: %w", stored.ID, err)
	}
	res.Published = pub.Published
	log.Info("slo report done", "status", report.Status, "report_id", stored.ID, "published", pub.Published)
	return res, nil
}

// sloRootCause is the activity's own error message rather than the SDK's
// wrapping of it (which names event ids and the worker identity).
func sloRootCause(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		// Message, not Error: that one appends the error type and retryability.
		if cause := appErr.Unwrap(); cause != nil {
			return appErr.Message() + ": " + sloRootCause(cause)
		}
		return appErr.Message()
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// outcome summarises a run for its memo (err: the run failed): the overall
// status, the SLOs breached by name, and how many SLOs are in each status.
func (r SLOReportResult) outcome(err error) (string, map[string]int64) {
	counts := map[string]int64{}
	for _, st := range []string{SLOStatusOK, SLOStatusWarning, SLOStatusCritical, SLOStatusNoData} {
		counts[st] = int64(r.Report.Summary[st])
	}
	counts["breached"] = counts[SLOStatusWarning] + counts[SLOStatusCritical]
	if err != nil {
		return failedOutcome(err), counts
	}
	var breached []string
	for _, e := range r.Report.SLOs {
		if e.Status == SLOStatusWarning || e.Status == SLOStatusCritical {
			breached = append(breached, e.Name+" ("+e.Status+")")
		}
	}
	line := r.Status
	switch {
	case len(breached) > 0:
		line += ": breached " + strings.Join(breached, ", ") + ";"
	case r.Status == SLOStatusNoData && r.Reason != "":
		line += " (" + r.Reason + "):"
	default:
		line += ":"
	}
	line += fmt.Sprintf(" %d ok, %d no data", counts[SLOStatusOK], counts[SLOStatusNoData])
	switch {
	case r.DryRun:
		line = "dry run: " + line + " (not stored)"
	case r.Published:
		line += fmt.Sprintf("; report %d published", r.ReportID)
	default:
		line += fmt.Sprintf("; report %d stored, not published (a newer one was)", r.ReportID)
	}
	return line, counts
}
