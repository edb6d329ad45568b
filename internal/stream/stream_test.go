package stream_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func payloads(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"n":%d}`, i))
	}
	return out
}

func consumer(rdb redis.UniversalClient, key, name string, vis time.Duration, m *stream.Metrics) *stream.Consumer {
	return stream.NewConsumer(rdb, stream.Options{
		Stream: key, Group: "g", Consumer: name, DeadLetter: key + ":dlq", Count: 10, Block: 50 * time.Millisecond,
		Visibility:    func() time.Duration { return vis },
		MaxDeliveries: func() int64 { return 2 },
	}, quiet, m)
}

func TestEnqueueRefusesWholeBatchAtLimit(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	key := keys.IngestStream(0)

	ids, depth, err := stream.Enqueue(ctx, rdb, key, 5, payloads(4), nil)
	require.NoError(t, err)
	require.Len(t, ids, 4)
	require.EqualValues(t, 4, depth)

	// Below the limit a batch is taken whole, even past the limit.
	_, depth, err = stream.Enqueue(ctx, rdb, key, 5, payloads(3), nil)
	require.NoError(t, err)
	require.EqualValues(t, 7, depth)

	_, depth, err = stream.Enqueue(ctx, rdb, key, 5, payloads(1), nil)
	var full *stream.FullError
	require.ErrorAs(t, err, &full)
	require.EqualValues(t, 7, depth)
	n, err := stream.Len(ctx, rdb, key)
	require.NoError(t, err)
	require.EqualValues(t, 7, n, "a refused batch adds nothing")
}

// TestPushIsEnqueueWithoutIDs: the same entries, the same bound, the same
// backlog as Enqueue; only the IDs are not returned.
func TestPushIsEnqueueWithoutIDs(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	key := keys.IngestStream(0)

	depth, err := stream.Push(ctx, rdb, key, 5, payloads(4), nil)
	require.NoError(t, err)
	require.EqualValues(t, 4, depth)
	depth, err = stream.Push(ctx, rdb, key, 5, payloads(3), nil)
	require.NoError(t, err)
	require.EqualValues(t, 7, depth, "below the limit a batch is taken whole")

	depth, err = stream.Push(ctx, rdb, key, 5, payloads(1), nil)
	var full *stream.FullError
	require.ErrorAs(t, err, &full)
	require.EqualValues(t, 7, depth)
	require.EqualValues(t, 7, full.Depth)
	require.EqualValues(t, 5, full.Limit)

	msgs, err := rdb.XRange(ctx, key, "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, msgs, 7, "a refused batch adds nothing")
	want := append(payloads(4), payloads(3)...)
	for i, m := range msgs {
		require.Equal(t, map[string]any{stream.Field: string(want[i])}, m.Values)
	}

	depth, err = stream.Push(ctx, rdb, key, 0, [][]byte{{}, nil, []byte("\x00\xff\r\n")}, nil)
	require.NoError(t, err, "limit 0: no limit")
	require.EqualValues(t, 10, depth)
	msgs, err = rdb.XRange(ctx, key, "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, msgs, 10, "empty and nil payloads are entries too")
	require.Equal(t, "", msgs[7].Values[stream.Field])
	require.Equal(t, "", msgs[8].Values[stream.Field])
	require.Equal(t, "\x00\xff\r\n", msgs[9].Values[stream.Field], "bytes as they are")
}

func TestReadAckDeletes(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	key := keys.IngestStream(0)
	m := stream.NewMetrics(prometheus.NewRegistry())
	_, _, err := stream.Enqueue(ctx, rdb, key, 0, payloads(3), nil) // before the group exists
	require.NoError(t, err)

	c := consumer(rdb, key, "a", time.Minute, m)
	require.NoError(t, c.EnsureGroup(ctx))
	got, err := c.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, `{"n":0}`, string(got[0].Data))
	require.EqualValues(t, 1, got[0].Deliveries)

	require.NoError(t, c.Ack(ctx, got[0].ID, got[1].ID, got[2].ID))
	n, err := stream.Len(ctx, rdb, key)
	require.NoError(t, err)
	require.Zero(t, n)
	got, err = c.Read(ctx)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestIdleEntriesAreReclaimedByAnotherConsumer(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	key := keys.IngestStream(0)
	m := stream.NewMetrics(prometheus.NewRegistry())
	_, _, err := stream.Enqueue(ctx, rdb, key, 0, payloads(2), nil)
	require.NoError(t, err)

	dead := consumer(rdb, key, "dead", 200*time.Millisecond, m)
	require.NoError(t, dead.EnsureGroup(ctx))
	got, err := dead.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 2) // and then it "crashes": never acks

	alive := consumer(rdb, key, "alive", 200*time.Millisecond, m)
	var reclaimed []stream.Entry
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got, err := alive.Read(ctx)
		assert.NoError(c, err)
		reclaimed = append(reclaimed, got...)
		assert.Len(c, reclaimed, 2)
	}, 10*time.Second, 20*time.Millisecond)
	require.EqualValues(t, 2, reclaimed[0].Deliveries)
	require.NoError(t, alive.Ack(ctx, reclaimed[0].ID, reclaimed[1].ID))
}

func TestExtendKeepsLeaseAndPoisonGoesToDeadLetter(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	key := keys.IngestStream(0)
	m := stream.NewMetrics(prometheus.NewRegistry())
	_, _, err := stream.Enqueue(ctx, rdb, key, 0, payloads(1), nil)
	require.NoError(t, err)

	vis := 300 * time.Millisecond
	a := consumer(rdb, key, "a", vis, m)
	b := consumer(rdb, key, "b", vis, m)
	require.NoError(t, a.EnsureGroup(ctx))
	got, err := a.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)

	// a extends its lease once the entry has idled a while: the idle time
	// others reclaim by (XAUTOCLAIM min-idle = visibility) starts again, and
	// a still owns it. Compared with the time since the extension began, not
	// with a wall-clock bound, so a stalled machine cannot fail it.
	pendingIdle := func() (string, time.Duration) {
		p, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: "g", Start: "-", End: "+", Count: 1}).Result()
		require.NoError(t, err)
		require.Len(t, p, 1)
		return p[0].Consumer, p[0].Idle
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		p, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: "g", Start: "-", End: "+", Count: 1}).Result()
		if assert.NoError(c, err) && assert.Len(c, p, 1) {
			assert.GreaterOrEqual(c, p[0].Idle, vis/3)
		}
	}, 10*time.Second, 10*time.Millisecond)
	extended := time.Now()
	require.NoError(t, a.Extend(ctx, got[0].ID))
	owner, idle := pendingIdle()
	require.Equal(t, "a", owner)
	// Redis reports idle time in whole milliseconds of its own clock: allow
	// that rounding, which is far below the vis/3 the entry had idled.
	require.LessOrEqual(t, idle, time.Since(extended)+2*time.Millisecond, "the extension restarted the idle time")

	// Now a and b both "crash" after taking it: the third delivery exceeds MaxDeliveries=2.
	c := consumer(rdb, key, "c", vis, m)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		g, err := b.Read(ctx)
		assert.NoError(ct, err)
		assert.Len(ct, g, 1)
	}, 10*time.Second, 20*time.Millisecond)
	var tookOver []stream.Entry
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		g, err := c.Read(ctx)
		assert.NoError(ct, err)
		tookOver = append(tookOver, g...)
		n, err := rdb.XLen(ctx, key+":dlq").Result()
		assert.NoError(ct, err)
		assert.EqualValues(ct, 1, n)
	}, 10*time.Second, 20*time.Millisecond)
	require.Empty(t, tookOver, "past MaxDeliveries the entry goes to the dead-letter stream, not to c")

	dl, err := rdb.XRange(ctx, key+":dlq", "-", "+").Result()
	require.NoError(t, err)
	require.Equal(t, "max_deliveries_exceeded", dl[0].Values["reason"])
	require.Equal(t, "3", dl[0].Values["attempts"])
	require.Equal(t, `{"n":0}`, dl[0].Values["d"])
	require.Equal(t, key, dl[0].Values["source_stream"])
	n, err := stream.Len(ctx, rdb, key)
	require.NoError(t, err)
	require.Zero(t, n, "the poison entry left the source stream")
}

func TestDeadLetterKeepsReplayCount(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	key := keys.AlertStream(0)
	m := stream.NewMetrics(prometheus.NewRegistry())
	// What DLQ remediation writes when it replays a dead letter, next to a
	// plain entry and one whose count is garbage.
	for _, vals := range [][]any{
		{stream.Field, "replayed", stream.ReplaysField, "2"},
		{stream.Field, "fresh"},
		{stream.Field, "garbled", stream.ReplaysField, "x"},
	} {
		require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: vals}).Err())
	}

	c := consumer(rdb, key, "a", time.Minute, m)
	require.NoError(t, c.EnsureGroup(ctx))
	got, err := c.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.EqualValues(t, 2, got[0].Replays)
	require.EqualValues(t, 0, got[1].Replays)
	require.EqualValues(t, 0, got[2].Replays)
	require.NoError(t, c.DeadLetter(ctx,
		stream.DeadLetter{Entry: got[0], Reason: "decode_error", Err: "bad"},
		stream.DeadLetter{Entry: got[1], Reason: "decode_error", Err: "bad"},
	))

	dl, err := rdb.XRange(ctx, key+":dlq", "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, dl, 2)
	require.Equal(t, "2", dl[0].Values[stream.ReplaysField], "the count survives dead-lettering")
	require.Equal(t, "replayed", dl[0].Values[stream.Field])
	require.NotContains(t, dl[1].Values, stream.ReplaysField, "never replayed: no field")
}

// A Part dead letter (one message of an entry that carries several) is added
// to the DLQ with its own data, and its entry stays pending for the caller to
// acknowledge with the others.
func TestDeadLetterOfAPartLeavesTheEntryPending(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	key := keys.IngestStream(0)
	require.NoError(t, stream.Add(ctx, rdb, key, [][]byte{[]byte(`[{"a":1},{"b":2}]`)}))
	c := consumer(rdb, key, "a", time.Minute, stream.NewMetrics(prometheus.NewRegistry()))
	require.NoError(t, c.EnsureGroup(ctx))
	got, err := c.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	part := got[0]
	part.Data = []byte(`{"b":2}`)
	require.NoError(t, c.DeadLetter(ctx, stream.DeadLetter{Entry: part, Part: true, Reason: "audit_rejected", Err: "bad"}))

	dl, err := rdb.XRange(ctx, key+":dlq", "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, dl, 1)
	require.Equal(t, `{"b":2}`, dl[0].Values[stream.Field])
	require.Equal(t, got[0].ID, dl[0].Values["source_id"])
	pending, err := rdb.XPending(ctx, key, "g").Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, pending.Count, "the entry is not acknowledged by a part's dead letter")
	require.EqualValues(t, 1, rdb.XLen(ctx, key).Val())
}

// TestAddIsAllOrNothingAtMaxmemory: a Redis at maxmemory (noeviction) refuses
// writes. A batch of alerts that crosses the limit half way must be added
// whole or not at all: the alerter retries a failed add, and a partial add
// retried would put the first alerts in the stream twice (duplicates sent to
// Moogsoft, seen in the chaos suite's maxmemory phase). Dead letters too.
func TestAddIsAllOrNothingAtMaxmemory(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t, testenv.RedisServerOptions{})
	rdb := srv.Client(t)
	ctx := context.Background()
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	batch := make([][]byte, 200)
	for i := range batch {
		batch[i] = []byte(fmt.Sprintf(`{"n":%d,"pad":"%0*d"}`, i, 300, 0))
	}
	// limit sets maxmemory to what Redis uses now plus room, so that the
	// batch crosses it somewhere in the middle for some room.
	limit := func(room int64) {
		used := testenv.RedisUsedMemory(t, rdb)
		require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", fmt.Sprint(used+room)).Err())
	}
	unlimit := func() { require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "0").Err()) }

	refused := 0
	for i, room := range []int64{1 << 10, 4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10} {
		key := fmt.Sprintf("alerts-%d", i)
		limit(room)
		err := stream.Add(ctx, rdb, key, batch)
		unlimit()
		n, lerr := rdb.XLen(ctx, key).Result()
		require.NoError(t, lerr)
		if err != nil {
			refused++
			assert.ErrorContains(t, err, "OOM")
			assert.Zero(t, n, "room %d: a refused batch must leave nothing in the stream", room)
		} else {
			assert.EqualValues(t, len(batch), n, "room %d", room)
		}
	}
	assert.Positive(t, refused, "no batch was refused: the test did not reach maxmemory")

	refused = 0
	for i, room := range []int64{1 << 10, 4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10} {
		src := fmt.Sprintf("src-%d", i)
		c := consumer(rdb, src, "c1", time.Minute, stream.NewMetrics(prometheus.NewRegistry()))
		require.NoError(t, c.EnsureGroup(ctx))
		require.NoError(t, stream.Add(ctx, rdb, src, batch[:10]))
		entries, err := c.Read(ctx)
		require.NoError(t, err)
		require.Len(t, entries, 10)
		dls := make([]stream.DeadLetter, len(entries))
		for j, e := range entries {
			dls[j] = stream.DeadLetter{Entry: e, Reason: "test", Err: fmt.Sprintf("%0*d", 2000, 0)}
		}
		limit(room)
		err = c.DeadLetter(ctx, dls...)
		unlimit()
		n, lerr := rdb.XLen(ctx, src+":dlq").Result()
		require.NoError(t, lerr)
		if err != nil {
			refused++
			assert.Zero(t, n, "room %d: a refused dead-letter batch must leave nothing in the dead-letter stream", room)
		} else {
			assert.EqualValues(t, len(dls), n, "room %d", room)
		}
	}
	assert.Positive(t, refused, "no dead-letter batch was refused: the test did not reach maxmemory")

	// A full Redis still lets consumers acknowledge (and so delete) what
	// they finished: that is how it drains.
	c := consumer(rdb, "drain", "c1", time.Minute, stream.NewMetrics(prometheus.NewRegistry()))
	require.NoError(t, c.EnsureGroup(ctx))
	require.NoError(t, stream.Add(ctx, rdb, "drain", batch[:10]))
	entries, err := c.Read(ctx)
	require.NoError(t, err)
	require.Len(t, entries, 10)
	limit(-1 << 10)
	require.ErrorContains(t, stream.Add(ctx, rdb, "drain", batch[:1]), "OOM", "Redis should be full")
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	require.NoError(t, c.Ack(ctx, ids...), "ack at maxmemory")
	// A consumer that starts while Redis is full finds its group (Redis
	// refuses XGROUP CREATE at maxmemory even for an existing group); a
	// group that does not exist yet cannot be made.
	limit(-1 << 10)
	require.ErrorContains(t, stream.Add(ctx, rdb, "drain", batch[:1]), "OOM", "Redis should be full")
	c2 := consumer(rdb, "drain", "c2", time.Minute, stream.NewMetrics(prometheus.NewRegistry()))
	require.NoError(t, c2.EnsureGroup(ctx), "existing group at maxmemory")
	c3 := consumer(rdb, "new-stream", "c1", time.Minute, stream.NewMetrics(prometheus.NewRegistry()))
	require.ErrorContains(t, c3.EnsureGroup(ctx), "OOM")
	unlimit()
	n, err := rdb.XLen(ctx, "drain").Result()
	require.NoError(t, err)
	assert.Zero(t, n, "acknowledged entries are deleted")
	pending, err := rdb.XPending(ctx, "drain", "g").Result()
	require.NoError(t, err)
	assert.Zero(t, pending.Count)
}

// Read parses XREADGROUP's reply itself: entries, their replay counts and
// Deliveries must come out as XRANGE shows them, in RESP2 and RESP3.
func TestReadParsesEitherProtocol(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	m := stream.NewMetrics(prometheus.NewRegistry())
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			c := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr, DB: rdb.Options().DB, Protocol: proto})
			t.Cleanup(func() { _ = c.Close() })
			key := keys.AlertStream(0) + fmt.Sprint(proto)
			_, _, err := stream.Enqueue(ctx, c, key, 0, payloads(3), nil)
			require.NoError(t, err)
			require.NoError(t, c.XAdd(ctx, &redis.XAddArgs{Stream: key,
				Values: []any{stream.Field, "a\r\n$1\r\nb", stream.ReplaysField, "2"}}).Err())
			want, err := c.XRange(ctx, key, "-", "+").Result()
			require.NoError(t, err)

			r := consumer(c, key, "a", time.Minute, m)
			require.NoError(t, r.EnsureGroup(ctx))
			got, err := r.Read(ctx)
			require.NoError(t, err)
			require.Len(t, got, len(want))
			for i, w := range want {
				require.Equal(t, w.ID, got[i].ID)
				require.Equal(t, key, got[i].Stream)
				require.Equal(t, w.Values[stream.Field], string(got[i].Data))
				require.EqualValues(t, 1, got[i].Deliveries)
			}
			require.Zero(t, got[0].Replays)
			require.EqualValues(t, 2, got[3].Replays)
			got, err = r.Read(ctx)
			require.NoError(t, err)
			require.Empty(t, got)
		})
	}
}

// A stream deleted under a consumer (an operator's DEL) answers NOGROUP:
// Read recreates stream and group and reads what is added afterwards.
func TestReadRecreatesDeletedStream(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	key := keys.AlertStream(0)
	c := consumer(rdb, key, "a", time.Minute, stream.NewMetrics(prometheus.NewRegistry()))
	require.NoError(t, c.EnsureGroup(ctx))
	require.NoError(t, rdb.Del(ctx, key).Err())

	got, err := c.Read(ctx)
	require.NoError(t, err)
	require.Empty(t, got)
	_, _, err = stream.Enqueue(ctx, rdb, key, 0, payloads(2), nil)
	require.NoError(t, err)
	got, err = c.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, `{"n":1}`, string(got[1].Data))
}
