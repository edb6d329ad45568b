package tally

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// Counts land in the hash of the minute they were made in, with a TTL; a
// failed flush keeps them for the next one; Read returns the window oldest
// first with empty minutes.
func TestRecorderFlushAndRead(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 30, 20, 0, time.UTC)
	r := New(rdb, keys, nil)
	r.now = func() time.Time { return now }
	r.Add(Matched, 3)
	r.Add(Matched, 2)
	r.Add(AcceptedPrefix+"http", 7)
	r.Add(Ignored, 0) // nothing to write
	now = now.Add(-2 * time.Minute)
	r.Add(Unhandled, 1)
	now = now.Add(2 * time.Minute)

	// Redis unreachable: the flush fails and keeps the counts.
	dead := redis.NewClient(&redis.Options{Addr: testenv.FreeAddr(t), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = dead.Close() })
	r.rdb = dead
	require.Error(t, r.Flush(ctx))
	r.Add(Matched, 1) // counted while Redis was away
	r.rdb = rdb
	require.NoError(t, r.Flush(ctx))
	require.NoError(t, r.Flush(ctx), "nothing pending")

	k := keys.Tally("2026-12-01T10:30")
	require.Equal(t, map[string]string{Matched: "6", AcceptedPrefix + "http": "7"}, rdb.HGetAll(ctx, k).Val())
	ttl := rdb.TTL(ctx, k).Val()
	require.True(t, ttl > 24*time.Hour && ttl <= TTL, ttl)

	minutes, err := Read(ctx, rdb, keys, now, 3)
	require.NoError(t, err)
	require.Len(t, minutes, 4)
	require.Equal(t, time.Date(2026, 12, 1, 10, 27, 0, 0, time.UTC), minutes[0].Start)
	require.Empty(t, minutes[0].Counts)
	require.Equal(t, map[string]int64{Unhandled: 1}, minutes[1].Counts)
	require.Equal(t, map[string]int64{Matched: 6, AcceptedPrefix + "http": 7, Unhandled: 1}, Sum(minutes))

	var none *Recorder
	none.Add(Matched, 1) // a nil recorder counts nothing and does not fail
	require.NoError(t, none.Flush(ctx))
}

// Run flushes on its own and once more when its context ends.
func TestRecorderRunFlushesAtExit(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	r := New(rdb, keys, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	r.Add(Delivered, 4)
	cancel()
	require.NoError(t, <-done)
	minutes, err := Read(context.Background(), rdb, keys, time.Now(), 1)
	require.NoError(t, err)
	require.Equal(t, int64(4), Sum(minutes)[Delivered])
}
