package alert

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/stream"
)

// BenchmarkAlerterThroughput measures the whole alerter against the real
// Redis and PostgreSQL: b.N events (40% forwarded, 10% audited only, 50%
// unmatched over 20 hosts) are put on the ingest stream first, then one
// alerter (one shard, default batch size) drains it. Reports events/s.
// Run with e.g. -benchtime=100000x.
func BenchmarkAlerterThroughput(b *testing.B) {
	r := newRig(b)
	r.set(b, "alerter_queue_shed_threshold", "10000000000") // no forwarder drains the alerts here
	payloads := make([][]byte, 0, b.N)
	for i := range b.N {
		var host, msg string
		switch i % 10 {
		case 0, 1, 2:
			host, msg = "router1.prod.example.com", fmt.Sprintf("%%LINK-3-UPDOWN: Interface Gi0/%d, changed state to down LINK-DOWN", i%48)
		case 3:
			host, msg = "switch1.prod.example.com", fmt.Sprintf("%%ENVMON-2-CRITICAL: Fan %d failed", i%8)
		case 4:
			host, msg = "dev-router1", fmt.Sprintf("%%SYS-3-CPUHOG: ERROR task ran for %d msec", i%5000)
		default:
			host, msg = fmt.Sprintf("edge%d.example.net", i%20), fmt.Sprintf("%%SYS-5-CONFIG_I: Configured from console by admin on vty%d (10.1.%d.%d)", i%5, i%255, i%200)
		}
		p, err := json.Marshal(newEnvelope(host, msg))
		require.NoError(b, err)
		payloads = append(payloads, p)
	}
	for lo := 0; lo < len(payloads); lo += 1000 {
		r.enqueueRaw(b, payloads[lo:min(lo+1000, len(payloads))]...)
	}
	in := r.newAlerter(b, r.db, "bench")
	b.ResetTimer()
	stop := in.start(b)
	for r.xlen(b, r.keys.IngestStream(0)) > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(histMean(b, in, "mutt_db_write_latency_ms"), "insert-ms/batch")
	b.ReportMetric(histMean(b, in, "mutt_alerter_processing_latency_seconds")*1000, "ms/batch")
	b.ReportMetric(histMean(b, in, "mutt_alerter_batch_size"), "events/batch")
}

func histMean(tb testing.TB, in *instance, name string) float64 {
	mfs, err := in.reg.Gather()
	require.NoError(tb, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			h := mf.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() > 0 {
				return h.GetSampleSum() / float64(h.GetSampleCount())
			}
		}
	}
	return 0
}

// BenchmarkAlerterReadAfterShift measures the alerter's worst batch (ADR
// 0048): 1 000 single events, then 10 100 events in entries of 100, all
// queued before it starts. The read that follows the single events still
// asks for single-event counts and takes the most entries it may, 10 000
// events; peak-heap-MiB is the most heap in use above what it started with
// (runtime.MemStats.HeapInuse sampled every 5 ms), against the 64 MiB RSS
// target of a role.
func BenchmarkAlerterReadAfterShift(b *testing.B) {
	for range b.N {
		r := newRig(b)
		r.set(b, "alerter_queue_shed_threshold", "10000000000")
		single := make([]event.Envelope, 1000)
		for i := range single {
			single[i] = newEnvelope("router1.prod.example.com", fmt.Sprintf("%%LINK-3-UPDOWN: Interface Gi0/%d, changed state to down LINK-DOWN", i))
		}
		r.enqueue(b, single...)
		full := make([]event.Envelope, 10_100)
		for i := range full {
			full[i] = newEnvelope(fmt.Sprintf("edge%d.example.net", i%20), fmt.Sprintf("%%SYS-5-CONFIG_I: Configured from console by admin on vty%d (10.1.%d.%d)", i%5, i%255, i%200))
		}
		r.enqueueEntries(b, 100, full...)
		single, full = nil, nil
		in := r.newAlerter(b, r.db, "bench")
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base, peak := ms.HeapInuse, ms.HeapInuse
		stop := in.start(b)
		for r.xlen(b, r.keys.IngestStream(0)) > 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			time.Sleep(5 * time.Millisecond)
		}
		stop()
		b.ReportMetric(float64(peak-base)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(in.batches(b).events)/float64(in.batches(b).count), "events/batch")
	}
}

// BenchmarkPrepare decodes and evaluates a batch as the alerter reads it at
// saturation — five entries of one ingest request's 100 events each (ADR
// 0048) — without I/O: the CPU of an alerter's batch before its writes.
func BenchmarkPrepare(b *testing.B) {
	r := newRig(b)
	a := r.newAlerter(b, r.db, "bench-prepare").a
	var entries []stream.Entry
	for e := range 5 {
		envs := make([][]byte, 100)
		for i := range envs {
			p, err := json.Marshal(newEnvelope("router1.prod.example.com",
				fmt.Sprintf("%%LINK-3-UPDOWN: Interface Gi0/%d, changed state to down LINK-DOWN", i%48)))
			require.NoError(b, err)
			envs[i] = p
		}
		entries = append(entries, stream.Entry{ID: fmt.Sprint(e), Data: stream.AppendArray(nil, envs), Events: 100})
	}
	eng := a.engine.Load()
	b.ReportAllocs()
	for b.Loop() {
		if items, dead := a.prepare(eng, entries); len(items) != 500 || len(dead) != 0 {
			b.Fatal(len(items), len(dead))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/event")
}
