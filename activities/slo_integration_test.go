package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workflows"
)

// sloPrometheusBinary comes with the Debian prometheus package (make test installs it).
const sloPrometheusBinary = "/usr/bin/prometheus"

// sloRecordHistoryEnv, when set, makes the integration test save the history
// of its run as the replay test's fixture:
//
//	MUTT_RECORD_SLO_HISTORY=1 go test ./activities -run TestSLOReportWorkflowAgainstRealPrometheus
const sloRecordHistoryEnv = "MUTT_RECORD_SLO_HISTORY"

var sloHistoryFixture = filepath.Join("..", "workflows", "testdata", "slo_report_history.json")

// sloHotPath exposes the hot path's metric names (same names, labels and
// buckets as hotpath/ingest, hotpath/forward, hotpath/alert) with traffic the
// test decides: every tick adds the same mix of events, so every window sees
// the same ratios. The lock makes a scrape see whole ticks only.
type sloHotPath struct {
	mu            sync.Mutex
	reg           *prometheus.Registry
	ingest        *prometheus.CounterVec
	ingestLatency prometheus.Histogram
	moog          *prometheus.CounterVec
	moogLatency   prometheus.Histogram
	alerter       *prometheus.CounterVec
}

func newSLOHotPath() *sloHotPath {
	h := &sloHotPath{
		reg: prometheus.NewRegistry(),
		ingest: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mutt_ingest_requests_total", Help: "ingest"},
			[]string{"status", "reason"}),
		ingestLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mutt_ingest_latency_seconds", Help: "ingest",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}),
		moog: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mutt_moog_alerts_processed_total", Help: "moog"},
			[]string{"status"}),
		moogLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mutt_moog_request_latency_seconds", Help: "moog",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
		alerter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mutt_alerter_events_processed_total", Help: "alerter"},
			[]string{"status"}),
		// mutt_event_end_to_end_seconds is deliberately absent: that SLO has no data.
	}
	h.reg.MustRegister(h.ingest, h.ingestLatency, h.moog, h.moogLatency, h.alerter)
	h.ingest.WithLabelValues("fail", "queue_full") // exists, never moves
	return h
}

// tick adds one unit of traffic:
//   - ingest availability: 1 server failure (redis) in 10 000, plus client
//     errors that must not count: 0.01 % of a 0.1 % budget, burn 0.1 → ok;
//   - ingest latency: 9 in 1 000 slower than 500 ms: burn 0.9, 10 % of the
//     budget left → warning;
//   - forward delivery: 10 % dead-lettered: burn 20 → critical (page);
//   - forward latency: all at 200 ms → ok;
//   - alerter: 3 in 2 000 poison or failed: burn 1.5, budget overspent →
//     critical (ticket, not page).
func (h *sloHotPath) tick() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ingest.WithLabelValues("success", "").Add(9999)
	h.ingest.WithLabelValues("fail", "redis").Add(1)
	h.ingest.WithLabelValues("fail", "auth").Add(50)
	h.ingest.WithLabelValues("fail", "validation").Add(10)
	for i := 0; i < 1000; i++ {
		if i < 9 {
			h.ingestLatency.Observe(1)
		} else {
			h.ingestLatency.Observe(0.01)
		}
	}
	h.moog.WithLabelValues("success").Add(90)
	h.moog.WithLabelValues("dlq").Add(10)
	h.moog.WithLabelValues("retry").Add(30)
	for i := 0; i < 100; i++ {
		h.moogLatency.Observe(0.2)
	}
	h.alerter.WithLabelValues("handled").Add(1500)
	h.alerter.WithLabelValues("unhandled").Add(497)
	h.alerter.WithLabelValues("poison").Add(1)
	h.alerter.WithLabelValues("error").Add(2)
}

// serve exposes the metrics on a test HTTP server and ticks every 100 ms
// until the test ends.
func (h *sloHotPath) serve(t *testing.T) string {
	t.Helper()
	metrics := promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		metrics.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	h.tick()
	go func() {
		defer close(done)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				h.tick()
			}
		}
	}()
	return strings.TrimPrefix(srv.URL, "http://")
}

// sloStartPrometheus runs a real Prometheus as a child process that scrapes
// target every second and evaluates ruleFiles every second; it returns its URL.
func sloStartPrometheus(t *testing.T, target string, ruleFiles []string) string {
	t.Helper()
	_, err := os.Stat(sloPrometheusBinary)
	require.NoError(t, err, "prometheus is needed: apt-get install -y --no-install-recommends prometheus")
	dir := t.TempDir()
	var rules strings.Builder
	for _, f := range ruleFiles {
		abs, err := filepath.Abs(f)
		require.NoError(t, err)
		fmt.Fprintf(&rules, "  - %q\n", abs)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
%sscrape_configs:
  - job_name: mutt-test
    static_configs:
      - targets: [%q]
`, rules.String(), target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))

	// The free port is found by listening on :0 and closing; another process
	// could take it in between, so a Prometheus that exits at once is retried.
	for attempt := 1; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())

		logPath := filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", attempt))
		logFile, err := os.Create(logPath)
		require.NoError(t, err)
		cmd := exec.Command(sloPrometheusBinary,
			"--config.file="+cfgPath,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data-%d", attempt)),
			"--web.listen-address="+addr,
			"--log.level=warn")
		cmd.Stdout, cmd.Stderr = logFile, logFile
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			_ = logFile.Close()
		}

		base := "http://" + addr
		ready := false
		deadline := time.Now().Add(20 * time.Second)
		for !ready && time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Now() // gave up: exited
				continue
			case <-time.After(100 * time.Millisecond):
			}
			resp, err := http.Get(base + "/-/ready")
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				ready = resp.StatusCode == http.StatusOK
			}
		}
		if ready {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					out, _ := os.ReadFile(logPath)
					t.Logf("prometheus log:\n%s", out)
				}
			})
			return base
		}
		stop()
		out, _ := os.ReadFile(logPath)
		require.Less(t, attempt, 3, "prometheus did not become ready:\n%s", out)
	}
}

// sloPromSeries runs an instant query and returns its series' labels.
func sloPromSeries(base, q string) ([]map[string]string, error) {
	resp, err := http.Get(base + "/api/v1/query?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: status %s", q, body.Status)
	}
	out := make([]map[string]string, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		out = append(out, r.Metric)
	}
	return out, nil
}

// sloFiringSLOs lists the SLOs whose burn-rate alert of severity fires.
func sloFiringSLOs(base, severity string) []string {
	series, err := sloPromSeries(base, fmt.Sprintf(`ALERTS{alertname="MUTTErrorBudgetBurn",alertstate="firing",severity=%q}`, severity))
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range series {
		out = append(out, s["slo"])
	}
	return out
}

// sloWorker starts a real worker on tq with every workflow and activity.
func sloWorker(t *testing.T, c client.Client, tq string, d *Deps) {
	t.Helper()
	w := worker.New(c, tq, worker.Options{})
	workflows.Register(w)
	require.NoError(t, Register(w, d))
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
}

// TestSLOReportWorkflowAgainstRealPrometheus drives hot-path metrics with
// known failure rates, lets a real Prometheus scrape them and evaluate the
// rules of deploy/prometheus, then runs SLOReportWorkflow on the Temporal dev
// server and checks the report stored in PostgreSQL and published in Redis.
func TestSLOReportWorkflowAgainstRealPrometheus(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	target := newSLOHotPath().serve(t)
	rules, err := filepath.Glob(filepath.Join("..", "deploy", "prometheus", "rules", "*.yml"))
	require.NoError(t, err)
	require.Len(t, rules, 2)
	prom := sloStartPrometheus(t, target, rules)

	// The generated rules work on what the hot path exposes: the fast burn of
	// forward delivery pages; forward delivery and the alerter open tickets;
	// nothing else fires.
	require.Eventually(t, func() bool {
		return strings.Join(sloFiringSLOs(prom, "page"), ",") == "forward_delivery_success" &&
			len(sloFiringSLOs(prom, "ticket")) == 2
	}, 30*time.Second, 250*time.Millisecond, "burn-rate alerts did not fire as expected: page %v ticket %v",
		sloFiringSLOs(prom, "page"), sloFiringSLOs(prom, "ticket"))
	require.ElementsMatch(t, []string{"forward_delivery_success", "alerter_processing_success"}, sloFiringSLOs(prom, "ticket"))

	db := testenv.Postgres(t)
	rdb, keys := testenv.Redis(t)
	c, tq := testenv.Temporal(t)
	reg := prometheus.NewRegistry()
	sloWorker(t, c, tq, &Deps{DB: db, Redis: rdb, Keys: keys, Registerer: reg,
		Log: slog.New(slog.DiscardHandler), PrometheusURL: prom})

	sub := rdb.Subscribe(ctx, sloUpdatesChannel(keys))
	defer func() { _ = sub.Close() }()
	_, err = sub.Receive(ctx)
	require.NoError(t, err)

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: tq + "-slo-report", TaskQueue: tq},
		"SLOReportWorkflow", workflows.SLOInput{})
	require.NoError(t, err)
	var res workflows.SLOReportResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, workflows.SLOStatusCritical, res.Status)
	require.Positive(t, res.ReportID)
	require.True(t, res.Published)

	// The stored report.
	var status string
	var raw []byte
	require.NoError(t, db.QueryRow(ctx, `SELECT status, report FROM slo_reports WHERE id = $1`, res.ReportID).Scan(&status, &raw))
	require.Equal(t, workflows.SLOStatusCritical, status)
	var report workflows.SLOReport
	require.NoError(t, json.Unmarshal(raw, &report))
	require.Equal(t, run.GetRunID(), report.WorkflowRunID)
	require.True(t, report.PrometheusConfigured)
	require.Empty(t, report.Reason)
	require.Equal(t, map[string]int{"ok": 2, "warning": 1, "critical": 2, "no_data": 1}, report.Summary)

	byName := map[string]workflows.SLOEvaluation{}
	for _, e := range report.SLOs {
		byName[e.Name] = e
	}
	type want struct {
		status string
		burn   float64 // every window: the traffic mix never changes
	}
	for name, w := range map[string]want{
		"ingest_availability":        {workflows.SLOStatusOK, 0.1},
		"ingest_latency_p99":         {workflows.SLOStatusWarning, 0.9},
		"forward_delivery_success":   {workflows.SLOStatusCritical, 20},
		"forward_latency_p99":        {workflows.SLOStatusOK, 0},
		"alerter_processing_success": {workflows.SLOStatusCritical, 1.5},
	} {
		e, ok := byName[name]
		require.True(t, ok, name)
		require.Equal(t, w.status, e.Status, "%s: %v", name, e.Reasons)
		require.False(t, e.NoData, name)
		require.Empty(t, e.NoDataWindows, name)
		for _, win := range report.Windows {
			require.NotNil(t, e.BurnRates[win], "%s %s", name, win)
			require.InDelta(t, w.burn, *e.BurnRates[win], 1e-6, "%s burn rate over %s", name, win)
		}
		require.NotNil(t, e.ErrorBudgetRemaining, name)
		require.InDelta(t, 1-w.burn, *e.ErrorBudgetRemaining, 1e-6, name)
		require.InDelta(t, 1-w.burn*(1-e.Target), *e.SLI, 1e-9, name)
	}
	require.InDelta(t, 0.9999, *byName["ingest_availability"].SLI, 1e-9, "client errors do not count")
	require.Contains(t, strings.Join(byName["forward_delivery_success"].Reasons, ";"), "(page)")
	require.Contains(t, byName["alerter_processing_success"].Reasons[0], "error budget exhausted")
	require.Contains(t, strings.Join(byName["alerter_processing_success"].Reasons, ";"), "(ticket)")
	fwdLat := byName["forward_latency_p99"]
	require.NotNil(t, fwdLat.P99Seconds)
	require.InDelta(t, 0.25, *fwdLat.P99Seconds, 0.15, "observations at 200 ms")

	e2e := byName["end_to_end_latency_p99"]
	require.Equal(t, workflows.SLOStatusNoData, e2e.Status)
	require.True(t, e2e.NoData)
	require.Nil(t, e2e.SLI, "no samples: no data, never 0 or 100 %")
	require.Nil(t, e2e.ErrorBudgetRemaining)

	// The published status and the gauges.
	stored, err := rdb.Get(ctx, sloStatusKey(keys)).Bytes()
	require.NoError(t, err)
	var st workflows.SLOStatus
	require.NoError(t, json.Unmarshal(stored, &st))
	require.Equal(t, res.ReportID, st.ReportID)
	require.Equal(t, workflows.SLOStatusCritical, st.Status)
	msg, err := sub.ReceiveMessage(ctx)
	require.NoError(t, err)
	require.JSONEq(t, string(stored), msg.Payload)
	gauges := sloGather(t, reg)
	require.Equal(t, 2.0, gauges[`mutt_slo_status{slo="forward_delivery_success"}`])
	require.Equal(t, 1.0, gauges[`mutt_slo_status{slo="ingest_latency_p99"}`])
	require.Equal(t, 0.0, gauges[`mutt_slo_status{slo="ingest_availability"}`])
	require.Equal(t, -1.0, gauges[`mutt_slo_status{slo="end_to_end_latency_p99"}`])
	require.InDelta(t, 0.9, gauges[`mutt_slo_error_budget_remaining{slo="ingest_availability"}`], 1e-6)

	// The history replays with the current workflow code; on request it
	// becomes the replay test's fixture.
	hist := sloFetchHistory(ctx, t, c, run.GetID(), run.GetRunID())
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(workflows.SLOReportWorkflow, workflow.RegisterOptions{Name: "SLOReportWorkflow"})
	require.NoError(t, replayer.ReplayWorkflowHistory(sloTestLogger(), hist))
	if os.Getenv(sloRecordHistoryEnv) != "" {
		out, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(sloHistoryFixture, append(out, '\n'), 0o644))
		t.Logf("recorded %s (%d events)", sloHistoryFixture, len(hist.Events))
	}
}

// TestSLOReportWorkflowWithoutPrometheus: no PROMETHEUS_URL gives a no_data
// report with the reason, stored and published like any other.
func TestSLOReportWorkflowWithoutPrometheus(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := testenv.Postgres(t)
	rdb, keys := testenv.Redis(t)
	c, tq := testenv.Temporal(t)
	reg := prometheus.NewRegistry()
	sloWorker(t, c, tq, &Deps{DB: db, Redis: rdb, Keys: keys, Registerer: reg, Log: slog.New(slog.DiscardHandler)})

	// No input at all, as `temporal workflow start --type SLOReportWorkflow` sends.
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: tq + "-slo-report", TaskQueue: tq}, "SLOReportWorkflow")
	require.NoError(t, err)
	var res workflows.SLOReportResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, workflows.SLOStatusNoData, res.Status)
	require.Equal(t, workflows.SLOReasonNotConfigured, res.Reason)

	var status string
	var raw []byte
	require.NoError(t, db.QueryRow(ctx, `SELECT status, report FROM slo_reports WHERE id = $1`, res.ReportID).Scan(&status, &raw))
	require.Equal(t, workflows.SLOStatusNoData, status)
	var report workflows.SLOReport
	require.NoError(t, json.Unmarshal(raw, &report))
	require.Equal(t, workflows.SLOReasonNotConfigured, report.Reason)
	require.False(t, report.PrometheusConfigured)
	require.Len(t, report.SLOs, len(workflows.SLODefinitions()))
	for _, e := range report.SLOs {
		require.True(t, e.NoData, e.Name)
		require.Nil(t, e.SLI, e.Name)
	}
	// The JSON says null, not 0, where there is no number.
	require.True(t, bytes.Contains(raw, []byte(`"error_budget_remaining": null`)) ||
		bytes.Contains(raw, []byte(`"error_budget_remaining":null`)), "%s", raw)

	stored, err := rdb.Get(ctx, sloStatusKey(keys)).Bytes()
	require.NoError(t, err)
	var st workflows.SLOStatus
	require.NoError(t, json.Unmarshal(stored, &st))
	require.Equal(t, workflows.SLOStatusNoData, st.Status)
	require.Equal(t, res.ReportID, st.ReportID)
	require.Equal(t, -1.0, sloGather(t, reg)[`mutt_slo_status{slo="ingest_availability"}`])

	// A dry run evaluates but neither stores nor publishes.
	dry, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: tq + "-slo-report-dry", TaskQueue: tq},
		"SLOReportWorkflow", workflows.SLOInput{DryRun: true})
	require.NoError(t, err)
	var dryRes workflows.SLOReportResult
	require.NoError(t, dry.Get(ctx, &dryRes))
	require.True(t, dryRes.DryRun)
	require.Zero(t, dryRes.ReportID)
	var n int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM slo_reports`).Scan(&n))
	require.Equal(t, 1, n)
}

func sloFetchHistory(ctx context.Context, t *testing.T, c client.Client, id, runID string) *historypb.History {
	t.Helper()
	hist := &historypb.History{}
	iter := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, ev)
	}
	require.NotEmpty(t, hist.Events)
	return hist
}
