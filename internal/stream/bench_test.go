package stream_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/procstat"
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

// BenchmarkHop measures what one stream hop (the ingestor's Push, a
// consumer's Read of 500 events, its Ack) costs Redis per event, with one
// event per entry (old writers, DLQ replay) and with one ingest
// request's 100 events in entries of 10 or of 100, as the ingestor writes
// them (ADR 0048), the depth counter kept throughout. redis-ns/event is
// redis-server's own CPU time (/proc), in 10 ms ticks: use -benchtime 10x or
// more. 1 000 requests of 100 events of 500 bytes per op.
//
// events-per-entry=100/plain-xadd writes the same entries with a plain XADD
// instead of Push's script, neither bounded nor counted: what Redis's Lua
// costs the hop. Redis hashes every byte of a script's arguments as it
// turns them into Lua strings (docs/PERFORMANCE.md).
func BenchmarkHop(b *testing.B) {
	for _, per := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("events-per-entry=%d", per), func(b *testing.B) { benchHop(b, per, false) })
	}
	b.Run("events-per-entry=100/plain-xadd", func(b *testing.B) { benchHop(b, 100, true) })
}

func benchHop(b *testing.B, per int, plain bool) {
	rdb, keys := testenv.Redis(b)
	ctx := context.Background()
	key := keys.IngestStream(0)
	c := stream.NewConsumer(rdb, stream.Options{
		Stream: key, Counter: stream.CounterKey(key), Group: "g", Consumer: "bench", DeadLetter: key + ":dlq", Count: int64(500 / per),
		Block: 10 * time.Millisecond,
	}, quiet, stream.NewMetrics(prometheus.NewRegistry()))
	require.NoError(b, c.EnsureGroup(ctx))
	event := `{"event_id":"` + strings.Repeat("x", 480) + `"}`
	request := make([][]byte, 100)
	for i := range request {
		request[i] = []byte(event)
	}
	var counts []int
	if per > 1 {
		entry := []byte("[" + strings.Repeat(event+",", per-1) + event + "]")
		request = request[:100/per]
		counts = make([]int, len(request))
		for i := range request {
			request[i], counts[i] = entry, per
		}
	}
	const requests = 1000
	redisPID := redisPID(b, rdb)
	b.ResetTimer()
	cpu := procCPU(b, redisPID)
	for range b.N {
		for range requests {
			if plain {
				err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{stream.Field, request[0], stream.EventsField, per}}).Err()
				require.NoError(b, err)
				continue
			}
			_, err := stream.Push(ctx, rdb, key, 0, request, counts)
			require.NoError(b, err)
		}
		for events := 0; events < requests*100; {
			got, err := c.Read(ctx)
			require.NoError(b, err)
			require.NoError(b, c.AckEntries(ctx, got...))
			events += len(got) * per
		}
	}
	b.ReportMetric(float64(procCPU(b, redisPID)-cpu)/float64(b.N*requests*100), "redis-ns/event")
}

func redisPID(b *testing.B, rdb redis.UniversalClient) int {
	info, err := rdb.Info(context.Background(), "server").Result()
	require.NoError(b, err)
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			require.NoError(b, err)
			return pid
		}
	}
	b.Fatal("INFO server without process_id")
	return 0
}

func procCPU(b *testing.B, pid int) time.Duration {
	s, err := procstat.Read(pid)
	require.NoError(b, err)
	return s.CPU
}
