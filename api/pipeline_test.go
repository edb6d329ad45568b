package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/stream"
)

func addEntries(t *testing.T, e *coreEnv, stream string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		require.NoError(t, e.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: stream, Values: []string{"n", "x"}}).Err())
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

// An ingest entry may hold several events (ADR 0048): the ingest depths and
// the backlog, on /pipeline and on the dashboard, count events, not entries.
func TestPipelineReportsIngestEventsNotEntries(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ingest := e.keys.IngestStreams()
	batch := []byte(`[{"event_id":"a"},{"event_id":"b"},{"event_id":"c"}]`)
	_, _, err := stream.Enqueue(t.Context(), e.rdb, ingest[0], 0, [][]byte{batch, []byte(`{"event_id":"d"}`)}, []int{3, 1})
	require.NoError(t, err)
	require.EqualValues(t, 2, e.rdb.XLen(t.Context(), ingest[0]).Val(), "two entries")
	addEntries(t, e, e.keys.AlertStreams()[0], 2)

	out := getPipeline(t, e, "/api/v2/pipeline")
	require.Equal(t, StreamDepth{Stream: ingest[0], Length: 4}, out.IngestStreams[0])
	require.Equal(t, int64(4), out.IngestBacklog, "four events")
	require.Equal(t, int64(2), out.AlertBacklog, "an alert stream counts entries")
	m := e.do(t, "GET", "/api/v2/pipeline", testReadOnlyKey, nil).json(t)
	require.EqualValues(t, 4, m["ingest_backlog"])
	require.EqualValues(t, 4, m["ingest_streams"].([]any)[0].(map[string]any)["length"])

	r := e.do(t, http.MethodGet, "/api/v2/dashboard", testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var d Dashboard
	require.NoError(t, json.Unmarshal(r.body, &d))
	lengths := map[string]int64{}
	for _, s := range d.Shards {
		lengths[s.Stream] = s.Length
	}
	require.Equal(t, int64(4), lengths[ingest[0]], "the dashboard's ingest shard counts events")
	require.Equal(t, int64(2), lengths[e.keys.AlertStreams()[0]])
}
