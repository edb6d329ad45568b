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
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/telemetry"
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

// sloRoles runs the real ingestor, alerter, forwarder and Moogsoft simulator
// in-process, each with its own connections, registry and listener as in
// production, on an own database, key prefix and ports. Prometheus scrapes
// their /metrics, so a renamed metric, label or bucket shows up as an SLO
// without data.
type sloRoles struct {
	cfg    app.Config
	ingest *app.Deps // its Redis client writes to this instance's streams
}

// sloMetricsTargets are the scrape targets: the listeners of the roles that
// serve /metrics.
func (r *sloRoles) sloMetricsTargets() []string {
	return []string{r.cfg.Ingest.Addr, r.cfg.AlerterAddr, r.cfg.ForwarderAddr}
}

func sloStartRoles(t *testing.T) *sloRoles {
	t.Helper()
	ctx := context.Background()
	id := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	// Redis ACL users and PostgreSQL roles are server-wide: own ones per test.
	t.Cleanup(func() { testenv.DropLogins(t, "mutt_"+id, "mutt_app_"+id) })
	env := map[string]string{
		"REDIS_URL":           testenv.RedisURL(),
		"DATABASE_URL":        testenv.DatabaseURL(t),
		"MUTT_REDIS_PREFIX":   "test:" + uuid.NewString()[:12] + ":",
		"MUTT_INGEST_ADDR":    testenv.FreeAddr(t),
		"MUTT_ALERTER_ADDR":   testenv.FreeAddr(t),
		"MUTT_FORWARDER_ADDR": testenv.FreeAddr(t),
		"MUTT_MOOGSIM_ADDR":   testenv.FreeAddr(t),
		"MUTT_SNMP_ADDR":      testenv.FreeAddr(t), // not mutt dev's 127.0.0.1:1162
		"MUTT_LOG_LEVEL":      "warn",
		"MUTT_SECRETS_FILE":   filepath.Join(t.TempDir(), "secrets.json"),
		"REDIS_USERNAME":      "mutt_" + id,
		"DB_USER":             "mutt_app_" + id,
	}
	cfg, err := app.ReadConfig(config.FromMap(env), true, app.AllRoles)
	require.NoError(t, err)
	log := telemetry.NewLogger(io.Discard, "text", "warn")
	require.NoError(t, app.Setup(ctx, cfg, log, io.Discard))
	boot, err := app.Connect(ctx, cfg, log, []app.Role{app.Worker})
	require.NoError(t, err)
	require.NoError(t, app.Bootstrap(ctx, boot))
	boot.Close()

	r := &sloRoles{cfg: cfg}
	for _, role := range []app.Role{app.MoogSim, app.Alerter, app.Forwarder, app.Ingestor} {
		roles := []app.Role{role}
		d, err := app.Connect(ctx, cfg, log, roles)
		require.NoError(t, err, role)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- app.Run(rctx, d, roles) }()
		t.Cleanup(func() {
			cancel()
			require.NoError(t, <-done, role)
			d.Close()
		})
		if role == app.Ingestor {
			r.ingest = d
		}
	}
	for _, addr := range append(r.sloMetricsTargets(), cfg.MoogSimAddr) {
		require.Eventually(t, func() bool { return sloHTTPStatus(http.MethodGet, "http://"+addr+"/health", "", "") == http.StatusOK },
			10*time.Second, 50*time.Millisecond, "%s is healthy", addr)
	}
	return r
}

// sloHTTPStatus sends one request and answers its status (0 when it fails).
func sloHTTPStatus(method, url, key, body string) int {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0
	}
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// ingestEvent posts one event to the real ingestor and answers the status.
func (r *sloRoles) ingestEvent(key, message string) int {
	body := fmt.Sprintf(`{"hostname":"router1.prod.example.com","timestamp":%q,"message":%q,"syslog_severity":"critical"}`,
		time.Now().UTC().Format(time.RFC3339Nano), message)
	return sloHTTPStatus(http.MethodPost, "http://"+r.cfg.Ingest.Addr+"/ingest", key, body)
}

// simDelivered is the number of events the Moogsoft simulator acknowledged.
func (r *sloRoles) simDelivered() int {
	resp, err := http.Get("http://" + r.cfg.MoogSimAddr + "/stats")
	if err != nil {
		return -1
	}
	defer func() { _ = resp.Body.Close() }()
	var st struct {
		Count int `json:"count"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return -1
	}
	return st.Count
}

// sloStartPrometheus runs a real Prometheus as a child process that scrapes
// targets every second and evaluates ruleFiles every second; it returns its URL.
func sloStartPrometheus(t *testing.T, targets []string, ruleFiles []string) string {
	t.Helper()
	testenv.NeedsServices(t, "prometheus")
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
      - targets: [%s]
`, rules.String(), quoted(targets))
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

// quoted writes ss as a YAML flow list of quoted strings.
func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
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

// TestSLOReportWorkflowAgainstRealPrometheus runs the real hot-path roles,
// drives a little traffic with known outcomes through them, lets a real
// Prometheus scrape their /metrics and evaluate the rules of deploy/prometheus,
// then runs SLOReportWorkflow on the Temporal dev server and checks the report
// stored in PostgreSQL and published in Redis. Every SLO must have data: one
// without means an SLO definition queries a metric, label or bucket the hot
// path does not expose.
func TestSLOReportWorkflowAgainstRealPrometheus(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	roles := sloStartRoles(t)
	rules, err := filepath.Glob(filepath.Join("..", "deploy", "prometheus", "rules", "mutt-slo-*.yml"))
	require.NoError(t, err)
	require.Len(t, rules, 2) // recording rules and burn-rate alerts
	prom := sloStartPrometheus(t, roles.sloMetricsTargets(), rules)

	// rate() needs a sample before the traffic: wait for a scrape of every
	// role, which holds their counters at zero (every series exists from the start).
	require.Eventually(t, func() bool {
		s, err := sloPromSeries(prom, `up{job="mutt-test"} == 1`)
		return err == nil && len(s) == 3
	}, 30*time.Second, 100*time.Millisecond, "prometheus scrapes the three roles")

	// The traffic, in counts:
	//   - ingest: 6 accepted requests, plus a wrong key and an event without a
	//     message (client errors: they must not count against availability);
	//   - alerter: 5 events match the LINK-DOWN seed rule, 1 matches nothing,
	//     1 stream entry is not an event (poison): bad 1 of 7;
	//   - forwarder: 4 alerts delivered, then Moogsoft answers 400 and the
	//     fifth is dead-lettered: bad 1 of 5.
	const linkDown = "LINK-DOWN Gi0/1 changed state to down"
	for i := 0; i < 4; i++ {
		require.Equal(t, http.StatusOK, roles.ingestEvent(app.DevIngestKey, linkDown))
	}
	require.Equal(t, http.StatusOK, roles.ingestEvent(app.DevIngestKey, "nothing a rule knows"))
	require.Equal(t, http.StatusUnauthorized, roles.ingestEvent("not-the-key", linkDown))
	require.Equal(t, http.StatusBadRequest, sloHTTPStatus(http.MethodPost, "http://"+roles.cfg.Ingest.Addr+"/ingest",
		app.DevIngestKey, `{"hostname":"router1.prod.example.com"}`))
	require.Eventually(t, func() bool { return roles.simDelivered() == 4 }, 20*time.Second, 20*time.Millisecond,
		"the matched events reach the simulator")
	require.Equal(t, http.StatusOK, sloHTTPStatus(http.MethodPost, "http://"+roles.cfg.MoogSimAddr+"/control", "",
		`{"fail_status":400,"fail_count":-1}`))
	require.Equal(t, http.StatusOK, roles.ingestEvent(app.DevIngestKey, linkDown))
	require.NoError(t, roles.ingest.Redis.XAdd(ctx, &redis.XAddArgs{Stream: roles.ingest.Keys.IngestStream(0),
		Values: []any{stream.Field, "not an event"}}).Err())

	// Prometheus has scraped the whole traffic.
	for _, q := range []string{
		`mutt_ingest_requests_total{status="success"} == 6`,
		`mutt_ingest_requests_total{status="fail",reason="auth"} == 1`,
		`mutt_ingest_requests_total{status="fail",reason="validation"} == 1`,
		`mutt_alerter_events_processed_total{status="handled"} == 5`,
		`mutt_alerter_events_processed_total{status="unhandled"} == 1`,
		`mutt_alerter_events_processed_total{status="poison"} == 1`,
		`mutt_moog_alerts_processed_total{status="success"} == 4`,
		`mutt_moog_alerts_processed_total{status="dlq"} == 1`,
		`mutt_event_end_to_end_seconds_count == 4`,
	} {
		require.Eventually(t, func() bool {
			s, err := sloPromSeries(prom, q)
			return err == nil && len(s) == 1
		}, 30*time.Second, 100*time.Millisecond, "prometheus sees %s", q)
	}

	// The generated rules work on what the hot path exposes: forward delivery
	// (burn 40) and the alerter (burn 143) page.
	require.Eventually(t, func() bool {
		page := sloFiringSLOs(prom, "page")
		return slices.Contains(page, "forward_delivery_success") && slices.Contains(page, "alerter_processing_success")
	}, 30*time.Second, 250*time.Millisecond, "burn-rate alerts did not fire as expected: page %v", sloFiringSLOs(prom, "page"))
	require.NotContains(t, sloFiringSLOs(prom, "page"), "ingest_availability", "client errors do not burn the budget")

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
	var noData []string
	for _, e := range report.SLOs {
		if e.Status == workflows.SLOStatusNoData || len(e.NoDataWindows) > 0 {
			noData = append(noData, e.Name)
		}
	}
	require.Empty(t, noData, "SLOs whose queries find nothing the hot path exposes (metric, label or bucket renamed?)")
	require.Zero(t, report.Summary[workflows.SLOStatusNoData], report.Summary)
	require.Len(t, report.SLOs, len(workflows.SLODefinitions()))

	byName := map[string]workflows.SLOEvaluation{}
	for _, e := range report.SLOs {
		byName[e.Name] = e
		// Every SLO has data in every window, and numbers that make sense.
		require.NotEqual(t, workflows.SLOStatusNoData, e.Status, "%s: %v", e.Name, e.Reasons)
		require.False(t, e.NoData, e.Name)
		require.Empty(t, e.NoDataWindows, e.Name)
		require.NotNil(t, e.SLI, e.Name)
		require.GreaterOrEqual(t, *e.SLI, 0.0, e.Name)
		require.LessOrEqual(t, *e.SLI, 1.0, e.Name)
		require.NotNil(t, e.ErrorBudgetRemaining, e.Name)
		for _, win := range report.Windows {
			require.NotNil(t, e.BurnRates[win], "%s %s", e.Name, win)
			require.GreaterOrEqual(t, *e.BurnRates[win], 0.0, "%s %s", e.Name, win)
		}
		if e.Kind == workflows.SLOKindLatency {
			require.NotNil(t, e.P99Seconds, e.Name)
			require.Positive(t, *e.P99Seconds, e.Name)
		}
	}

	// The ratio SLOs, whose outcomes the test decided: the burn rate is the
	// same in every window (all the traffic is in each).
	type want struct {
		status string
		burn   float64
	}
	for name, w := range map[string]want{
		"ingest_availability":        {workflows.SLOStatusOK, 0},
		"forward_delivery_success":   {workflows.SLOStatusCritical, (1.0 / 5) / 0.005},
		"alerter_processing_success": {workflows.SLOStatusCritical, (1.0 / 7) / 0.001},
	} {
		e, ok := byName[name]
		require.True(t, ok, name)
		require.Equal(t, w.status, e.Status, "%s: %v", name, e.Reasons)
		for _, win := range report.Windows {
			require.InDelta(t, w.burn, *e.BurnRates[win], 1e-6*(1+w.burn), "%s burn rate over %s", name, win)
		}
		require.InDelta(t, 1-w.burn, *e.ErrorBudgetRemaining, 1e-6*(1+w.burn), name)
		require.InDelta(t, 1-w.burn*(1-e.Target), *e.SLI, 1e-9, name)
	}
	require.Equal(t, 1.0, *byName["ingest_availability"].SLI, "client errors do not count")
	require.Contains(t, strings.Join(byName["forward_delivery_success"].Reasons, ";"), "(page)")
	require.Contains(t, strings.Join(byName["alerter_processing_success"].Reasons, ";"), "(page)")

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
	require.Equal(t, 0.0, gauges[`mutt_slo_status{slo="ingest_availability"}`])
	require.Equal(t, 1.0, gauges[`mutt_slo_error_budget_remaining{slo="ingest_availability"}`])
	for _, def := range workflows.SLODefinitions() {
		require.NotEqual(t, -1.0, gauges[fmt.Sprintf(`mutt_slo_status{slo=%q}`, def.Name)], def.Name)
	}

	// The history replays with the current workflow code; on request it
	// becomes the replay test's fixture.
	hist := testenv.WorkflowHistory(t, c, run)
	replayHistory(t, hist)
	if os.Getenv(sloRecordHistoryEnv) != "" {
		recordHistory(t, hist, sloHistoryFixture)
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
