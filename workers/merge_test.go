package workers

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// The update apply sends keeps every field of the current action and spec it
// does not own, including those the integration test cannot set on the
// shared dev server (custom search attributes need registering there).
func TestMergeKeepsWhatTheProjectDoesNotOwn(t *testing.T) {
	t.Parallel()
	s := Schedule{ID: "mutt-retention", Workflow: "RetentionWorkflow", Input: map[string]int{"x": 1},
		Daily: &TimeOfDay{2, 0}, Jitter: time.Minute, RunTimeout: time.Hour, Description: "ours"}
	key := temporal.NewSearchAttributeKeyKeyword("Team")
	sa := temporal.NewSearchAttributes(key.ValueSet("dba"))
	untyped := map[string]*commonpb.Payload{"Legacy": {Data: []byte(`"x"`)}}
	memo := map[string]any{"owner": "dba-team"}
	retry := &temporal.RetryPolicy{MaximumAttempts: 4}
	cur := &client.ScheduleWorkflowAction{ID: "old-id", Workflow: "Old", TaskQueue: "old-q", Args: nil,
		WorkflowRunTimeout: time.Minute, WorkflowExecutionTimeout: 12 * time.Hour, WorkflowTaskTimeout: 30 * time.Second,
		RetryPolicy: retry, Memo: memo, TypedSearchAttributes: sa, UntypedSearchAttributes: untyped,
		StaticSummary: "theirs", StaticDetails: "runbook: wiki/retention", Priority: temporal.Priority{PriorityKey: 2}}

	got, ok := mergeAction(cur, s.action("mutt-ops")).(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	require.Equal(t, &client.ScheduleWorkflowAction{ID: "mutt-retention", Workflow: "RetentionWorkflow", TaskQueue: "mutt-ops",
		Args: []any{map[string]int{"x": 1}}, WorkflowRunTimeout: time.Hour, StaticSummary: "ours",
		WorkflowExecutionTimeout: 12 * time.Hour, WorkflowTaskTimeout: 30 * time.Second, RetryPolicy: retry, Memo: memo,
		TypedSearchAttributes: sa, UntypedSearchAttributes: untyped, StaticDetails: "runbook: wiki/retention",
		Priority: temporal.Priority{PriorityKey: 2}}, got)
	require.Equal(t, "Old", cur.Workflow, "the description is not modified in place")

	end := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	skip := []client.ScheduleCalendarSpec{{Comment: "holiday"}}
	spec := mergeSpec(&client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}},
		CronExpressions: []string{"@daily"}, EndAt: end, StartAt: end.AddDate(-80, 0, 0), Skip: skip}, s.spec())
	want := s.spec()
	want.EndAt, want.StartAt, want.Skip = end, end.AddDate(-80, 0, 0), skip
	require.Equal(t, &want, spec)

	// Another kind of action (none exists today) is replaced whole.
	require.Equal(t, s.action("q"), mergeAction(nil, s.action("q")))
}
