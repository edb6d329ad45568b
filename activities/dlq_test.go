package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workflows"
)

// dlqValue reads a counter or gauge.
func dlqValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	require.NoError(t, m.Write(&out))
	if c := out.GetCounter(); c != nil {
		return c.GetValue()
	}
	return out.GetGauge().GetValue()
}

// dlqDeps are the dependencies of the DLQ activities in a test.
func dlqDeps(rdb redis.UniversalClient, keys keyspace.Keys, moogURL string) *Deps {
	return &Deps{
		Redis: rdb, Keys: keys, Log: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry(),
		HTTP: &http.Client{Timeout: 30 * time.Second}, MoogURL: moogURL, MoogAPIKey: "moog-key", Now: time.Now,
	}
}

// dlqActivityEnv runs the DLQ activities of a in the SDK's activity test environment.
func dlqActivityEnv(a *dlqActivities) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(a.CheckMoogHealth, activity.RegisterOptions{Name: workflows.ActivityDLQCheckMoogHealth})
	env.RegisterActivityWithOptions(a.ReplayStream, activity.RegisterOptions{Name: workflows.ActivityDLQReplayStream})
	env.RegisterActivityWithOptions(a.RecordDepths, activity.RegisterOptions{Name: workflows.ActivityDLQRecordDepths})
	return env
}

// dlqStageKeys is the source stream, consumer group and DLQ of a stage, as
// the alerter and the forwarder use them.
func dlqStageKeys(keys keyspace.Keys, stage string, shard int) (src, group, dlq string) {
	if stage == workflows.DLQMoog {
		return keys.AlertStream(shard), "forwarder", keys.MoogDLQ()
	}
	return keys.IngestStream(shard), "alerter", keys.AlerterDLQ()
}

// dlqCounter is the backlog counter the stage's consumer keeps, as the
// alerter keeps the ingest streams' (ADR 0048) and the forwarder the alert
// streams' (ADR 0049).
func dlqCounter(keys keyspace.Keys, stage string, shard int) string {
	src, _, _ := dlqStageKeys(keys, stage, shard)
	return stream.CounterKey(src)
}

// dlqDeadLetter puts payloads through a real stream.Consumer of the stage's
// source stream and dead-letters them with reason, exactly as the hot path
// does; replays > 0 makes them look like entries remediation replayed
// before. It returns the DLQ entry IDs.
func dlqDeadLetter(t *testing.T, rdb redis.UniversalClient, keys keyspace.Keys, stage string, shard int,
	reason string, replays int64, payloads ...string) []string {
	t.Helper()
	ctx := context.Background()
	src, _, dlq := dlqStageKeys(keys, stage, shard)
	before, err := rdb.XRevRangeN(ctx, dlq, "+", "-", 1).Result()
	require.NoError(t, err)
	for _, p := range payloads {
		vals := []any{stream.Field, p}
		if replays > 0 {
			vals = append(vals, stream.ReplaysField, strconv.FormatInt(replays, 10))
		}
		require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: src, Values: vals}).Err())
	}
	dlqBounce(t, rdb, keys, stage, shard, reason, len(payloads))
	start := "-"
	if len(before) > 0 {
		start = "(" + before[0].ID
	}
	added, err := rdb.XRange(ctx, dlq, start, "+").Result()
	require.NoError(t, err)
	ids := make([]string, len(added))
	for i, m := range added {
		ids[i] = m.ID
	}
	return ids
}

// dlqBounce is a hot-path stage failing again: a real stream.Consumer in the
// stage's group reads n entries of its source stream and dead-letters them.
// It returns the entries as read.
func dlqBounce(t *testing.T, rdb redis.UniversalClient, keys keyspace.Keys, stage string, shard int, reason string, n int) []stream.Entry {
	t.Helper()
	ctx := context.Background()
	src, group, dlq := dlqStageKeys(keys, stage, shard)
	c := stream.NewConsumer(rdb, stream.Options{Stream: src, Group: group, Consumer: "test", DeadLetter: dlq,
		Counter: dlqCounter(keys, stage, shard), Block: 10 * time.Millisecond},
		slog.New(slog.DiscardHandler), stream.NewMetrics(prometheus.NewRegistry()))
	require.NoError(t, c.EnsureGroup(ctx))
	var got []stream.Entry
	for i := 0; len(got) < n && i < 500; i++ {
		batch, err := c.Read(ctx)
		require.NoError(t, err)
		got = append(got, batch...)
	}
	require.Len(t, got, n)
	dls := make([]stream.DeadLetter, len(got))
	for i, e := range got {
		dls[i] = stream.DeadLetter{Entry: e, Reason: reason, Err: reason + " of " + string(e.Data),
			Extra: map[string]string{"status": "400"}}
	}
	require.NoError(t, c.DeadLetter(ctx, dls...))
	return got
}

// dlqPayloads returns the payloads (field d) of a stream and their replay counts.
func dlqPayloads(t *testing.T, rdb redis.UniversalClient, key string) map[string]string {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), key, "-", "+").Result()
	require.NoError(t, err)
	out := make(map[string]string, len(msgs))
	for _, m := range msgs {
		d, _ := m.Values[stream.Field].(string)
		out[d] = dlqStr(m.Values[stream.ReplaysField])
	}
	return out
}

func dlqReplay(t *testing.T, env *testsuite.TestActivityEnvironment, in workflows.DLQReplayInput) workflows.DLQReplayResult {
	t.Helper()
	v, err := env.ExecuteActivity(workflows.ActivityDLQReplayStream, in)
	require.NoError(t, err)
	var r workflows.DLQReplayResult
	require.NoError(t, v.Get(&r))
	return r
}

func TestDLQReplayStreamMovesEntriesAndParksPoison(t *testing.T) {
	t.Parallel()
	rdb, k := testenv.Redis(t)
	keys := keyspace.New(k.Prefix, 2)
	ctx := context.Background()
	a, err := newDLQActivities(dlqDeps(rdb, keys, ""))
	require.NoError(t, err)

	dlqDeadLetter(t, rdb, keys, workflows.DLQAlerter, 0, "audit_rejected", 0, "a0", "a1")
	dlqDeadLetter(t, rdb, keys, workflows.DLQAlerter, 1, "audit_rejected", 2, "on-shard-1")
	poisonIDs := dlqDeadLetter(t, rdb, keys, workflows.DLQAlerter, 0, "decode_error", 3, "bad")
	// Hand-made entries: one from a stream that does not exist, one without a payload.
	require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: keys.AlerterDLQ(),
		Values: []any{"reason", "shed", "source_stream", k.Prefix + "stream:ingest:{7}", stream.Field, "stray"}}).Err())
	empty, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: keys.AlerterDLQ(), Values: []any{"reason", "shed"}}).Result()
	require.NoError(t, err)

	env := dlqActivityEnv(a)
	var beats int
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats++ })
	r := dlqReplay(t, env, workflows.DLQReplayInput{Stream: workflows.DLQAlerter, MaxEntries: 100, BatchSize: 2, MaxReplays: 3})

	require.Equal(t, workflows.DLQAlerter, r.Stream)
	require.Equal(t, 6, r.Examined)
	require.Equal(t, 4, r.Replayed)
	require.Equal(t, 2, r.Poisoned)
	require.Zero(t, r.Skipped)
	require.GreaterOrEqual(t, beats, 1, "heartbeats after a batch (the SDK throttles them)")

	// Replayed to the shard they came from (unknown ones to shard 0), payload
	// unchanged, count incremented.
	require.Equal(t, map[string]string{"a0": "1", "a1": "1", "stray": "1"}, dlqPayloads(t, rdb, keys.IngestStream(0)))
	require.Equal(t, map[string]string{"on-shard-1": "3"}, dlqPayloads(t, rdb, keys.IngestStream(1)))
	// Each counted in its shard's backlog in events (ADR 0048).
	for shard, want := range []string{"3", "1"} {
		require.Equal(t, want, rdb.Get(ctx, stream.CounterKey(keys.IngestStream(shard))).Val(), "shard %d", shard)
	}
	depths, err := stream.Depths(ctx, rdb, keys.IngestStreams()...)
	require.NoError(t, err)
	require.Equal(t, []int64{3, 1}, depths)
	n, err := rdb.XLen(ctx, keys.AlerterDLQ()).Result()
	require.NoError(t, err)
	require.Zero(t, n, "moved entries leave the DLQ")

	// Parked with every original field plus where and why.
	parked, err := rdb.XRange(ctx, keys.PoisonDLQ(), "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, parked, 2)
	p := parked[0].Values
	require.Equal(t, "bad", p["d"])
	require.Equal(t, "decode_error", p["reason"])
	require.Equal(t, "decode_error of bad", p["error"])
	require.Equal(t, "3", p["replays"])
	require.Equal(t, "400", p["status"])
	require.Equal(t, keys.IngestStream(0), p["source_stream"])
	require.Contains(t, p, "failed_at")
	require.Contains(t, p, "attempts")
	require.Contains(t, p, "source_id")
	require.Equal(t, "alerter", p["dlq"])
	require.Equal(t, poisonIDs[0], p["dlq_id"])
	require.Equal(t, "max_replays", p["poison_cause"])
	_, err = time.Parse(time.RFC3339Nano, dlqStr(p["poisoned_at"]))
	require.NoError(t, err)
	require.Equal(t, "no_payload", parked[1].Values["poison_cause"])

	require.Equal(t, []workflows.DLQPoisonedEntry{
		{DLQ: "alerter", ID: poisonIDs[0], PoisonID: parked[0].ID, Reason: "decode_error", Error: "decode_error of bad", Replays: 3, Cause: "max_replays"},
		{DLQ: "alerter", ID: empty, PoisonID: parked[1].ID, Reason: "shed", Cause: "no_payload"},
	}, r.PoisonedEntries)
	require.InDelta(t, 4, dlqValue(t, a.m.actions.WithLabelValues("replayed")), 0)
	require.InDelta(t, 2, dlqValue(t, a.m.actions.WithLabelValues("poisoned")), 0)
}

// A whole entry of several events (ADR 0048) or alerts (ADR 0049)
// dead-lettered by the stage that reads it goes back as it was, with its
// count; the source stream's backlog, counted in events or alerts, grows by
// them, and the stage reads it back and empties the backlog.
func TestDLQReplayOfAnArrayEntryKeepsItsCount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		stage, reason string
		prefix        string // of the entry's event_ids
	}{
		{stage: workflows.DLQAlerter, reason: "max_attempts", prefix: "b"},
		{stage: workflows.DLQMoog, reason: "retry_exhausted", prefix: "x"},
	} {
		t.Run(tc.stage, func(t *testing.T) {
			t.Parallel()
			rdb, keys := testenv.Redis(t)
			ctx := context.Background()
			src, group, dlq := dlqStageKeys(keys, tc.stage, 0)
			counter := dlqCounter(keys, tc.stage, 0)
			a, err := newDLQActivities(dlqDeps(rdb, keys, ""))
			require.NoError(t, err)

			// The writer puts three events or alerts in one entry; the
			// stage gives up on it and dead-letters it whole.
			batch := `[{"event_id":"` + tc.prefix + `-1"},{"event_id":"` + tc.prefix + `-2"},{"event_id":"` + tc.prefix + `-3"}]`
			_, err = stream.Push(ctx, rdb, src, 0, [][]byte{[]byte(batch)}, []int{3})
			require.NoError(t, err)
			got := dlqBounce(t, rdb, keys, tc.stage, 0, tc.reason, 1)
			require.EqualValues(t, 3, got[0].Events)
			dead, err := rdb.XRange(ctx, dlq, "-", "+").Result()
			require.NoError(t, err)
			require.Len(t, dead, 1)
			require.Equal(t, "3", dead[0].Values[stream.EventsField], "the DLQ entry keeps its count")
			depth, err := stream.Depth(ctx, rdb, src)
			require.NoError(t, err)
			require.Zero(t, depth)

			// One more waits on the stream when the replay runs.
			_, err = stream.Push(ctx, rdb, src, 0, [][]byte{[]byte(`{"event_id":"single"}`)}, nil)
			require.NoError(t, err)
			require.Equal(t, "1", rdb.Get(ctx, counter).Val())

			r := dlqReplay(t, dlqActivityEnv(a), workflows.DLQReplayInput{Stream: tc.stage, MaxEntries: 10, BatchSize: 10, MaxReplays: 3})
			require.Equal(t, workflows.DLQReplayResult{Stream: tc.stage, Examined: 1, Replayed: 1}, r)

			entries, err := rdb.XRange(ctx, src, "-", "+").Result()
			require.NoError(t, err)
			require.Len(t, entries, 2)
			replayed := entries[1].Values
			require.Equal(t, batch, replayed[stream.Field], "the entry goes back as it was")
			require.Equal(t, "3", replayed[stream.EventsField], "with its count")
			require.Equal(t, "1", replayed[stream.ReplaysField])
			require.Equal(t, "4", rdb.Get(ctx, counter).Val(), "the counter rises by the entry's 3")
			depth, err = stream.Depth(ctx, rdb, src)
			require.NoError(t, err)
			require.EqualValues(t, 4, depth)
			require.Equal(t, []string{`{"event_id":"single"}`, `{"event_id":"` + tc.prefix + `-1"}`,
				`{"event_id":"` + tc.prefix + `-2"}`, `{"event_id":"` + tc.prefix + `-3"}`}, testenv.Queued(t, rdb, src))

			// The stage reads it back as three, and acknowledging them
			// empties the backlog.
			c := stream.NewConsumer(rdb, stream.Options{Stream: src, Group: group, Consumer: "again", DeadLetter: dlq,
				Counter: counter, Block: 10 * time.Millisecond}, slog.New(slog.DiscardHandler), stream.NewMetrics(prometheus.NewRegistry()))
			require.NoError(t, c.EnsureGroup(ctx))
			var read []stream.Entry
			for i := 0; len(read) < 2 && i < 500; i++ {
				batch, err := c.Read(ctx)
				require.NoError(t, err)
				read = append(read, batch...)
			}
			require.Len(t, read, 2)
			require.EqualValues(t, 3, read[1].Events)
			require.NoError(t, c.AckEntries(ctx, read...))
			depth, err = stream.Depth(ctx, rdb, src)
			require.NoError(t, err)
			require.Zero(t, depth)
		})
	}
}

func TestDLQReplayStreamDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	a, err := newDLQActivities(dlqDeps(rdb, keys, ""))
	require.NoError(t, err)
	dlqDeadLetter(t, rdb, keys, workflows.DLQMoog, 0, "moog_rejected", 0, "m0", "m1")
	dlqDeadLetter(t, rdb, keys, workflows.DLQMoog, 0, "retry_exhausted", 3, "m2")
	before, err := rdb.XRange(ctx, keys.MoogDLQ(), "-", "+").Result()
	require.NoError(t, err)

	r := dlqReplay(t, dlqActivityEnv(a), workflows.DLQReplayInput{Stream: workflows.DLQMoog, MaxEntries: 10, BatchSize: 10, MaxReplays: 3, DryRun: true})
	require.Equal(t, 3, r.Examined)
	require.Equal(t, 2, r.Replayed, "would be replayed")
	require.Equal(t, 1, r.Poisoned, "would be parked")
	require.Len(t, r.PoisonedEntries, 1)
	require.Empty(t, r.PoisonedEntries[0].PoisonID)

	after, err := rdb.XRange(ctx, keys.MoogDLQ(), "-", "+").Result()
	require.NoError(t, err)
	require.Equal(t, before, after)
	n, err := stream.Len(ctx, rdb, keys.AlertStream(0), keys.PoisonDLQ())
	require.NoError(t, err)
	require.Zero(t, n, "nothing added to the alert stream or the poison stream")
	require.Zero(t, dlqValue(t, a.m.actions.WithLabelValues("replayed")))
	require.Zero(t, dlqValue(t, a.m.actions.WithLabelValues("poisoned")))
}

func TestDLQReplayStreamFilterAndBound(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	a, err := newDLQActivities(dlqDeps(rdb, keys, ""))
	require.NoError(t, err)
	dlqDeadLetter(t, rdb, keys, workflows.DLQMoog, 0, "moog_rejected", 0, "r0")
	dlqDeadLetter(t, rdb, keys, workflows.DLQMoog, 0, "decode_error", 0, "d0")
	dlqDeadLetter(t, rdb, keys, workflows.DLQMoog, 0, "moog_rejected", 0, "r1", "r2", "r3")

	r := dlqReplay(t, dlqActivityEnv(a), workflows.DLQReplayInput{Stream: workflows.DLQMoog, MaxEntries: 4, BatchSize: 3,
		MaxReplays: 3, Reasons: []string{"moog_rejected"}})
	require.Equal(t, workflows.DLQReplayResult{Stream: "moog", Examined: 4, Replayed: 3, Skipped: 1}, r)
	require.Equal(t, map[string]string{"r0": "1", "r1": "1", "r2": "1"}, dlqPayloads(t, rdb, keys.AlertStream(0)))
	require.Equal(t, "3", rdb.Get(ctx, stream.CounterKey(keys.AlertStream(0))).Val(), "counted in the alert backlog (ADR 0049)")
	left := dlqPayloads(t, rdb, keys.MoogDLQ())
	require.Equal(t, map[string]string{"d0": "", "r3": ""}, left, "filtered and past the bound stay")
	require.Zero(t, dlqValue(t, a.m.actions.WithLabelValues("poisoned")))
	n, err := rdb.Exists(ctx, keys.PoisonDLQ()).Result()
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestDLQReplayStreamResumesFromHeartbeat(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	a, err := newDLQActivities(dlqDeps(rdb, keys, ""))
	require.NoError(t, err)
	ids := dlqDeadLetter(t, rdb, keys, workflows.DLQAlerter, 0, "shed", 0, "e0", "e1", "e2", "e3", "e4")
	// Dead-lettered after the interrupted run began: left for the next run.
	dlqDeadLetter(t, rdb, keys, workflows.DLQAlerter, 0, "shed", 0, "late")

	env := dlqActivityEnv(a)
	// The first attempt got through e0 and e1 (left in place here, so the
	// test sees they are not read again) before its worker died.
	env.SetHeartbeatDetails(dlqProgress{Until: ids[4], Cursor: ids[1],
		Result: workflows.DLQReplayResult{Stream: workflows.DLQAlerter, Examined: 2, Replayed: 2}})
	r := dlqReplay(t, env, workflows.DLQReplayInput{Stream: workflows.DLQAlerter, MaxEntries: 100, BatchSize: 2, MaxReplays: 3})
	require.Equal(t, workflows.DLQReplayResult{Stream: "alerter", Examined: 5, Replayed: 5}, r)
	require.Equal(t, map[string]string{"e2": "1", "e3": "1", "e4": "1"}, dlqPayloads(t, rdb, keys.IngestStream(0)))
	require.Equal(t, map[string]string{"e0": "", "e1": "", "late": ""}, dlqPayloads(t, rdb, keys.AlerterDLQ()))
}

// A Redis outage in the middle of a run fails the activity; its retry resumes
// from the last heartbeat and every entry is replayed exactly once.
func TestDLQReplayStreamRetryAfterOutage(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	opts, err := redis.ParseURL(testenv.RedisURL())
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, opts.Addr)
	opts.Addr, opts.MaxRetries, opts.DialTimeout = proxy.Addr(), -1, time.Second
	viaProxy := redis.NewClient(opts)
	t.Cleanup(func() { _ = viaProxy.Close() })

	payloads := make([]string, 7)
	for i := range payloads {
		payloads[i] = fmt.Sprintf("e%d", i)
	}
	dlqDeadLetter(t, rdb, keys, workflows.DLQAlerter, 0, "shed", 0, payloads...)
	a, err := newDLQActivities(dlqDeps(viaProxy, keys, ""))
	require.NoError(t, err)
	in := workflows.DLQReplayInput{Stream: workflows.DLQAlerter, MaxEntries: 100, BatchSize: 3, MaxReplays: 3}

	env := dlqActivityEnv(a)
	var last dlqProgress
	var decodeErr error
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		decodeErr = d.Get(&last)
		proxy.Cut() // Redis goes away right after the first batch
	})
	_, err = env.ExecuteActivity(workflows.ActivityDLQReplayStream, in)
	require.Error(t, err)
	require.NoError(t, decodeErr)
	require.Equal(t, 3, last.Result.Replayed)

	proxy.Restore()
	retry := dlqActivityEnv(a)
	retry.SetHeartbeatDetails(last)
	r := dlqReplay(t, retry, in)
	require.Equal(t, workflows.DLQReplayResult{Stream: "alerter", Examined: 7, Replayed: 7}, r)
	got := dlqPayloads(t, rdb, keys.IngestStream(0))
	require.Len(t, got, 7)
	for _, p := range payloads {
		require.Equal(t, "1", got[p], p)
	}
	n, err := stream.Len(context.Background(), rdb, keys.AlerterDLQ())
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestDLQReplayStreamRejectsBadInput(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	a, err := newDLQActivities(dlqDeps(rdb, keys, ""))
	require.NoError(t, err)
	_, err = dlqActivityEnv(a).ExecuteActivity(workflows.ActivityDLQReplayStream,
		workflows.DLQReplayInput{Stream: "poison", MaxEntries: 1, BatchSize: 1, MaxReplays: 1})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, workflows.DLQErrInvalidInput, appErr.Type())
}

func TestDLQReplayStreamEmptyDLQ(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	a, err := newDLQActivities(dlqDeps(rdb, keys, ""))
	require.NoError(t, err)
	r := dlqReplay(t, dlqActivityEnv(a), workflows.DLQReplayInput{Stream: workflows.DLQMoog, MaxEntries: 10, BatchSize: 5, MaxReplays: 3})
	require.Equal(t, workflows.DLQReplayResult{Stream: "moog"}, r)
}

// dlqProbeServer answers every request with status and records what it saw.
type dlqProbeServer struct {
	mu       sync.Mutex
	requests []*http.Request
}

func (p *dlqProbeServer) seen() []*http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*http.Request(nil), p.requests...)
}

func TestDLQCheckMoogHealth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status  int
		healthy bool
	}{
		{http.StatusOK, true},
		{http.StatusNoContent, true},
		{http.StatusUnauthorized, true}, // up; the credentials are another matter
		{http.StatusNotFound, true},
		{http.StatusMethodNotAllowed, true},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, false},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			t.Parallel()
			rdb, keys := testenv.Redis(t)
			var ps dlqProbeServer
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ps.mu.Lock()
				ps.requests = append(ps.requests, r)
				ps.mu.Unlock()
				w.WriteHeader(tc.status)
			}))
			t.Cleanup(srv.Close)
			a, err := newDLQActivities(dlqDeps(rdb, keys, srv.URL+"/api/v1/events"))
			require.NoError(t, err)
			env := dlqActivityEnv(a)

			check := func() workflows.DLQMoogHealth {
				v, err := env.ExecuteActivity(workflows.ActivityDLQCheckMoogHealth)
				require.NoError(t, err)
				var h workflows.DLQMoogHealth
				require.NoError(t, v.Get(&h))
				return h
			}
			h := check()
			require.Equal(t, tc.healthy, h.Healthy)
			require.Equal(t, tc.status, h.Status)
			require.False(t, h.Cached)
			require.InDelta(t, dlqGauge(tc.healthy), dlqValue(t, a.m.health), 0)
			reqs := ps.seen()
			require.Len(t, reqs, 1)
			require.Equal(t, http.MethodHead, reqs[0].Method, "never POST a fake event")
			require.Equal(t, "Bearer moog-key", reqs[0].Header.Get("Authorization"))
			require.Equal(t, "/api/v1/events", reqs[0].URL.Path)

			ttl, err := rdb.TTL(context.Background(), MoogHealthCache(keys)).Result()
			require.NoError(t, err)
			require.True(t, ttl > 0 && ttl <= time.Minute, "cached for a minute, got %v", ttl)

			again := check()
			require.True(t, again.Cached)
			require.Equal(t, tc.healthy, again.Healthy)
			require.Len(t, ps.seen(), 1, "the cached answer is shared, no second probe")
		})
	}
}

func TestDLQCheckMoogHealthWithoutAnswer(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); slow.Close() })
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct {
		name, url, detail string
	}{
		{"timeout", slow.URL, "deadline exceeded"},
		{"refused", closed.URL, "connection refused"},
		{"not configured", "", "MOOG_WEBHOOK_URL is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rdb, keys := testenv.Redis(t)
			a, err := newDLQActivities(dlqDeps(rdb, keys, tc.url))
			require.NoError(t, err)
			a.probeTimeout = 200 * time.Millisecond
			v, err := dlqActivityEnv(a).ExecuteActivity(workflows.ActivityDLQCheckMoogHealth)
			require.NoError(t, err, "an unreachable Moogsoft is an answer, not an activity failure")
			var h workflows.DLQMoogHealth
			require.NoError(t, v.Get(&h))
			require.False(t, h.Healthy)
			require.Zero(t, h.Status)
			require.Contains(t, h.Detail, tc.detail)
			if tc.url != "" {
				require.NotContains(t, h.Detail, tc.url, "the URL is configuration, not diagnosis")
			}
		})
	}
}

func TestDLQRecordDepths(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	a, err := newDLQActivities(dlqDeps(rdb, keys, ""))
	require.NoError(t, err)
	dlqDeadLetter(t, rdb, keys, workflows.DLQMoog, 0, "moog_rejected", 0, "m0", "m1", "m2")
	dlqDeadLetter(t, rdb, keys, workflows.DLQAlerter, 0, "shed", 0, "a0")
	require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: keys.PoisonDLQ(), Values: []any{"d", "x"}}).Err())
	env := dlqActivityEnv(a)

	depths := func(in workflows.DLQDepthsInput) workflows.DLQDepths {
		v, err := env.ExecuteActivity(workflows.ActivityDLQRecordDepths, in)
		require.NoError(t, err)
		var d workflows.DLQDepths
		require.NoError(t, v.Get(&d))
		return d
	}
	require.Equal(t, workflows.DLQDepths{Moog: 3, Alerter: 1, Poison: 1}, depths(workflows.DLQDepthsInput{MaxEntries: 10}))
	require.InDelta(t, 3, dlqValue(t, a.m.depth.WithLabelValues("moog")), 0)
	require.InDelta(t, 1, dlqValue(t, a.m.depth.WithLabelValues("alerter")), 0)
	require.InDelta(t, 1, dlqValue(t, a.m.depth.WithLabelValues("poison")), 0)
	require.Zero(t, dlqValue(t, a.m.actions.WithLabelValues("skipped_unhealthy")))

	require.Equal(t, 2, depths(workflows.DLQDepthsInput{MoogSkipped: true, MaxEntries: 2}).SkippedUnhealthy, "bounded like a replay")
	require.Equal(t, 3, depths(workflows.DLQDepthsInput{MoogSkipped: true, MaxEntries: 10, DryRun: true}).SkippedUnhealthy)
	require.InDelta(t, 2, dlqValue(t, a.m.actions.WithLabelValues("skipped_unhealthy")), 0, "a dry run counts nothing")

	// The last success is that of the last run whose every step succeeded,
	// dry runs aside (MUTTScheduleLate alerts on it).
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a.d.Now = func() time.Time { return at }
	depths(workflows.DLQDepthsInput{MaxEntries: 10})
	require.Zero(t, dlqValue(t, a.m.lastSuccess), "a run with a failed replay is not a success")
	depths(workflows.DLQDepthsInput{MaxEntries: 10, Succeeded: true, DryRun: true})
	require.Zero(t, dlqValue(t, a.m.lastSuccess), "a dry run is not the schedule's success")
	depths(workflows.DLQDepthsInput{MaxEntries: 10, Succeeded: true})
	require.InDelta(t, float64(at.Unix()), dlqValue(t, a.m.lastSuccess), 0)
}

func TestDLQRegisterReturnsMetricConflicts(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	d := dlqDeps(rdb, keys, "")
	var s testsuite.WorkflowTestSuite
	require.NoError(t, registerDLQ(s.NewTestActivityEnvironment(), d))
	err := registerDLQ(s.NewTestActivityEnvironment(), d)
	var already prometheus.AlreadyRegisteredError
	require.True(t, errors.As(err, &already), "got %v", err)
	require.True(t, strings.HasPrefix(err.Error(), "register DLQ remediation metrics"))
}

func TestDLQClip(t *testing.T) {
	t.Parallel()
	require.Equal(t, "short", dlqClip("short"))
	long := strings.Repeat("é", 200) // 400 bytes
	got := dlqClip(long)
	require.True(t, strings.HasSuffix(got, "…"))
	require.LessOrEqual(t, len(got), 300+len("…"))
	require.True(t, utf8.ValidString(got), "never cuts a character in half")
}
