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
	"go.temporal.io/sdk/client"

	"github.com/mutt-ops/mutt/activities"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workers"
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
	// interval, no input, no jitter.
	ret := c.ScheduleClient().GetHandle(ctx, scheds[1].ID)
	require.NoError(t, ret.Pause(ctx, client.SchedulePauseOptions{Note: "paused for the DB upgrade"}))
	require.NoError(t, ret.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec = &client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}}
		a := *s.Action.(*client.ScheduleWorkflowAction)
		a.Args = nil
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
