package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/sync/errgroup"

	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workflows"
)

// fakePrometheus answers /api/v1/query with answer(query) and records the
// queries. It stands in for Prometheus where a test needs answers a real one
// cannot be made to give on demand (NaN, errors); the integration test uses
// a real Prometheus.
type fakePrometheus struct {
	*httptest.Server
	mu      sync.Mutex
	queries []promQuerySeen
}

type promQuerySeen struct{ path, query, time string }

func newFakePrometheus(t *testing.T, answer func(q string) (int, string)) *fakePrometheus {
	t.Helper()
	f := &fakePrometheus{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		f.mu.Lock()
		f.queries = append(f.queries, promQuerySeen{r.URL.Path, q, r.URL.Query().Get("time")})
		f.mu.Unlock()
		code, body := answer(q)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakePrometheus) seen() []promQuerySeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]promQuerySeen(nil), f.queries...)
}

func promVector(v string) string {
	return `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.5,"` + v + `"]}]}}`
}

const promEmpty = `{"status":"success","data":{"resultType":"vector","result":[]}}`

func sloTestLogger() log.Logger { return log.NewStructuredLogger(slog.New(slog.DiscardHandler)) }

// sloActivityEnv registers the SLO activities of d on a test activity environment.
func sloActivityEnv(t *testing.T, d *Deps) (*testsuite.TestActivityEnvironment, *sloActivities) {
	t.Helper()
	if d.Registerer == nil {
		d.Registerer = prometheus.NewRegistry()
	}
	a, err := newSLOActivities(d)
	require.NoError(t, err)
	var s testsuite.WorkflowTestSuite
	s.SetLogger(sloTestLogger())
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(a.EvaluateSLOs, activity.RegisterOptions{Name: workflows.ActivityEvaluateSLOs})
	env.RegisterActivityWithOptions(a.StoreSLOReport, activity.RegisterOptions{Name: workflows.ActivityStoreSLOReport})
	env.RegisterActivityWithOptions(a.PublishSLOStatus, activity.RegisterOptions{Name: workflows.ActivityPublishSLOStatus})
	return env, a
}

func TestPromClientQuery(t *testing.T) {
	t.Parallel()
	answers := map[string]struct {
		code int
		body string
	}{
		"one":      {200, promVector("0.25")},
		"empty":    {200, promEmpty},
		"nan":      {200, promVector("NaN")},
		"inf":      {200, promVector("+Inf")},
		"scalar":   {200, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.5"]}}`},
		"two":      {200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}`},
		"matrix":   {200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`},
		"bad":      {400, `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}`},
		"timeout":  {422, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`},
		"down":     {503, `Service Unavailable`},
		"notprom":  {200, `<html>login</html>`},
		"notfound": {404, `404 page not found`},
	}
	fake := newFakePrometheus(t, func(q string) (int, string) {
		a := answers[q]
		return a.code, a.body
	})
	// A path prefix in PROMETHEUS_URL (Prometheus behind a reverse proxy) is kept.
	c := &promClient{http: fake.Client(), base: fake.URL + "/prom/"}
	at := time.Date(2026, 11, 3, 10, 5, 0, 250_000_000, time.UTC)
	ctx := context.Background()

	for _, tc := range []struct {
		q         string
		v         float64
		ok        bool
		errSub    string
		retryable bool
	}{
		{q: "one", v: 0.25, ok: true},
		{q: "empty"},
		{q: "nan"},
		{q: "inf"},
		{q: "scalar", v: 0.5, ok: true},
		{q: "two", errSub: "2 series where one was expected"},
		{q: "matrix", errSub: `"matrix" result`},
		{q: "bad", errSub: "prometheus answered 400", retryable: false},
		{q: "timeout", errSub: "prometheus answered 422: timeout: query timed out", retryable: true},
		{q: "down", errSub: "prometheus answered 503", retryable: true},
		{q: "notprom", errSub: "prometheus answered 200", retryable: false},
		{q: "notfound", errSub: "prometheus answered 404", retryable: false},
	} {
		v, ok, err := c.query(ctx, tc.q, at)
		if tc.errSub == "" {
			require.NoError(t, err, tc.q)
			require.Equal(t, tc.ok, ok, tc.q)
			require.Equal(t, tc.v, v, tc.q)
			continue
		}
		require.ErrorContains(t, err, tc.errSub, tc.q)
		var appErr *temporal.ApplicationError
		nonRetryable := errors.As(err, &appErr) && appErr.NonRetryable()
		require.Equal(t, !tc.retryable, nonRetryable, "%s: %v", tc.q, err)
	}
	for _, q := range fake.seen() {
		require.Equal(t, "/prom/api/v1/query", q.path)
		require.Equal(t, fmt.Sprintf("%d.250", at.Unix()), q.time, "evaluated at the given instant")
	}

	// Nothing listening: a connection error, retryable.
	dead := &promClient{http: &http.Client{Timeout: 2 * time.Second}, base: "http://127.0.0.1:1"}
	_, _, err := dead.query(ctx, "up", at)
	require.ErrorContains(t, err, "query prometheus")
	var appErr *temporal.ApplicationError
	require.False(t, errors.As(err, &appErr) && appErr.NonRetryable())
}

func TestEvaluateSLOsWithoutPrometheus(t *testing.T) {
	t.Parallel()
	env, _ := sloActivityEnv(t, &Deps{})
	val, err := env.ExecuteActivity(workflows.ActivityEvaluateSLOs, workflows.EvaluateSLOsInput{At: time.Now()})
	require.NoError(t, err)
	var res workflows.EvaluateSLOsResult
	require.NoError(t, val.Get(&res))
	require.False(t, res.Configured)
	require.Equal(t, workflows.SLOReasonNotConfigured, res.Reason)
	require.Empty(t, res.SLOs)
}

// sloAnswerFor gives each query of the fake a value by the metric it reads
// (0.002 for everything, no data for the end-to-end histogram).
func sloAnswerFor(q string) (int, string) {
	switch {
	case strings.Contains(q, "mutt_event_end_to_end_seconds"):
		return 200, promEmpty
	case strings.HasPrefix(q, "histogram_quantile"):
		return 200, promVector("0.3")
	default:
		return 200, promVector("0.002")
	}
}

func TestEvaluateSLOsMeasuresEveryWindow(t *testing.T) {
	t.Parallel()
	fake := newFakePrometheus(t, sloAnswerFor)
	env, _ := sloActivityEnv(t, &Deps{PrometheusURL: fake.URL, HTTP: fake.Client()})
	val, err := env.ExecuteActivity(workflows.ActivityEvaluateSLOs, workflows.EvaluateSLOsInput{At: time.Now()})
	require.NoError(t, err)
	var res workflows.EvaluateSLOsResult
	require.NoError(t, val.Get(&res))
	require.True(t, res.Configured)
	defs := workflows.SLODefinitions()
	require.Len(t, res.SLOs, len(defs))
	queries := 0
	for i, d := range defs {
		m := res.SLOs[i]
		require.Equal(t, d.Name, m.Name)
		queries += len(d.SLOWindows())
		if d.Kind == workflows.SLOKindLatency {
			queries++
		}
		if d.Name == "end_to_end_latency_p99" {
			require.Empty(t, m.ErrorRatios, "an empty result is no data")
			require.Nil(t, m.P99Seconds)
			continue
		}
		require.Len(t, m.ErrorRatios, len(d.SLOWindows()))
		for _, w := range d.SLOWindows() {
			require.Equal(t, 0.002, m.ErrorRatios[w], "%s %s", d.Name, w)
		}
		if d.Kind == workflows.SLOKindLatency {
			require.Equal(t, 0.3, *m.P99Seconds)
		}
	}
	require.Len(t, fake.seen(), queries, "one query per SLO and window, plus the p99 of latency SLOs")
}

// TestEvaluateSLOsRejectedQueryIsNotRetried: a query Prometheus rejects fails
// the activity with a non-retryable error (the workflow then reports no_data
// at once); an unavailable Prometheus fails it with a retryable one.
func TestEvaluateSLOsRejectedQueryIsNotRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code      int
		body      string
		retryable bool
	}{
		{400, `{"status":"error","errorType":"bad_data","error":"parse error"}`, false},
		{503, `{"status":"error","errorType":"unavailable","error":"overloaded"}`, true},
	} {
		fake := newFakePrometheus(t, func(string) (int, string) { return tc.code, tc.body })
		env, _ := sloActivityEnv(t, &Deps{PrometheusURL: fake.URL, HTTP: fake.Client()})
		_, err := env.ExecuteActivity(workflows.ActivityEvaluateSLOs, workflows.EvaluateSLOsInput{At: time.Now()})
		require.ErrorContains(t, err, "evaluate slo ingest_availability")
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, err, &appErr)
		require.Equal(t, !tc.retryable, appErr.NonRetryable(), "%d: %v", tc.code, err)
	}
}

// TestEvaluateSLOsResumesFromHeartbeat: an attempt that fails part-way has
// heartbeated the SLOs it measured; the retry starts from its details and
// queries only the rest.
func TestEvaluateSLOsResumesFromHeartbeat(t *testing.T) {
	t.Parallel()
	var failing sync.Map // metric name → answer 503
	failing.Store("mutt_alerter_events_processed_total", true)
	fake := newFakePrometheus(t, func(q string) (int, string) {
		stop := false
		failing.Range(func(k, _ any) bool {
			stop = stop || strings.Contains(q, k.(string))
			return !stop
		})
		if stop {
			return 503, `{"status":"error","errorType":"unavailable","error":"overloaded"}`
		}
		return sloAnswerFor(q)
	})
	at := time.Date(2026, 11, 3, 10, 5, 0, 0, time.UTC)
	defs := workflows.SLODefinitions()
	alerterIdx := -1
	for i, d := range defs {
		if d.Name == "alerter_processing_success" {
			alerterIdx = i
		}
	}
	require.Positive(t, alerterIdx)

	// First attempt: fails on the alerter SLO after heartbeating the ones before it.
	env1, _ := sloActivityEnv(t, &Deps{PrometheusURL: fake.URL, HTTP: fake.Client()})
	var last sloProgress
	beats := 0
	env1.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		beats++
		require.NoError(t, details.Get(&last))
	})
	_, err := env1.ExecuteActivity(workflows.ActivityEvaluateSLOs, workflows.EvaluateSLOsInput{At: at})
	require.ErrorContains(t, err, "evaluate slo alerter_processing_success")
	require.ErrorContains(t, err, "prometheus answered 503")
	// The SDK throttles heartbeats, but the last details sent carry every
	// SLO measured before the failure.
	require.Positive(t, beats)
	require.Len(t, last.Done, alerterIdx)

	// Make the resumed values recognisable: a re-query would give 0.002.
	for i := range last.Done {
		for w := range last.Done[i].ErrorRatios {
			last.Done[i].ErrorRatios[w] = 0.0001
		}
	}

	// Retry: Prometheus has recovered; the attempt resumes from the details.
	failing.Delete("mutt_alerter_events_processed_total")
	before := len(fake.seen())
	env2, _ := sloActivityEnv(t, &Deps{PrometheusURL: fake.URL, HTTP: fake.Client()})
	env2.SetHeartbeatDetails(last)
	val, err := env2.ExecuteActivity(workflows.ActivityEvaluateSLOs, workflows.EvaluateSLOsInput{At: at})
	require.NoError(t, err)
	var res workflows.EvaluateSLOsResult
	require.NoError(t, val.Get(&res))
	require.Len(t, res.SLOs, len(defs))
	for i, d := range defs {
		require.Equal(t, d.Name, res.SLOs[i].Name)
		if i < alerterIdx {
			require.Equal(t, 0.0001, res.SLOs[i].ErrorRatios[workflows.SLOWindow1h], "%s resumed, not re-queried", d.Name)
		}
	}
	require.Equal(t, 0.002, res.SLOs[alerterIdx].ErrorRatios[workflows.SLOWindow1h])
	for _, q := range fake.seen()[before:] {
		for _, d := range defs[:alerterIdx] {
			metric := d.Histogram
			if metric == "" {
				metric = strings.SplitN(d.Good, "{", 2)[0]
			}
			require.NotContains(t, q.query, metric, "the resumed attempt re-queried %s", d.Name)
		}
	}
}

// sloTestReport is a report with one SLO of each status.
func sloTestReport(runID string, at time.Time) workflows.SLOReport {
	m := workflows.EvaluateSLOsResult{Configured: true}
	for _, d := range workflows.SLODefinitions() {
		ratios := map[string]float64{}
		var v float64
		switch d.Name {
		case "forward_delivery_success":
			v = 0.1 // burn 20: critical
		case "ingest_latency_p99":
			v = 0.009 // budget 0.1 left: warning
		case "end_to_end_latency_p99":
			continue // no data
		}
		for _, w := range d.SLOWindows() {
			ratios[w] = v
		}
		m.SLOs = append(m.SLOs, workflows.SLOMeasurement{Name: d.Name, ErrorRatios: ratios})
	}
	return workflows.BuildSLOReport(workflows.SLODefinitions(), m, at, "wf-"+runID, runID)
}

func TestStoreSLOReportIsIdempotentPerRun(t *testing.T) {
	t.Parallel()
	db := testenv.Postgres(t)
	env, _ := sloActivityEnv(t, &Deps{DB: db})
	ctx := context.Background()
	at := time.Date(2026, 11, 3, 10, 5, 0, 123_456_789, time.UTC)
	report := sloTestReport("run-a", at)
	store := func(r workflows.SLOReport) workflows.StoreSLOReportResult {
		val, err := env.ExecuteActivity(workflows.ActivityStoreSLOReport, workflows.StoreSLOReportInput{Report: r})
		require.NoError(t, err)
		var res workflows.StoreSLOReportResult
		require.NoError(t, val.Get(&res))
		return res
	}

	first := store(report)
	require.True(t, first.Inserted)
	again := store(report)
	require.False(t, again.Inserted, "a retry of the same run finds its row")
	require.Equal(t, first.ID, again.ID)

	// Concurrent attempts of one run (a timed-out attempt still running
	// beside its retry) still make one row.
	concurrent := sloTestReport("run-b", at.Add(time.Minute))
	ids := make([]int64, 6)
	envs := make([]*testsuite.TestActivityEnvironment, len(ids)) // an environment is not goroutine-safe
	for i := range envs {
		envs[i], _ = sloActivityEnv(t, &Deps{DB: db})
	}
	var g errgroup.Group
	for i := range ids {
		g.Go(func() error {
			val, err := envs[i].ExecuteActivity(workflows.ActivityStoreSLOReport, workflows.StoreSLOReportInput{Report: concurrent})
			if err != nil {
				return err
			}
			var res workflows.StoreSLOReportResult
			if err := val.Get(&res); err != nil {
				return err
			}
			ids[i] = res.ID
			return nil
		})
	}
	require.NoError(t, g.Wait())
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	require.NotEqual(t, first.ID, ids[0])

	var n int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM slo_reports`).Scan(&n))
	require.Equal(t, 2, n)

	var status string
	var raw []byte
	var generated time.Time
	require.NoError(t, db.QueryRow(ctx, `SELECT status, report, generated_at FROM slo_reports WHERE id = $1`, first.ID).
		Scan(&status, &raw, &generated))
	require.Equal(t, workflows.SLOStatusCritical, status)
	require.True(t, generated.Equal(at.Truncate(time.Microsecond)), "generated_at is the evaluation instant")
	var got workflows.SLOReport
	require.NoError(t, json.Unmarshal(raw, &got))
	require.Equal(t, "run-a", got.WorkflowRunID)
	require.Len(t, got.SLOs, len(workflows.SLODefinitions()))

	_, err := env.ExecuteActivity(workflows.ActivityStoreSLOReport, workflows.StoreSLOReportInput{Report: workflows.SLOReport{}})
	require.ErrorContains(t, err, "no workflow_run_id")
}

func TestPublishSLOStatus(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	reg := prometheus.NewRegistry()
	env, _ := sloActivityEnv(t, &Deps{Redis: rdb, Keys: keys, Registerer: reg})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	sub := rdb.Subscribe(ctx, sloUpdatesChannel(keys))
	defer func() { _ = sub.Close() }()
	_, err := sub.Receive(ctx) // subscription confirmed
	require.NoError(t, err)

	publish := func(id int64, r workflows.SLOReport) bool {
		val, err := env.ExecuteActivity(workflows.ActivityPublishSLOStatus, workflows.PublishSLOStatusInput{ReportID: id, Report: r})
		require.NoError(t, err)
		var res workflows.PublishSLOStatusResult
		require.NoError(t, val.Get(&res))
		return res.Published
	}
	current := func() workflows.SLOStatus {
		raw, err := rdb.Get(ctx, sloStatusKey(keys)).Bytes()
		require.NoError(t, err)
		var st workflows.SLOStatus
		require.NoError(t, json.Unmarshal(raw, &st))
		return st
	}

	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	require.True(t, publish(10, sloTestReport("run-10", t0.Add(5*time.Minute))))
	st := current()
	require.Equal(t, int64(10), st.ReportID)
	require.Equal(t, "run-10", st.WorkflowRunID)
	require.Equal(t, workflows.SLOStatusCritical, st.Status)
	msg, err := sub.ReceiveMessage(ctx)
	require.NoError(t, err)
	var announced workflows.SLOStatus
	require.NoError(t, json.Unmarshal([]byte(msg.Payload), &announced))
	require.Equal(t, int64(10), announced.ReportID)

	gauges := sloGather(t, reg)
	require.Equal(t, 2.0, gauges[`mutt_slo_status{slo="forward_delivery_success"}`])
	require.Equal(t, 1.0, gauges[`mutt_slo_status{slo="ingest_latency_p99"}`])
	require.Equal(t, 0.0, gauges[`mutt_slo_status{slo="ingest_availability"}`])
	require.Equal(t, -1.0, gauges[`mutt_slo_status{slo="end_to_end_latency_p99"}`])
	require.InDelta(t, -19, gauges[`mutt_slo_error_budget_remaining{slo="forward_delivery_success"}`], 1e-9)
	require.InDelta(t, 20, gauges[`mutt_slo_burn_rate{slo="forward_delivery_success",window="1h"}`], 1e-9)
	require.InDelta(t, float64(t0.Add(5*time.Minute).Unix()), gauges[`mutt_slo_report_timestamp_seconds`], 1e-3)
	// No data: no budget or burn series rather than a made-up number.
	require.NotContains(t, gauges, `mutt_slo_error_budget_remaining{slo="end_to_end_latency_p99"}`)
	require.NotContains(t, gauges, `mutt_slo_burn_rate{slo="end_to_end_latency_p99",window="1h"}`)
	require.Equal(t, len(workflows.SLODefinitions())-1, sloCount(gauges, "mutt_slo_error_budget_remaining"))

	// A late retry of an older run does not overwrite the newer status.
	require.False(t, publish(9, sloTestReport("run-9", t0)))
	require.Equal(t, int64(10), current().ReportID)

	// The same report again (a retry of the publish) is harmless; a newer one wins.
	require.True(t, publish(10, sloTestReport("run-10", t0.Add(5*time.Minute))))
	require.True(t, publish(11, sloTestReport("run-11", t0.Add(10*time.Minute))))
	require.Equal(t, int64(11), current().ReportID)

	// A no-data report clears the budget and burn series of every SLO.
	empty := workflows.BuildSLOReport(workflows.SLODefinitions(),
		workflows.EvaluateSLOsResult{Reason: workflows.SLOReasonNotConfigured}, t0.Add(15*time.Minute), "wf", "run-12")
	require.True(t, publish(12, empty))
	gauges = sloGather(t, reg)
	require.Zero(t, sloCount(gauges, "mutt_slo_error_budget_remaining")+sloCount(gauges, "mutt_slo_burn_rate"))
	require.Equal(t, -1.0, gauges[`mutt_slo_status{slo="forward_delivery_success"}`])
	st = current()
	require.Equal(t, workflows.SLOStatusNoData, st.Status)
	require.Equal(t, workflows.SLOReasonNotConfigured, st.Reason)
}

func TestRegisterSLOReportsDuplicateMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	_, err := newSLOActivities(&Deps{Registerer: reg})
	require.NoError(t, err)
	_, err = newSLOActivities(&Deps{Registerer: reg})
	require.ErrorContains(t, err, "register slo metrics")
	// Without a registerer the gauges stay private instead of failing.
	_, err = newSLOActivities(&Deps{})
	require.NoError(t, err)
}

// sloGather reads every gauge and counter of reg as `name{label="value",...}` → value.
func sloGather(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// sloCount is the number of series of metric name in gathered.
func sloCount(gathered map[string]float64, name string) int {
	n := 0
	for k := range gathered {
		if k == name || strings.HasPrefix(k, name+"{") {
			n++
		}
	}
	return n
}
