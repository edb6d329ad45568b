package workers_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/mutt-ops/mutt/activities"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

var policy = workers.RetentionPolicy{PartitionAdvanceMonths: 3, EventRetentionDays: 90, ArchiveRetentionDays: 2555, ConfigAuditRetentionDays: 365}

func TestApplyIsIdempotentAndKeepsOperatorSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, tq := testenv.Temporal(t)
	scheds := workers.Schedules(tq+"-", tq, policy, false)
	t.Cleanup(func() {
		for _, s := range scheds {
			_ = c.ScheduleClient().GetHandle(context.Background(), s.ID).Delete(context.Background())
		}
	})

	var out bytes.Buffer
	ch, err := workers.Apply(ctx, c, tq, scheds, true, &out)
	require.NoError(t, err)
	for _, x := range ch {
		require.Equal(t, "create", x.Action)
	}
	require.Contains(t, out.String(), "would create")
	_, err = c.ScheduleClient().GetHandle(ctx, scheds[0].ID).Describe(ctx)
	require.Error(t, err, "a dry run creates nothing")

	ch, err = workers.Apply(ctx, c, tq, scheds, false, io.Discard)
	require.NoError(t, err)
	require.Len(t, ch, len(scheds))
	d0, err := c.ScheduleClient().GetHandle(ctx, scheds[len(scheds)-1].ID).Describe(ctx)
	require.NoError(t, err)
	require.True(t, d0.Schedule.State.Paused, "secret rotation schedules start paused unless enabled")
	ch, err = workers.Apply(ctx, c, tq, scheds, false, io.Discard)
	require.NoError(t, err)
	for _, x := range ch {
		require.Equal(t, "unchanged", x.Action, x.ID)
	}

	// An operator pauses the retention schedule with a note, then someone runs
	// `temporal schedule update`, which replaces the whole schedule: a different
	// interval, no input, no jitter (MUTT's fields), and settings MUTT does not
	// own: a memo, an end and a start time, a skipped day, execution and task
	// timeouts, a retry policy.
	startAt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	endAt := time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
	skip := []client.ScheduleCalendarSpec{{Month: []client.ScheduleRange{{Start: 12, End: 12}},
		DayOfMonth: []client.ScheduleRange{{Start: 25, End: 25}}, Comment: "no maintenance on Christmas"}}
	retry := &temporal.RetryPolicy{InitialInterval: time.Minute, BackoffCoefficient: 2, MaximumInterval: time.Hour, MaximumAttempts: 4}
	ret := c.ScheduleClient().GetHandle(ctx, scheds[1].ID)
	require.NoError(t, ret.Pause(ctx, client.SchedulePauseOptions{Note: "paused for the DB upgrade"}))
	require.NoError(t, ret.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec = &client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}},
			StartAt: startAt, EndAt: endAt, Skip: skip}
		a := *s.Action.(*client.ScheduleWorkflowAction)
		a.Args = nil
		a.Memo = map[string]any{"owner": "dba-team"}
		a.WorkflowExecutionTimeout, a.WorkflowTaskTimeout = 12*time.Hour, 30*time.Second
		a.RetryPolicy = retry
		s.Action = &a
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}}))

	out.Reset()
	ch, err = workers.Apply(ctx, c, tq, scheds, true, &out)
	require.NoError(t, err)
	require.Equal(t, "update", ch[1].Action)
	require.Contains(t, out.String(), "would update")
	require.Contains(t, out.String(), "spec.intervals")
	require.Contains(t, out.String(), "action.input")
	var fields []string
	for _, d := range ch[1].Diff {
		fields = append(fields, d[:strings.Index(d, ":")])
	}
	require.Equal(t, []string{"action.input", "spec.calendars", "spec.intervals", "spec.jitter", "spec.time_zone"}, fields,
		"the diff lists what apply changes, and nothing of the operator's")
	for i, x := range ch {
		if i != 1 {
			require.Equal(t, "unchanged", x.Action, x.ID)
		}
	}

	_, err = workers.Apply(ctx, c, tq, scheds, false, io.Discard)
	require.NoError(t, err)
	d, err := ret.Describe(ctx)
	require.NoError(t, err)
	require.True(t, d.Schedule.State.Paused, "the operator's pause is kept")
	require.Equal(t, "paused for the DB upgrade", d.Schedule.State.Note)
	require.Len(t, d.Schedule.Spec.Calendars, 1, "the project's spec is back")
	require.Empty(t, d.Schedule.Spec.Intervals)
	require.Equal(t, 10*time.Minute, d.Schedule.Spec.Jitter)
	wa, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	require.Len(t, wa.Args, 1, "the project's input is back")
	var in workflows.RetentionInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(wa.Args[0].(*commonpb.Payload), &in))
	require.Equal(t, policy.EventRetentionDays, in.EventRetentionDays)
	// The operator's settings survived the update.
	require.True(t, d.Schedule.Spec.EndAt.Equal(endAt), "end time: %s", d.Schedule.Spec.EndAt)
	require.True(t, d.Schedule.Spec.StartAt.Equal(startAt), "start time: %s", d.Schedule.Spec.StartAt)
	require.Len(t, d.Schedule.Spec.Skip, 1)
	require.Equal(t, "no maintenance on Christmas", d.Schedule.Spec.Skip[0].Comment)
	require.Contains(t, wa.Memo, "owner")
	var owner string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(wa.Memo["owner"].(*commonpb.Payload), &owner))
	require.Equal(t, "dba-team", owner)
	require.Equal(t, 12*time.Hour, wa.WorkflowExecutionTimeout)
	require.Equal(t, 30*time.Second, wa.WorkflowTaskTimeout)
	require.NotNil(t, wa.RetryPolicy)
	require.Equal(t, int32(4), wa.RetryPolicy.MaximumAttempts)
	require.Equal(t, time.Minute, wa.RetryPolicy.InitialInterval)
	ch, err = workers.Apply(ctx, c, tq, scheds, false, io.Discard)
	require.NoError(t, err)
	for _, x := range ch {
		require.Equal(t, "unchanged", x.Action, x.ID)
	}
}

// TestTriggeredScheduleRunsTheWorkflow is the operator's `temporal schedule
// trigger`: the partition-maintenance schedule starts its workflow on a real
// worker, which creates the partitions ahead in PostgreSQL.
func TestTriggeredScheduleRunsTheWorkflow(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, tq := testenv.Temporal(t)
	db := testenv.Postgres(t)
	rdb, keys := testenv.Redis(t)
	deps := &activities.Deps{DB: db, Redis: rdb, Keys: keys, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registerer: prometheus.NewRegistry()}
	done := make(chan error, 1)
	go func() { done <- workers.RunWorker(ctx, c, tq, deps) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	scheds := workers.Schedules(tq+"-", tq, policy, false)
	t.Cleanup(func() {
		for _, s := range scheds {
			_ = c.ScheduleClient().GetHandle(context.Background(), s.ID).Delete(context.Background())
		}
	})
	_, err := workers.Apply(ctx, c, tq, scheds[:1], false, io.Discard)
	require.NoError(t, err)
	h := c.ScheduleClient().GetHandle(ctx, scheds[0].ID)
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))

	var wfID string
	require.Eventually(t, func() bool {
		d, err := h.Describe(ctx)
		if err != nil || len(d.Info.RecentActions) == 0 {
			return false
		}
		wfID = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
		return true
	}, 20*time.Second, 100*time.Millisecond)
	require.True(t, strings.HasPrefix(wfID, scheds[0].ID))
	require.NoError(t, c.GetWorkflow(ctx, wfID, "").Get(ctx, nil))

	for i := 0; i <= 3; i++ {
		name := schema.PartitionName(schema.MonthStart(time.Now()).AddDate(0, i, 0))
		var exists bool
		require.NoError(t, db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists))
		require.True(t, exists, name)
	}
}
