package forward_test

import (
	"testing"
	"time"

	"github.com/mutt-ops/mutt/internal/moogsim"
)

// BenchmarkForwarder measures delivery throughput to the in-process simulator
// with the settings of the pipeline benchmark (moog_batch_size 100, a high
// rate limit): b.N alerts are queued, then delivered and acknowledged.
func BenchmarkForwarder(b *testing.B) {
	r := newRig(b, moogsim.Options{Keep: 10}, map[string]string{
		"moog_batch_size":      "100",
		"moog_rate_limit":      "1000000000",
		"forwarder_batch_size": "1000",
	}, nil)
	n := max(b.N, 1000)
	r.addAlerts(n)
	b.ResetTimer()
	start := time.Now()
	r.start("bench", "")
	for r.sim.Count() < n || r.streamLen(b) > 0 {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "alerts/s")
}
