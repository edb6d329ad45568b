package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Activities of PartitionMaintenanceWorkflow, registered under these names by
// the activities package.
const (
	// ActivityPartitionInspect reports which of the given months have their
	// partition and which months have rows parked in the DEFAULT partition.
	ActivityPartitionInspect = "PartitionInspect"
	// ActivityPartitionEnsureMonth makes sure one month's partition exists,
	// moving that month's rows out of DEFAULT into it in one transaction.
	ActivityPartitionEnsureMonth = "PartitionEnsureMonth"
	// ActivityPartitionReport counts the partitions ahead and sets the gauges.
	ActivityPartitionReport = "PartitionReport"
)

// DefaultPartitionAdvanceMonths is PARTITION_ADVANCE_MONTHS' default.
const DefaultPartitionAdvanceMonths = 3

// maxPartitionAdvanceMonths bounds a typo (120 instead of 12) to ten years of
// empty tables instead of thousands.
const maxPartitionAdvanceMonths = 120

// Application error types of partition maintenance that are never retried.
const (
	// ErrTypePartitionInput: an input that can never succeed.
	ErrTypePartitionInput = "InvalidPartitionInput"
	// ErrTypePartitionConflict: a table in the way of a partition (e.g. a
	// standalone table with the partition's name) that an operator must look at.
	ErrTypePartitionConflict = "PartitionConflict"
)

// PartitionInput is PartitionMaintenanceWorkflow's input. Zero values mean
// defaults: `{}` keeps the worker's PARTITION_ADVANCE_MONTHS (3 when not
// configured) months ahead of the current UTC month.
type PartitionInput struct {
	// AdvanceMonths is how many months after the current one must have a
	// partition (PARTITION_ADVANCE_MONTHS, passed by the schedule; 0 → the
	// worker's configured value, else 3).
	AdvanceMonths int `json:"advance_months"`
	// DryRun reports what would be created and moved without changing anything.
	DryRun bool `json:"dry_run"`
	// Now pins the clock the current month is taken from (tests, operators
	// back-filling); empty means the workflow's own time.
	Now *time.Time `json:"now,omitempty"`
}

// PartitionMonth is one month of event_audit_log and its partition.
type PartitionMonth struct {
	Month     time.Time `json:"month"` // first instant of the month, UTC
	Partition string    `json:"partition"`
	Exists    bool      `json:"exists,omitempty"`
	// Rows is, depending on where it appears, the rows found in DEFAULT for
	// this month or the rows moved out of DEFAULT into the partition.
	Rows int64 `json:"rows,omitempty"`
	// OutsideWindow marks a month far in the past or future that only has a
	// partition because rows for it were parked in DEFAULT.
	OutsideWindow bool `json:"outside_window,omitempty"`
}

// PartitionResult is PartitionMaintenanceWorkflow's result.
type PartitionResult struct {
	DryRun        bool      `json:"dry_run"`
	Now           time.Time `json:"now"`
	AdvanceMonths int       `json:"advance_months"`
	// Created lists the partitions created (in a dry run: that would be).
	Created []string `json:"created"`
	// DefaultRowsFound is how many rows DEFAULT held when the run started.
	DefaultRowsFound int64 `json:"default_rows_found"`
	// MovedFromDefault lists, per month, the rows moved out of DEFAULT (in a
	// dry run: the rows that would be).
	MovedFromDefault []PartitionMonth `json:"moved_from_default"`
	// PartitionsAhead is how many consecutive months after the current one
	// have a partition once the run is done.
	PartitionsAhead int `json:"partitions_ahead"`
	// Existing counts the months of the window (the current one and
	// AdvanceMonths after it) whose partition was already there.
	Existing int `json:"existing"`
}

// PartitionInspectInput asks about the months of the maintenance window.
type PartitionInspectInput struct {
	Months []time.Time `json:"months"`
}

// PartitionInspectResult answers PartitionInspectInput.
type PartitionInspectResult struct {
	// Window has one entry per asked month, in the same order, with Exists set.
	Window []PartitionMonth `json:"window"`
	// Default lists the months with rows in the DEFAULT partition, oldest first.
	Default []PartitionMonth `json:"default"`
}

// PartitionEnsureInput names the month whose partition must exist.
type PartitionEnsureInput struct {
	Month time.Time `json:"month"`
}

// PartitionEnsureResult says what ActivityPartitionEnsureMonth did.
type PartitionEnsureResult struct {
	Partition string `json:"partition"`
	Created   bool   `json:"created"`
	MovedRows int64  `json:"moved_rows"`
}

// PartitionReportInput is what the report activity needs to set the gauges.
type PartitionReportInput struct {
	Now    time.Time `json:"now"`
	DryRun bool      `json:"dry_run"`
}

// PartitionReportResult is the state after the run.
type PartitionReportResult struct {
	PartitionsAhead int `json:"partitions_ahead"`
}

// partitionActivityOptions are shared by every activity of the workflow. A
// month with many rows parked in DEFAULT is one long transaction, so the
// activity heartbeats while it runs; the retry policy gives a locked table
// (lock_timeout) time to free up and then fails visibly rather than forever.
func partitionActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			MaximumAttempts:        8,
			NonRetryableErrorTypes: []string{ErrTypePartitionInput, ErrTypePartitionConflict},
		},
	}
}

// PartitionMaintenanceWorkflow keeps AdvanceMonths monthly partitions of
// event_audit_log ahead of the current UTC month and moves rows parked in the
// DEFAULT partition into partitions of their own. Running it again changes
// nothing: every step is idempotent.
func PartitionMaintenanceWorkflow(ctx workflow.Context, in PartitionInput) (PartitionResult, error) {
	res, err := partitionMaintenance(ctx, in)
	outcome, counts := res.outcome(err)
	setOutcomeMemo(ctx, partitionMemoChangeID, outcome, counts)
	return res, err
}

// partitionMemoChangeID versions the outcome memo (setOutcomeMemo).
const partitionMemoChangeID = "partition-outcome-memo"

func partitionMaintenance(ctx workflow.Context, in PartitionInput) (PartitionResult, error) {
	// A run started by hand leaves it unset: it is the worker's configured
	// value, not the code default (the schedule passes it).
	if in.AdvanceMonths == 0 && workflow.GetVersion(ctx, policyChangeID, workflow.DefaultVersion, 1) == 1 {
		p, err := workerPolicy(ctx, ActivityPartitionPolicy)
		if err != nil {
			return PartitionResult{}, fmt.Errorf("read the worker's partition policy: %w", err)
		}
		in.AdvanceMonths = p.PartitionAdvanceMonths
	}
	if in.AdvanceMonths == 0 {
		in.AdvanceMonths = DefaultPartitionAdvanceMonths
	}
	if in.AdvanceMonths < 0 || in.AdvanceMonths > maxPartitionAdvanceMonths {
		return PartitionResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("advance_months must be between 1 and %d, got %d", maxPartitionAdvanceMonths, in.AdvanceMonths),
			ErrTypePartitionInput, nil)
	}
	now := workflow.Now(ctx).UTC()
	if in.Now != nil {
		now = in.Now.UTC()
	}
	res := PartitionResult{DryRun: in.DryRun, Now: now, AdvanceMonths: in.AdvanceMonths,
		Created: []string{}, MovedFromDefault: []PartitionMonth{}}
	log := workflow.GetLogger(ctx)
	ctx = workflow.WithActivityOptions(ctx, partitionActivityOptions())

	// The current month and AdvanceMonths after it.
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	window := make([]time.Time, 0, in.AdvanceMonths+1)
	for i := 0; i <= in.AdvanceMonths; i++ {
		window = append(window, first.AddDate(0, i, 0))
	}
	var seen PartitionInspectResult
	if err := workflow.ExecuteActivity(ctx, ActivityPartitionInspect, PartitionInspectInput{Months: window}).Get(ctx, &seen); err != nil {
		return res, fmt.Errorf("inspect partitions: %w", err)
	}

	// Months to work on, oldest first: window months without a partition, and
	// every month with rows in DEFAULT (such a month never has a partition:
	// PostgreSQL would have routed the rows there).
	var todo []PartitionMonth
	for _, m := range seen.Window {
		if !m.Exists {
			todo = append(todo, m)
		} else {
			res.Existing++
		}
	}
	lastInWindow := window[len(window)-1]
	for _, m := range seen.Default {
		res.DefaultRowsFound += m.Rows
		m.OutsideWindow = m.Month.Before(first) || m.Month.After(lastInWindow)
		i := slices.IndexFunc(todo, func(t PartitionMonth) bool { return t.Month.Equal(m.Month) })
		if i >= 0 {
			todo[i].Rows = m.Rows
			continue
		}
		todo = append(todo, m)
	}
	slices.SortStableFunc(todo, func(a, b PartitionMonth) int { return a.Month.Compare(b.Month) })
	if res.DefaultRowsFound > 0 {
		log.Warn("rows parked in the default partition", "rows", res.DefaultRowsFound, "months", len(seen.Default))
	}

	for _, m := range todo {
		if in.DryRun {
			res.Created = append(res.Created, m.Partition)
			if m.Rows > 0 {
				res.MovedFromDefault = append(res.MovedFromDefault, m)
			}
			continue
		}
		var done PartitionEnsureResult
		if err := workflow.ExecuteActivity(ctx, ActivityPartitionEnsureMonth, PartitionEnsureInput{Month: m.Month}).Get(ctx, &done); err != nil {
			return res, fmt.Errorf("ensure partition %s: %w", m.Partition, err)
		}
		if done.Created {
			res.Created = append(res.Created, done.Partition)
		} else if !m.OutsideWindow {
			// Created meanwhile (another run, an operator): it was there.
			res.Existing++
		}
		if done.MovedRows > 0 {
			res.MovedFromDefault = append(res.MovedFromDefault, PartitionMonth{Month: m.Month, Partition: done.Partition,
				Exists: true, Rows: done.MovedRows, OutsideWindow: m.OutsideWindow})
		}
	}

	var rep PartitionReportResult
	if err := workflow.ExecuteActivity(ctx, ActivityPartitionReport,
		PartitionReportInput{Now: now, DryRun: in.DryRun}).Get(ctx, &rep); err != nil {
		return res, fmt.Errorf("report partitions: %w", err)
	}
	res.PartitionsAhead = rep.PartitionsAhead
	log.Info("partition maintenance done", "created", len(res.Created), "moved_months", len(res.MovedFromDefault),
		"partitions_ahead", res.PartitionsAhead, "dry_run", in.DryRun)
	return res, nil
}

// outcome summarises a run for its memo (err: the run failed).
func (r PartitionResult) outcome(err error) (string, map[string]int64) {
	var moved int64
	for _, m := range r.MovedFromDefault {
		moved += m.Rows
	}
	counts := map[string]int64{
		"created":            int64(len(r.Created)),
		"existing":           int64(r.Existing),
		"moved_rows":         moved,
		"moved_months":       int64(len(r.MovedFromDefault)),
		"default_rows_found": r.DefaultRowsFound,
		"partitions_ahead":   int64(r.PartitionsAhead),
	}
	if err != nil {
		return failedOutcome(err), counts
	}
	var parts []string
	switch n := len(r.Created); {
	case n == 0:
		parts = append(parts, "no partition created")
	case n <= 3:
		parts = append(parts, fmt.Sprintf("created %d (%s)", n, strings.Join(r.Created, ", ")))
	default:
		parts = append(parts, "created "+plural(int64(n), "partition"))
	}
	parts = append(parts, fmt.Sprintf("%d already there", r.Existing))
	if moved > 0 {
		parts = append(parts, "moved "+plural(moved, "row")+" out of DEFAULT")
	}
	line := strings.Join(parts, ", ") + "; " + plural(int64(r.PartitionsAhead), "month") + " ahead"
	if r.DryRun {
		line = "dry run: " + line
	}
	return line, counts
}
