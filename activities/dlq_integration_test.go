package activities

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workflows"
)

// dlqHistoryFile is the recorded history the workflows package replays
// (workflows/dlq_replay_test.go). Re-record it, after a deliberate change of
// the workflow, with MUTT_RECORD_HISTORY=1 go test ./activities -run TestDLQRemediationWorkflowEndToEnd.
const dlqHistoryFile = "../workflows/testdata/dlq_remediation_history.json"

// dlqWebhookPath is where the simulator takes events, and what the probe
// asks (MOOG_WEBHOOK_URL).
const dlqWebhookPath = "/api/v1/events"

// newDLQMoogsoft serves a Moogsoft simulator, as `mutt moog-sim` does.
func newDLQMoogsoft(t *testing.T) (*moogsim.Sim, string) {
	t.Helper()
	sim := moogsim.New(moogsim.Options{APIKey: "moog-key"})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv.URL + dlqWebhookPath
}

// dlqWorker starts a real worker on a test queue of the dev server with the
// workflows and the DLQ activities, registered as production registers them
// (only this area's activities: the others need what this test lacks).
func dlqWorker(t *testing.T, rdb redis.UniversalClient, keys keyspace.Keys, moogURL string) (client.Client, string, *prometheus.Registry) {
	t.Helper()
	c, tq := testenv.Temporal(t)
	d := dlqDeps(rdb, keys, moogURL)
	w := worker.New(c, tq, worker.Options{})
	workflows.Register(w)
	require.NoError(t, registerDLQ(w, d))
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	reg, ok := d.Registerer.(*prometheus.Registry)
	require.True(t, ok)
	return c, tq, reg
}

// dlqRun starts DLQRemediationWorkflow by its type name, as an operator or a
// schedule does, and waits for its result.
func dlqRun(t *testing.T, c client.Client, tq, id string, args ...any) (workflows.DLQResult, client.WorkflowRun) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: tq + "-" + id, TaskQueue: tq}, "DLQRemediationWorkflow", args...)
	require.NoError(t, err)
	var res workflows.DLQResult
	require.NoError(t, run.Get(ctx, &res))
	return res, run
}

func dlqStream(t *testing.T, res workflows.DLQResult, name string) workflows.DLQStreamResult {
	t.Helper()
	for _, s := range res.Streams {
		if s.Stream == name {
			return s
		}
	}
	require.Failf(t, "stream missing from result", "%s not in %+v", name, res.Streams)
	return workflows.DLQStreamResult{}
}

func TestDLQRemediationWorkflowEndToEnd(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	moog, moogURL := newDLQMoogsoft(t)
	c, tq, reg := dlqWorker(t, rdb, keys, moogURL)

	dlqDeadLetter(t, rdb, keys, workflows.DLQMoog, 0, "moog_rejected", 0, `{"event_id":"m-fresh"}`)
	poison := dlqDeadLetter(t, rdb, keys, workflows.DLQMoog, 0, "retry_exhausted", 3, `{"event_id":"m-poison"}`)
	dlqDeadLetter(t, rdb, keys, workflows.DLQAlerter, 0, "audit_rejected", 0, `{"event_id":"a-1"}`, `{"event_id":"a-2"}`)

	// 1. Moogsoft is down: the moog DLQ stays, the alerter DLQ (which does
	// not need Moogsoft) is replayed. No input at all means the defaults.
	moog.Fail(http.StatusServiceUnavailable, -1)
	res, _ := dlqRun(t, c, tq, "down")
	require.NotNil(t, res.MoogHealth)
	require.False(t, res.MoogHealth.Healthy)
	require.Equal(t, http.StatusServiceUnavailable, res.MoogHealth.Status)
	m := dlqStream(t, res, workflows.DLQMoog)
	require.False(t, *m.MoogHealthy)
	require.Zero(t, m.Examined)
	require.Equal(t, 2, m.SkippedUnhealthy)
	require.EqualValues(t, 2, m.Depth)
	al := dlqStream(t, res, workflows.DLQAlerter)
	require.Equal(t, 2, al.Replayed)
	require.EqualValues(t, 0, al.Depth)
	require.Equal(t, map[string]string{`{"event_id":"a-1"}`: "1", `{"event_id":"a-2"}`: "1"}, dlqPayloads(t, rdb, keys.IngestStream(0)))
	require.Empty(t, dlqPayloads(t, rdb, keys.AlertStream(0)))

	require.Equal(t, 1, moog.Probes())
	require.Zero(t, moog.Requests(), "the probe never posts an event")

	// 2. Healed, but the unhealthy answer is cached for a minute for every worker.
	moog.Heal()
	res, _ = dlqRun(t, c, tq, "cached", workflows.DLQInput{Streams: []string{"moog"}})
	require.True(t, res.MoogHealth.Cached)
	require.False(t, res.MoogHealth.Healthy)
	require.Len(t, res.Streams, 1)
	require.Equal(t, 1, moog.Probes(), "no second probe within the cache TTL")

	// 3. The cache expires (dropped here); a dry run reports and changes nothing.
	require.NoError(t, rdb.Del(ctx, MoogHealthCache(keys)).Err())
	res, _ = dlqRun(t, c, tq, "dry", workflows.DLQInput{Streams: []string{"moog"}, DryRun: true})
	require.True(t, res.DryRun)
	require.True(t, res.MoogHealth.Healthy)
	require.Equal(t, http.StatusMethodNotAllowed, res.MoogHealth.Status,
		"the webhook only takes POSTs, and answers (401 had the probe not sent MOOG_API_KEY)")
	require.Equal(t, 2, moog.Probes())
	m = dlqStream(t, res, workflows.DLQMoog)
	require.Equal(t, workflows.DLQStreamResult{Stream: "moog", Examined: 2, Replayed: 1, Poisoned: 1, MoogHealthy: m.MoogHealthy, Depth: 2}, m)
	require.Len(t, res.Poisoned, 1)
	require.Empty(t, dlqPayloads(t, rdb, keys.AlertStream(0)))
	n, err := rdb.Exists(ctx, keys.PoisonDLQ()).Result()
	require.NoError(t, err)
	require.Zero(t, n)

	// 4. Healthy: the fresh alert goes back to the alert stream with
	// replays=1; the one replayed three times already is parked and reported.
	res, run := dlqRun(t, c, tq, "healthy", workflows.DLQInput{})
	require.True(t, res.MoogHealth.Healthy)
	m = dlqStream(t, res, workflows.DLQMoog)
	require.Equal(t, 2, m.Examined)
	require.Equal(t, 1, m.Replayed)
	require.Equal(t, 1, m.Poisoned)
	require.EqualValues(t, 0, m.Depth)
	require.Equal(t, map[string]string{`{"event_id":"m-fresh"}`: "1"}, dlqPayloads(t, rdb, keys.AlertStream(0)))
	require.Len(t, res.Poisoned, 1)
	p := res.Poisoned[0]
	require.Equal(t, poison[0], p.ID)
	require.Equal(t, "moog", p.DLQ)
	require.Equal(t, "retry_exhausted", p.Reason)
	require.EqualValues(t, 3, p.Replays)
	require.Equal(t, "max_replays", p.Cause)
	require.EqualValues(t, 1, res.PoisonDepth)
	parked, err := rdb.XRange(ctx, keys.PoisonDLQ(), "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, parked, 1)
	require.Equal(t, p.PoisonID, parked[0].ID)
	require.Equal(t, `{"event_id":"m-poison"}`, parked[0].Values["d"])
	require.Equal(t, "moog", parked[0].Values["dlq"])
	require.Contains(t, parked[0].Values, "poisoned_at")

	require.InDelta(t, 3, testenv.Metric(t, reg, "mutt_auto_remediation_total", map[string]string{"action": "replayed"}), 0)
	require.InDelta(t, 1, testenv.Metric(t, reg, "mutt_auto_remediation_total", map[string]string{"action": "poisoned"}), 0)
	require.InDelta(t, 2+2, testenv.Metric(t, reg, "mutt_auto_remediation_total", map[string]string{"action": "skipped_unhealthy"}), 0)
	require.InDelta(t, 1, testenv.Metric(t, reg, "mutt_moog_health_status", nil), 0)
	require.InDelta(t, 1, testenv.Metric(t, reg, "mutt_dlq_depth", map[string]string{"dlq": "poison"}), 0)
	require.InDelta(t, 0, testenv.Metric(t, reg, "mutt_dlq_depth", map[string]string{"dlq": "moog"}), 0)
	require.InDelta(t, 0, testenv.Metric(t, reg, "mutt_dlq_depth", map[string]string{"dlq": "alerter"}), 0)
	// The Python MUTT's names count alike (docs/MIGRATION_FROM_PYTHON_MUTT.md, metrics table).
	require.InDelta(t, 3, testenv.Metric(t, reg, "mutt_auto_remediation_total", map[string]string{"action": "dlq_replay"}), 0)
	require.InDelta(t, 3, testenv.Metric(t, reg, "mutt_remediation_replay_success_total", nil), 0)
	require.InDelta(t, 1, testenv.Metric(t, reg, "mutt_remediation_poison_messages_total", nil), 0)
	require.InDelta(t, 1, testenv.Metric(t, reg, "mutt_remediation_moog_health", nil), 0)
	require.InDelta(t, 1, testenv.Metric(t, reg, "mutt_remediation_dlq_depth", map[string]string{"dlq_name": keys.PoisonDLQ()}), 0)
	require.GreaterOrEqual(t, testenv.Metric(t, reg, "mutt_remediation_loops_total", nil), 1.0)
	require.InDelta(t, 0, testenv.Metric(t, reg, "mutt_remediation_replay_fail_total", map[string]string{"reason": "redis_error"}), 0)
	require.GreaterOrEqual(t, testenv.Metric(t, reg, "mutt_remediation_loop_duration_seconds", nil), 1.0)

	// Its outcome is in the memo, for the Temporal UI and the console.
	desc, err := c.DescribeWorkflow(t.Context(), run.GetID(), run.GetRunID())
	require.NoError(t, err)
	memo := desc.RawResponse.GetWorkflowExecutionInfo().GetMemo().GetFields()
	require.Contains(t, memo, "outcome")
	require.Contains(t, string(memo["outcome"].GetData()), "replayed 1, parked 1, discarded 0")

	// The run replays deterministically from its history; record it as the
	// golden history when asked.
	h := testenv.WorkflowHistory(t, c, run)
	replayHistory(t, h)
	if os.Getenv("MUTT_RECORD_HISTORY") != "" {
		recordHistory(t, h, dlqHistoryFile)
	}
}

// A replayed entry that fails again keeps its count through a real
// stream.Consumer, so it is parked after max_replays instead of bouncing.
func TestDLQReplayRoundTripKeepsCount(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	_, moogURL := newDLQMoogsoft(t)
	c, tq, _ := dlqWorker(t, rdb, keys, moogURL)

	dlqDeadLetter(t, rdb, keys, workflows.DLQMoog, 0, "moog_rejected", 0, `{"event_id":"m"}`)
	dlqDeadLetter(t, rdb, keys, workflows.DLQAlerter, 0, "decode_error", 0, `{"event_id":"a"}`)
	in := workflows.DLQInput{MaxReplays: 2}

	for round := int64(1); round <= 2; round++ {
		res, _ := dlqRun(t, c, tq, "round-"+strconv.FormatInt(round, 10), in)
		for _, s := range res.Streams {
			require.Equal(t, 1, s.Replayed, "round %d %s", round, s.Stream)
		}
		// Both stages fail again.
		for _, stage := range []string{workflows.DLQMoog, workflows.DLQAlerter} {
			got := dlqBounce(t, rdb, keys, stage, 0, "again", 1)
			require.Equal(t, round, got[0].Replays, "the consumer sees the replay count")
			_, _, dlq := dlqStageKeys(keys, stage, 0)
			left, err := rdb.XRange(context.Background(), dlq, "-", "+").Result()
			require.NoError(t, err)
			require.Len(t, left, 1)
			require.Equal(t, strconv.FormatInt(round, 10), left[0].Values["replays"], "dead-lettering keeps the count")
		}
	}

	res, _ := dlqRun(t, c, tq, "park", in)
	require.Len(t, res.Poisoned, 2)
	for _, p := range res.Poisoned {
		require.EqualValues(t, 2, p.Replays)
		require.Equal(t, "again", p.Reason)
	}
	require.EqualValues(t, 2, res.PoisonDepth)
	require.Empty(t, dlqPayloads(t, rdb, keys.AlertStream(0)))
	require.Empty(t, dlqPayloads(t, rdb, keys.IngestStream(0)))
}
