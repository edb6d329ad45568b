package migration_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/migration"
)

// pythonRedis fills a test prefix with the keys a running Python MUTT v2.5
// leaves behind (peer-hotpath §1.6, §2.2, §3.2, §3.5, §3.6, §5).
func pythonRedis(t *testing.T, rdb *redis.Client, p string) {
	t.Helper()
	ctx := context.Background()
	ev := func(host, msg string) string {
		return `{"hostname": "` + host + `", "message": "` + msg + `", "timestamp": "2025-11-10T08:00:00.1234567Z", "syslog_severity": "Critical", "_correlation_id": "c-` + host + `"}`
	}
	// LPUSH order: the first pushed is the oldest.
	require.NoError(t, rdb.LPush(ctx, p+"ingest_queue", ev("r1", "LINK-DOWN one"), ev("r2", "LINK-DOWN two"),
		`{"hostname": "r3", "message": "no time"}`, `not json`, ev("r4", "LINK-DOWN four")).Err())
	require.NoError(t, rdb.LPush(ctx, p+"processing:alerter:alerter-1a2b3c", ev("r5", "in flight")).Err())
	alert := func(host string) string {
		return `{"api_key": "moog-secret", "hostname": "` + host + `", "team_assignment": "NetOps", "severity": "Warning", "message_body": "LINK-DOWN", "raw_json": {"hostname": "` + host + `", "timestamp": "2025-11-10T08:00:00Z"}, "_correlation_id": "a-` + host + `"}`
	}
	require.NoError(t, rdb.LPush(ctx, p+"alert_queue", alert("r1"), alert("MUTT_Alerter")).Err())
	require.NoError(t, rdb.LPush(ctx, p+"processing:moog:moog-forwarder-9f8e7d", alert("r9")).Err())
	require.NoError(t, rdb.LPush(ctx, p+"dlq:alerter", ev("d1", "poison"), ev("d2", "shed")).Err())
	require.NoError(t, rdb.LPush(ctx, p+"dlq:moog", alert("d3")).Err())
	require.NoError(t, rdb.LPush(ctx, p+"dlq:dead", alert("d4")).Err())
	require.NoError(t, rdb.ZAdd(ctx, p+"rate_limit:ingestor", redis.Z{Score: 1, Member: "1.0:0.5"}).Err())
	require.NoError(t, rdb.ZAdd(ctx, p+"rate_limit:moog", redis.Z{Score: 1, Member: "1:0.5"}).Err())
	require.NoError(t, rdb.Set(ctx, p+"circuit_breaker:moogsoft:state", "OPEN", 0).Err())
	require.NoError(t, rdb.Set(ctx, p+"circuit_breaker:moogsoft:failures", "12", 0).Err())
	require.NoError(t, rdb.Set(ctx, p+"circuit_breaker:moogsoft:open_time", "1765000000.5", 0).Err())
	require.NoError(t, rdb.Set(ctx, p+"unhandled:r1:0123456789abcdef", "7", time.Hour).Err())
	require.NoError(t, rdb.Set(ctx, p+"metrics:1m:2025-11-10T08:00", "42", time.Hour).Err())
	for k, v := range map[string]string{"unhandled_expiry_seconds": "3600", "ingest_max_rate": "1000",
		"alerter_shed_mode": "none", "cache_reload_interval": "300.0", "circuit_breaker_timeout": "soon"} {
		require.NoError(t, rdb.Set(ctx, p+"config:"+k, v, 0).Err())
	}
}

func entries(t *testing.T, rdb *redis.Client, s string) []redis.XMessage {
	t.Helper()
	m, err := rdb.XRange(context.Background(), s, "-", "+").Result()
	require.NoError(t, err)
	return m
}

func TestDrainRedisMovesQueuesRenamesClashesAndTranslatesConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := testenv.Redis(t)
	p := keys.Prefix
	pythonRedis(t, rdb, p)
	// A run that crashed after taking one item into staging left it there.
	staged := `{"hostname": "r0", "message": "staged", "timestamp": "2025-11-10T07:59:00Z"}`
	require.NoError(t, rdb.LPush(ctx, p+"migrate:staging:"+p+"ingest_queue", staged).Err())
	require.NoError(t, rdb.Set(ctx, p+"heartbeat:alerter:alerter-1a2b3c", "alive", time.Minute).Err())
	o := migration.RedisOptions{PythonPrefix: p, Keys: keys, Now: time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)}

	// Dry run: a report, no change.
	dry := o
	dry.DryRun = true
	rep, err := migration.DrainRedis(ctx, rdb, dry)
	require.NoError(t, err)
	require.Contains(t, rep.Notes[0], "heartbeat")
	require.Equal(t, int64(6), keyReport(t, rep, p+"ingest_queue").Items, "5 queued + 1 staged")
	require.Equal(t, int64(5), rdb.LLen(ctx, p+"ingest_queue").Val())
	requireCounted(t, rdb, keys.IngestStreams(), 0)
	requireCounted(t, rdb, keys.AlertStreams(), 0)

	_, err = migration.DrainRedis(ctx, rdb, o)
	require.ErrorIs(t, err, migration.ErrPythonWorkersRunning)
	require.NoError(t, rdb.Del(ctx, p+"heartbeat:alerter:alerter-1a2b3c").Err())

	rep, err = migration.DrainRedis(ctx, rdb, o)
	require.NoError(t, err)

	// Every valid event is in the ingest stream once, oldest first, with a
	// new event id and the Python correlation id; the two bad ones are
	// dead-lettered with the reason; nothing is left in a list.
	got := testenv.Queued(t, rdb, keys.IngestStream(0))
	var hosts []string
	ids := map[string]bool{}
	for _, m := range got {
		var e event.Envelope
		require.NoError(t, json.Unmarshal([]byte(m), &e))
		hosts = append(hosts, e.Hostname)
		ids[e.EventID] = true
		if e.Hostname == "r1" {
			require.Equal(t, "c-r1", e.CorrelationID)
			require.Equal(t, 2, *e.Severity)
		}
	}
	require.Equal(t, []string{"r5", "r0", "r1", "r2", "r4"}, hosts, "processing list first, then the staged leftover, then the queue in FIFO order")
	require.Len(t, ids, 5)
	requireCounted(t, rdb, keys.IngestStreams(), 5)
	dlq := byReason(entries(t, rdb, keys.AlerterDLQ()))
	require.Len(t, dlq["python_migration_invalid"], 2)
	require.Contains(t, dlq["python_migration_invalid"][0].Values["error"], `"timestamp"`)
	// The Python DLQ lists are copied into MUTT's dead-letter streams, oldest
	// first, replayable to the stage they came from.
	require.Len(t, dlq[migration.ReasonPythonDLQ], 2)
	for i, host := range []string{"d1", "d2"} {
		m := dlq[migration.ReasonPythonDLQ][i]
		var e event.Envelope
		require.NoError(t, json.Unmarshal([]byte(m.Values["d"].(string)), &e))
		require.Equal(t, host, e.Hostname)
		require.NotEmpty(t, e.EventID)
		require.Equal(t, keys.IngestStream(0), m.Values["source_stream"])
	}
	moog := entries(t, rdb, keys.MoogDLQ())
	require.Len(t, moog, 1)
	require.Equal(t, migration.ReasonPythonDLQ, moog[0].Values["reason"])
	require.Equal(t, keys.AlertStream(0), moog[0].Values["source_stream"])
	require.NotContains(t, moog[0].Values["d"], "moog-secret")
	poison := entries(t, rdb, keys.PoisonDLQ())
	require.Len(t, poison, 1, "Python's dlq:dead is MUTT's poison stream")
	require.Equal(t, "moog", poison[0].Values["dlq"])
	require.Equal(t, "python_v2.5_dead", poison[0].Values["poison_cause"])
	require.Equal(t, int64(2), keyReport(t, rep, p+"dlq:alerter"+migration.RenameSuffix).Items)
	for _, l := range []string{"ingest_queue", "alert_queue", "processing:alerter:alerter-1a2b3c", "processing:moog:moog-forwarder-9f8e7d", "migrate:staging:" + p + "ingest_queue"} {
		require.Zero(t, rdb.Exists(ctx, p+l).Val(), l)
	}
	alerts := entries(t, rdb, keys.AlertStream(0))
	require.Len(t, alerts, 3)
	requireCounted(t, rdb, keys.AlertStreams(), 3)
	for _, m := range alerts {
		d := m.Values["d"].(string)
		require.NotContains(t, d, "moog-secret", "the Moogsoft key the Python alerter copied into alerts is dropped")
		var a event.Alert
		require.NoError(t, json.Unmarshal([]byte(d), &a))
		require.NotEmpty(t, a.EventID)
		if a.Hostname == "MUTT_Alerter" {
			require.True(t, a.Meta)
		}
	}

	// Clashing keys were renamed (never deleted); MUTT's types now work there.
	require.Equal(t, "OPEN", rdb.Get(ctx, p+"circuit_breaker:moogsoft:state"+migration.RenameSuffix).Val())
	require.Equal(t, int64(2), rdb.LLen(ctx, p+"dlq:alerter"+migration.RenameSuffix).Val())
	require.Equal(t, int64(1), rdb.LLen(ctx, p+"dlq:moog"+migration.RenameSuffix).Val())
	require.Equal(t, int64(1), rdb.ZCard(ctx, p+"rate_limit:ingestor"+migration.RenameSuffix).Val())
	require.Equal(t, "7", rdb.Get(ctx, p+"unhandled:r1:0123456789abcdef"+migration.RenameSuffix).Val())
	require.NoError(t, rdb.HSet(ctx, p+"circuit_breaker:moogsoft:state", "state", "closed").Err())
	require.NoError(t, rdb.Set(ctx, p+"rate_limit:ingestor", "0", 0).Err())
	require.Equal(t, "42", rdb.Get(ctx, p+"metrics:1m:2025-11-10T08:00").Val(), "dashboard counters keep their meaning")

	// Dynamic config: translated and reported.
	cfg := map[string]migration.ConfigChange{}
	for _, c := range rep.Config {
		cfg[c.Key] = c
	}
	require.Equal(t, "3600", rdb.Get(ctx, keys.Config("unhandled_window")).Val())
	require.Equal(t, "60", rdb.Get(ctx, keys.Config("ingest_rate_window")).Val())
	require.Contains(t, cfg["ingest_max_rate"].Why, "counts events, not requests")
	require.Equal(t, "defer", rdb.Get(ctx, keys.Config("alerter_shed_mode")).Val())
	require.Equal(t, "300", rdb.Get(ctx, keys.Config("cache_reload_interval")).Val())
	require.Equal(t, "soon", rdb.Get(ctx, keys.Config("circuit_breaker_timeout")+migration.RenameSuffix).Val())
	store := dynconfig.NewStore(rdb, keys, slog.New(slog.DiscardHandler))
	require.NoError(t, store.Reload(ctx))
	for _, v := range store.Effective() {
		require.NotEqual(t, "invalid", v.Source, v.Key.Name)
	}

	// A rerun finds nothing more to move and adds nothing.
	_, err = migration.DrainRedis(ctx, rdb, o)
	require.NoError(t, err)
	require.Len(t, testenv.Queued(t, rdb, keys.IngestStream(0)), 5)
	requireCounted(t, rdb, keys.IngestStreams(), 5)
	require.Len(t, entries(t, rdb, keys.AlertStream(0)), 3)
	requireCounted(t, rdb, keys.AlertStreams(), 3)
	require.Len(t, entries(t, rdb, keys.AlerterDLQ()), 4, "the DLQ copy adds nothing twice")
	require.Len(t, entries(t, rdb, keys.MoogDLQ()), 1)
	require.Len(t, entries(t, rdb, keys.PoisonDLQ()), 1)
}

func byReason(ms []redis.XMessage) map[string][]redis.XMessage {
	out := map[string][]redis.XMessage{}
	for _, m := range ms {
		r, _ := m.Values["reason"].(string)
		out[r] = append(out[r], m)
	}
	return out
}

// An interrupted DLQ copy resumes after the last item copied: nothing lost,
// nothing twice, the renamed list untouched (a rollback renames it back).
func TestDrainRedisCopiesPythonDLQResumably(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := testenv.Redis(t)
	p := keys.Prefix
	const n = 1203 // more than two LRANGE batches
	items := make([]any, n)
	for i := range n {
		items[i] = fmt.Sprintf(`{"hostname": "h%d", "message": "m", "timestamp": "2025-11-10T08:00:00Z", "_retry_count": 4}`, i)
	}
	require.NoError(t, rdb.LPush(ctx, p+"dlq:alerter", items...).Err())
	o := migration.RedisOptions{PythonPrefix: p, Keys: keys, Now: time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)}

	dry := o
	dry.DryRun = true
	rep, err := migration.DrainRedis(ctx, rdb, dry)
	require.NoError(t, err)
	require.Equal(t, int64(n), keyReport(t, rep, p+"dlq:alerter").Items)
	require.Equal(t, "list", rdb.Type(ctx, keys.AlerterDLQ()).Val(), "a dry run renames and writes nothing")
	require.Zero(t, rdb.Exists(ctx, p+"dlq:alerter"+migration.RenameSuffix).Val())

	// Simulate a run that stopped after 700 items: rename as the real run
	// does, copy the first 700 by hand the way copyDLQList does, and leave
	// the counter there.
	rep, err = migration.DrainRedis(ctx, rdb, o)
	require.NoError(t, err)
	require.Equal(t, int64(n), keyReport(t, rep, p+"dlq:alerter"+migration.RenameSuffix).Items)
	all := entries(t, rdb, keys.AlerterDLQ())
	require.Len(t, all, n)
	require.NoError(t, rdb.Del(ctx, keys.AlerterDLQ()).Err())
	for _, m := range all[:700] {
		require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: keys.AlerterDLQ(), Values: m.Values}).Err())
	}
	progress := p + "migrate:dlq-copied:" + p + "dlq:alerter" + migration.RenameSuffix
	require.NoError(t, rdb.Set(ctx, progress, 700, 0).Err())

	rep, err = migration.DrainRedis(ctx, rdb, o)
	require.NoError(t, err)
	require.Equal(t, int64(n-700), keyReport(t, rep, p+"dlq:alerter"+migration.RenameSuffix).Items)
	got := entries(t, rdb, keys.AlerterDLQ())
	require.Len(t, got, n)
	for i, m := range got {
		var e event.Envelope
		require.NoError(t, json.Unmarshal([]byte(m.Values["d"].(string)), &e))
		require.Equal(t, fmt.Sprintf("h%d", i), e.Hostname, "oldest first, each once")
		require.Equal(t, migration.ReasonPythonDLQ, m.Values["reason"])
	}
	require.Equal(t, int64(n), rdb.LLen(ctx, p+"dlq:alerter"+migration.RenameSuffix).Val(), "the renamed list is kept")

	// A rerun copies nothing more.
	rep, err = migration.DrainRedis(ctx, rdb, o)
	require.NoError(t, err)
	require.Zero(t, keyReport(t, rep, p+"dlq:alerter"+migration.RenameSuffix).Items)
	require.Len(t, entries(t, rdb, keys.AlerterDLQ()), n)
}

// Alerts moved into an alert stream that already holds entries written
// before counters (one alert each) are counted on top of them.
func TestDrainRedisCountsAlertsOnTopOfUncountedEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := testenv.Redis(t)
	p := keys.Prefix
	for range 2 {
		require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: keys.AlertStream(0), Values: []any{stream.Field, `{"hostname":"old"}`}}).Err())
	}
	alert := func(host string) string {
		return `{"hostname": "` + host + `", "team_assignment": "NetOps", "severity": "Warning", "message_body": "LINK-DOWN", "raw_json": {"hostname": "` + host + `"}}`
	}
	require.NoError(t, rdb.LPush(ctx, p+"alert_queue", alert("r1"), alert("r2"), alert("r3")).Err())
	_, err := migration.DrainRedis(ctx, rdb, migration.RedisOptions{PythonPrefix: p, Keys: keys, Now: time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, entries(t, rdb, keys.AlertStream(0)), 5)
	requireCounted(t, rdb, keys.AlertStreams(), 5)
}

func TestDrainRedisSpreadsOverShardsLikeTheIngestor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, k1 := testenv.Redis(t)
	keys := keyspace.New(k1.Prefix, 4)
	for i := range 40 {
		host := "h" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		require.NoError(t, rdb.LPush(ctx, keys.Prefix+"ingest_queue",
			`{"hostname": "`+host+`", "message": "m", "timestamp": "2025-11-10T08:00:00Z"}`).Err())
	}
	_, err := migration.DrainRedis(ctx, rdb, migration.RedisOptions{PythonPrefix: keys.Prefix, Keys: keys})
	require.NoError(t, err)
	var total, used int
	for _, s := range keys.IngestStreams() {
		n := len(testenv.Queued(t, rdb, s))
		total += n
		if n > 0 {
			used++
		}
		// Each shard's backlog counter holds the events moved there.
		c, err := rdb.Get(ctx, stream.CounterKey(s)).Int()
		if n == 0 {
			require.ErrorIs(t, err, redis.Nil, s)
		} else {
			require.NoError(t, err, s)
		}
		require.Equal(t, n, c, s)
	}
	require.Equal(t, 40, total)
	require.Greater(t, used, 1)
	requireCounted(t, rdb, keys.IngestStreams(), 40)
}

// requireCounted: the backlog counters of streams, ingest or alert (ADR
// 0048, ADR 0049), hold the events or alerts the migration moved there, so
// the ingestor's bound and every depth reader count them.
func requireCounted(t *testing.T, rdb *redis.Client, streams []string, want int64) {
	t.Helper()
	ctx := context.Background()
	var counted int64
	for _, s := range streams {
		n, err := rdb.Get(ctx, stream.CounterKey(s)).Int64()
		if !errors.Is(err, redis.Nil) {
			require.NoError(t, err, s)
		}
		counted += n
	}
	require.Equal(t, want, counted, "the counters hold the messages moved")
	depth, err := stream.Depth(ctx, rdb, streams...)
	require.NoError(t, err)
	require.Equal(t, want, depth)
}

func keyReport(t *testing.T, rep *migration.RedisReport, key string) migration.KeyReport {
	t.Helper()
	for _, k := range rep.Keys {
		if k.Key == key {
			return k
		}
	}
	t.Fatalf("no report for %s in %+v", key, rep.Keys)
	return migration.KeyReport{}
}
