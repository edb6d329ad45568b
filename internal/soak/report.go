package soak

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Result is a whole soak run: its samples, verdicts and schedule runs.
type Result struct {
	Options    Options        `json:"-"`
	Started    time.Time      `json:"started"`
	Ended      time.Time      `json:"ended"`
	CPUs       int            `json:"cpus"`
	LoadAvg    float64        `json:"load_avg_end"`
	Accepted   int64          `json:"accepted"`
	Refused    int64          `json:"refused"`
	HTTPErrors int64          `json:"http_errors"`
	Delivered  int64          `json:"delivered"` // unique alerts at the simulator, summed over the windows
	Samples    []Sample       `json:"samples"`
	Runs       []ScheduleRuns `json:"schedules"`
	Verdicts   []Verdict      `json:"verdicts"`
	// ScheduleProblems: partition maintenance or retention that never
	// completed, or failed runs.
	ScheduleProblems []string `json:"schedule_problems,omitempty"`
	Failure          string   `json:"failure,omitempty"` // a process exited or could not be sampled
	// NoTemporal: the run had no Temporal, so no worker and no schedules.
	NoTemporal bool `json:"no_temporal,omitempty"`
	Pass       bool `json:"pass"`
	// Plots are the SVG files written, by kind (rss, goroutines, fds, latency, backlog, throughput).
	Plots map[string]string `json:"-"`
}

func (r *Result) headline() string {
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	bad := 0
	for _, v := range r.Verdicts {
		if !v.Flat {
			bad++
		}
	}
	return fmt.Sprintf("%s: %d series judged, %d not flat, %d schedule problems, %d events accepted",
		verdict, len(r.Verdicts), bad, len(r.ScheduleProblems), r.Accepted)
}

// imgBase is the plots' file name prefix: the report's base name, starting
// with "soak-".
func (r *Result) imgBase() string {
	b := strings.TrimSuffix(filepath.Base(r.Options.ReportPath), filepath.Ext(r.Options.ReportPath))
	if !strings.HasPrefix(b, "soak-") {
		b = "soak-" + b
	}
	return b
}

func (r *Result) charts() map[string]Chart {
	ts := make([]time.Duration, len(r.Samples))
	for i, s := range r.Samples {
		ts[i] = s.At
	}
	procs := map[string]bool{}
	for _, s := range r.Samples {
		for n := range s.Procs {
			procs[n] = true
		}
	}
	perProc := func(f func(ProcSample) float64, skipNeg bool) []Series {
		var out []Series
		for _, n := range sortedKeys(procs) {
			s := Series{Name: n, X: ts}
			neg := false
			for _, smp := range r.Samples {
				v := f(smp.Procs[n])
				neg = neg || v < 0
				s.Y = append(s.Y, v)
			}
			if skipNeg && neg {
				continue
			}
			out = append(out, s)
		}
		return out
	}
	one := func(name string, f func(Sample) float64) Series {
		s := Series{Name: name, X: ts}
		for _, smp := range r.Samples {
			s.Y = append(s.Y, f(smp))
		}
		return s
	}
	var marks []Mark
	for i := 1; i < len(r.Samples); i++ {
		for id, n := range r.Samples[i].Runs {
			if n > r.Samples[i-1].Runs[id] {
				marks = append(marks, Mark{X: r.Samples[i].At, Label: id})
			}
		}
	}
	rate := func(i int, f func(Sample) float64) float64 {
		if i == 0 {
			return f(r.Samples[0]) / r.Samples[0].At.Seconds()
		}
		return (f(r.Samples[i]) - f(r.Samples[i-1])) / (r.Samples[i].At - r.Samples[i-1].At).Seconds()
	}
	acc := Series{Name: "accepted events/s", X: ts}
	alerts := Series{Name: "delivered alerts/s", X: ts}
	for i := range r.Samples {
		acc.Y = append(acc.Y, rate(i, func(s Sample) float64 { return float64(s.Accepted) }))
		dt := r.Samples[i].At
		if i > 0 {
			dt -= r.Samples[i-1].At
		}
		alerts.Y = append(alerts.Y, float64(r.Samples[i].Alerts)/dt.Seconds())
	}
	return map[string]Chart{
		"rss": {Title: "Resident memory per process", YLabel: "RSS (MiB)", Marks: marks,
			Series: perProc(func(p ProcSample) float64 { return float64(p.RSS) / (1 << 20) }, false)},
		"goroutines": {Title: "Goroutines per process (go_goroutines)", YLabel: "goroutines",
			Series: perProc(func(p ProcSample) float64 { return p.Goroutines }, true)},
		"fds": {Title: "Open file descriptors and connections", YLabel: "count",
			Series: append(perProc(func(p ProcSample) float64 { return float64(p.FDs) }, false),
				one("PostgreSQL conns", func(s Sample) float64 { return float64(s.PGConns) }))},
		"latency": {Title: "End-to-end latency per sample window", YLabel: "ms", Marks: marks,
			Series: []Series{one("p50", func(s Sample) float64 { return s.P50 }), one("p99", func(s Sample) float64 { return s.P99 })}},
		"backlog": {Title: "Stream backlog and dead letters", YLabel: "entries", Marks: marks,
			Series: []Series{one("ingest+alert streams", func(s Sample) float64 { return float64(s.Backlog) }),
				one("dead-letter streams", func(s Sample) float64 { return float64(s.DLQ) })}},
		"throughput": {Title: "Throughput and machine load", YLabel: "per second", Series: []Series{acc, alerts}},
		"load": {Title: "Machine load average (shared by other work)", YLabel: "1-min load average",
			Series: []Series{one("load average", func(s Sample) float64 { return s.LoadAvg })}},
	}
}

// write renders the plots into ImgDir, the Markdown report to ReportPath and
// the raw samples next to it (.json).
func (r *Result) write() error {
	o := r.Options
	if err := os.MkdirAll(o.ImgDir, 0o750); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.ReportPath), 0o750); err != nil {
		return err
	}
	r.Plots = map[string]string{}
	charts := r.charts()
	for _, kind := range sortedKeys(charts) {
		var b bytes.Buffer
		if err := charts[kind].WriteSVG(&b); err != nil {
			return err
		}
		p := filepath.Join(o.ImgDir, r.imgBase()+"-"+kind+".svg")
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			return err
		}
		r.Plots[kind] = p
	}
	raw, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(strings.TrimSuffix(o.ReportPath, filepath.Ext(o.ReportPath))+".json", raw, 0o600); err != nil {
		return err
	}
	return os.WriteFile(o.ReportPath, []byte(r.markdown()), 0o600)
}

func (r *Result) markdown() string {
	o := r.Options
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	maxLoad, sumLoad := 0.0, 0.0
	for _, s := range r.Samples {
		maxLoad = math.Max(maxLoad, s.LoadAvg)
		sumLoad += s.LoadAvg
	}
	meanLoad := 0.0
	if len(r.Samples) > 0 {
		meanLoad = sumLoad / float64(len(r.Samples))
	}
	p("# %s\n\n", o.Title)
	p("Generated by `internal/soak` (the harness wrote this file and its plots; do not edit by hand).\n\n")
	p("**%s**\n\n", r.headline())
	p("| | |\n|---|---|\n")
	p("| started | %s |\n", r.Started.Format(time.RFC3339))
	p("| load duration | %s (%d samples, one every %s) |\n", o.Duration, len(r.Samples), o.SampleEvery)
	p("| offered load | %d events/s, fixed (batches of %d, %d HTTP clients); 90 %% match a seed rule |\n", o.Rate, o.Batch, o.Senders)
	if r.NoTemporal {
		p("| processes | `mutt ingestor`, `mutt alerter`, `mutt forwarder`, `mutt moog-sim` (one each, child processes) |\n")
		p("| services | the machine's PostgreSQL (own database) and Redis (own key prefix) |\n")
		p("| schedules | **not run: no Temporal was available**, so neither `mutt worker` nor partition maintenance and retention ran |\n")
	} else {
		p("| processes | `mutt ingestor`, `mutt alerter`, `mutt forwarder`, `mutt worker`, `mutt moog-sim` (one each, child processes) |\n")
		p("| services | the machine's PostgreSQL (own database) and Redis (own key prefix); Temporal (own namespace) |\n")
		p("| schedules | partition maintenance and retention every %s (daily in production); DLQ remediation and SLO report at their production 5 min |\n", o.ScheduleEvery)
	}
	p("| machine | %d CPUs, **shared with other work**: 1-min load average mean %.2f, max %.2f, %.2f at the end |\n", r.CPUs, meanLoad, maxLoad, r.LoadAvg)
	p("| accepted | %d events (refused %d, transport errors %d) |\n", r.Accepted, r.Refused, r.HTTPErrors)
	p("| delivered | %d unique alerts at the simulator (summed per sample window) |\n", r.Delivered)
	if n := len(r.Samples); n > 0 {
		last := r.Samples[n-1]
		p("| at the end | backlog %d queued events and alerts, %d dead letters |\n", last.Backlog, last.DLQ)
	}
	if o.Command != "" {
		p("| reproduce | `%s` |\n", o.Command)
	}
	if r.Failure != "" {
		p("\n**The run stopped early:** %s\n", r.Failure)
	}
	p("\n## Verdicts\n\n")
	p("The first half of the run is warm-up; a series is judged on the second half: the least-squares slope, times the\n")
	p("second half's length, is the growth the trend predicts, and it must stay within the limit (the larger of an\n")
	p("absolute floor and a share of the mean: memory 10 %% / 8 MiB, goroutines 10 %% / 10, descriptors, sockets and\n")
	p("PostgreSQL connections 10 %% / 5 (3), p99 latency 50 %% / 50 ms, backlog five seconds of load).\n\n")
	p("| series | first | last | max | mean (2nd half) | slope per hour | growth (2nd half) | limit | flat |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|:---:|\n")
	for _, v := range r.Verdicts {
		f := fmtNum
		if strings.Contains(v.Series, "RSS") {
			f = func(x float64) string { return fmt.Sprintf("%.1f MiB", x/(1<<20)) }
		}
		ok := "yes"
		if !v.Flat {
			ok = "**NO**"
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", strings.Replace(v.Series, " (bytes)", "", 1), f(v.First), f(v.Last), f(v.Max),
			f(v.Mean), f(v.SlopePerHour), f(v.Growth), f(v.Limit), ok)
	}
	p("\n## Schedules\n\n")
	if r.NoTemporal {
		p("None: the run had no Temporal (`--temporal-address none`).\n")
	}
	p("| schedule | workflow | every | runs started | completed | failed | running at the end | archived rows |\n|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, sr := range r.Runs {
		p("| %s | %s | %s | %d | %d | %d | %d | %d |\n", sr.Schedule, sr.Workflow, sr.Every, sr.Started, sr.Completed, sr.Failed, sr.Running, sr.Archived)
	}
	for _, pr := range r.ScheduleProblems {
		p("\n* **%s**", pr)
	}
	for _, sr := range r.Runs {
		for _, n := range sr.Notes {
			p("\n* %s: %s", sr.Schedule, n)
		}
	}
	p("\n\n## Plots\n\n")
	for _, k := range []string{"rss", "goroutines", "fds", "latency", "backlog", "throughput", "load"} {
		if f, ok := r.Plots[k]; ok {
			p("![%s](%s)\n\n", k, relPath(o.ReportPath, f))
		}
	}
	p("Raw samples: [%s](%s).\n", filepath.Base(strings.TrimSuffix(o.ReportPath, filepath.Ext(o.ReportPath))+".json"),
		filepath.Base(strings.TrimSuffix(o.ReportPath, filepath.Ext(o.ReportPath))+".json"))
	return b.String()
}
