package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestStatusCountsEventsAndAlerts: an ingest entry may hold several events
// (ADR 0048), an alert entry several alerts (ADR 0049); status reports an
// ingest stream's backlog in events, an alert stream's in alerts, a DLQ's in
// entries. Nothing else runs here: exit 1, with the backlogs all the same.
func TestStatusCountsEventsAndAlerts(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	_, _, err := stream.Enqueue(ctx, rdb, keys.IngestStream(0), 0,
		[][]byte{[]byte(`[{"event_id":"a"},{"event_id":"b"},{"event_id":"c"}]`), []byte(`{"event_id":"d"}`)}, []int{3, 1})
	require.NoError(t, err)
	_, err = stream.Push(ctx, rdb, keys.AlertStream(0), 0,
		[][]byte{[]byte(`[{"event_id":"x"},{"event_id":"y"}]`), []byte(`{"event_id":"z"}`)}, []int{2, 1})
	require.NoError(t, err)
	require.EqualValues(t, 2, rdb.XLen(ctx, keys.AlertStream(0)).Val(), "two alert entries")
	require.NoError(t, stream.Add(ctx, rdb, keys.MoogDLQ(), [][]byte{[]byte(`{"event_id":"q"}`)}))

	env := unreachableEnv()
	env["REDIS_URL"] = testenv.RedisURL()
	env["MUTT_REDIS_PREFIX"] = keys.Prefix
	env["TEMPORAL_ADDRESS"] = testenv.TemporalAddress()
	env["MUTT_DEV_LOG_FILE"] = filepath.Join(t.TempDir(), "dev.log")
	for _, v := range []string{"MUTT_INGEST_ADDR", "MUTT_ALERTER_ADDR", "MUTT_FORWARDER_ADDR", "MUTT_API_ADDR",
		"MUTT_WORKER_ADDR", "MUTT_MOOGSIM_ADDR"} {
		env[v] = "127.0.0.1:1"
	}
	r := muttdev(t, env, "", "-o", "json", "status")
	require.Equal(t, exitFailure, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	var st Status
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st), r.stdout)
	require.Equal(t, []StreamBacklog{{Stream: keys.IngestStream(0), Backlog: 4}, {Stream: keys.AlertStream(0), Backlog: 3}}, st.Streams)
	require.Equal(t, []StreamBacklog{{Stream: keys.AlerterDLQ()}, {Stream: keys.MoogDLQ(), Backlog: 1}, {Stream: keys.PoisonDLQ()}}, st.DLQ)
}
