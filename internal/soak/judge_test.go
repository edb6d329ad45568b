package soak

import (
	"bytes"
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// series returns n points every 10 s of f(minutes).
func series(n int, f func(i int, min float64) float64) ([]time.Duration, []float64) {
	t := make([]time.Duration, n)
	y := make([]float64, n)
	for i := range n {
		t[i] = time.Duration(i+1) * 10 * time.Second
		y[i] = f(i, t[i].Minutes())
	}
	return t, y
}

// TestJudgeTellsALeakFromWarmUpAndNoise: the verdicts an operator reads in
// the report. Memory that grows fast then levels off (warm-up) and noisy but
// flat goroutines are flat; a steady climb is a leak, even a small one once
// it exceeds the tolerance; shrinking is never a leak.
func TestJudgeTellsALeakFromWarmUpAndNoise(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	noise := func(i int) float64 { return float64((i*7919)%11) - 5 } // deterministic ±5

	ts, y := series(180, func(_ int, m float64) float64 { return 40*mib + 30*mib*(1-math.Exp(-m/2)) }) // 30 min, warm-up in the first minutes
	v := Judge("warm-up", ts, y, TolRSS)
	assert.True(t, v.Flat, "a warm-up that levels off is flat: %+v", v)
	assert.Equal(t, 90, v.Points, "only the second half is judged")

	ts, y = series(180, func(i int, _ float64) float64 { return 60 + noise(i) })
	v = Judge("noisy goroutines", ts, y, TolGoroutines)
	assert.True(t, v.Flat, "noise around a constant is flat: %+v", v)
	assert.InDelta(t, 0, v.SlopePerHour, 20)

	ts, y = series(180, func(_ int, m float64) float64 { return 50*mib + m*mib }) // +1 MiB a minute
	v = Judge("leak", ts, y, TolRSS)
	assert.False(t, v.Flat, "1 MiB/min over 15 min judged is a leak: %+v", v)
	assert.InDelta(t, 60*mib, v.SlopePerHour, mib, "slope in units per hour")
	assert.InDelta(t, 15*mib, v.Growth, mib)

	ts, y = series(180, func(i int, m float64) float64 { return 30 + m*2 + noise(i)/5 }) // one more socket every 30 s
	v = Judge("socket leak", ts, y, TolFDs)
	assert.False(t, v.Flat, "30 sockets more over the second half: %+v", v)

	ts, y = series(180, func(_ int, m float64) float64 { return 200 - m })
	assert.True(t, Judge("shrinking", ts, y, TolFDs).Flat)

	ts, y = series(3, func(_ int, m float64) float64 { return m * 1000 })
	v = Judge("too short", ts, y, TolFDs)
	assert.True(t, v.Flat, "too few points to fit a trend are not judged")
	assert.Less(t, v.Points, minPoints)

	assert.True(t, Judge("empty", nil, nil, TolFDs).Flat)
}

// TestResultFailsOnLeakOrMissingScheduleRuns: the overall verdict.
func TestResultFailsOnLeakOrMissingScheduleRuns(t *testing.T) {
	t.Parallel()
	mk := func(leak bool) *Result {
		r := &Result{Options: Options{Rate: 500}}
		for i := range 60 {
			rss := int64(50 << 20)
			if leak {
				rss += int64(i) << 20
			}
			r.Samples = append(r.Samples, Sample{At: time.Duration(i+1) * 10 * time.Second,
				Procs: map[string]ProcSample{"alerter": {RSS: rss, Goroutines: 40, FDs: 20, Sockets: 10}},
				P50:   5, P99: 20, Backlog: 100, PGConns: 8})
		}
		r.Runs = []ScheduleRuns{{Schedule: "mutt-retention", Workflow: "RetentionWorkflow", Completed: 2},
			{Schedule: "mutt-partition-maintenance", Workflow: "PartitionMaintenanceWorkflow", Completed: 2}}
		return r
	}
	r := mk(false)
	r.judge()
	assert.True(t, r.Pass, r.headline())
	assert.Len(t, r.Verdicts, 7, "RSS, fds, sockets and goroutines of the alerter; PG connections, p99, backlog")

	r = mk(true)
	r.judge()
	assert.False(t, r.Pass)
	assert.Contains(t, r.headline(), "1 not flat")

	r = mk(false)
	r.Runs[0].Completed, r.Runs[1].Failed = 0, 1
	r.judge()
	assert.False(t, r.Pass)
	assert.Equal(t, []string{"mutt-retention completed no run", "mutt-partition-maintenance: 1 failed runs"}, r.ScheduleProblems)

	r = mk(false)
	r.Failure = "alerter exited"
	r.judge()
	assert.False(t, r.Pass, "a process that exited fails the soak")
}

// TestReportAndPlotsAreWritten: the files a reader opens: the Markdown links
// every plot by a path relative to the report, and every plot is valid SVG
// with a line per process.
func TestReportAndPlotsAreWritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := &Result{Options: Options{Rate: 500, Duration: 10 * time.Minute, SampleEvery: 10 * time.Second,
		ReportPath: filepath.Join(dir, "docs", "soak", "soak-10m.md"), ImgDir: filepath.Join(dir, "docs", "img"),
		Title: "MUTT soak, 10 minutes", Command: "muttdev soak --duration=10m"}}
	for i := range 60 {
		r.Samples = append(r.Samples, Sample{At: time.Duration(i+1) * 10 * time.Second,
			Procs: map[string]ProcSample{"alerter": {RSS: 50 << 20, Goroutines: 40, FDs: 20}, "moog-sim": {RSS: 20 << 20, Goroutines: -1, FDs: 9}},
			P50:   5, P99: 20, Runs: map[string]int64{"mutt-retention": int64(i / 20)}, Accepted: int64(i * 5000), Alerts: 4500, LoadAvg: 3})
	}
	r.judge()
	require.NoError(t, r.write())

	md, err := os.ReadFile(r.Options.ReportPath)
	require.NoError(t, err)
	for _, kind := range []string{"rss", "goroutines", "fds", "latency", "backlog", "throughput", "load"} {
		assert.Contains(t, string(md), "](../img/soak-10m-"+kind+".svg)")
		b, err := os.ReadFile(filepath.Join(dir, "docs", "img", "soak-10m-"+kind+".svg"))
		require.NoError(t, err, kind)
		require.NoError(t, xml.NewDecoder(bytes.NewReader(b)).Decode(new(any)), "%s is well-formed XML", kind)
		assert.True(t, strings.HasPrefix(string(b), "<svg "), kind)
	}
	assert.Contains(t, string(md), "muttdev soak --duration=10m")
	assert.Contains(t, string(md), "**shared with other work**")
	assert.FileExists(t, filepath.Join(dir, "docs", "soak", "soak-10m.json"))

	rssSVG, _ := os.ReadFile(r.Plots["rss"])
	assert.Equal(t, 2, strings.Count(string(rssSVG), "<polyline"), "a line per process")
	assert.Equal(t, 2, strings.Count(string(rssSVG), "<title>mutt-retention</title>"), "a mark per schedule run")
	gSVG, _ := os.ReadFile(r.Plots["goroutines"])
	assert.Equal(t, 1, strings.Count(string(gSVG), "<polyline"), "the simulator has no goroutine metric")
}

func TestNiceTicks(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []float64{0, 20, 40, 60, 80}, niceTicks(0, 73, 5))
	assert.InDeltaSlice(t, []float64{0, 0.2, 0.4, 0.6}, niceTicks(0, 0.55, 3), 1e-9)
	assert.Equal(t, "12.5M", fmtNum(12.5e6))
	assert.Equal(t, "20k", fmtNum(20000))
}
