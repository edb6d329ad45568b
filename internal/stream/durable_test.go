package stream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestEnqueueDurableOnACluster: WAIT 1 on the shard's primary is confirmed
// by its replica; asking for more replicas than exist is a NotDurableError
// with the entries written all the same; a full stream is refused before
// any wait.
func TestEnqueueDurableOnACluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := testenv.StartRedisCluster(t)
	cc := c.Client(t)
	key := "dur:stream:ingest:{0}"

	ids, depth, err := stream.EnqueueDurable(ctx, cc, key, 0, payloads(3), nil, stream.Durability{Replicas: 1, Timeout: 2 * time.Second})
	require.NoError(t, err)
	require.Len(t, ids, 3)
	require.EqualValues(t, 3, depth)

	_, _, err = stream.EnqueueDurable(ctx, cc, key, 0, payloads(1), nil, stream.Durability{Replicas: 2, Timeout: 100 * time.Millisecond})
	var nd *stream.NotDurableError
	require.ErrorAs(t, err, &nd)
	require.EqualValues(t, 1, nd.Replicas)
	require.Contains(t, err.Error(), "1 of 2 replica(s) confirmed")
	require.EqualValues(t, 4, cc.XLen(ctx, key).Val(), "written all the same: a retry is a duplicate, never a loss")

	_, _, err = stream.EnqueueDurable(ctx, cc, key, 4, payloads(1), nil, stream.Durability{Replicas: 1, Timeout: time.Second})
	var fe *stream.FullError
	require.ErrorAs(t, err, &fe)

	depth, err = stream.PushDurable(ctx, cc, key, 0, payloads(2), nil, stream.Durability{Replicas: 1, Timeout: 2 * time.Second})
	require.NoError(t, err)
	require.EqualValues(t, 6, depth)
	_, err = stream.PushDurable(ctx, cc, key, 0, payloads(1), nil, stream.Durability{Replicas: 2, Timeout: 100 * time.Millisecond})
	require.ErrorAs(t, err, &nd)
	require.EqualValues(t, 7, cc.XLen(ctx, key).Val())
	depth, err = stream.PushDurable(ctx, cc, key, 7, payloads(1), nil, stream.Durability{Replicas: 1, Timeout: time.Second})
	require.ErrorAs(t, err, &fe)
	require.EqualValues(t, 7, depth)

	require.Equal(t, "none (primary's memory and its AOF policy)", stream.Durability{}.String())
	require.False(t, stream.Durability{Timeout: time.Second}.Enabled())
}

// BenchmarkEnqueueDurable measures what WAIT 1 costs per enqueue of a
// 100-event batch on a local cluster (ADR 0034): go test -bench
// EnqueueDurable -run '^$' ./internal/stream/.
func BenchmarkEnqueueDurable(b *testing.B) {
	ctx := context.Background()
	c := testenv.StartRedisCluster(b)
	cc := c.Client(b)
	batch := payloads(100)
	for _, d := range []stream.Durability{{}, {Replicas: 1, Timeout: time.Second}} {
		b.Run(fmt.Sprintf("replicas=%d", d.Replicas), func(b *testing.B) {
			key := fmt.Sprintf("bench:%d:{0}", d.Replicas)
			for b.Loop() {
				if _, _, err := stream.EnqueueDurable(ctx, cc, key, 0, batch, nil, d); err != nil {
					b.Fatal(err)
				}
			}
			cc.Del(ctx, key)
		})
	}
}
