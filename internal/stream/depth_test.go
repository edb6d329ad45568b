package stream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
)

func countedConsumer(rdb redis.UniversalClient, key, name string) *stream.Consumer {
	return stream.NewConsumer(rdb, stream.Options{
		Stream: key, Counter: stream.CounterKey(key), Group: "g", Consumer: name, DeadLetter: key + ":dlq",
		Count: 100, Block: 50 * time.Millisecond,
	}, quiet, stream.NewMetrics(prometheus.NewRegistry()))
}

func depth(t *testing.T, rdb redis.Cmdable, key string) int64 {
	t.Helper()
	d, err := stream.Depth(context.Background(), rdb, key)
	require.NoError(t, err)
	return d
}

// TestBacklogCountsMessagesNotEntries: an entry of several messages counts
// as that many toward the limit and in the depth, and acknowledging it
// (plain, with alerts, as a dead letter, or twice) takes exactly those away.
func TestBacklogCountsMessagesNotEntries(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	key := keys.IngestStream(0)

	d, err := stream.Push(ctx, rdb, key, 60, payloads(3), []int{10, 1, 40})
	require.NoError(t, err)
	require.EqualValues(t, 51, d)
	_, d, err = stream.Enqueue(ctx, rdb, key, 60, payloads(1), []int{20})
	require.NoError(t, err, "below the limit a batch is taken whole")
	require.EqualValues(t, 71, d)
	_, err = stream.Push(ctx, rdb, key, 60, payloads(1), nil)
	var full *stream.FullError
	require.ErrorAs(t, err, &full)
	require.EqualValues(t, 71, full.Depth, "the limit counts messages")
	require.EqualValues(t, 71, depth(t, rdb, key))
	msgs, err := rdb.XRange(ctx, key, "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, msgs, 4)
	require.Equal(t, "10", msgs[0].Values[stream.EventsField])
	require.NotContains(t, msgs[1].Values, stream.EventsField, "an entry of one message is written as before")

	c := countedConsumer(rdb, key, "a")
	require.NoError(t, c.EnsureGroup(ctx))
	got, err := c.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 4)
	require.Equal(t, []int64{10, 1, 40, 20}, []int64{got[0].Events, got[1].Events, got[2].Events, got[3].Events})

	require.NoError(t, c.AckEntries(ctx, got[0]))
	require.EqualValues(t, 61, depth(t, rdb, key))
	require.NoError(t, c.AckEntries(ctx, got[0], got[1]), "one of them acknowledged already")
	require.EqualValues(t, 60, depth(t, rdb, key), "only what was still there is taken away")
	require.NoError(t, c.DeadLetter(ctx, stream.DeadLetter{Entry: got[2], Reason: "test"}))
	require.EqualValues(t, 20, depth(t, rdb, key))
	dl, err := rdb.XRange(ctx, key+":dlq", "-", "+").Result()
	require.NoError(t, err)
	require.Equal(t, "40", dl[0].Values[stream.EventsField], "the dead letter says how many it holds")
	require.NoError(t, c.AddAndAck(ctx, keys.AlertStream(0), payloads(2), got[3]))
	require.Zero(t, depth(t, rdb, key))
	require.Zero(t, rdb.Exists(ctx, stream.CounterKey(key)).Val(), "an empty stream's counter is removed")

	// A consumer without a counter leaves the counters of its stream alone.
	_, err = stream.Push(ctx, rdb, key, 0, payloads(2), []int{5, 5})
	require.NoError(t, err)
	plain := consumer(rdb, key, "b", time.Minute, stream.NewMetrics(prometheus.NewRegistry()))
	got, err = plain.Read(ctx)
	require.NoError(t, err)
	require.NoError(t, plain.AddAndAck(ctx, keys.AlertStream(0), nil, got[0]))
	require.EqualValues(t, "10", rdb.Get(ctx, stream.CounterKey(key)).Val())
}

// TestBacklogHealsACounterThatDrifted: a counter lost (a stream written
// before counters existed, an operator's DEL) counts one message per entry;
// one left too high counts at most stream.MaxPerEntry per entry; an emptied
// stream has no backlog.
func TestBacklogHealsACounterThatDrifted(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	key := keys.IngestStream(0)
	require.NoError(t, stream.Add(ctx, rdb, key, payloads(3)), "written without a counter")
	require.EqualValues(t, 3, depth(t, rdb, key))
	d, err := stream.Push(ctx, rdb, key, 0, payloads(1), []int{7})
	require.NoError(t, err)
	require.EqualValues(t, 10, d)

	require.NoError(t, rdb.Set(ctx, stream.CounterKey(key), 1_000_000, 0).Err())
	require.EqualValues(t, 4*stream.MaxPerEntry, depth(t, rdb, key))
	d, err = stream.Push(ctx, rdb, key, 0, payloads(1), nil)
	require.NoError(t, err)
	require.EqualValues(t, 4*stream.MaxPerEntry+1, d)

	require.NoError(t, rdb.Del(ctx, key).Err())
	require.Zero(t, depth(t, rdb, key))
	d, err = stream.Push(ctx, rdb, key, 0, payloads(1), []int{2})
	require.NoError(t, err)
	require.EqualValues(t, 2, d)
}

// TestCountedAckAtMaxmemory: a full Redis still lets the alerter acknowledge
// (and so delete) entries of an ingest stream; the counter, which Redis then
// refuses to change, is healed when the stream empties.
func TestCountedAckAtMaxmemory(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t, testenv.RedisServerOptions{})
	rdb := srv.Client(t)
	ctx := context.Background()
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	key := "ingest:{0}"
	_, err := stream.Push(ctx, rdb, key, 0, payloads(4), []int{10, 10, 10, 10})
	require.NoError(t, err)
	c := countedConsumer(rdb, key, "a")
	require.NoError(t, c.EnsureGroup(ctx))
	got, err := c.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 4)

	used := testenv.RedisUsedMemory(t, rdb)
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", fmt.Sprint(used-1024)).Err())
	_, err = stream.Push(ctx, rdb, key, 0, payloads(1), nil)
	require.ErrorContains(t, err, "OOM", "Redis should be full")
	require.NoError(t, c.AckEntries(ctx, got[0]), "ack at maxmemory")
	require.NoError(t, c.AddAndAck(ctx, "alerts:{0}", nil, got[1]), "ack of a batch without alerts at maxmemory")
	assert.EqualValues(t, 2, rdb.XLen(ctx, key).Val(), "acknowledged entries are deleted")
	assert.LessOrEqual(t, depth(t, rdb, key), int64(40))
	require.NoError(t, c.AckEntries(ctx, got[2:]...))
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "0").Err())
	assert.Zero(t, depth(t, rdb, key))
	d, err := stream.Push(ctx, rdb, key, 0, payloads(1), []int{3})
	require.NoError(t, err)
	assert.EqualValues(t, 3, d, "the counter starts again from the empty stream")
}

// TestReadCountAsksForAboutABatchOfMessages: entries of one message are read
// a batch at a time, entries of several fewer at a time, and never more
// entries than max(10 × batch, 10 000) messages fill at MaxPerEntry each.
func TestReadCountAsksForAboutABatchOfMessages(t *testing.T) {
	t.Parallel()
	require.EqualValues(t, 50, stream.ReadCount(50, 0))
	require.EqualValues(t, 50, stream.ReadCount(50, 1000))
	require.EqualValues(t, 5, stream.ReadCount(500, 100_000), "entries of 100")
	require.EqualValues(t, 1, stream.ReadCount(50, 100_000), "at least one")
	require.EqualValues(t, 100, stream.ReadCount(500, 1000), "single messages: 100 entries could hold 10 000")
	require.EqualValues(t, 500, stream.ReadCount(5000, 1000), "10 × batch")
}
