package forward_test

import (
	"io"
	"net/http"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/mutt-ops/mutt/internal/moogsim"
)

// BenchmarkForwarder measures delivery throughput to the in-process simulator
// with the settings of the pipeline benchmark (moog_batch_size 100, a high
// rate limit): b.N alerts are queued, then delivered and acknowledged.
// cpu-µs/alert is the process's CPU time (user and system) from the start of
// the forwarder to the last acknowledgement per alert: unlike ns/op it does
// not depend on how busy the machine is, and it leaves out the queueing
// (but includes the simulator's share).
func BenchmarkForwarder(b *testing.B) {
	b.Run("moogsim", func(b *testing.B) { benchForwarder(b, nil) })
	// A webhook that only reads the body and answers 202: nearly all the
	// CPU left is the forwarder's (and its Redis client's).
	b.Run("discard", func(b *testing.B) {
		benchForwarder(b, func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				_, _ = io.Copy(io.Discard, req.Body)
				w.WriteHeader(http.StatusAccepted)
			})
		})
	})
}

func benchForwarder(b *testing.B, webhook func(http.Handler) http.Handler) {
	r := newRig(b, moogsim.Options{Keep: 10}, map[string]string{
		"moog_batch_size":      "100",
		"moog_rate_limit":      "1000000000",
		"forwarder_batch_size": "1000",
	}, webhook)
	n := max(b.N, 1000)
	r.addAlerts(n)
	runtime.GC() // the queueing's garbage is not the forwarder's CPU
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime(b)
	r.start("bench", "")
	for (webhook == nil && r.sim.Count() < n) || r.streamLen(b) > 0 {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "alerts/s")
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Microsecond)/float64(n), "cpu-µs/alert")
}

// cpuTime is the CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
