package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/mutt-ops/mutt/activities"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

// opsUIURL is the Temporal UI the tests' links point at (nothing serves it).
const opsUIURL = "http://temporal-ui.test:8233"

// newOpsEnv is a core environment whose API has a Temporal connection to the
// test dev server, and a real MUTT worker (every workflow and activity, on
// this test's own task queue and Redis prefix) that carries out its actions.
// schedules are the ops schedules the jobs page lists (workers.Schedules
// with the test's prefix, filtered by workflow name; none when empty).
func newOpsEnv(t *testing.T, scheduleWorkflows ...string) (*coreEnv, *Ops) {
	t.Helper()
	tc, tq := testenv.Temporal(t)
	ops := &Ops{Client: tc, Namespace: "default", TaskQueue: tq, IDPrefix: tq + "-", UIURL: opsUIURL}
	for _, s := range workers.Schedules(tq+"-", tq, workers.RetentionPolicy{}, false) {
		for _, w := range scheduleWorkflows {
			if s.Workflow == w {
				ops.Schedules = append(ops.Schedules, OpsSchedule{ID: s.ID, Workflow: s.Workflow, Description: s.Description})
			}
		}
	}
	e := newCoreEnv(t, func(o *Options) { o.Ops = ops })
	sim := moogsim.New(moogsim.Options{APIKey: "moog-key"})
	moog := httptest.NewServer(sim.Handler())
	t.Cleanup(moog.Close)
	deps := &activities.Deps{DB: e.db, Redis: e.rdb, Keys: e.keys, Log: slog.New(slog.DiscardHandler),
		Registerer: prometheus.NewRegistry(), MoogURL: moog.URL + "/api/v1/events", MoogAPIKey: "moog-key"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- workers.RunWorker(ctx, tc, tq, deps) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return e, ops
}

// addDeadLetters puts n entries in the alerter DLQ as the alerter writes
// them, with the given reason; it returns their ids.
func addDeadLetters(t *testing.T, e *coreEnv, n int, reason string) []string {
	t.Helper()
	var ids []string
	for i := range n {
		env := fmt.Sprintf(`{"event_id":"0190f0e0-0000-7000-8000-%012d","hostname":"dlq-host-%d","message":"%s %d","timestamp":"2026-03-04T10:00:00Z","source":"http"}`,
			i, i, reason, i)
		id, err := e.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: e.keys.AlerterDLQ(), Values: []any{
			stream.Field, env, "reason", reason, "error", "audit insert: " + reason, "attempts", "5",
			"failed_at", "2026-03-04T10:00:00Z", "source_stream", e.keys.IngestStreams()[0], "source_id", fmt.Sprintf("%d-0", i+1),
		}}).Result()
		require.NoError(t, err)
		ids = append(ids, id)
	}
	return ids
}

func TestDLQListsStreamsAndPagesEntries(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	addDeadLetters(t, e, 3, "max_attempts")
	addDeadLetters(t, e, 2, "shed")
	require.NoError(t, e.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: e.keys.SNMPDLQ(), Values: []any{
		"reason", "decode", "error", "bad ber", "raw", "\x30\x82\xff", "source_ip", "192.0.2.1", "failed_at", "2026-03-04T10:00:00Z"}}).Err())

	r := e.do(t, "GET", "/api/v2/dlq", testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	m := r.json(t)
	dlqs := m["dlqs"].([]any)
	require.Len(t, dlqs, len(DLQNames))
	counts := map[string]float64{}
	for _, d := range dlqs {
		counts[d.(map[string]any)["name"].(string)] = d.(map[string]any)["entries"].(float64)
	}
	require.Equal(t, map[string]float64{"alerter": 5, "moog": 0, "poison": 0, "syslog": 0, "snmp": 1}, counts)
	require.Equal(t, false, m["temporal"].(map[string]any)["configured"])
	require.Contains(t, m["temporal"].(map[string]any)["message"], "Temporal is not configured")

	// A page of two, then the next; the reason filter.
	r = e.do(t, "GET", "/api/v2/dlq/alerter?count=2", testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	m = r.json(t)
	require.EqualValues(t, 5, m["depth"])
	require.Len(t, m["entries"], 2)
	first := m["entries"].([]any)[0].(map[string]any)
	require.Equal(t, "max_attempts", first["reason"])
	require.Equal(t, "5", first["attempts"])
	require.Equal(t, "dlq-host-0", first["data"].(map[string]any)["hostname"])
	next := m["next_after"].(string)
	require.NotEmpty(t, next)
	r = e.do(t, "GET", "/api/v2/dlq/alerter?count=10&after="+next, testReadOnlyKey, nil)
	m = r.json(t)
	require.Len(t, m["entries"], 3)
	require.Empty(t, m["next_after"])
	r = e.do(t, "GET", "/api/v2/dlq/alerter?reason=shed", testReadOnlyKey, nil)
	m = r.json(t)
	require.Len(t, m["entries"], 2)
	for _, x := range m["entries"].([]any) {
		require.Equal(t, "shed", x.(map[string]any)["reason"])
	}
	// An SNMP packet is not text: shown as base64.
	r = e.do(t, "GET", "/api/v1/dlq/snmp", testReadOnlyKey, nil)
	m = r.json(t)
	require.Equal(t, map[string]any{"raw_base64": "MIL/"}, m["entries"].([]any)[0].(map[string]any)["data"])
	require.Equal(t, false, m["replayable"])

	for _, tc := range []struct{ path, field string }{
		{"/api/v2/dlq/alerter?count=0", "count"},
		{"/api/v2/dlq/alerter?count=x", "count"},
		{"/api/v2/dlq/alerter?after=%2B", "after"},
		{"/api/v2/dlq/alerter?reason=%01", "reason"},
	} {
		m := requireError(t, e.do(t, "GET", tc.path, testReadOnlyKey, nil), http.StatusBadRequest, errInvalidQuery)
		require.Contains(t, m["message"], tc.field, tc.path)
	}
	requireError(t, e.do(t, "GET", "/api/v2/dlq/nope", testReadOnlyKey, nil), http.StatusNotFound, errNotFound)
}

func TestDLQActionsRefuseBadInput(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t) // no Temporal
	ids := addDeadLetters(t, e, 1, "max_attempts")
	noReason := []string{"X-Change-Reason", ""}

	requireError(t, e.do(t, "POST", "/api/v2/dlq/alerter/replay", testReadOnlyKey, map[string]any{"ids": ids, "reason": "x"}),
		http.StatusForbidden, errForbidden)
	requireError(t, e.do(t, "POST", "/api/v2/dlq/alerter/discard", testReadOnlyKey, map[string]any{"all": true, "reason": "x"}),
		http.StatusForbidden, errForbidden)
	for _, tc := range []struct {
		name  string
		body  any
		code  string
		field string
	}{
		{"no reason", map[string]any{"ids": ids}, errInvalidField, "reason"},
		{"blank reason", map[string]any{"ids": ids, "reason": "   "}, errInvalidField, "reason"},
		{"nothing selected", map[string]any{"reason": "test"}, errInvalidField, "ids"},
		{"ids and all", map[string]any{"ids": ids, "all": true, "reason": "test"}, errInvalidField, "all"},
		{"bad id", map[string]any{"ids": []string{ids[0], "+"}, "reason": "test"}, errInvalidField, "ids[1]"},
		{"reasons with ids", map[string]any{"ids": ids, "reasons": []string{"shed"}, "reason": "test"}, errInvalidField, "reasons"},
		{"blank filter reason", map[string]any{"all": true, "reasons": []string{" "}, "reason": "test"}, errInvalidField, "reasons[0]"},
		{"wrong type", map[string]any{"ids": "1-0", "reason": "test"}, errInvalidField, "ids"},
		{"unknown field", map[string]any{"id": "1-0", "reason": "test"}, errInvalidField, "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := requireError(t, e.do(t, "POST", "/api/v2/dlq/alerter/replay", testAdminKey, tc.body, noReason...), http.StatusBadRequest, tc.code)
			require.Contains(t, m["message"], tc.field)
		})
	}
	m := requireError(t, e.do(t, "POST", "/api/v2/dlq/poison/replay", testAdminKey, map[string]any{"all": true, "reason": "test"}),
		http.StatusBadRequest, errInvalidValue)
	require.Contains(t, m["message"], "only be discarded")
	requireError(t, e.do(t, "POST", "/api/v2/dlq/nope/replay", testAdminKey, map[string]any{"all": true, "reason": "test"}),
		http.StatusNotFound, errNotFound)

	// Without Temporal: 503 that says so, and nothing audited or changed.
	m = requireError(t, e.do(t, "POST", "/api/v2/dlq/alerter/replay", testAdminKey, map[string]any{"ids": ids, "reason": "test"}),
		http.StatusServiceUnavailable, errUnavailable)
	require.Contains(t, m["message"], "Temporal is not configured")
	var n int
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT count(*) FROM config_audit_log WHERE table_name = 'dlq'`).Scan(&n))
	require.Zero(t, n)
	require.EqualValues(t, 1, e.rdb.XLen(t.Context(), e.keys.AlerterDLQ()).Val())
}

// waitRun waits until the run the API started closes and returns its result.
func waitRun(t *testing.T, ops *Ops, id, runID string) workflows.DLQResult {
	t.Helper()
	var res workflows.DLQResult
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	require.NoError(t, ops.Client.GetWorkflow(ctx, id, runID).Get(ctx, &res))
	return res
}

func TestDLQReplayAndDiscardRunTheRemediationWorkflow(t *testing.T) {
	t.Parallel()
	e, ops := newOpsEnv(t)
	ids := addDeadLetters(t, e, 3, "max_attempts")
	addDeadLetters(t, e, 2, "shed")

	// Replay one selected entry: it goes back to the ingest stream.
	r := e.do(t, "POST", "/api/v2/dlq/alerter/replay", testAdminKey, map[string]any{"ids": ids[:1], "reason": "  audit db back  "})
	require.Equal(t, http.StatusAccepted, r.code, string(r.body))
	m := r.json(t)
	wid, rid := m["workflow_id"].(string), m["run_id"].(string)
	require.Equal(t, opsUIURL+"/namespaces/default/workflows/"+wid+"/"+rid+"/history", m["temporal_url"])
	res := waitRun(t, ops, wid, rid)
	require.Equal(t, []workflows.DLQStreamResult{{Stream: "alerter", Examined: 1, Replayed: 1, Depth: 4}}, res.Streams)
	require.EqualValues(t, 4, e.rdb.XLen(t.Context(), e.keys.AlerterDLQ()).Val())
	ingested, err := stream.Depth(t.Context(), e.rdb, e.keys.IngestStreams()[0])
	require.NoError(t, err)
	require.EqualValues(t, 1, ingested, "one event back on the ingest stream")

	// The run answers on /jobs/runs with its result.
	r = e.do(t, "GET", "/api/v2/jobs/runs/"+wid+"?run_id="+rid, testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	run := r.json(t)["run"].(map[string]any)
	require.Equal(t, "completed", run["status"])
	require.NotNil(t, run["result"])

	// Discard every entry with reason "shed"; the others stay.
	r = e.do(t, "POST", "/api/v2/dlq/alerter/discard", testAdminKey, map[string]any{"all": true, "reasons": []string{"shed"}, "reason": "shed by load test"})
	require.Equal(t, http.StatusAccepted, r.code, string(r.body))
	m = r.json(t)
	res = waitRun(t, ops, m["workflow_id"].(string), m["run_id"].(string))
	require.Equal(t, 2, res.Streams[0].Discarded)
	left, err := e.rdb.XRange(t.Context(), e.keys.AlerterDLQ(), "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, left, 2)
	for _, x := range left {
		require.Equal(t, "max_attempts", x.Values["reason"])
	}

	// Both audited with the reason, who, and the workflow.
	rows, err := e.db.Query(t.Context(), `SELECT operation, record_id, reason, changed_by, new_values->>'workflow_id'
		FROM config_audit_log WHERE table_name = 'dlq' ORDER BY id`)
	require.NoError(t, err)
	var got [][5]string
	for rows.Next() {
		var x [5]string
		require.NoError(t, rows.Scan(&x[0], &x[1], &x[2], &x[3], &x[4]))
		got = append(got, x)
	}
	require.NoError(t, rows.Err())
	by := KeyName(testKeyNameSecret, testAdminKey, true)
	require.Equal(t, [][5]string{
		{"UPDATE", e.keys.AlerterDLQ(), "audit db back", by, wid},
		{"DELETE", e.keys.AlerterDLQ(), "shed by load test", by, m["workflow_id"].(string)},
	}, got)
}

func TestJobsWithoutTemporalSayHow(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	r := e.do(t, "GET", "/api/v2/jobs", testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	m := r.json(t)
	require.Equal(t, false, m["temporal"].(map[string]any)["configured"])
	require.Empty(t, m["schedules"])
	requireError(t, e.do(t, "GET", "/api/v2/jobs/runs/x", testReadOnlyKey, nil), http.StatusServiceUnavailable, errUnavailable)
}

// applySchedules creates the env's schedules on the test server (deleted at
// cleanup) and returns them.
func applySchedules(t *testing.T, ops *Ops) []workers.Schedule {
	t.Helper()
	var scheds []workers.Schedule
	for _, s := range workers.Schedules(ops.IDPrefix, ops.TaskQueue, workers.RetentionPolicy{}, false) {
		for _, o := range ops.Schedules {
			if o.ID == s.ID {
				scheds = append(scheds, s)
			}
		}
	}
	require.NotEmpty(t, scheds)
	_, err := workers.Apply(t.Context(), ops.Client, ops.TaskQueue, scheds, false, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, s := range scheds {
			_ = ops.Client.ScheduleClient().GetHandle(context.Background(), s.ID).Delete(context.Background())
		}
	})
	return scheds
}

// pauseSchedule pauses a schedule the test applied, so that it runs only
// when the test triggers it.
func pauseSchedule(t *testing.T, ops *Ops, id string) {
	t.Helper()
	require.NoError(t, ops.Client.ScheduleClient().GetHandle(t.Context(), id).
		Pause(t.Context(), client.SchedulePauseOptions{Note: "paused by the test"}))
}

// applyAndTrigger creates the env's schedules on the test server (deleted
// at cleanup), triggers the first and waits for that run to complete.
func applyAndTrigger(t *testing.T, ops *Ops) {
	t.Helper()
	scheds := applySchedules(t, ops)
	h := ops.Client.ScheduleClient().GetHandle(t.Context(), scheds[0].ID)
	require.NoError(t, h.Trigger(t.Context(), client.ScheduleTriggerOptions{}))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		d, err := h.Describe(t.Context())
		if !assert.NoError(c, err) || !assert.NotEmpty(c, d.Info.RecentActions) {
			return
		}
		a := d.Info.RecentActions[len(d.Info.RecentActions)-1].StartWorkflowResult
		if !assert.NotNil(c, a) {
			return
		}
		w, err := ops.Client.DescribeWorkflow(t.Context(), a.WorkflowID, a.FirstExecutionRunID)
		if assert.NoError(c, err) {
			assert.Equal(c, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, w.RawResponse.GetWorkflowExecutionInfo().GetStatus())
		}
	}, 60*time.Second, 200*time.Millisecond)
}

func TestJobsListSchedulesAndRuns(t *testing.T) {
	t.Parallel()
	e, ops := newOpsEnv(t, "DLQRemediationWorkflow", "SLOReportWorkflow")
	// The SLO schedule is listed but not created here: the page says so.
	ops.Schedules = append(ops.Schedules[:1:1], OpsSchedule{ID: ops.IDPrefix + "missing", Workflow: "SLOReportWorkflow", Description: "never applied"})
	applyAndTrigger(t, ops)

	r := e.do(t, "GET", "/api/v2/jobs", testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	m := r.json(t)
	require.Equal(t, true, m["temporal"].(map[string]any)["configured"])
	scheds := m["schedules"].([]any)
	require.Len(t, scheds, 2)
	dlq := scheds[0].(map[string]any)
	require.Equal(t, ops.IDPrefix+"mutt-dlq-remediation", dlq["id"])
	require.Equal(t, true, dlq["exists"])
	require.Equal(t, "every 5m0s, jitter 30s", dlq["spec"])
	require.NotEmpty(t, dlq["next_runs"])
	require.Equal(t, opsUIURL+"/namespaces/default/schedules/"+ops.IDPrefix+"mutt-dlq-remediation", dlq["temporal_url"])
	last := dlq["last_run"].(map[string]any)
	require.Equal(t, "completed", last["status"])
	require.Contains(t, last["result"], "streams")
	require.Contains(t, last["temporal_url"], opsUIURL+"/namespaces/default/workflows/")
	missing := scheds[1].(map[string]any)
	require.Equal(t, false, missing["exists"])
	require.Contains(t, missing["error"], "mutt schedules apply")
}

// "Run now": admin only, with a reason, audited; the answer names the run
// the trigger started, whose memo then shows on the jobs list.
func TestJobsRunNowTriggersTheScheduleAudited(t *testing.T) {
	t.Parallel()
	e, ops := newOpsEnv(t, "DLQRemediationWorkflow")
	addDeadLetters(t, e, 1, "max_attempts")
	applySchedules(t, ops)
	id := ops.IDPrefix + "mutt-dlq-remediation"
	pauseSchedule(t, ops, id) // runs only when the test says so; a paused schedule can still be triggered
	path := "/api/v2/jobs/" + id + "/trigger"
	noReason := []string{"X-Change-Reason", ""}

	requireError(t, e.do(t, "POST", path, testReadOnlyKey, map[string]any{"reason": "catch up"}), http.StatusForbidden, errForbidden)
	for _, body := range []any{map[string]any{}, map[string]any{"reason": "   "}} {
		m := requireError(t, e.do(t, "POST", path, testAdminKey, body, noReason...), http.StatusBadRequest, errInvalidField)
		require.Contains(t, m["message"], "reason")
	}
	m := requireError(t, e.do(t, "POST", "/api/v2/jobs/"+ops.IDPrefix+"mutt-nope/trigger", testAdminKey, map[string]any{"reason": "x"}),
		http.StatusNotFound, errNotFound)
	require.Contains(t, m["message"], id)

	r := e.do(t, "POST", path, testAdminKey, map[string]any{"reason": "  moogsoft is back  "})
	require.Equal(t, http.StatusAccepted, r.code, string(r.body))
	m = r.json(t)
	require.Equal(t, "started", m["status"])
	require.Equal(t, "DLQRemediationWorkflow", m["workflow"])
	run := m["run"].(map[string]any)
	wid, rid := run["workflow_id"].(string), run["run_id"].(string)
	require.True(t, strings.HasPrefix(wid, id), wid)
	require.Equal(t, opsUIURL+"/namespaces/default/workflows/"+wid+"/"+rid+"/history", run["temporal_url"])
	res := waitRun(t, ops, wid, rid)
	require.Equal(t, 1, res.Streams[1].Replayed)

	// The jobs list shows the run with the outcome and counts of its memo.
	r = e.do(t, "GET", "/api/v2/jobs", testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	last := r.json(t)["schedules"].([]any)[0].(map[string]any)["last_run"].(map[string]any)
	require.Equal(t, wid, last["workflow_id"])
	memo := last["memo"].(map[string]any)
	require.Equal(t, "replayed 1, parked 0, discarded 0, left 0", memo["outcome"])
	require.EqualValues(t, 1, memo["counts"].(map[string]any)["replayed"])

	var got [4]string
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT operation, record_id, reason, changed_by
		FROM config_audit_log WHERE table_name = 'schedule'`).Scan(&got[0], &got[1], &got[2], &got[3]))
	require.Equal(t, [4]string{"UPDATE", id, "moogsoft is back", KeyName(testKeyNameSecret, testAdminKey, true)}, got)
}

// Without Temporal "Run now" is a 503 that says so, and nothing is audited.
func TestJobsRunNowWithoutTemporalSaysSo(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	m := requireError(t, e.do(t, "POST", "/api/v2/jobs/mutt-retention/trigger", testAdminKey, map[string]any{"reason": "test"}),
		http.StatusServiceUnavailable, errUnavailable)
	require.Contains(t, m["message"], "Temporal is not configured")
	var n int
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT count(*) FROM config_audit_log WHERE table_name = 'schedule'`).Scan(&n))
	require.Zero(t, n)
}

// TestValidRunIDIsAUUID: a run_id Temporal would refuse as invalid (a hex
// string that is not a UUID) is a 400 of the API, not a 503 from Temporal.
func TestValidRunIDIsAUUID(t *testing.T) {
	require.True(t, validRunID("0193a0b0-0000-7000-8000-000000000000"))
	for _, bad := range []string{"99999999999999999999999", "x", "0193a0b000007000800000000000000", "{0193a0b0-0000-7000-8000-000000000000}",
		"urn:uuid:0193a0b0-0000-7000-8000-000000000000", "0193a0b0-0000-7000-8000-00000000000g"} {
		require.False(t, validRunID(bad), bad)
	}
}
