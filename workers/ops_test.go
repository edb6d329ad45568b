package workers_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/mutt-ops/mutt/activities"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

// runProcess runs a `mutt worker` process (without listener) on the test
// server's queue tq until the test ends.
func runProcess(t *testing.T, p *workers.Process) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, io.Discard) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
}

// TestDevServerWithAnotherNamespace is `TEMPORAL_NAMESPACE=mutt-ops mutt dev`
// with no Temporal running: the dev server it starts must have that namespace,
// or applying the schedules fails with "namespace not found".
func TestDevServerWithAnotherNamespace(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	ns := "mutt-test-" + uuid.NewString()[:8]
	ds, err := workers.StartDevServer(ctx, testenv.FreeAddr(t), ns, log)
	require.NoError(t, err)
	t.Cleanup(ds.Stop)

	c, err := workers.Dial(ctx, workers.TemporalConn{Address: ds.Address, Namespace: ns}, log)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	// As mutt dev: apply the schedules, then run the worker.
	_, err = workers.Apply(ctx, c, workflows.TaskQueue, workers.Schedules("", workflows.TaskQueue, policy, false), false, io.Discard)
	require.NoError(t, err)
	rdb, keys := testenv.Redis(t)
	runProcess(t, &workers.Process{Client: c, Log: log, TaskQueue: workflows.TaskQueue, Cfg: workers.Config{Retention: policy},
		Deps: &activities.Deps{Redis: rdb, Keys: keys, Log: log, Registerer: prometheus.NewRegistry()}})

	// A trigger runs the DLQ remediation in the namespace (Moogsoft is not
	// configured: only the alerter DLQ, empty here, is replayed).
	h := c.ScheduleClient().GetHandle(ctx, "mutt-dlq-remediation")
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var wfID string
	require.Eventually(t, func() bool {
		d, err := h.Describe(ctx)
		if err != nil || len(d.Info.RecentActions) == 0 {
			return false
		}
		wfID = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
		return true
	}, 30*time.Second, 100*time.Millisecond)
	var res workflows.DLQResult
	require.NoError(t, c.GetWorkflow(ctx, wfID, "").Get(ctx, &res))
	require.NotNil(t, res.MoogHealth)
	require.False(t, res.MoogHealth.Healthy)
	require.Len(t, res.Streams, 2)
}

// A run started by hand as the runbook shows, with only dry_run, uses the
// retention policy the worker is configured with (not the code defaults),
// and replays deterministically.
func TestManualRunUsesTheWorkersPolicy(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, tq := testenv.Temporal(t)
	db := testenv.Postgres(t)
	log := slog.New(slog.DiscardHandler)
	configured := workers.RetentionPolicy{PartitionAdvanceMonths: 5, EventRetentionDays: 30, ArchiveRetentionDays: 400,
		ConfigAuditRetentionDays: 60}
	runProcess(t, &workers.Process{Client: c, Log: log, TaskQueue: tq, Cfg: workers.Config{Retention: configured},
		Deps: &activities.Deps{DB: db, Log: log, Registerer: prometheus.NewRegistry()}})

	dryRun := map[string]any{"dry_run": true} // --input '{"dry_run":true}'
	start := func(wf string) client.WorkflowRun {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: tq + "-" + wf, TaskQueue: tq}, wf, dryRun)
		require.NoError(t, err)
		return run
	}
	run := start("RetentionWorkflow")
	var ret workflows.RetentionResult
	require.NoError(t, run.Get(ctx, &ret))
	require.True(t, ret.DryRun)
	require.Equal(t, []int{30, 400, 60}, []int{ret.EventRetentionDays, ret.ArchiveRetentionDays, ret.ConfigAuditRetentionDays})
	require.True(t, ret.EventCutoff.Equal(ret.Now.AddDate(0, 0, -30)), "event cut-off %s for now %s", ret.EventCutoff, ret.Now)
	require.True(t, ret.ConfigAuditCutoff.Equal(ret.Now.AddDate(0, 0, -60)))
	replay(t, c, run)

	run = start("PartitionMaintenanceWorkflow")
	var part workflows.PartitionResult
	require.NoError(t, run.Get(ctx, &part))
	require.Equal(t, 5, part.AdvanceMonths)
	last := schema.MonthStart(part.Now).AddDate(0, 5, 0)
	require.Contains(t, part.Created, schema.PartitionName(last), "5 months ahead, not the code's 3")
	require.NotContains(t, part.Created, schema.PartitionName(last.AddDate(0, 1, 0)))
	replay(t, c, run)
}

func replay(t *testing.T, c client.Client, run client.WorkflowRun) {
	t.Helper()
	h := testenv.WorkflowHistory(t, c, run)
	require.True(t, strings.Contains(h.String(), "LocalActivity"), "the policy is read by a recorded local activity")
	r := worker.NewWorkflowReplayer()
	workflows.Register(r)
	require.NoError(t, r.ReplayWorkflowHistory(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), h))
}

// Temporal runs but lacks the configured namespace (mutt dev only starts a
// server when none answers): apply says what to do.
func TestApplyNamesAMissingNamespace(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := workers.Dial(ctx, workers.TemporalConn{Address: testenv.TemporalAddress(), Namespace: "mutt-missing-" + uuid.NewString()[:8]},
		slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	_, err = workers.Apply(ctx, c, "q", workers.Schedules("x-", "q", policy, false)[:1], true, io.Discard)
	require.ErrorContains(t, err, "TEMPORAL_NAMESPACE")
}
