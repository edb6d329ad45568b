package workflows

import (
	"fmt"
	"time"
)

// SLOReportVersion is the version of the SLOReport JSON layout (stored in
// slo_reports.report and published in <prefix>slo:status).
const SLOReportVersion = 1

// SLOReasonNotConfigured is the report reason when the worker has no PROMETHEUS_URL.
const SLOReasonNotConfigured = "PROMETHEUS_URL not configured"

// SLOReport is one evaluation of every SLO: what slo_reports.report holds and
// what the admin API serves.
type SLOReport struct {
	Version       int       `json:"version"`
	GeneratedAt   time.Time `json:"generated_at"` // the instant Prometheus was queried at
	WorkflowID    string    `json:"workflow_id"`
	WorkflowRunID string    `json:"workflow_run_id"` // idempotency key of StoreSLOReport
	// Status is the worst SLO status; no_data only when every SLO has no data.
	Status string `json:"status"`
	// Reason says why there are no numbers at all (Prometheus not configured
	// or not answering); empty otherwise.
	Reason               string          `json:"reason,omitempty"`
	PrometheusConfigured bool            `json:"prometheus_configured"`
	Policy               SLOPolicy       `json:"policy"`
	SLOs                 []SLOEvaluation `json:"slos"`
	Summary              map[string]int  `json:"summary"` // SLOs per status
	Windows              []string        `json:"windows"` // keys of burn_rates, shortest first
}

// SLOPolicy is how statuses were decided, so a reader can colour the report
// without knowing the code.
type SLOPolicy struct {
	BurnRateAlerts     []SLOBurnRatePolicy `json:"burn_rate_alerts"`
	BudgetWarningBelow float64             `json:"budget_warning_below"`
}

// SLOEvaluation is the state of one SLO. Numbers are null where Prometheus
// had no samples ("no data"), never 0 or 1.
type SLOEvaluation struct {
	Name             string  `json:"name"`
	Description      string  `json:"description"`
	Kind             string  `json:"kind"`
	Target           float64 `json:"target"`
	ObjectiveWindow  string  `json:"objective_window"`
	ThresholdSeconds float64 `json:"threshold_seconds,omitempty"` // latency SLOs
	// SLI is the fraction of good events over the objective window.
	SLI *float64 `json:"sli"`
	// ErrorBudgetRemaining is 1 - (bad fraction / error budget) over the
	// objective window: 1 untouched, 0 spent, negative overspent.
	ErrorBudgetRemaining *float64 `json:"error_budget_remaining"`
	// BurnRates per window (every entry of SLOReport.Windows): bad fraction /
	// error budget; 1 spends the budget exactly over the objective window.
	BurnRates     map[string]*float64 `json:"burn_rates"`
	NoData        bool                `json:"no_data"`
	NoDataWindows []string            `json:"no_data_windows,omitempty"`
	// P99Seconds is the observed p99 over P99Window (latency SLOs, informational).
	P99Seconds *float64 `json:"p99_seconds,omitempty"`
	P99Window  string   `json:"p99_window,omitempty"`
	Status     string   `json:"status"`
	// Reasons explain a status other than ok.
	Reasons []string `json:"reasons,omitempty"`
}

// SLOMeasurement is what EvaluateSLOs measured for one SLO: the bad-event
// fraction per window, present only for windows with data.
type SLOMeasurement struct {
	Name        string             `json:"name"`
	ErrorRatios map[string]float64 `json:"error_ratios"`
	P99Seconds  *float64           `json:"p99_seconds,omitempty"`
}

// BuildSLOReport turns measurements into the report: burn rates, budgets,
// statuses. It is pure (the workflow calls it; tests call it directly).
// Definitions without a measurement are "no data".
func BuildSLOReport(defs []SLODefinition, m EvaluateSLOsResult, generatedAt time.Time, workflowID, runID string) SLOReport {
	r := SLOReport{
		Version:              SLOReportVersion,
		GeneratedAt:          generatedAt.UTC(),
		WorkflowID:           workflowID,
		WorkflowRunID:        runID,
		Reason:               m.Reason,
		PrometheusConfigured: m.Configured,
		Policy:               SLOPolicy{BurnRateAlerts: SLOBurnRatePolicies(), BudgetWarningBelow: SLOBudgetWarningBelow},
		Summary:              map[string]int{SLOStatusOK: 0, SLOStatusWarning: 0, SLOStatusCritical: 0, SLOStatusNoData: 0},
	}
	byName := make(map[string]SLOMeasurement, len(m.SLOs))
	for _, s := range m.SLOs {
		byName[s.Name] = s
	}
	statuses := make([]string, 0, len(defs))
	for i, d := range defs {
		windows := d.SLOWindows()
		if i == 0 {
			r.Windows = windows
		}
		e := evaluateSLO(d, windows, byName[d.Name])
		r.SLOs = append(r.SLOs, e)
		r.Summary[e.Status]++
		statuses = append(statuses, e.Status)
	}
	r.Status = SLOOverallStatus(statuses)
	return r
}

func evaluateSLO(d SLODefinition, windows []string, m SLOMeasurement) SLOEvaluation {
	e := SLOEvaluation{
		Name: d.Name, Description: d.Description, Kind: d.Kind, Target: d.Target,
		ObjectiveWindow: d.ObjectiveWindow, BurnRates: make(map[string]*float64, len(windows)),
	}
	if d.Kind == SLOKindLatency {
		e.ThresholdSeconds = d.ThresholdSeconds
		e.P99Seconds = m.P99Seconds
		e.P99Window = SLOP99Window
	}
	budget := d.ErrorBudget()
	burns := make(map[string]float64, len(windows))
	for _, w := range windows {
		ratio, ok := m.ErrorRatios[w]
		if !ok {
			e.BurnRates[w] = nil
			e.NoDataWindows = append(e.NoDataWindows, w)
			continue
		}
		b := sloRound(ratio / budget)
		burns[w] = b
		e.BurnRates[w] = &b
	}
	if ratio, ok := m.ErrorRatios[d.ObjectiveWindow]; ok {
		sli := sloRound(1 - ratio)
		remaining := sloRound(1 - ratio/budget)
		e.SLI, e.ErrorBudgetRemaining = &sli, &remaining
	}
	e.Status, e.Reasons = SLOStatusFor(burns, e.ErrorBudgetRemaining)
	e.NoData = e.Status == SLOStatusNoData
	return e
}

// SLOStatusFor decides one SLO's status from its burn rates (window → burn
// rate, only windows with data) and its error budget remaining over the
// objective window (nil: no data):
//   - critical: a page pair of windows (1h and 5m above 14.4, or 6h and 30m
//     above 6) burns too fast, or the budget is spent (remaining ≤ 0);
//   - warning: the ticket pair (3d and 6h above 1) burns too fast, or less
//     than SLOBudgetWarningBelow of the budget is left;
//   - no_data: no window has data;
//   - ok otherwise.
//
// Reasons say which conditions held, most severe first.
func SLOStatusFor(burns map[string]float64, budgetRemaining *float64) (string, []string) {
	if len(burns) == 0 && budgetRemaining == nil {
		return SLOStatusNoData, []string{"no samples in Prometheus"}
	}
	status := SLOStatusOK
	var critical, warning []string
	raise := func(s, reason string) {
		if sloStatusRank(s) > sloStatusRank(status) {
			status = s
		}
		if s == SLOStatusCritical {
			critical = append(critical, reason)
		} else {
			warning = append(warning, reason)
		}
	}
	for _, p := range SLOBurnRatePolicies() {
		long, okLong := burns[p.LongWindow]
		short, okShort := burns[p.ShortWindow]
		if okLong && okShort && long > p.BurnRate && short > p.BurnRate {
			raise(p.Status, fmt.Sprintf("burn rate %.3g over %s and %.3g over %s above %g (%s)",
				long, p.LongWindow, short, p.ShortWindow, p.BurnRate, p.Notify))
		}
	}
	if budgetRemaining != nil {
		switch r := *budgetRemaining; {
		case r <= 0:
			raise(SLOStatusCritical, fmt.Sprintf("error budget exhausted (remaining %.3g)", r))
		case r < SLOBudgetWarningBelow:
			raise(SLOStatusWarning, fmt.Sprintf("error budget remaining %.3g below %g", r, SLOBudgetWarningBelow))
		}
	}
	return status, append(critical, warning...)
}

// SLOOverallStatus is the worst of statuses; no_data only when all are
// no_data (or there are none).
func SLOOverallStatus(statuses []string) string {
	out := SLOStatusNoData
	for _, s := range statuses {
		if sloStatusRank(s) > sloStatusRank(out) {
			out = s
		}
	}
	return out
}

func sloStatusRank(s string) int {
	switch s {
	case SLOStatusOK:
		return 1
	case SLOStatusWarning:
		return 2
	case SLOStatusCritical:
		return 3
	default:
		return 0
	}
}

// SLOStatusGauge is the value of mutt_slo_status for a status: 0 ok,
// 1 warning, 2 critical, -1 no data.
func SLOStatusGauge(s string) float64 {
	switch s {
	case SLOStatusOK:
		return 0
	case SLOStatusWarning:
		return 1
	case SLOStatusCritical:
		return 2
	default:
		return -1
	}
}
