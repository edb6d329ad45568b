package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// stageMetric is one latency histogram of a role that times one stage of the
// pipeline.
type stageMetric struct {
	role   string  // key of run.ports
	stage  string  // what it times, as printed
	name   string  // histogram name without _bucket/_sum/_count
	toSecs float64 // multiplier from the metric's unit to seconds
}

// stageMetrics are the per-stage timings the bench reports for each phase,
// from the roles' own Prometheus histograms (scraped before and after the
// phase, so each phase counts only its own observations).
var stageMetrics = []stageMetric{
	{"ingest", "ingest request (arrival → response)", "mutt_ingest_latency_seconds", 1},
	{"alerter", "alerter batch (read → ack)", "mutt_alerter_processing_latency_seconds", 1},
	{"alerter", "alerter audit write (one batch)", "mutt_db_write_latency_ms", 1e-3},
	{"forwarder", "Moogsoft request", "mutt_moog_request_latency_seconds", 1},
	{"forwarder", "end to end (received_at → Moogsoft ack)", "mutt_event_end_to_end_seconds", 1},
}

// histogram is a cumulative Prometheus histogram: upper bounds ascending
// (the last is +Inf) with the count of observations at or below each.
type histogram struct {
	bounds []float64
	counts []float64
	sum    float64
	count  float64
}

// sub is h minus an earlier scrape of the same histogram (nil: nothing before).
func (h histogram) sub(before *histogram) histogram {
	if before == nil || len(before.counts) != len(h.counts) {
		return h
	}
	out := histogram{bounds: h.bounds, counts: make([]float64, len(h.counts)),
		sum: h.sum - before.sum, count: h.count - before.count}
	for i := range h.counts {
		out.counts[i] = h.counts[i] - before.counts[i]
	}
	return out
}

// quantile is the upper bound of the bucket holding the q-quantile (+Inf
// when it is in the last bucket, NaN when empty): with Prometheus's coarse
// buckets an upper bound is all a histogram can say.
func (h histogram) quantile(q float64) float64 {
	if h.count <= 0 {
		return math.NaN()
	}
	rank := q * h.count
	for i, c := range h.counts {
		if c >= rank {
			return h.bounds[i]
		}
	}
	return math.Inf(1)
}

// above is the fraction of observations above bound (which should be one of
// the bucket bounds; otherwise the next bound below it is used).
func (h histogram) above(bound float64) float64 {
	if h.count <= 0 {
		return math.NaN()
	}
	var atOrBelow float64
	for i, b := range h.bounds {
		if b > bound {
			break
		}
		atOrBelow = h.counts[i]
	}
	return (h.count - atOrBelow) / h.count
}

// parseHistograms reads the histograms named in names (without suffixes,
// without labels: the ones the bench reads have none) from a Prometheus text
// exposition. Lines it does not understand are skipped.
func parseHistograms(r io.Reader, names map[string]bool) (map[string]*histogram, error) {
	out := map[string]*histogram{}
	get := func(name string) *histogram {
		h := out[name]
		if h == nil {
			h = &histogram{}
			out[name] = h
		}
		return h
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		key := line[:sp]
		switch {
		case strings.HasSuffix(key, "_sum") && names[strings.TrimSuffix(key, "_sum")]:
			get(strings.TrimSuffix(key, "_sum")).sum = v
		case strings.HasSuffix(key, "_count") && names[strings.TrimSuffix(key, "_count")]:
			get(strings.TrimSuffix(key, "_count")).count = v
		default:
			name, le, ok := bucketOf(key)
			if !ok || !names[name] {
				continue
			}
			b, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
			if err != nil {
				continue
			}
			h := get(name)
			h.bounds = append(h.bounds, b)
			h.counts = append(h.counts, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	for name, h := range out {
		if len(h.bounds) == 0 || !sort.Float64sAreSorted(h.bounds) || !math.IsInf(h.bounds[len(h.bounds)-1], 1) {
			delete(out, name) // not a histogram the bench can read
		}
	}
	return out, nil
}

// bucketOf splits `name_bucket{le="0.05"}` into the name and the bound.
func bucketOf(key string) (name, le string, ok bool) {
	name, labels, found := strings.Cut(key, "_bucket{")
	if !found || !strings.HasSuffix(labels, "}") {
		return "", "", false
	}
	labels = strings.TrimSuffix(labels, "}")
	for l := range strings.SplitSeq(labels, ",") {
		if v, found := strings.CutPrefix(l, `le="`); found && strings.HasSuffix(v, `"`) {
			return name, strings.TrimSuffix(v, `"`), true
		}
	}
	return "", "", false
}

// Stage is one stage's timing over a phase.
type Stage struct {
	Stage         string
	Count         float64
	Mean          time.Duration
	P50, P99      time.Duration // upper bounds of the buckets holding them (-1: above every bound)
	Over50ms      float64       // fraction of observations above 50 ms
	Unmeasureable bool          // the role did not serve the histogram
}

// scrapeStages reads every stage histogram from the roles' /metrics.
func (r *run) scrapeStages(ctx context.Context) map[string]*histogram {
	out := map[string]*histogram{}
	byRole := map[string]map[string]bool{}
	for _, s := range stageMetrics {
		if byRole[s.role] == nil {
			byRole[s.role] = map[string]bool{}
		}
		byRole[s.role][s.name] = true
	}
	for role, names := range byRole {
		port := r.ports[role]
		if port == "" {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/metrics", nil)
		if err != nil {
			continue
		}
		resp, err := r.client.Do(req)
		if err != nil {
			continue
		}
		hs, err := parseHistograms(resp.Body, names)
		_ = resp.Body.Close()
		if err != nil {
			continue
		}
		for n, h := range hs {
			out[role+"/"+n] = h
		}
	}
	return out
}

// stages is the per-stage timing between two scrapes.
func stages(before, after map[string]*histogram) []Stage {
	secs := func(f float64) time.Duration {
		if math.IsInf(f, 1) {
			return -1
		}
		if math.IsNaN(f) {
			return 0
		}
		return time.Duration(f * float64(time.Second))
	}
	var out []Stage
	for _, m := range stageMetrics {
		a := after[m.role+"/"+m.name]
		if a == nil {
			out = append(out, Stage{Stage: m.stage, Unmeasureable: true})
			continue
		}
		h := a.sub(before[m.role+"/"+m.name])
		st := Stage{Stage: m.stage, Count: h.count,
			P50: secs(h.quantile(.5) * m.toSecs), P99: secs(h.quantile(.99) * m.toSecs),
			Over50ms: h.above(0.05 / m.toSecs)}
		if h.count > 0 {
			st.Mean = secs(h.sum / h.count * m.toSecs)
		}
		out = append(out, st)
	}
	return out
}

func printStages(w io.Writer, ss []Stage) {
	if len(ss) == 0 {
		return
	}
	fmt.Fprintln(w, "  stages     (the roles' own histograms over this phase; p50/p99 are bucket upper bounds)")
	bound := func(d time.Duration) string {
		if d < 0 {
			return "> last bucket"
		}
		return "≤ " + d.String()
	}
	for _, s := range ss {
		if s.Unmeasureable {
			fmt.Fprintf(w, "    %-42s not served\n", s.Stage)
			continue
		}
		if s.Count == 0 {
			fmt.Fprintf(w, "    %-42s no observations\n", s.Stage)
			continue
		}
		fmt.Fprintf(w, "    %-42s n %7.0f  mean %8s  p50 %-10s p99 %-14s > 50 ms %6.2f %%\n", s.Stage, s.Count,
			s.Mean.Round(10*time.Microsecond), bound(s.P50), bound(s.P99), 100*s.Over50ms)
	}
}
