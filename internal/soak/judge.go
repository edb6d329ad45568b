package soak

import (
	"fmt"
	"math"
	"time"
)

// Tolerance bounds how much a series may grow over the judged window: the
// larger of Abs and Rel × the window's mean.
type Tolerance struct {
	Rel float64
	Abs float64
}

// Verdict judges one series. The first half of the run is warm-up (caches,
// pools and the Go heap grow to their working size); only the second half is
// judged: the least-squares slope over it, times its length, is the growth the
// trend predicts. A series is flat when that growth is within the tolerance.
// Shrinking is always flat.
type Verdict struct {
	Series       string  `json:"series"`
	First        float64 `json:"first"`
	Last         float64 `json:"last"`
	Mean         float64 `json:"mean"`
	Max          float64 `json:"max"`
	SlopePerHour float64 `json:"slope_per_hour"`
	Growth       float64 `json:"growth"` // predicted by the slope over the judged window
	Limit        float64 `json:"limit"`
	Points       int     `json:"points"` // judged
	Flat         bool    `json:"flat"`
}

// minPoints below which a series is not judged (too short to fit a trend);
// such a verdict is flat with Points reporting the shortfall.
const minPoints = 4

// Judge fits the second half of (t, y) and compares the growth with tol.
func Judge(name string, t []time.Duration, y []float64, tol Tolerance) Verdict {
	v := Verdict{Series: name, Flat: true}
	n := min(len(t), len(y))
	if n == 0 {
		return v
	}
	v.First, v.Last = y[0], y[n-1]
	mid := t[0] + (t[n-1]-t[0])/2
	var xs, ys []float64
	for i := 0; i < n; i++ {
		v.Max = math.Max(v.Max, y[i])
		if t[i] >= mid {
			xs = append(xs, t[i].Hours())
			ys = append(ys, y[i])
		}
	}
	v.Points = len(xs)
	for _, y := range ys {
		v.Mean += y / float64(len(ys))
	}
	v.Limit = math.Max(tol.Abs, tol.Rel*v.Mean)
	if len(xs) < minPoints {
		return v
	}
	v.SlopePerHour = slope(xs, ys)
	v.Growth = v.SlopePerHour * (xs[len(xs)-1] - xs[0])
	v.Flat = v.Growth <= v.Limit
	return v
}

// slope is the least-squares slope of y over x.
func slope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var num, den float64
	for i := range x {
		num += (x[i] - mx) * (y[i] - my)
		den += (x[i] - mx) * (x[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// The tolerances the soak judges by. Memory may grow by 10 % (at least 8 MiB)
// over the second half; goroutines, descriptors and connections by 10 % (at
// least a handful: a pool opening one more connection under a burst is not a
// leak); latency p99 by half its mean (at least 50 ms: the machine is shared);
// the backlog by five seconds of load.
var (
	TolRSS        = Tolerance{Rel: 0.10, Abs: 8 << 20}
	TolGoroutines = Tolerance{Rel: 0.10, Abs: 10}
	TolFDs        = Tolerance{Rel: 0.10, Abs: 5}
	TolPGConns    = Tolerance{Rel: 0.10, Abs: 3}
	TolP99        = Tolerance{Rel: 0.50, Abs: 50}
)

func tolBacklog(rate int) Tolerance { return Tolerance{Abs: 5 * float64(rate)} }

// judge fills the verdicts of the result from its samples.
func (r *Result) judge() {
	r.Verdicts = nil
	ts := make([]time.Duration, len(r.Samples))
	for i, s := range r.Samples {
		ts[i] = s.At
	}
	series := func(f func(Sample) float64) []float64 {
		out := make([]float64, len(r.Samples))
		for i, s := range r.Samples {
			out[i] = f(s)
		}
		return out
	}
	procs := map[string]bool{}
	for _, s := range r.Samples {
		for n := range s.Procs {
			procs[n] = true
		}
	}
	for _, n := range sortedKeys(procs) {
		r.Verdicts = append(r.Verdicts,
			Judge(n+" RSS (bytes)", ts, series(func(s Sample) float64 { return float64(s.Procs[n].RSS) }), TolRSS),
			Judge(n+" open fds", ts, series(func(s Sample) float64 { return float64(s.Procs[n].FDs) }), TolFDs),
			Judge(n+" sockets", ts, series(func(s Sample) float64 { return float64(s.Procs[n].Sockets) }), TolFDs))
		if len(r.Samples) > 0 && r.Samples[0].Procs[n].Goroutines >= 0 {
			r.Verdicts = append(r.Verdicts,
				Judge(n+" goroutines", ts, series(func(s Sample) float64 { return s.Procs[n].Goroutines }), TolGoroutines))
		}
	}
	r.Verdicts = append(r.Verdicts,
		Judge("PostgreSQL connections", ts, series(func(s Sample) float64 { return float64(s.PGConns) }), TolPGConns),
		Judge("latency p99 (ms)", ts, series(func(s Sample) float64 { return s.P99 }), TolP99),
		Judge("stream backlog (events and alerts)", ts, series(func(s Sample) float64 { return float64(s.Backlog) }), tolBacklog(r.Options.Rate)))
	r.Pass = r.Failure == ""
	for _, v := range r.Verdicts {
		if !v.Flat {
			r.Pass = false
		}
	}
	for _, sr := range r.Runs {
		if (sr.Workflow == "PartitionMaintenanceWorkflow" || sr.Workflow == "RetentionWorkflow") && sr.Completed == 0 {
			r.Pass = false
			r.ScheduleProblems = append(r.ScheduleProblems, fmt.Sprintf("%s completed no run", sr.Schedule))
		}
		if sr.Failed > 0 {
			r.Pass = false
			r.ScheduleProblems = append(r.ScheduleProblems, fmt.Sprintf("%s: %d failed runs", sr.Schedule, sr.Failed))
		}
	}
}
