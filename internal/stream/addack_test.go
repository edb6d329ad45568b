package stream_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestAddAndAckAddsThenAcknowledges: the payloads land on the other stream
// and the entries leave the consumer's stream and its pending list, in one
// call; run again (a retry whose reply was lost) it adds nothing twice; a
// failing add acknowledges nothing; more ids than Lua can unpack at once
// (10 000, alerter_batch_size's maximum) all go.
func TestAddAndAckAddsThenAcknowledges(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	in, out := keys.IngestStream(0), keys.AlertStream(0)
	m := stream.NewMetrics(prometheus.NewRegistry())
	_, _, err := stream.Enqueue(ctx, rdb, in, 0, payloads(3), nil)
	require.NoError(t, err)
	c := consumer(rdb, in, "a", time.Minute, m)
	require.NoError(t, c.EnsureGroup(ctx))
	got, err := c.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.NoError(t, c.AddAndAck(ctx, out, payloads(2), got...))
	msgs, err := rdb.XRange(ctx, out, "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, msgs, 1, "the payloads of one call share an entry (ADR 0049)")
	require.Equal(t, `[{"n":0},{"n":1}]`, msgs[0].Values[stream.Field])
	require.Equal(t, "2", msgs[0].Values[stream.EventsField])
	require.EqualValues(t, 2, depth(t, rdb, out))
	n, err := stream.Len(ctx, rdb, in)
	require.NoError(t, err)
	require.Zero(t, n, "acknowledged entries are deleted")
	p, err := rdb.XPending(ctx, in, "g").Result()
	require.NoError(t, err)
	require.Zero(t, p.Count)

	require.NoError(t, c.AddAndAck(ctx, out, payloads(2), got...), "a retry of a batch already done")
	require.EqualValues(t, 2, depth(t, rdb, out), "a retry adds nothing twice")

	// An add that fails (the target is no stream) acknowledges nothing.
	_, _, err = stream.Enqueue(ctx, rdb, in, 0, payloads(1), nil)
	require.NoError(t, err)
	got, err = c.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	bad := keys.Prefix + "not-a-stream:{0}"
	require.NoError(t, rdb.Set(ctx, bad, "x", 0).Err())
	require.Error(t, c.AddAndAck(ctx, bad, payloads(1), got[0]))
	p, err = rdb.XPending(ctx, in, "g").Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, p.Count, "the entry stays pending for redelivery")
	require.NoError(t, c.AddAndAck(ctx, out, nil, got[0]))

	// 10 000 ids, in chunks.
	big := make([][]byte, 10000)
	for i := range big {
		big[i] = []byte("1")
	}
	_, _, err = stream.Enqueue(ctx, rdb, in, 0, big, nil)
	require.NoError(t, err)
	many := stream.NewConsumer(rdb, stream.Options{Stream: in, Group: "g", Consumer: "b", DeadLetter: in + ":dlq",
		Count: 10000, Block: 50 * time.Millisecond}, quiet, m)
	got, err = many.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 10000)
	require.NoError(t, many.AddAndAck(ctx, out, big, got...))
	n, err = stream.Len(ctx, rdb, in)
	require.NoError(t, err)
	require.Zero(t, n)
	require.EqualValues(t, 2+10000, depth(t, rdb, out))
	require.Len(t, testenv.Queued(t, rdb, out), 2+10000)
	n, err = stream.Len(ctx, rdb, out)
	require.NoError(t, err)
	require.EqualValues(t, 1+100, n, "10 000 payloads in entries of 100")
}

// TestPackMakesEvenEntriesOfAtMostMaxPerEntry: one message goes as it is;
// more go as JSON arrays of at most stream.MaxPerEntry, as even as can be,
// in order.
func TestPackMakesEvenEntriesOfAtMostMaxPerEntry(t *testing.T) {
	t.Parallel()
	entries, counts := stream.Pack(payloads(1))
	require.Equal(t, []string{`{"n":0}`}, strs(entries))
	require.Equal(t, []int{1}, counts)

	entries, counts = stream.Pack(payloads(3))
	require.Equal(t, []string{`[{"n":0},{"n":1},{"n":2}]`}, strs(entries))
	require.Equal(t, []int{3}, counts)

	entries, counts = stream.Pack(payloads(201))
	require.Equal(t, []int{67, 67, 67}, counts)
	var all []string
	for _, e := range entries {
		all = append(all, testenv.Messages(string(e))...)
	}
	require.Equal(t, strs(payloads(201)), all)

	entries, counts = stream.Pack(payloads(101))
	require.Equal(t, []int{51, 50}, counts)
	require.Len(t, entries, 2)
	entries, counts = stream.Pack(nil)
	require.Empty(t, entries)
	require.Empty(t, counts)
}

// TestAddAndAckCountsAlertsAlreadyThere: a target without a counter (its
// entries written one message each, before counters) starts counting from
// its length, so the backlog stays exact across the upgrade.
func TestAddAndAckCountsAlertsAlreadyThere(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	in, out := keys.IngestStream(0), keys.AlertStream(0)
	require.NoError(t, stream.Add(ctx, rdb, out, payloads(5)), "written before counters")
	_, _, err := stream.Enqueue(ctx, rdb, in, 0, payloads(1), nil)
	require.NoError(t, err)
	c := consumer(rdb, in, "a", time.Minute, stream.NewMetrics(prometheus.NewRegistry()))
	require.NoError(t, c.EnsureGroup(ctx))
	got, err := c.Read(ctx)
	require.NoError(t, err)
	require.NoError(t, c.AddAndAck(ctx, out, payloads(50), got...))
	require.EqualValues(t, 55, depth(t, rdb, out))
}

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}
