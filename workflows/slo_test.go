package workflows

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

func sloF(v float64) *float64 { return &v }

func TestSLOStatusFor(t *testing.T) {
	t.Parallel()
	all := func(b float64) map[string]float64 {
		return map[string]float64{"5m": b, "30m": b, "1h": b, "6h": b, "3d": b, "30d": b}
	}
	with := func(m map[string]float64, kv ...any) map[string]float64 {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(float64)
		}
		return m
	}
	tests := []struct {
		name    string
		burns   map[string]float64
		budget  *float64
		want    string
		reasons []string // substrings, in order
	}{
		{name: "no samples at all", burns: map[string]float64{}, want: SLOStatusNoData, reasons: []string{"no samples"}},
		{name: "nil burns and budget", want: SLOStatusNoData},
		{name: "healthy", burns: all(0.1), budget: sloF(0.9), want: SLOStatusOK},
		{name: "zero errors", burns: all(0), budget: sloF(1), want: SLOStatusOK},
		{name: "fast pair 1h/5m above 14.4 pages", burns: with(all(0.5), "1h", 15.0, "5m", 20.0), budget: sloF(0.8),
			want: SLOStatusCritical, reasons: []string{"over 1h and 20 over 5m above 14.4 (page)"}},
		{name: "1h high but 5m recovered is not critical", burns: with(all(0.5), "1h", 15.0, "5m", 0.0), budget: sloF(0.8),
			want: SLOStatusOK},
		{name: "5m spike alone is not critical", burns: with(all(0.5), "5m", 100.0), budget: sloF(0.8), want: SLOStatusOK},
		{name: "exactly 14.4 does not page", burns: with(all(0.5), "1h", 14.4, "5m", 14.4), budget: sloF(0.8), want: SLOStatusOK},
		{name: "6h/30m above 6 pages", burns: with(all(0.5), "6h", 7.0, "30m", 8.0, "3d", 2.0), budget: sloF(0.6),
			want: SLOStatusCritical, reasons: []string{"over 6h and 8 over 30m above 6 (page)", "burn rate 2 over 3d and 7 over 6h above 1 (ticket)"}},
		{name: "3d/6h above 1 is a warning", burns: with(all(0.5), "3d", 1.5, "6h", 1.2), budget: sloF(0.5),
			want: SLOStatusWarning, reasons: []string{"burn rate 1.5 over 3d and 1.2 over 6h above 1 (ticket)"}},
		{name: "3d above 1 but 6h below is ok", burns: with(all(0.5), "3d", 1.5, "6h", 0.9), budget: sloF(0.5), want: SLOStatusOK},
		{name: "budget below 25 % is a warning", burns: all(0.5), budget: sloF(0.2),
			want: SLOStatusWarning, reasons: []string{"error budget remaining 0.2 below 0.25"}},
		{name: "budget exactly 25 % is ok", burns: all(0.5), budget: sloF(0.25), want: SLOStatusOK},
		{name: "budget exhausted is critical", burns: all(0.5), budget: sloF(0), want: SLOStatusCritical,
			reasons: []string{"error budget exhausted"}},
		{name: "budget overspent is critical, reasons most severe first", burns: with(all(0.5), "3d", 2.0, "6h", 2.0),
			budget: sloF(-0.5), want: SLOStatusCritical, reasons: []string{"error budget exhausted (remaining -0.5)", "(ticket)"}},
		{name: "only short windows have data", burns: map[string]float64{"5m": 20, "1h": 20}, want: SLOStatusCritical,
			reasons: []string{"(page)"}},
		{name: "a pair with a window without data does not fire", burns: map[string]float64{"1h": 20, "30d": 0.1},
			budget: sloF(0.9), want: SLOStatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, reasons := SLOStatusFor(tc.burns, tc.budget)
			require.Equal(t, tc.want, got, "reasons: %v", reasons)
			if tc.want == SLOStatusOK {
				require.Empty(t, reasons)
			}
			require.GreaterOrEqual(t, len(reasons), len(tc.reasons), "reasons: %v", reasons)
			for i, sub := range tc.reasons {
				require.Contains(t, reasons[i], sub)
			}
		})
	}
}

func TestSLOOverallStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, SLOStatusNoData},
		{[]string{SLOStatusNoData, SLOStatusNoData}, SLOStatusNoData},
		{[]string{SLOStatusNoData, SLOStatusOK}, SLOStatusOK},
		{[]string{SLOStatusOK, SLOStatusWarning, SLOStatusNoData}, SLOStatusWarning},
		{[]string{SLOStatusWarning, SLOStatusCritical, SLOStatusOK}, SLOStatusCritical},
	} {
		require.Equal(t, tc.want, SLOOverallStatus(tc.in), "%v", tc.in)
	}
	require.Equal(t, 0.0, SLOStatusGauge(SLOStatusOK))
	require.Equal(t, 1.0, SLOStatusGauge(SLOStatusWarning))
	require.Equal(t, 2.0, SLOStatusGauge(SLOStatusCritical))
	require.Equal(t, -1.0, SLOStatusGauge(SLOStatusNoData))
}

func TestSLODefinitionsAreConsistent(t *testing.T) {
	t.Parallel()
	defs := SLODefinitions()
	want := []string{"ingest_availability", "ingest_latency_p99", "forward_delivery_success",
		"forward_latency_p99", "alerter_processing_success", "end_to_end_latency_p99"}
	seen := map[string]bool{}
	for _, d := range defs {
		require.False(t, seen[d.Name], "duplicate %s", d.Name)
		seen[d.Name] = true
		require.Greater(t, d.Target, 0.0, d.Name)
		require.Less(t, d.Target, 1.0, d.Name)
		require.Greater(t, d.ErrorBudget(), 0.0, d.Name)
		require.NotEmpty(t, d.Description, d.Name)
		windows := d.SLOWindows()
		require.Contains(t, windows, d.ObjectiveWindow, d.Name)
		for _, p := range SLOBurnRatePolicies() {
			require.Contains(t, windows, p.LongWindow, d.Name)
			require.Contains(t, windows, p.ShortWindow, d.Name)
		}
		for _, w := range windows {
			q := d.ErrorRatioQuery(w)
			require.NotEmpty(t, q, d.Name)
			require.Contains(t, q, "["+w+"]", d.Name)
		}
		switch d.Kind {
		case SLOKindRatio:
			require.NotEmpty(t, d.Good, d.Name)
			require.NotEmpty(t, d.Bad, d.Name)
			require.Empty(t, d.P99Query(SLOP99Window))
		case SLOKindLatency:
			require.NotEmpty(t, d.Histogram, d.Name)
			require.LessOrEqual(t, d.BucketBelow, d.ThresholdSeconds, d.Name)
			require.GreaterOrEqual(t, d.BucketAbove, d.ThresholdSeconds, d.Name)
			require.Equal(t, d.BucketBelow == d.BucketAbove, d.BucketBelow == d.ThresholdSeconds, d.Name)
			require.Contains(t, d.P99Query(SLOP99Window), "histogram_quantile(0.99")
		default:
			t.Fatalf("%s: unknown kind %q", d.Name, d.Kind)
		}
	}
	for _, n := range want {
		require.True(t, seen[n], "SLO %s is required by the issue", n)
	}
}

func TestSLOErrorRatioQuery(t *testing.T) {
	t.Parallel()
	byName := map[string]SLODefinition{}
	for _, d := range SLODefinitions() {
		byName[d.Name] = d
	}
	require.Equal(t,
		`(sum(rate(mutt_moog_alerts_processed_total{status="dlq"}[1h])) or vector(0)) / ((sum(rate(mutt_moog_alerts_processed_total{status="success"}[1h])) or vector(0)) + (sum(rate(mutt_moog_alerts_processed_total{status="dlq"}[1h])) or vector(0)))`,
		byName["forward_delivery_success"].ErrorRatioQuery("1h"))
	require.Equal(t,
		`1 - (sum(rate(mutt_ingest_latency_seconds_bucket{le="0.5"}[5m]))) / sum(rate(mutt_ingest_latency_seconds_count[5m]))`,
		byName["ingest_latency_p99"].ErrorRatioQuery("5m"))
	// 2 s lies between the 1 s and 2.5 s buckets: interpolated; integer
	// bounds also match Prometheus 3's normalised "1.0".
	fwd := byName["forward_latency_p99"].ErrorRatioQuery("6h")
	require.Contains(t, fwd, `le=~"1|1\\.0"`)
	require.Contains(t, fwd, `le="2.5"`)
	require.Contains(t, fwd, `* (2 - 1) / (2.5 - 1)`)
	require.Contains(t, byName["end_to_end_latency_p99"].ErrorRatioQuery("3d"), `le=~"5|5\\.0"`)
	require.Contains(t, byName["ingest_availability"].ErrorRatioQuery("30d"), `reason=~"redis|redis_memory|queue_full|internal"`)
}

func TestBuildSLOReport(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 3, 10, 5, 0, 0, time.UTC)
	m := EvaluateSLOsResult{Configured: true, SLOs: []SLOMeasurement{
		// 0.01 % bad of a 0.1 % budget: burn 0.1, 90 % of the budget left.
		{Name: "ingest_availability", ErrorRatios: map[string]float64{"5m": 0.0001, "30m": 0.0001, "1h": 0.0001, "6h": 0.0001, "3d": 0.0001, "30d": 0.0001}},
		// No traffic in the last 5 minutes: that window has no data, the rest do.
		{Name: "forward_delivery_success", ErrorRatios: map[string]float64{"30m": 0.1, "1h": 0.1, "6h": 0.1, "3d": 0.1, "30d": 0.1}},
		{Name: "ingest_latency_p99", ErrorRatios: map[string]float64{"5m": 0, "30m": 0, "1h": 0, "6h": 0, "3d": 0, "30d": 0}, P99Seconds: sloF(0.02)},
		// end_to_end_latency_p99 and the others: not measured at all.
	}}
	r := BuildSLOReport(SLODefinitions(), m, at, "wf", "run-1")
	require.Equal(t, SLOReportVersion, r.Version)
	require.Equal(t, at, r.GeneratedAt)
	require.Equal(t, "run-1", r.WorkflowRunID)
	require.True(t, r.PrometheusConfigured)
	require.Equal(t, []string{"5m", "30m", "1h", "6h", "3d", "30d"}, r.Windows)
	require.Len(t, r.SLOs, len(SLODefinitions()))
	require.Len(t, r.Policy.BurnRateAlerts, 3)
	require.Equal(t, SLOStatusCritical, r.Status)
	require.Equal(t, map[string]int{SLOStatusOK: 2, SLOStatusWarning: 0, SLOStatusCritical: 1, SLOStatusNoData: 3}, r.Summary)

	byName := map[string]SLOEvaluation{}
	for _, e := range r.SLOs {
		byName[e.Name] = e
		require.Len(t, e.BurnRates, len(r.Windows), e.Name)
	}
	ing := byName["ingest_availability"]
	require.Equal(t, SLOStatusOK, ing.Status)
	require.InDelta(t, 0.9999, *ing.SLI, 1e-12)
	require.InDelta(t, 0.9, *ing.ErrorBudgetRemaining, 1e-12)
	require.InDelta(t, 0.1, *ing.BurnRates["1h"], 1e-12)
	require.False(t, ing.NoData)
	require.Empty(t, ing.NoDataWindows)

	fwd := byName["forward_delivery_success"]
	require.Equal(t, SLOStatusCritical, fwd.Status)
	require.Nil(t, fwd.BurnRates["5m"], "a window without data has a null burn rate, not 0")
	require.Equal(t, []string{"5m"}, fwd.NoDataWindows)
	require.InDelta(t, 20, *fwd.BurnRates["6h"], 1e-9)
	require.InDelta(t, -19, *fwd.ErrorBudgetRemaining, 1e-9)
	require.Contains(t, strings.Join(fwd.Reasons, ";"), "6h and 20 over 30m above 6 (page)")

	lat := byName["ingest_latency_p99"]
	require.Equal(t, SLOStatusOK, lat.Status)
	require.Equal(t, 0.5, lat.ThresholdSeconds)
	require.Equal(t, 0.02, *lat.P99Seconds)
	require.Equal(t, SLOP99Window, lat.P99Window)
	require.Equal(t, 1.0, *lat.SLI)

	e2e := byName["end_to_end_latency_p99"]
	require.Equal(t, SLOStatusNoData, e2e.Status)
	require.True(t, e2e.NoData)
	require.Nil(t, e2e.SLI)
	require.Nil(t, e2e.ErrorBudgetRemaining)
	require.Nil(t, e2e.P99Seconds)
	require.Len(t, e2e.NoDataWindows, 6)
}

// sloWorkflowEnv is a test workflow environment with the SLO activities
// registered under their names (the mocks replace them).
func sloWorkflowEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions(func(context.Context, EvaluateSLOsInput) (EvaluateSLOsResult, error) {
		return EvaluateSLOsResult{}, errors.New("not mocked")
	}, activity.RegisterOptions{Name: ActivityEvaluateSLOs})
	env.RegisterActivityWithOptions(func(context.Context, StoreSLOReportInput) (StoreSLOReportResult, error) {
		return StoreSLOReportResult{}, errors.New("not mocked")
	}, activity.RegisterOptions{Name: ActivityStoreSLOReport})
	env.RegisterActivityWithOptions(func(context.Context, PublishSLOStatusInput) (PublishSLOStatusResult, error) {
		return PublishSLOStatusResult{}, errors.New("not mocked")
	}, activity.RegisterOptions{Name: ActivityPublishSLOStatus})
	return env
}

// sloHealthy is a measurement where every SLO has data and is ok.
func sloHealthy() EvaluateSLOsResult {
	out := EvaluateSLOsResult{Configured: true}
	for _, d := range SLODefinitions() {
		ratios := map[string]float64{}
		for _, w := range d.SLOWindows() {
			ratios[w] = 0
		}
		out.SLOs = append(out.SLOs, SLOMeasurement{Name: d.Name, ErrorRatios: ratios})
	}
	return out
}

func TestSLOReportWorkflowStoresAndPublishes(t *testing.T) {
	t.Parallel()
	env := sloWorkflowEnv(t)
	var stored StoreSLOReportInput
	var published PublishSLOStatusInput
	var evalIn EvaluateSLOsInput
	env.OnActivity(ActivityEvaluateSLOs, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { evalIn = args.Get(1).(EvaluateSLOsInput) }).Return(sloHealthy(), nil).Once()
	env.OnActivity(ActivityStoreSLOReport, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { stored = args.Get(1).(StoreSLOReportInput) }).
		Return(StoreSLOReportResult{ID: 42, Inserted: true}, nil).Once()
	env.OnActivity(ActivityPublishSLOStatus, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { published = args.Get(1).(PublishSLOStatusInput) }).
		Return(PublishSLOStatusResult{Published: true}, nil).Once()

	env.ExecuteWorkflow(SLOReportWorkflow, SLOInput{})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res SLOReportResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, SLOStatusOK, res.Status)
	require.Equal(t, int64(42), res.ReportID)
	require.True(t, res.Published)
	require.False(t, evalIn.At.IsZero(), "the evaluation instant comes from the workflow clock")
	require.Equal(t, evalIn.At, stored.Report.GeneratedAt)
	require.NotEmpty(t, stored.Report.WorkflowRunID, "the run id is the store's idempotency key")
	require.Equal(t, int64(42), published.ReportID)
	require.Equal(t, stored.Report.Status, published.Report.Status)
	env.AssertExpectations(t)
}

func TestSLOReportWorkflowWithoutPrometheusReportsNoData(t *testing.T) {
	t.Parallel()
	env := sloWorkflowEnv(t)
	var stored StoreSLOReportInput
	env.OnActivity(ActivityEvaluateSLOs, mock.Anything, mock.Anything).
		Return(EvaluateSLOsResult{Configured: false, Reason: SLOReasonNotConfigured}, nil).Once()
	env.OnActivity(ActivityStoreSLOReport, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { stored = args.Get(1).(StoreSLOReportInput) }).
		Return(StoreSLOReportResult{ID: 1, Inserted: true}, nil).Once()
	env.OnActivity(ActivityPublishSLOStatus, mock.Anything, mock.Anything).
		Return(PublishSLOStatusResult{Published: true}, nil).Once()

	env.ExecuteWorkflow(SLOReportWorkflow, SLOInput{})
	require.NoError(t, env.GetWorkflowError())
	var res SLOReportResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, SLOStatusNoData, res.Status)
	require.Equal(t, SLOReasonNotConfigured, res.Reason)
	r := stored.Report
	require.Equal(t, SLOStatusNoData, r.Status)
	require.False(t, r.PrometheusConfigured)
	require.Equal(t, SLOReasonNotConfigured, r.Reason)
	for _, e := range r.SLOs {
		require.Equal(t, SLOStatusNoData, e.Status, e.Name)
		require.True(t, e.NoData, e.Name)
		require.Nil(t, e.SLI, "no fake numbers: %s", e.Name)
		require.Nil(t, e.ErrorBudgetRemaining, e.Name)
		for w, b := range e.BurnRates {
			require.Nil(t, b, "%s %s", e.Name, w)
		}
	}
	env.AssertExpectations(t)
}

func TestSLOReportWorkflowRetriesEvaluation(t *testing.T) {
	t.Parallel()
	env := sloWorkflowEnv(t)
	env.OnActivity(ActivityEvaluateSLOs, mock.Anything, mock.Anything).
		Return(EvaluateSLOsResult{}, errors.New("query prometheus: connection refused")).Twice()
	env.OnActivity(ActivityEvaluateSLOs, mock.Anything, mock.Anything).Return(sloHealthy(), nil).Once()
	env.OnActivity(ActivityStoreSLOReport, mock.Anything, mock.Anything).
		Return(StoreSLOReportResult{}, errors.New("connect: connection refused")).Once()
	env.OnActivity(ActivityStoreSLOReport, mock.Anything, mock.Anything).Return(StoreSLOReportResult{ID: 7}, nil).Once()
	env.OnActivity(ActivityPublishSLOStatus, mock.Anything, mock.Anything).Return(PublishSLOStatusResult{Published: true}, nil).Once()

	env.ExecuteWorkflow(SLOReportWorkflow, SLOInput{})
	require.NoError(t, env.GetWorkflowError())
	var res SLOReportResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, SLOStatusOK, res.Status, "the third attempt's numbers are used")
	require.Equal(t, int64(7), res.ReportID)
	env.AssertExpectations(t)
}

func TestSLOReportWorkflowPrometheusDownReportsNoData(t *testing.T) {
	t.Parallel()
	env := sloWorkflowEnv(t)
	// Every attempt fails: after the retry policy's attempts the report says
	// no_data with the reason instead of failing or keeping a stale status.
	env.OnActivity(ActivityEvaluateSLOs, mock.Anything, mock.Anything).
		Return(EvaluateSLOsResult{}, errors.New("query prometheus: connection refused"))
	var stored StoreSLOReportInput
	env.OnActivity(ActivityStoreSLOReport, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { stored = args.Get(1).(StoreSLOReportInput) }).
		Return(StoreSLOReportResult{ID: 3}, nil).Once()
	env.OnActivity(ActivityPublishSLOStatus, mock.Anything, mock.Anything).Return(PublishSLOStatusResult{Published: true}, nil).Once()

	env.ExecuteWorkflow(SLOReportWorkflow, SLOInput{})
	require.NoError(t, env.GetWorkflowError())
	var res SLOReportResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, SLOStatusNoData, res.Status)
	require.Equal(t, "prometheus query failed: query prometheus: connection refused", res.Reason)
	require.True(t, stored.Report.PrometheusConfigured)
	require.Equal(t, res.Reason, stored.Report.Reason)
	env.AssertNumberOfCalls(t, ActivityEvaluateSLOs, 3)
}

func TestSLOReportWorkflowRejectedQueryIsNotRetried(t *testing.T) {
	t.Parallel()
	env := sloWorkflowEnv(t)
	env.OnActivity(ActivityEvaluateSLOs, mock.Anything, mock.Anything).Return(EvaluateSLOsResult{},
		temporal.NewNonRetryableApplicationError("prometheus answered 400: bad_data: parse error", "PrometheusRejected", nil)).Once()
	env.OnActivity(ActivityStoreSLOReport, mock.Anything, mock.Anything).Return(StoreSLOReportResult{ID: 3}, nil).Once()
	env.OnActivity(ActivityPublishSLOStatus, mock.Anything, mock.Anything).Return(PublishSLOStatusResult{Published: true}, nil).Once()

	env.ExecuteWorkflow(SLOReportWorkflow, SLOInput{})
	require.NoError(t, env.GetWorkflowError())
	var res SLOReportResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, SLOStatusNoData, res.Status)
	require.Equal(t, "prometheus query failed: prometheus answered 400: bad_data: parse error", res.Reason)
	env.AssertNumberOfCalls(t, ActivityEvaluateSLOs, 1)
}

func TestSLOReportWorkflowDryRun(t *testing.T) {
	t.Parallel()
	env := sloWorkflowEnv(t)
	m := sloHealthy()
	m.SLOs[2].ErrorRatios = map[string]float64{"5m": 0.1, "30m": 0.1, "1h": 0.1, "6h": 0.1, "3d": 0.1, "30d": 0.1}
	env.OnActivity(ActivityEvaluateSLOs, mock.Anything, mock.Anything).Return(m, nil).Once()

	env.ExecuteWorkflow(SLOReportWorkflow, SLOInput{DryRun: true})
	require.NoError(t, env.GetWorkflowError())
	var res SLOReportResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.True(t, res.DryRun)
	require.Equal(t, SLOStatusCritical, res.Status)
	require.Equal(t, SLOStatusCritical, res.Report.SLOs[2].Status)
	require.Zero(t, res.ReportID)
	require.False(t, res.Published)
	env.AssertNotCalled(t, ActivityStoreSLOReport, mock.Anything, mock.Anything)
	env.AssertNotCalled(t, ActivityPublishSLOStatus, mock.Anything, mock.Anything)
}

func TestSLOReportWorkflowFailsWhenTheReportCannotBeStored(t *testing.T) {
	t.Parallel()
	env := sloWorkflowEnv(t)
	env.OnActivity(ActivityEvaluateSLOs, mock.Anything, mock.Anything).Return(sloHealthy(), nil).Once()
	env.OnActivity(ActivityStoreSLOReport, mock.Anything, mock.Anything).
		Return(StoreSLOReportResult{}, errors.New("connect: connection refused"))

	env.ExecuteWorkflow(SLOReportWorkflow, SLOInput{})
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.Contains(t, err.Error(), "store slo report")
	env.AssertNumberOfCalls(t, ActivityStoreSLOReport, 8)
	env.AssertNotCalled(t, ActivityPublishSLOStatus, mock.Anything, mock.Anything)
}

// Every run records its outcome in the memo (shown by the Temporal UI and
// the console's jobs page): the status, the SLOs breached by name, how many
// are ok, breached or without data, and whether the report was published.
func TestSLOReportRunRecordsItsOutcomeInTheMemo(t *testing.T) {
	t.Parallel()
	breached := sloHealthy()
	breached.SLOs[2].ErrorRatios = map[string]float64{"5m": 0.1, "30m": 0.1, "1h": 0.1, "6h": 0.1, "3d": 0.1, "30d": 0.1}
	for _, tc := range []struct {
		name      string
		in        SLOInput
		measured  EvaluateSLOsResult
		published bool
		storeErr  error
		line      string
		counts    map[string]int64
	}{
		{name: "breached", measured: breached, published: true,
			line:   "critical: breached forward_delivery_success (critical); 5 ok, 0 no data; report 42 published",
			counts: map[string]int64{"ok": 5, "warning": 0, "critical": 1, "no_data": 0, "breached": 1}},
		{name: "no prometheus", measured: EvaluateSLOsResult{Reason: SLOReasonNotConfigured}, published: true,
			line:   "no_data (PROMETHEUS_URL not configured): 0 ok, 6 no data; report 42 published",
			counts: map[string]int64{"ok": 0, "warning": 0, "critical": 0, "no_data": 6, "breached": 0}},
		{name: "newer report published", measured: sloHealthy(),
			line:   "ok: 6 ok, 0 no data; report 42 stored, not published (a newer one was)",
			counts: map[string]int64{"ok": 6, "warning": 0, "critical": 0, "no_data": 0, "breached": 0}},
		{name: "dry run", in: SLOInput{DryRun: true}, measured: sloHealthy(),
			line:   "dry run: ok: 6 ok, 0 no data (not stored)",
			counts: map[string]int64{"ok": 6, "warning": 0, "critical": 0, "no_data": 0, "breached": 0}},
		{name: "not stored", measured: breached,
			storeErr: temporal.NewNonRetryableApplicationError("insert slo report: permission denied", "Denied", nil),
			line:     "failed: store slo report: insert slo report: permission denied",
			counts:   map[string]int64{"ok": 5, "warning": 0, "critical": 1, "no_data": 0, "breached": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := sloWorkflowEnv(t)
			memo := recordMemo(env)
			env.OnActivity(ActivityEvaluateSLOs, mock.Anything, mock.Anything).Return(tc.measured, nil).Once()
			env.OnActivity(ActivityStoreSLOReport, mock.Anything, mock.Anything).Return(StoreSLOReportResult{ID: 42, Inserted: true}, tc.storeErr)
			env.OnActivity(ActivityPublishSLOStatus, mock.Anything, mock.Anything).Return(PublishSLOStatusResult{Published: tc.published}, nil)
			env.ExecuteWorkflow(SLOReportWorkflow, tc.in)
			require.True(t, env.IsWorkflowCompleted())
			require.Equal(t, tc.storeErr != nil, env.GetWorkflowError() != nil, "%v", env.GetWorkflowError())
			line, counts := memo.get(t)
			require.Equal(t, tc.line, line)
			require.Equal(t, tc.counts, counts)
		})
	}
}
