package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/stream"
)

// addEntries adds n entries of one message each, without a counter (a
// missing counter counts one message per entry).
func addEntries(t *testing.T, e *coreEnv, key string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		require.NoError(t, e.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: key, Values: []string{stream.Field, "x"}}).Err())
	}
}

func getPipeline(t *testing.T, e *coreEnv, path string) PipelineState {
	t.Helper()
	r := e.do(t, "GET", path, testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var out PipelineState
	require.NoError(t, json.Unmarshal(r.body, &out), string(r.body))
	return out
}

func TestPipelineEmpty(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	out := getPipeline(t, e, "/api/v2/pipeline")
	require.Len(t, out.IngestStreams, e.keys.Shards)
	require.Len(t, out.AlertStreams, e.keys.Shards)
	require.Zero(t, out.IngestBacklog)
	require.Zero(t, out.AlertBacklog)
	require.Len(t, out.DLQ, 3)
	for _, d := range out.DLQ {
		require.Zero(t, d.Length)
	}
	// No breaker hash yet: the forwarders start closed.
	require.Equal(t, BreakerState{State: "closed"}, out.Breaker)
	require.Equal(t, e.now, out.GeneratedAt)
}

func TestPipelineReportsDepthsAndBreaker(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ingest, alerts := e.keys.IngestStreams(), e.keys.AlertStreams()
	addEntries(t, e, ingest[0], 3)
	addEntries(t, e, ingest[len(ingest)-1], 2)
	addEntries(t, e, alerts[0], 4)
	addEntries(t, e, e.keys.AlerterDLQ(), 1)
	addEntries(t, e, e.keys.MoogDLQ(), 2)
	addEntries(t, e, e.keys.Prefix+"dlq:poison", 5)
	require.NoError(t, e.rdb.HSet(t.Context(), e.keys.CircuitBreaker(), "state", "open", "failures", "7").Err())

	for _, v := range []string{"v1", "v2"} {
		out := getPipeline(t, e, "/api/"+v+"/pipeline")
		want := make([]StreamDepth, len(ingest))
		for i, k := range ingest {
			want[i] = StreamDepth{Stream: k}
		}
		want[0].Length += 3
		want[len(want)-1].Length += 2
		require.Equal(t, want, out.IngestStreams, v)
		require.Equal(t, int64(5), out.IngestBacklog, v)
		require.Equal(t, StreamDepth{Stream: alerts[0], Length: 4}, out.AlertStreams[0], v)
		require.Equal(t, int64(4), out.AlertBacklog, v)
		require.Equal(t, []StreamDepth{
			{Stream: e.keys.AlerterDLQ(), Length: 1},
			{Stream: e.keys.MoogDLQ(), Length: 2},
			{Stream: e.keys.Prefix + "dlq:poison", Length: 5},
		}, out.DLQ, v)
		require.Equal(t, BreakerState{State: "open", Failures: 7}, out.Breaker, v)
	}

	// Half-open after the probe is granted; the raw JSON carries the documented names.
	require.NoError(t, e.rdb.HSet(t.Context(), e.keys.CircuitBreaker(), "state", "half_open", "failures", "0").Err())
	m := e.do(t, "GET", "/api/v2/pipeline", testAdminKey, nil).json(t)
	require.Equal(t, map[string]any{"state": "half_open", "failures": float64(0)}, m["circuit_breaker"])
	require.EqualValues(t, 5, m["ingest_backlog"])
}

func TestPipelineNeedsKey(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	requireError(t, e.do(t, "GET", "/api/v2/pipeline", "", nil), http.StatusUnauthorized, "unauthorized")
}

// An ingest entry may hold several events (ADR 0048), an alert entry several
// alerts (ADR 0049): the ingest and alert depths and backlogs, on /pipeline
// and on the dashboard, count events and alerts, not entries; a DLQ counts
// entries.
func TestPipelineReportsEventsAndAlertsNotEntries(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ingest, alerts := e.keys.IngestStreams(), e.keys.AlertStreams()
	batch := []byte(`[{"event_id":"a"},{"event_id":"b"},{"event_id":"c"}]`)
	_, _, err := stream.Enqueue(t.Context(), e.rdb, ingest[0], 0, [][]byte{batch, []byte(`{"event_id":"d"}`)}, []int{3, 1})
	require.NoError(t, err)
	require.EqualValues(t, 2, e.rdb.XLen(t.Context(), ingest[0]).Val(), "two entries")
	// An alert entry holding three alerts, as the alerter writes it, and its
	// stream's counter; then one of a single alert.
	require.NoError(t, e.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: alerts[0], Values: []any{
		stream.Field, `[{"event_id":"x"},{"event_id":"y"},{"event_id":"z"}]`, stream.EventsField, 3}}).Err())
	require.NoError(t, e.rdb.Set(t.Context(), stream.CounterKey(alerts[0]), 3, 0).Err())
	_, err = stream.Push(t.Context(), e.rdb, alerts[0], 0, [][]byte{[]byte(`{"event_id":"w"}`)}, nil)
	require.NoError(t, err)
	require.EqualValues(t, 2, e.rdb.XLen(t.Context(), alerts[0]).Val(), "two entries")
	addEntries(t, e, e.keys.MoogDLQ(), 2)

	out := getPipeline(t, e, "/api/v2/pipeline")
	require.Equal(t, StreamDepth{Stream: ingest[0], Length: 4}, out.IngestStreams[0])
	require.Equal(t, int64(4), out.IngestBacklog, "four events")
	require.Equal(t, StreamDepth{Stream: alerts[0], Length: 4}, out.AlertStreams[0])
	require.Equal(t, int64(4), out.AlertBacklog, "four alerts")
	require.Equal(t, StreamDepth{Stream: e.keys.MoogDLQ(), Length: 2}, out.DLQ[1], "a DLQ counts entries")
	m := e.do(t, "GET", "/api/v2/pipeline", testReadOnlyKey, nil).json(t)
	require.EqualValues(t, 4, m["ingest_backlog"])
	require.EqualValues(t, 4, m["ingest_streams"].([]any)[0].(map[string]any)["length"])
	require.EqualValues(t, 4, m["alert_backlog"])
	require.EqualValues(t, 4, m["alert_streams"].([]any)[0].(map[string]any)["length"])

	r := e.do(t, http.MethodGet, "/api/v2/dashboard", testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var d Dashboard
	require.NoError(t, json.Unmarshal(r.body, &d))
	lengths := map[string]int64{}
	for _, s := range d.Shards {
		lengths[s.Stream] = s.Length
	}
	require.Equal(t, int64(4), lengths[ingest[0]], "the dashboard's ingest shard counts events")
	require.Equal(t, int64(4), lengths[alerts[0]], "the dashboard's alert shard counts alerts")
	dlqs := map[string]int64{}
	for _, q := range d.DLQ {
		dlqs[q.Stream] = q.Length
	}
	require.Equal(t, int64(2), dlqs[e.keys.MoogDLQ()])
}
