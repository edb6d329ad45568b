package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/procstat"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// The ceilings are measured against the real PostgreSQL and Redis, in this
// test's own database and key prefix, and leave nothing behind for the
// phases that follow.
func TestCeilingsAgainstRealServices(t *testing.T) {
	ctx := t.Context()
	db := testenv.Postgres(t)
	rdb, keys := testenv.Redis(t)
	var out bytes.Buffer
	r := &run{o: Options{Out: &out, CeilingDuration: 300 * time.Millisecond}, db: db, rdb: rdb, prefix: keys.Prefix}

	c, err := r.ceilings(ctx)
	require.NoError(t, err)
	assert.Greater(t, c.PGRowsPerSec, 0.0, "rows/s COPYed into event_audit_log")
	assert.Greater(t, c.RedisXAddPerSec, 0.0, "XADD/s")
	assert.Contains(t, out.String(), "measuring this machine's ceilings, 300ms each")

	var rows int64
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM event_audit_log`).Scan(&rows))
	assert.Zero(t, rows, "the ceiling's audit rows are removed before the phases count theirs")
	n, err := rdb.Exists(ctx, keys.Prefix+"bench:ceiling").Result()
	require.NoError(t, err)
	assert.Zero(t, n, "the ceiling's stream is deleted")

	out.Reset()
	r.checkpoint(ctx)
	assert.Empty(t, out.String(), "CHECKPOINT works as the test's (superuser) role")

	printCeilings(&out, c)
	assert.Regexp(t, `PostgreSQL +\d+ rows/s +\(COPY into event_audit_log with its indexes, 1000-row batches, 4 connections\)`, out.String())
	assert.Regexp(t, `Redis +\d+ XADD/s +\(alert-sized entries, pipelines of 1000, 4 connections\)`, out.String())
}

func TestPrintRatios(t *testing.T) {
	var out bytes.Buffer
	c := Ceilings{PGRowsPerSec: 40_000, RedisXAddPerSec: 200_000}
	printRatios(&out, Phase{AuditedPerSec: 10_000, EndToEndPerSec: 50_000}, c)
	assert.Equal(t, "  ratios     audited/PostgreSQL ceiling 0.250   end to end/Redis ceiling 0.250\n", out.String())

	out.Reset()
	printRatios(&out, Phase{AuditedPerSec: 10_000}, Ceilings{})
	assert.Empty(t, out.String(), "no ratios without measured ceilings (-ceilings=false)")
}

func TestPrintPhase(t *testing.T) {
	var out bytes.Buffer
	printPhase(&out, Phase{Name: "fixed rate", OfferedRate: 5000, Accepted: 75_000, AcceptedPerSec: 5000,
		Refused: 100, HTTPErrors: 2, Audited: 67_500, AuditedPerSec: 4500, Delivered: 67_500, DeliveredPerSec: 4490,
		EndToEndPerSec: 4990, Drained: true, DrainAfterLoad: 120 * time.Millisecond,
		P50: 9500 * time.Microsecond, P95: 16 * time.Millisecond, P99: 42_500 * time.Microsecond, LatencyMeasuredCount: 67_500})
	s := out.String()
	assert.Contains(t, s, "== fixed rate (offered 5000/s) ==")
	assert.Regexp(t, `accepted +75000 events +5000 events/s +\(refused 100, http errors 2\)`, s)
	assert.Contains(t, s, "drained    true, 120ms after the load stopped")
	assert.Contains(t, s, "latency    p50 9.5ms  p95 16ms  p99 42.5ms")

	out.Reset()
	printPhase(&out, Phase{Name: "saturation"})
	assert.Contains(t, out.String(), "== saturation (offered max) ==")
}

// The per-stage timings come from the roles' real Prometheus exposition,
// and each phase counts only what was observed during it.
func TestStagesFromRealExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	batch := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mutt_alerter_processing_latency_seconds",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}})
	dbms := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mutt_db_write_latency_ms",
		Buckets: []float64{1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000}})
	reg.MustRegister(batch, dbms)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	r := &run{client: srv.Client(), ports: map[string]string{"alerter": port}}

	batch.Observe(7) // before the phase: not counted
	before := r.scrapeStages(t.Context())
	for range 98 {
		batch.Observe(.004)
		dbms.Observe(3)
	}
	batch.Observe(.07)
	batch.Observe(.3)
	dbms.Observe(40)
	dbms.Observe(60)
	ss := stages(before, r.scrapeStages(t.Context()))

	byName := map[string]Stage{}
	for _, s := range ss {
		byName[s.Stage] = s
	}
	b := byName["alerter batch (read → ack)"]
	assert.Equal(t, 100.0, b.Count)
	assert.Equal(t, 5*time.Millisecond, b.P50)
	assert.Equal(t, 100*time.Millisecond, b.P99, "98 of 100 at or below 5 ms, the 99th is 70 ms")
	assert.InDelta(t, 0.02, b.Over50ms, 1e-9)
	assert.InDelta(t, float64(((98*.004)+.07+.3)/100*float64(time.Second)), float64(b.Mean), float64(time.Microsecond))
	w := byName["alerter audit write (one batch)"]
	assert.Equal(t, 100.0, w.Count)
	assert.Equal(t, 50*time.Millisecond, w.P99, "milliseconds are converted")
	assert.InDelta(t, 0.01, w.Over50ms, 1e-9)
	assert.True(t, byName["Moogsoft request"].Unmeasureable, "the forwarder was not scraped")

	var out bytes.Buffer
	printStages(&out, ss)
	assert.Regexp(t, `alerter batch \(read → ack\) +n +100 +mean +\S+ +p50 ≤ 5ms +p99 ≤ 100ms +> 50 ms +2\.00 %`, out.String())
	assert.Regexp(t, `Moogsoft request +not served`, out.String())
}

func TestHistogramQuantiles(t *testing.T) {
	h := histogram{bounds: []float64{1, 2, math.Inf(1)}, counts: []float64{50, 90, 100}, count: 100, sum: 150}
	assert.Equal(t, 1.0, h.quantile(.5))
	assert.Equal(t, 2.0, h.quantile(.9))
	assert.True(t, math.IsInf(h.quantile(.99), 1), "in the +Inf bucket")
	assert.InDelta(t, 0.5, h.above(1), 1e-9)
	assert.InDelta(t, 0.1, h.above(2), 1e-9)
	assert.True(t, math.IsNaN(histogram{}.quantile(.5)))
	d := h.sub(&histogram{bounds: h.bounds, counts: []float64{50, 50, 50}, count: 50, sum: 25})
	assert.Equal(t, []float64{0, 40, 50}, d.counts)
	assert.Equal(t, 50.0, d.count)
	assert.Equal(t, 2.0, d.quantile(.5))
}

func FuzzParseHistograms(f *testing.F) {
	f.Add("# TYPE x histogram\nx_bucket{le=\"0.5\"} 3\nx_bucket{le=\"+Inf\"} 4\nx_sum 1.5\nx_count 4\n")
	f.Add("x_bucket{a=\"b\",le=\"1\"} 1\nx_bucket{le=\"+Inf\"} 1\n")
	f.Add("x_bucket{le=\"2\"} 1\nx_bucket{le=\"1\"} 1\n")
	f.Fuzz(func(t *testing.T, text string) {
		hs, err := parseHistograms(strings.NewReader(text), map[string]bool{"x": true})
		if err != nil {
			return // a line over 1 MiB
		}
		for _, h := range hs {
			require.Len(t, h.counts, len(h.bounds))
			require.True(t, math.IsInf(h.bounds[len(h.bounds)-1], 1), "only histograms ending in +Inf are kept")
			_ = h.quantile(.99)
			_ = h.above(.05)
		}
	})
}

func TestBodiesAreTheAdvertisedLoad(t *testing.T) {
	bodies := Bodies(3, 20)
	require.Len(t, bodies, 3)
	var heartbeats, total int
	for _, b := range bodies {
		var evs []map[string]string
		require.NoError(t, json.Unmarshal(b, &evs))
		require.Len(t, evs, 20)
		for _, e := range evs {
			total++
			assert.NotEmpty(t, e["hostname"])
			assert.NotEmpty(t, e["timestamp"])
			if strings.HasPrefix(e["message"], "heartbeat") {
				heartbeats++
			}
		}
	}
	assert.Equal(t, total/10, heartbeats, "a tenth matches no rule")
}

func TestProcessReadings(t *testing.T) {
	assert.Positive(t, peakRSS(os.Getpid()), "VmHWM of this test process")
	assert.Zero(t, peakRSS(-1), "no such process")
	assert.GreaterOrEqual(t, loadAvg(), 0.0)
}

// The CPU table charges this process to the load generator and splits what
// the machine did by component.
func TestCPUShares(t *testing.T) {
	r := &run{}
	before := r.sampleCPU()
	start, err := procstat.Read(os.Getpid())
	require.NoError(t, err)
	for { // burn CPU until the kernel has charged a tick to this process and to the machine
		_ = peakRSS(os.Getpid())
		now, _ := procstat.Read(os.Getpid())
		if busy, _ := machineCPU(); now.CPU > start.CPU && busy > before.busy {
			break
		}
	}
	after := r.sampleCPU()
	shares, busy := cpuShares(before, after, 1000)
	require.NotEmpty(t, shares)
	byName := map[string]CPUShare{}
	for _, s := range shares {
		byName[s.Name] = s
	}
	gen := byName["load generator"]
	assert.Positive(t, gen.Seconds, "this process burnt CPU")
	assert.InDelta(t, gen.Seconds/1000*1e6, gen.PerEventMicro, 1e-9)
	assert.Contains(t, byName, "other processes")
	assert.Greater(t, busy, 0.0)
	assert.LessOrEqual(t, busy, 1.0)

	var out bytes.Buffer
	printCPU(&out, Phase{CPU: shares, MachineBusy: busy})
	assert.Contains(t, out.String(), "load generator")
	assert.Contains(t, out.String(), "µs/event")
}

// A profile directory that does not exist yet is created before the run
// (it was not, and every profile of the run was lost); one that cannot be
// is refused up front, naming it.
func TestMakeProfileDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "profiles")
	require.NoError(t, makeProfileDir(dir))
	assert.DirExists(t, dir)
	require.NoError(t, makeProfileDir(""))
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	err := makeProfileDir(filepath.Join(file, "sub"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "profile directory")
}

// fetchProfile reports what it could not save instead of writing an error
// page as a profile.
func TestFetchProfile(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("profile")) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var out bytes.Buffer
	r := &run{o: Options{Out: &out}}
	dir := t.TempDir()
	require.True(t, r.fetchProfile(srv.URL+"/ok", dir+"/a.pprof"))
	b, err := os.ReadFile(dir + "/a.pprof")
	require.NoError(t, err)
	assert.Equal(t, "profile", string(b))
	assert.False(t, r.fetchProfile(srv.URL+"/missing", dir+"/b.pprof"))
	assert.Contains(t, out.String(), "404")
	assert.NoFileExists(t, dir+"/b.pprof")
}
