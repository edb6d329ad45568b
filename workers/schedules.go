package workers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/mutt-ops/mutt/workflows"
)

// Schedule is one schedule the project owns. Its times (calendars or
// interval, jitter, time zone), its workflow (type, ID, input, task queue, run
// timeout, summary) and the overlap and catch-up policies are the project's:
// apply sets them. Everything else is the operator's and apply never changes
// it: paused state, note, remaining actions, pause-on-failure, the spec's
// start, end and skipped times, and the action's memo, search attributes,
// execution and task timeouts and retry policy (a new schedule starts unpaused
// unless Paused is set).
type Schedule struct {
	ID          string
	Workflow    string
	Input       any
	Daily       *TimeOfDay    // a calendar spec: every day at this UTC time
	DayOfMonth  int           // with Daily: only on this day of the month (monthly)
	Every       time.Duration // or an interval spec
	Jitter      time.Duration
	Catchup     time.Duration
	RunTimeout  time.Duration
	Paused      bool // initial state only
	Description string
}

// TimeOfDay is a UTC wall-clock time.
type TimeOfDay struct{ Hour, Minute int }

// Schedules returns MUTT's schedules; prefix is prepended to every ID (""
// in production; tests isolate themselves with one) and taskQueue is where
// the workflows run.
func Schedules(prefix, taskQueue string, p RetentionPolicy, rotation bool) []Schedule {
	out := []Schedule{
		{ID: prefix + "mutt-partition-maintenance", Workflow: "PartitionMaintenanceWorkflow",
			Input: workflows.PartitionInput{AdvanceMonths: p.PartitionAdvanceMonths},
			Daily: &TimeOfDay{1, 10}, Jitter: 5 * time.Minute, Catchup: 12 * time.Hour, RunTimeout: 2 * time.Hour,
			Description: "keeps monthly audit partitions ahead and empties the DEFAULT partition"},
		{ID: prefix + "mutt-retention", Workflow: "RetentionWorkflow",
			Input: workflows.RetentionInput{EventRetentionDays: p.EventRetentionDays,
				ArchiveRetentionDays: p.ArchiveRetentionDays, ConfigAuditRetentionDays: p.ConfigAuditRetentionDays},
			Daily: &TimeOfDay{2, 0}, Jitter: 10 * time.Minute, Catchup: 12 * time.Hour, RunTimeout: 6 * time.Hour,
			Description: "archives audit events past retention and purges the archive and config audit"},
		{ID: prefix + "mutt-dlq-remediation", Workflow: "DLQRemediationWorkflow", Input: workflows.DLQInput{},
			Every: 5 * time.Minute, Jitter: 30 * time.Second, Catchup: 10 * time.Minute, RunTimeout: 4 * time.Minute,
			Description: "replays dead letters when Moogsoft is healthy and parks poison entries"},
		{ID: prefix + "mutt-slo-report", Workflow: "SLOReportWorkflow", Input: workflows.SLOInput{},
			Every: 5 * time.Minute, Jitter: 30 * time.Second, Catchup: 10 * time.Minute, RunTimeout: 4 * time.Minute,
			Description: "evaluates the SLOs from Prometheus and stores the report"},
	}
	// Monthly credential rotation, one schedule per target, staggered by an
	// hour. Created paused unless MUTT_SECRET_ROTATION_ENABLED: an operator
	// should first run one rotation by hand (docs/SECRET_ROTATION_PROCEDURE.md).
	for i, target := range workflows.SecretTargets() {
		out = append(out, Schedule{ID: prefix + workflows.SecretRotationWorkflowID(target), Workflow: "SecretRotationWorkflow",
			Input: workflows.SecretRotationInput{Target: target}, Daily: &TimeOfDay{3 + i, 0}, DayOfMonth: 1,
			Jitter: 10 * time.Minute, Catchup: 24 * time.Hour, RunTimeout: 48 * time.Hour, Paused: !rotation,
			Description: "rotates the " + target + " credential (dual-credential pattern)"})
	}
	return out
}

func (s Schedule) spec() client.ScheduleSpec {
	if s.Daily != nil {
		all := func(a, b int) []client.ScheduleRange { return []client.ScheduleRange{{Start: a, End: b, Step: 1}} }
		dom, comment := all(1, 31), fmt.Sprintf("daily %02d:%02d UTC", s.Daily.Hour, s.Daily.Minute)
		if s.DayOfMonth > 0 {
			dom = all(s.DayOfMonth, s.DayOfMonth)
			comment = fmt.Sprintf("monthly on day %d at %02d:%02d UTC", s.DayOfMonth, s.Daily.Hour, s.Daily.Minute)
		}
		return client.ScheduleSpec{
			Calendars: []client.ScheduleCalendarSpec{{
				Second: all(0, 0), Minute: all(s.Daily.Minute, s.Daily.Minute), Hour: all(s.Daily.Hour, s.Daily.Hour),
				DayOfMonth: dom, Month: all(1, 12), DayOfWeek: all(0, 6), Comment: comment,
			}},
			Jitter: s.Jitter, TimeZoneName: "UTC",
		}
	}
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: s.Every}}, Jitter: s.Jitter, TimeZoneName: "UTC"}
}

func (s Schedule) action(taskQueue string) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID: s.ID, Workflow: s.Workflow, Args: []any{s.Input}, TaskQueue: taskQueue,
		WorkflowRunTimeout: s.RunTimeout, StaticSummary: s.Description,
	}
}

func (s Schedule) policy() client.SchedulePolicies {
	return client.SchedulePolicies{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: s.Catchup}
}

// owned renders the fields the project owns as comparable text, one per key.
func owned(spec *client.ScheduleSpec, act client.ScheduleAction, pol *client.SchedulePolicies) (map[string]string, error) {
	out := map[string]string{}
	if spec != nil {
		var cals []string
		for _, c := range spec.Calendars {
			cals = append(cals, fmt.Sprintf("s%v m%v h%v dom%v mon%v dow%v y%v", ranges(c.Second), ranges(c.Minute),
				ranges(c.Hour), ranges(c.DayOfMonth), ranges(c.Month), ranges(c.DayOfWeek), ranges(c.Year)))
		}
		var ivs []string
		for _, i := range spec.Intervals {
			ivs = append(ivs, fmt.Sprintf("every %s offset %s", i.Every, i.Offset))
		}
		out["spec.calendars"] = strings.Join(cals, "; ")
		out["spec.intervals"] = strings.Join(ivs, "; ")
		out["spec.cron"] = strings.Join(spec.CronExpressions, "; ")
		out["spec.jitter"] = spec.Jitter.String()
		out["spec.time_zone"] = spec.TimeZoneName
	}
	if wa, ok := act.(*client.ScheduleWorkflowAction); ok {
		out["action.workflow"] = fmt.Sprint(wa.Workflow)
		out["action.workflow_id"] = wa.ID
		out["action.task_queue"] = wa.TaskQueue
		out["action.run_timeout"] = wa.WorkflowRunTimeout.String()
		out["action.summary"] = wa.StaticSummary
		var args []string
		for _, a := range wa.Args {
			p, ok := a.(*commonpb.Payload)
			if !ok {
				var err error
				if p, err = converter.GetDefaultDataConverter().ToPayload(a); err != nil {
					return nil, fmt.Errorf("encode schedule input: %w", err)
				}
			}
			args = append(args, string(bytes.TrimSpace(p.GetData())))
		}
		out["action.input"] = strings.Join(args, ", ")
	} else if act != nil {
		out["action.kind"] = fmt.Sprintf("%T", act)
	}
	if pol != nil {
		out["policy.overlap"] = pol.Overlap.String()
		out["policy.catchup_window"] = pol.CatchupWindow.String()
	}
	return out, nil
}

func ranges(rs []client.ScheduleRange) string {
	var parts []string
	for _, r := range rs {
		end, step := r.End, r.Step
		if end < r.Start {
			end = r.Start
		}
		if step == 0 {
			step = 1
		}
		parts = append(parts, fmt.Sprintf("%d-%d/%d", r.Start, end, step))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Change is what Apply did, or would do, to one schedule.
type Change struct {
	ID     string
	Action string   // "create", "update", "unchanged"
	Diff   []string // "field: current → desired"
}

// Apply creates missing schedules and brings the project-owned fields of
// existing ones back to the desired state, leaving paused state, notes and
// every other operator setting alone (see Schedule). A schedule replaced by
// `temporal schedule update` (which replaces the whole schedule) is repaired
// the same way. With dryRun nothing changes; the diff (exactly the fields an
// update changes) is printed to out either way.
func Apply(ctx context.Context, c client.Client, taskQueue string, schedules []Schedule, dryRun bool, out io.Writer) ([]Change, error) {
	var changes []Change
	for _, s := range schedules {
		ch, err := applyOne(ctx, c, taskQueue, s, dryRun)
		if err != nil {
			return changes, fmt.Errorf("schedule %s: %w", s.ID, err)
		}
		changes = append(changes, ch)
		if out != nil {
			verb := ch.Action
			if dryRun && verb != "unchanged" {
				verb = "would " + verb
			}
			fmt.Fprintf(out, "%-12s %s\n", verb, ch.ID)
			for _, d := range ch.Diff {
				fmt.Fprintf(out, "    %s\n", d)
			}
		}
	}
	return changes, nil
}

func applyOne(ctx context.Context, c client.Client, taskQueue string, s Schedule, dryRun bool) (Change, error) {
	spec, act, pol := s.spec(), s.action(taskQueue), s.policy()
	want, err := owned(&spec, act, &pol)
	if err != nil {
		return Change{}, err
	}
	h := c.ScheduleClient().GetHandle(ctx, s.ID)
	desc, err := h.Describe(ctx)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		ch := Change{ID: s.ID, Action: "create", Diff: diff(nil, want)}
		if dryRun {
			return ch, nil
		}
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: s.ID, Spec: spec, Action: act, Overlap: pol.Overlap, CatchupWindow: pol.CatchupWindow,
			Paused: s.Paused, Note: "created by mutt schedules apply",
		})
		var exists *serviceerror.AlreadyExists
		if errors.As(err, &exists) || errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return applyOne(ctx, c, taskQueue, s, dryRun) // created concurrently by another replica
		}
		return ch, err
	}
	var nsnf *serviceerror.NamespaceNotFound
	if errors.As(err, &nsnf) {
		return Change{}, fmt.Errorf("describe: %w (create the namespace TEMPORAL_NAMESPACE names, "+
			"e.g. `temporal operator namespace create`, or unset it for \"default\")", err)
	}
	if err != nil {
		return Change{}, fmt.Errorf("describe: %w", err)
	}
	have, err := owned(desc.Schedule.Spec, desc.Schedule.Action, desc.Schedule.Policy)
	if err != nil {
		return Change{}, err
	}
	d := diff(have, want)
	if len(d) == 0 {
		return Change{ID: s.ID, Action: "unchanged"}, nil
	}
	ch := Change{ID: s.ID, Action: "update", Diff: d}
	if dryRun {
		return ch, nil
	}
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		cur := in.Description.Schedule // read-modify-write with the server's conflict token
		cur.Spec, cur.Action = mergeSpec(cur.Spec, spec), mergeAction(cur.Action, act)
		p := pol
		if cur.Policy != nil {
			p.PauseOnFailure = cur.Policy.PauseOnFailure // the operator's
		}
		cur.Policy = &p
		return &client.ScheduleUpdate{Schedule: &cur}, nil
	}})
	return ch, err
}

// mergeSpec is the current spec with the fields the project owns (those owned
// compares) replaced by ours; the operator's start and end time and skipped
// times stay.
func mergeSpec(cur *client.ScheduleSpec, ours client.ScheduleSpec) *client.ScheduleSpec {
	if cur == nil {
		return &ours
	}
	out := *cur
	out.Calendars, out.Intervals, out.CronExpressions = ours.Calendars, ours.Intervals, ours.CronExpressions
	out.Jitter, out.TimeZoneName = ours.Jitter, ours.TimeZoneName
	return &out
}

// mergeAction is the current workflow action with the fields the project owns
// (those owned compares) replaced by ours; the operator's
// memo, search attributes, execution and task timeouts, retry policy,
// details, priority and versioning override stay. An action of another kind
// is replaced whole.
func mergeAction(cur client.ScheduleAction, ours *client.ScheduleWorkflowAction) client.ScheduleAction {
	wa, ok := cur.(*client.ScheduleWorkflowAction)
	if !ok || wa == nil {
		return ours
	}
	out := *wa
	out.ID, out.Workflow, out.Args, out.TaskQueue = ours.ID, ours.Workflow, ours.Args, ours.TaskQueue
	out.WorkflowRunTimeout, out.StaticSummary = ours.WorkflowRunTimeout, ours.StaticSummary
	return &out
}

func diff(have, want map[string]string) []string {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			keys = append(keys, k) // e.g. an action of another kind, which the update replaces
		}
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		if have == nil {
			if want[k] != "" {
				out = append(out, fmt.Sprintf("%s: %s", k, want[k]))
			}
			continue
		}
		if have[k] != want[k] {
			out = append(out, fmt.Sprintf("%s: %q → %q", k, have[k], want[k]))
		}
	}
	return out
}
