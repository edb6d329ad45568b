package workflows

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SLO kinds: a ratio SLO counts good and bad events; a latency SLO counts
// requests at or under a threshold as good (the SRE workbook's way of turning
// "p99 ≤ X" into an error budget: 99 % of requests within X).
const (
	SLOKindRatio   = "ratio"
	SLOKindLatency = "latency"
)

// SLO statuses, per SLO and overall.
const (
	SLOStatusOK       = "ok"
	SLOStatusWarning  = "warning"
	SLOStatusCritical = "critical"
	SLOStatusNoData   = "no_data"
)

// Windows the SLOs are evaluated over: the short/long pairs of the SRE
// workbook's multi-window, multi-burn-rate alerts (1h/5m, 6h/30m, 3d/6h) and
// the objective window over which the error budget is spent.
const (
	SLOWindow5m  = "5m"
	SLOWindow30m = "30m"
	SLOWindow1h  = "1h"
	SLOWindow6h  = "6h"
	SLOWindow3d  = "3d"
	SLOWindow30d = "30d"
)

// SLOP99Window is the window of the informational p99 of latency SLOs.
const SLOP99Window = SLOWindow1h

// SLOBudgetWarningBelow: an SLO with less error budget left than this
// fraction is at least a warning.
const SLOBudgetWarningBelow = 0.25

// SLODefinition is one service level objective, as pure data. The PromQL the
// report and the Prometheus rules in deploy/prometheus use is derived from it.
type SLODefinition struct {
	Name        string // stable snake_case id: label slo, report key, API key
	Description string
	Kind        string  // SLOKindRatio or SLOKindLatency
	Target      float64 // objective, e.g. 0.999; the error budget is 1 - Target
	// ObjectiveWindow is the window the error budget is spent over (PromQL duration).
	ObjectiveWindow string

	// Ratio SLOs: series selectors (no range) of good and of bad events.
	// Events in neither (e.g. client errors) do not count at all.
	Good, Bad string

	// Latency SLOs: the histogram (base name, without _bucket) and the
	// threshold. When the threshold is not one of the histogram's bucket
	// bounds, BucketBelow and BucketAbove are the bounds around it and the
	// count at the threshold is interpolated linearly between them, the same
	// assumption histogram_quantile makes. Both equal Threshold otherwise.
	Histogram                string
	ThresholdSeconds         float64
	BucketBelow, BucketAbove float64
}

// ErrorBudget is the fraction of events allowed to be bad.
func (d SLODefinition) ErrorBudget() float64 { return sloRound(1 - d.Target) }

// SLODefinitions returns MUTT's SLOs, in report order. The metric names are the
// hot path's (hotpath/ingest, hotpath/forward, hotpath/alert); histogram
// bucket bounds quoted here must stay in step with theirs.
func SLODefinitions() []SLODefinition {
	return []SLODefinition{
		{
			Name:            "ingest_availability",
			Description:     "Ingest requests answered without a server-side failure (redis, redis_memory, queue_full, internal); client errors (auth, json, validation, too_large, rate_limit) do not count",
			Kind:            SLOKindRatio,
			Target:          0.999,
			ObjectiveWindow: SLOWindow30d,
			Good:            `mutt_ingest_requests_total{status="success"}`,
			Bad:             `mutt_ingest_requests_total{status="fail",reason=~"redis|redis_memory|queue_full|internal"}`,
		},
		{
			Name:             "ingest_latency_p99",
			Description:      "99 % of authenticated ingest requests answered within 500 ms",
			Kind:             SLOKindLatency,
			Target:           0.99,
			ObjectiveWindow:  SLOWindow30d,
			Histogram:        "mutt_ingest_latency_seconds",
			ThresholdSeconds: 0.5, BucketBelow: 0.5, BucketAbove: 0.5,
		},
		{
			Name:            "forward_delivery_success",
			Description:     "Alerts delivered to Moogsoft rather than dead-lettered",
			Kind:            SLOKindRatio,
			Target:          0.995,
			ObjectiveWindow: SLOWindow30d,
			Good:            `mutt_moog_alerts_processed_total{status="success"}`,
			Bad:             `mutt_moog_alerts_processed_total{status="dlq"}`,
		},
		{
			Name:             "forward_latency_p99",
			Description:      "99 % of Moogsoft webhook requests complete within 2 s",
			Kind:             SLOKindLatency,
			Target:           0.99,
			ObjectiveWindow:  SLOWindow30d,
			Histogram:        "mutt_moog_request_latency_seconds",
			ThresholdSeconds: 2, BucketBelow: 1, BucketAbove: 2.5,
		},
		{
			Name:            "alerter_processing_success",
			Description:     "Events the alerter handled or deliberately left unhandled, rather than poison or failed attempts",
			Kind:            SLOKindRatio,
			Target:          0.999,
			ObjectiveWindow: SLOWindow30d,
			Good:            `mutt_alerter_events_processed_total{status=~"handled|unhandled"}`,
			Bad:             `mutt_alerter_events_processed_total{status=~"poison|error"}`,
		},
		{
			Name:             "end_to_end_latency_p99",
			Description:      "99 % of alerts acknowledged by Moogsoft within 5 s of ingest",
			Kind:             SLOKindLatency,
			Target:           0.99,
			ObjectiveWindow:  SLOWindow30d,
			Histogram:        "mutt_event_end_to_end_seconds",
			ThresholdSeconds: 5, BucketBelow: 5, BucketAbove: 5,
		},
	}
}

// SLOBurnRatePolicy is one multi-window burn-rate condition: it holds when the
// burn rate over both windows exceeds BurnRate, and then the SLO is at least
// Status and the Prometheus alert of the same condition notifies Notify.
type SLOBurnRatePolicy struct {
	Status      string  `json:"status"`
	Notify      string  `json:"notify"` // page or ticket
	LongWindow  string  `json:"long_window"`
	ShortWindow string  `json:"short_window"`
	BurnRate    float64 `json:"burn_rate"`
}

// SLOBurnRatePolicies are the SRE workbook's thresholds for a 30-day
// objective: 2 % of the budget in 1 h or 5 % in 6 h pages, 10 % in 3 days
// opens a ticket.
func SLOBurnRatePolicies() []SLOBurnRatePolicy {
	return []SLOBurnRatePolicy{
		{Status: SLOStatusCritical, Notify: "page", LongWindow: SLOWindow1h, ShortWindow: SLOWindow5m, BurnRate: 14.4},
		{Status: SLOStatusCritical, Notify: "page", LongWindow: SLOWindow6h, ShortWindow: SLOWindow30m, BurnRate: 6},
		{Status: SLOStatusWarning, Notify: "ticket", LongWindow: SLOWindow3d, ShortWindow: SLOWindow6h, BurnRate: 1},
	}
}

// SLOWindows are the windows each SLO is measured over: every window of the
// burn-rate policies, shortest first, then the objective window.
func (d SLODefinition) SLOWindows() []string {
	out := []string{SLOWindow5m, SLOWindow30m, SLOWindow1h, SLOWindow6h, SLOWindow3d}
	for _, w := range out {
		if w == d.ObjectiveWindow {
			return out
		}
	}
	return append(out, d.ObjectiveWindow)
}

// ErrorRatioQuery is the PromQL of the fraction of bad events over window.
// It has no result, or NaN, when no event happened in the window: that is
// "no data", never 0 or 100 %.
func (d SLODefinition) ErrorRatioQuery(window string) string {
	switch d.Kind {
	case SLOKindRatio:
		// "or vector(0)": a series that never moved (e.g. no failure reason
		// seen yet) is zero events, not missing data; with neither good nor
		// bad events the ratio is 0/0 = NaN, which reads as no data.
		good := fmt.Sprintf("(sum(rate(%s[%s])) or vector(0))", d.Good, window)
		bad := fmt.Sprintf("(sum(rate(%s[%s])) or vector(0))", d.Bad, window)
		return fmt.Sprintf("%s / (%s + %s)", bad, good, bad)
	case SLOKindLatency:
		total := fmt.Sprintf("sum(rate(%s_count[%s]))", d.Histogram, window)
		return fmt.Sprintf("1 - (%s) / %s", d.withinThreshold(window), total)
	default:
		return ""
	}
}

// withinThreshold is the rate of requests at or under the threshold.
func (d SLODefinition) withinThreshold(window string) string {
	bucket := func(le float64) string {
		return fmt.Sprintf("sum(rate(%s_bucket{%s}[%s]))", d.Histogram, sloLEMatcher(le), window)
	}
	if d.BucketBelow == d.BucketAbove {
		return bucket(d.BucketBelow)
	}
	lo, hi := bucket(d.BucketBelow), bucket(d.BucketAbove)
	return fmt.Sprintf("%s + (%s - %s) * (%s - %s) / (%s - %s)", lo, hi, lo,
		sloFormat(d.ThresholdSeconds), sloFormat(d.BucketBelow), sloFormat(d.BucketAbove), sloFormat(d.BucketBelow))
}

// P99Query is the PromQL of the observed 99th percentile of a latency SLO
// over window ("" for ratio SLOs).
func (d SLODefinition) P99Query(window string) string {
	if d.Kind != SLOKindLatency {
		return ""
	}
	return fmt.Sprintf("histogram_quantile(0.99, sum by (le) (rate(%s_bucket[%s])))", d.Histogram, window)
}

// sloLEMatcher matches a bucket bound as client libraries write it ("1") and
// as Prometheus 3 normalises it ("1.0").
func sloLEMatcher(le float64) string {
	s := sloFormat(le)
	if strings.ContainsAny(s, ".e") {
		return fmt.Sprintf(`le="%s"`, s)
	}
	return fmt.Sprintf(`le=~"%s|%s\\.0"`, s, s)
}

// sloFormat writes a number the shortest way (0.001, 14.4, 2).
func sloFormat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// sloRound drops float noise such as 1-0.999 = 0.0010000000000000009.
func sloRound(v float64) float64 { return math.Round(v*1e12) / 1e12 }
