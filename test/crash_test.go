package test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/telemetry"
)

// start runs roles of one pipeline process until the test ends.
func start(t *testing.T, cfg app.Config, roles ...app.Role) *app.Deps {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := app.Connect(ctx, cfg, telemetry.NewLogger(io.Discard, "text", "warn"), roles)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, d, roles) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		d.Close()
	})
	return d
}

// TestKilledConsumersLoseNothing kills an alerter and a forwarder in the
// middle of their batches (they read and never acknowledge). The surviving
// replicas reclaim the entries after the visibility timeout: the audit log has
// exactly one row per event and the simulator saw every event_id.
func TestKilledConsumersLoseNothing(t *testing.T) {
	t.Parallel()
	env := devEnv(t)
	cfg, err := app.ReadConfig(config.FromMap(env), true, app.AllRoles)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, app.Setup(ctx, cfg, telemetry.NewLogger(io.Discard, "text", "warn"), io.Discard))

	front := start(t, cfg, app.MoogSim, app.Ingestor)
	require.NoError(t, app.Bootstrap(ctx, connectDB(t, cfg)))
	require.NoError(t, dynconfig.Set(ctx, front.Redis, front.Keys, "stream_visibility_timeout_ms", "500"))
	require.NoError(t, dynconfig.Set(ctx, front.Redis, front.Keys, "moog_batch_size", "20"))
	require.NoError(t, dynconfig.Set(ctx, front.Redis, front.Keys, "moog_rate_limit", "0"))

	const n = 300
	var ids []string
	for b := 0; b < n/100; b++ {
		var evs []string
		for i := 0; i < 100; i++ {
			evs = append(evs, fmt.Sprintf(`{"hostname":"router%d.prod.example.com","timestamp":"%s","message":"ERROR %d on the line"}`,
				i%7, time.Now().UTC().Format(time.RFC3339Nano), b*100+i))
		}
		code, out := postEvent(t, cfg.Ingest.Addr, app.DevIngestKey, "["+strings.Join(evs, ",")+"]")
		require.Equal(t, 200, code, out)
		for _, id := range out["event_ids"].([]any) {
			ids = append(ids, id.(string))
		}
	}

	// A doomed alerter takes a batch and dies without acknowledging it: the
	// entry of the first request, its 100 events (ADR 0048).
	zombie := stream.NewConsumer(front.Redis, stream.Options{Stream: front.Keys.IngestStream(0), Group: "alerter",
		Consumer: "zombie-alerter", DeadLetter: front.Keys.AlerterDLQ(), Count: 1}, front.Log, front.StreamMetrics)
	require.NoError(t, zombie.EnsureGroup(ctx))
	got, err := zombie.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.EqualValues(t, 100, got[0].Events)

	// The real alerter processes the rest and, after the timeout, the zombie's batch.
	start(t, cfg, app.Alerter)
	require.Eventually(t, func() bool {
		n, err := stream.Depth(ctx, front.Redis, front.Keys.AlertStream(0)) // alerts, not entries (ADR 0049)
		return err == nil && n > 50
	}, 15*time.Second, 20*time.Millisecond)

	// A doomed forwarder takes alerts and dies too.
	fz := stream.NewConsumer(front.Redis, stream.Options{Stream: front.Keys.AlertStream(0), Group: "forwarder",
		Consumer: "zombie-forwarder", DeadLetter: front.Keys.MoogDLQ(), Count: 50}, front.Log, front.StreamMetrics)
	require.NoError(t, fz.EnsureGroup(ctx))
	got, err = fz.Read(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, got)

	start(t, cfg, app.Forwarder)

	var st struct {
		Unique int `json:"unique"`
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if assert.Equal(c, 200, getJSON(c, "http://"+cfg.MoogSimAddr+"/stats", &st)) {
			assert.Equal(c, n, st.Unique)
		}
	}, 30*time.Second, 50*time.Millisecond, "every event_id reaches the simulator")

	db := connectDB(t, cfg).DB
	var rows, distinct int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*), count(DISTINCT event_id) FROM event_audit_log WHERE event_id = ANY($1::uuid[])`, ids).Scan(&rows, &distinct))
	require.Equal(t, n, rows, "exactly one audit row per event")
	require.Equal(t, n, distinct)
	for _, dlq := range []string{front.Keys.AlerterDLQ(), front.Keys.MoogDLQ()} {
		l, err := stream.Len(ctx, front.Redis, dlq)
		require.NoError(t, err)
		require.Zero(t, l, dlq)
	}
}

// connectDB opens the database of cfg with the pipeline's own connector.
func connectDB(t *testing.T, cfg app.Config) *app.Deps {
	t.Helper()
	d, err := app.Connect(context.Background(), cfg, telemetry.NewLogger(io.Discard, "text", "warn"), []app.Role{app.Worker})
	require.NoError(t, err)
	t.Cleanup(d.Close)
	return d
}
