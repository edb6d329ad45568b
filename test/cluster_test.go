package test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// clusterRun is the dev pipeline of one test on a Redis Cluster of its own.
type clusterRun struct {
	c   *testenv.RedisCluster
	cfg app.Config
	d   *app.Deps
	sim *moogsim.Sim
}

// runOnCluster starts a six-node cluster and runs `mutt setup` and every
// role in-process against it (MUTT_REDIS_CLUSTER=true, 4 stream shards,
// WAIT for one replica before each 2xx), delivering to a simulator of the
// test's own.
func runOnCluster(t *testing.T) *clusterRun {
	t.Helper()
	c := testenv.StartRedisCluster(t)
	sim := moogsim.New(moogsim.Options{APIKey: "cluster-moog-key"})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	env := devEnv(t)
	env["REDIS_URL"] = c.URL()
	env["MUTT_REDIS_CLUSTER"] = "true"
	env["MUTT_STREAM_SHARDS"] = "4"
	env["MUTT_REDIS_WAIT_REPLICAS"] = "1"
	env["MUTT_REDIS_WAIT_TIMEOUT"] = "2s"
	env["MOOG_WEBHOOK_URL"] = srv.URL + "/events"
	env["MOOG_API_KEY"] = "cluster-moog-key"
	cfg, err := app.ReadConfig(config.FromMap(env), true, app.AllRoles)
	require.NoError(t, err)
	ctx := context.Background()
	var logs syncLog
	log := telemetry.NewLogger(&logs, "text", "warn")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pipeline log:\n%s", logs.String())
		}
	})
	require.NoError(t, app.Setup(ctx, cfg, log, io.Discard))
	d, err := app.Connect(ctx, cfg, log, append(app.AllRoles, app.Worker))
	require.NoError(t, err)
	require.NoError(t, app.Bootstrap(ctx, d))
	runRoles(t, d, app.AllRoles...)
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.Equal(c, 200, getJSON(c, "http://"+cfg.Ingest.Addr+"/health", nil)) },
		20*time.Second, 50*time.Millisecond)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, st := range append(d.Keys.IngestStreams(), d.Keys.AlertStreams()...) {
			l, err := d.Redis.XLen(ctx, st).Result()
			events, _ := stream.Depth(ctx, d.Redis, st) // an ingest entry may hold several (ADR 0048)
			g, gerr := d.Redis.XInfoGroups(ctx, st).Result()
			t.Logf("%s: len %d (%v) events %d groups %+v (%v) on %s", st, l, err, events, g, gerr, c.PrimaryOf(ctx, st))
		}
	})
	return &clusterRun{c: c, cfg: cfg, d: d, sim: sim}
}

// requireAuditedAndDelivered: every id has exactly one audit row and
// reached the simulator, and the streams drain.
func (r *clusterRun) requireAuditedAndDelivered(t *testing.T, ids []string) {
	t.Helper()
	ctx := context.Background()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		missing := 0
		for _, id := range ids {
			if r.sim.Seen(id) == 0 {
				missing++
			}
		}
		assert.Zero(ct, missing, "accepted events not delivered")
	}, 90*time.Second, 100*time.Millisecond)
	var rows, distinct int
	require.NoError(t, r.d.DB.QueryRow(ctx, `SELECT count(*), count(DISTINCT event_id) FROM event_audit_log WHERE event_id = ANY($1::uuid[])`,
		ids).Scan(&rows, &distinct))
	require.Equal(t, len(ids), distinct, "every accepted event audited")
	require.Equal(t, len(ids), rows, "exactly once")
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		events, err := stream.Depth(ctx, r.d.Redis, r.d.Keys.IngestStreams()...) // an entry may hold several (ADR 0048)
		assert.NoError(ct, err)
		assert.Zero(ct, events, "ingest backlog")
		alerts, err := stream.Depth(ctx, r.d.Redis, r.d.Keys.AlertStreams()...) // an entry may hold several (ADR 0049)
		assert.NoError(ct, err)
		assert.Zero(ct, alerts, "alert backlog")
	}, 60*time.Second, 100*time.Millisecond, "every event and alert acknowledged")
	for _, dlq := range []string{r.d.Keys.AlerterDLQ(), r.d.Keys.MoogDLQ()} {
		l, err := stream.Len(ctx, r.d.Redis, dlq)
		require.NoError(t, err)
		require.Zero(t, l, dlq)
	}
}

// TestRedisClusterWholePath: with MUTT_REDIS_CLUSTER=true `mutt setup`
// creates the ACL user on all six nodes, the four shards spread over the
// three primaries, and events of many hosts are audited and delivered once.
func TestRedisClusterWholePath(t *testing.T) {
	t.Parallel()
	r := runOnCluster(t)
	ctx := context.Background()
	require.IsType(t, &redis.ClusterClient{}, r.d.Redis)

	for _, addr := range r.c.Addrs() {
		n := redis.NewClient(&redis.Options{Addr: addr})
		u, err := secrets.InspectRedisUser(ctx, n, r.cfg.RedisUsername)
		_ = n.Close()
		require.NoError(t, err)
		require.True(t, u.Exists && u.Enabled, "ACL user %s on node %s", r.cfg.RedisUsername, addr)
		require.NoError(t, redisLoginWorks(ctx, addr, r))
	}

	place, err := app.ShardPlacement(ctx, r.d.Redis.(*redis.ClusterClient), r.d.Keys)
	require.NoError(t, err)
	require.Len(t, place, 3, "shards 0-3 reach all three primaries: %v", place)

	const n = 80
	var evs []string
	for i := range n {
		evs = append(evs, fmt.Sprintf(`{"hostname":"router%d.prod.example.com","timestamp":"%s","message":"ERROR %d on the line"}`,
			i%16, time.Now().UTC().Format(time.RFC3339Nano), i))
	}
	code, out := postEvent(t, r.cfg.Ingest.Addr, app.DevIngestKey, "["+strings.Join(evs, ",")+"]")
	require.Equal(t, http.StatusOK, code, out)
	var ids []string
	for _, id := range out["event_ids"].([]any) {
		ids = append(ids, id.(string))
	}
	require.Len(t, ids, n)
	r.requireAuditedAndDelivered(t, ids)
	require.Equal(t, n, r.sim.Count(), "each delivered once")
}

// redisLoginWorks logs in to one node as the services' user with the
// password setup stored.
func redisLoginWorks(ctx context.Context, addr string, r *clusterRun) error {
	pw := r.d.Secrets.Get(secrets.RedisPassCurrent)
	c := redis.NewClient(&redis.Options{Addr: addr, Username: r.cfg.RedisUsername, Password: pw, MaxRetries: -1})
	defer func() { _ = c.Close() }()
	return c.Ping(ctx).Err()
}

// TestRedisClusterPrimaryKilledUnderLoad kills -9 the primary of shard 0
// while events flow; its replica is promoted, the old primary comes back
// as a replica, and every event answered 2xx (after WAIT 1) is audited
// and delivered.
func TestRedisClusterPrimaryKilledUnderLoad(t *testing.T) {
	t.Parallel()
	r := runOnCluster(t)
	ctx := context.Background()
	load := startRestartLoad(r.cfg.Ingest.Addr, app.DevIngestKey)
	t.Cleanup(func() { load.finish() })
	require.Eventually(t, func() bool { return load.acceptedSinceRestart() >= 20 }, 60*time.Second, 20*time.Millisecond)

	victim := r.c.PrimaryOf(ctx, r.d.Keys.IngestStream(0))
	r.c.Node(victim).Kill()
	load.markRestart()
	r.c.WaitHealthy() // a replica took over the victim's slots
	require.NotEqual(t, victim, r.c.PrimaryOf(ctx, r.d.Keys.IngestStream(0)))
	r.c.Node(victim).Start() // back, as a replica of the new primary
	r.c.WaitHealthy()
	require.Eventually(t, func() bool { return load.acceptedSinceRestart() >= 20 }, 90*time.Second, 20*time.Millisecond,
		"ingest accepts again after the failover")
	ids := load.finish()
	t.Logf("accepted %d events; refused %v; transport errors %d", len(ids), load.refused, load.errors)
	r.requireAuditedAndDelivered(t, ids)
}

// TestRedisClusterReshardUnderLoad moves the slot of shard 0 (ingest and
// alert streams, consumer groups and pending entries with them) to another
// primary while events flow: nothing accepted is lost.
func TestRedisClusterReshardUnderLoad(t *testing.T) {
	t.Parallel()
	r := runOnCluster(t)
	ctx := context.Background()
	load := startRestartLoad(r.cfg.Ingest.Addr, app.DevIngestKey)
	t.Cleanup(func() { load.finish() })
	require.Eventually(t, func() bool { return load.acceptedSinceRestart() >= 20 }, 60*time.Second, 20*time.Millisecond)

	key := r.d.Keys.IngestStream(0)
	from := r.c.PrimaryOf(ctx, key)
	to := ""
	for p := range r.c.Primaries(ctx) {
		if p != from {
			to = p
			break
		}
	}
	cl := r.c.Client(t)
	slot, err := cl.ClusterKeySlot(ctx, key).Result()
	require.NoError(t, err)
	r.c.MigrateSlot(ctx, slot, to)
	load.markRestart()
	require.Equal(t, to, r.c.PrimaryOf(ctx, key))
	require.Eventually(t, func() bool { return load.acceptedSinceRestart() >= 20 }, 60*time.Second, 20*time.Millisecond,
		"ingest keeps accepting after the slot moved")
	ids := load.finish()
	t.Logf("accepted %d events; refused %v; transport errors %d", len(ids), load.refused, load.errors)
	r.requireAuditedAndDelivered(t, ids)
}
