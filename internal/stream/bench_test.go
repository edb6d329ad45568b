package stream_test

import (
	"context"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// BenchmarkRead reads b.N entries of 500 bytes, 100 per Read (cpu-ns/op: the
// client's share; Redis runs in a process of its own).
func BenchmarkRead(b *testing.B) {
	rdb, keys := testenv.Redis(b)
	ctx := context.Background()
	key := keys.AlertStream(0)
	payload := []byte(`{"event_id":"` + strings.Repeat("x", 480) + `"}`)
	for left := b.N; left > 0; left -= 1000 {
		batch := make([][]byte, min(left, 1000))
		for i := range batch {
			batch[i] = payload
		}
		require.NoError(b, stream.Add(ctx, rdb, key, batch))
	}
	c := stream.NewConsumer(rdb, stream.Options{
		Stream: key, Group: "g", Consumer: "bench", DeadLetter: key + ":dlq", Count: 100, Block: 10 * time.Millisecond,
	}, quiet, stream.NewMetrics(prometheus.NewRegistry()))
	require.NoError(b, c.EnsureGroup(ctx))
	b.ReportAllocs()
	runtime.GC() // the set-up's garbage is not the reads' CPU
	b.ResetTimer()
	cpu := cpuTime(b)
	for n := 0; n < b.N; {
		got, err := c.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n += len(got)
	}
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time (user and system) this process has used: unlike
// ns/op, it does not grow with the load of the machine.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
