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
	require.Len(t, msgs, 2)
	require.Equal(t, `{"n":1}`, msgs[1].Values[stream.Field])
	n, err := stream.Len(ctx, rdb, in)
	require.NoError(t, err)
	require.Zero(t, n, "acknowledged entries are deleted")
	p, err := rdb.XPending(ctx, in, "g").Result()
	require.NoError(t, err)
	require.Zero(t, p.Count)

	require.NoError(t, c.AddAndAck(ctx, out, payloads(2), got...), "a retry of a batch already done")
	n, err = stream.Len(ctx, rdb, out)
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "a retry adds nothing twice")

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
		big[i] = []byte("x")
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
	n, err = stream.Len(ctx, rdb, out)
	require.NoError(t, err)
	require.EqualValues(t, 2+10000, n)
}
