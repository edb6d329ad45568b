package ingest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// mutt_ingest_queue_depth follows the backlog while no request is accepted:
// alerters draining it, or other ingestors filling it while this one answers
// 503. It shows the fullest shard.
func TestQueueDepthFollowsTheBacklogWithoutRequests(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	keys = keyspace.New(keys.Prefix, 2)
	ctx, cancel := context.WithCancel(context.Background())
	dyn := dynconfig.NewStore(rdb, keys, quiet)
	reg := prometheus.NewRegistry()
	addr := testenv.FreeAddr(t)
	srv, err := ingest.New(ingest.Options{Config: ingest.Config{Addr: addr, APIKeys: []string{key}},
		Redis: rdb, Keys: keys, Dyn: dyn, Log: quiet, Registerer: reg})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	depth := func() float64 { return testenv.Metric(t, reg, "mutt_ingest_queue_depth", nil) }

	// Another ingestor queues events, as entries of several (ADR 0048):
	// this one sees them, counted in events, without a request.
	add := func(shard, n int) {
		_, err := stream.Push(ctx, rdb, keys.IngestStream(shard), 0,
			[][]byte{[]byte("[" + strings.Repeat(`{},`, n-1) + `{}]`)}, []int{n})
		require.NoError(t, err)
	}
	add(0, 3)
	add(1, 7)
	require.Eventually(t, func() bool { return depth() == 7 }, 20*time.Second, 20*time.Millisecond)

	// Alerters drain the fuller shard.
	require.NoError(t, rdb.Del(ctx, keys.IngestStream(1)).Err())
	require.Eventually(t, func() bool { return depth() == 3 }, 20*time.Second, 20*time.Millisecond)
}

// A request refused with 503 updates the gauge to the backlog that refused
// it (it used to keep the depth seen by the last accepted request).
func TestQueueDepthOfA503(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{run: true})
	e.setDyn(t, dynconfig.MaxIngestQueueSize, "4")
	require.Equal(t, http.StatusOK, e.post(t, batch("h", 2)).code)
	require.EqualValues(t, 2, testenv.Metric(t, e.reg, "mutt_ingest_queue_depth", nil))

	// Another ingestor fills the backlog with one request of three. The
	// depth counts events, not stream entries (there are two).
	_, err := stream.Push(context.Background(), e.rdb, e.keys.IngestStream(0), 0, [][]byte{[]byte(`[{},{},{}]`)}, []int{3})
	require.NoError(t, err)
	require.EqualValues(t, 2, e.rdb.XLen(context.Background(), e.keys.IngestStream(0)).Val())
	r := e.post(t, evt("h", 9))
	require.Equal(t, http.StatusServiceUnavailable, r.code, r.raw)
	require.EqualValues(t, 5, r.body["queue_depth"])
	require.EqualValues(t, 4, r.body["queue_limit"])
	require.EqualValues(t, 5, testenv.Metric(t, e.reg, "mutt_ingest_queue_depth", nil))
}
