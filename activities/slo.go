package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/workflows"
)

// sloStatusKey holds the latest published SLO status (JSON workflows.SLOStatus).
func sloStatusKey(k keyspace.Keys) string { return k.Prefix + "slo:status" }

// sloUpdatesChannel announces every published status (payload: the same JSON).
func sloUpdatesChannel(k keyspace.Keys) string { return k.Prefix + "slo:updates" }

// sloPublishScript sets the status and publishes it unless the key already
// holds a report generated later (a late retry of an older run must not
// overwrite a newer status). KEYS[1] status key; ARGV[1] JSON, ARGV[2]
// generated_at in Unix ms, ARGV[3] channel. Returns 1 when published.
var sloPublishScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, obj = pcall(cjson.decode, cur)
  if ok and type(obj) == 'table' then
    local ts = tonumber(obj['generated_at_unix_ms'])
    if ts and ts > tonumber(ARGV[2]) then
      return 0
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[1])
return 1
`)

// sloAdvisoryLockClass namespaces the advisory locks of StoreSLOReport ("SLO").
const sloAdvisoryLockClass = 0x534c4f

// sloMetrics are the gauges of the last SLO report this worker published.
type sloMetrics struct {
	status    *prometheus.GaugeVec
	budget    *prometheus.GaugeVec
	burn      *prometheus.GaugeVec
	timestamp prometheus.Gauge
}

func newSLOMetrics(reg prometheus.Registerer) (*sloMetrics, error) {
	m := &sloMetrics{
		status: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mutt_slo_status",
			Help: "Status of each SLO in the last published report: 0 ok, 1 warning, 2 critical, -1 no data.",
		}, []string{"slo"}),
		budget: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mutt_slo_error_budget_remaining",
			Help: "Error budget left over the objective window in the last published report (1 untouched, 0 spent, negative overspent); absent without data.",
		}, []string{"slo"}),
		burn: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mutt_slo_burn_rate",
			Help: "Error budget burn rate per window in the last published report (1 spends the budget exactly over the objective window); absent without data.",
		}, []string{"slo", "window"}),
		timestamp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_slo_report_timestamp_seconds",
			Help: "Unix time the last SLO report this worker published was evaluated at.",
		}),
	}
	if err := telemetry.Register(reg, "slo metrics", m.status, m.budget, m.burn, m.timestamp); err != nil {
		return nil, err
	}
	return m, nil
}

// set mirrors a published report in the gauges.
func (m *sloMetrics) set(r workflows.SLOReport) {
	for _, e := range r.SLOs {
		m.status.WithLabelValues(e.Name).Set(workflows.SLOStatusGauge(e.Status))
		if e.ErrorBudgetRemaining != nil {
			m.budget.WithLabelValues(e.Name).Set(*e.ErrorBudgetRemaining)
		} else {
			m.budget.DeleteLabelValues(e.Name)
		}
		for _, w := range r.Windows {
			if b := e.BurnRates[w]; b != nil {
				m.burn.WithLabelValues(e.Name, w).Set(*b)
			} else {
				m.burn.DeleteLabelValues(e.Name, w)
			}
		}
	}
	m.timestamp.Set(float64(r.GeneratedAt.UnixMilli()) / 1000)
}

// sloActivities are the activities of SLOReportWorkflow.
type sloActivities struct {
	activityGroup[*sloMetrics]
}

func registerSLO(r Registry, d *Deps) error {
	a, err := newSLOActivities(d)
	if err != nil {
		return err
	}
	registerAs(r, map[string]any{
		workflows.ActivityEvaluateSLOs:     a.EvaluateSLOs,
		workflows.ActivityStoreSLOReport:   a.StoreSLOReport,
		workflows.ActivityPublishSLOStatus: a.PublishSLOStatus,
	})
	return nil
}

func newSLOActivities(d *Deps) (*sloActivities, error) {
	g, err := newActivityGroup(d, "slo", newSLOMetrics)
	if err != nil {
		return nil, err
	}
	return &sloActivities{g}, nil
}

// sloProgress is the heartbeat of EvaluateSLOs: the SLOs measured so far
// (in definition order), which a retry does not query again.
type sloProgress struct {
	Done []workflows.SLOMeasurement `json:"done"`
}

// EvaluateSLOs measures every SLO of workflows.SLODefinitions from
// Prometheus at in.At. An empty PROMETHEUS_URL is not an error: the result
// says so and the report becomes no_data.
func (a *sloActivities) EvaluateSLOs(ctx context.Context, in workflows.EvaluateSLOsInput) (workflows.EvaluateSLOsResult, error) {
	if a.d.PrometheusURL == "" {
		return workflows.EvaluateSLOsResult{Configured: false, Reason: workflows.SLOReasonNotConfigured}, nil
	}
	at := in.At
	if at.IsZero() {
		at = a.d.Now()
	}
	prom := &promClient{http: a.d.HTTP, base: a.d.PrometheusURL}

	var progress sloProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &progress); err != nil {
			// Unreadable progress only costs queries: start over.
			a.log.Warn("slo evaluation progress unreadable, starting over", "err", err)
			progress = sloProgress{}
		}
	}
	done := make(map[string]workflows.SLOMeasurement, len(progress.Done))
	for _, m := range progress.Done {
		done[m.Name] = m
	}

	defs := workflows.SLODefinitions()
	out := workflows.EvaluateSLOsResult{Configured: true, SLOs: make([]workflows.SLOMeasurement, 0, len(defs))}
	for _, def := range defs {
		if m, ok := done[def.Name]; ok {
			out.SLOs = append(out.SLOs, m)
			continue
		}
		m, err := a.measure(ctx, prom, def, at)
		if err != nil {
			// Temporal reads retryability from the returned error itself, not
			// from what it wraps: keep a non-retryable one non-retryable.
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.NonRetryable() {
				return workflows.EvaluateSLOsResult{}, temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("evaluate slo %s: %s", def.Name, appErr.Message()), appErr.Type(), appErr.Unwrap())
			}
			return workflows.EvaluateSLOsResult{}, fmt.Errorf("evaluate slo %s: %w", def.Name, err)
		}
		out.SLOs = append(out.SLOs, m)
		activity.RecordHeartbeat(ctx, sloProgress{Done: out.SLOs})
	}
	return out, nil
}

// measure runs the queries of one SLO (one per window, plus the p99 of a
// latency SLO) concurrently.
func (a *sloActivities) measure(ctx context.Context, prom *promClient, def workflows.SLODefinition, at time.Time) (workflows.SLOMeasurement, error) {
	windows := def.SLOWindows()
	queries := make([]string, 0, len(windows)+1)
	for _, w := range windows {
		queries = append(queries, def.ErrorRatioQuery(w))
	}
	if q := def.P99Query(workflows.SLOP99Window); q != "" {
		queries = append(queries, q)
	}
	type answer struct {
		v  float64
		ok bool
	}
	answers := make([]answer, len(queries))
	g, gctx := errgroup.WithContext(ctx)
	for i, q := range queries {
		g.Go(func() error {
			v, ok, err := prom.query(gctx, q, at)
			if err != nil {
				return err
			}
			answers[i] = answer{v, ok}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return workflows.SLOMeasurement{}, err
	}
	m := workflows.SLOMeasurement{Name: def.Name, ErrorRatios: make(map[string]float64, len(windows))}
	for i, w := range windows {
		if answers[i].ok {
			m.ErrorRatios[w] = answers[i].v
		}
	}
	if len(queries) > len(windows) && answers[len(windows)].ok {
		p99 := answers[len(windows)].v
		m.P99Seconds = &p99
	}
	a.log.Debug("slo measured", "slo", def.Name, "windows_with_data", len(m.ErrorRatios))
	return m, nil
}

// StoreSLOReport inserts the report once per workflow run: a retry finds the
// row of its earlier attempt (same run id and generated_at) and returns it.
func (a *sloActivities) StoreSLOReport(ctx context.Context, in workflows.StoreSLOReportInput) (workflows.StoreSLOReportResult, error) {
	r := in.Report
	if r.WorkflowRunID == "" {
		return workflows.StoreSLOReportResult{}, temporal.NewNonRetryableApplicationError(
			"slo report has no workflow_run_id", "InvalidSLOReport", nil)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return workflows.StoreSLOReportResult{}, temporal.NewNonRetryableApplicationError(
			"encode slo report", "InvalidSLOReport", err)
	}
	var res workflows.StoreSLOReportResult
	err = pgx.BeginFunc(ctx, a.d.DB, func(tx pgx.Tx) error {
		// Serialises concurrent attempts of one run (an attempt that timed out
		// may still be running when its retry starts).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, sloAdvisoryLockClass, r.WorkflowRunID); err != nil {
			return fmt.Errorf("lock slo report of run %s: %w", r.WorkflowRunID, err)
		}
		err := tx.QueryRow(ctx, `SELECT id FROM slo_reports WHERE generated_at = $1 AND report->>'workflow_run_id' = $2 LIMIT 1`,
			r.GeneratedAt, r.WorkflowRunID).Scan(&res.ID)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("look up slo report of run %s: %w", r.WorkflowRunID, err)
		}
		if err := tx.QueryRow(ctx, `INSERT INTO slo_reports (generated_at, status, report) VALUES ($1, $2, $3) RETURNING id`,
			r.GeneratedAt, r.Status, body).Scan(&res.ID); err != nil {
			return fmt.Errorf("insert slo report of run %s: %w", r.WorkflowRunID, err)
		}
		res.Inserted = true
		return nil
	})
	if err != nil {
		return workflows.StoreSLOReportResult{}, err
	}
	a.log.Info("slo report stored", "report_id", res.ID, "status", r.Status, "inserted", res.Inserted)
	return res, nil
}

// PublishSLOStatus makes the report the current status (unless a newer one
// already is) and mirrors it in the mutt_slo_* gauges.
func (a *sloActivities) PublishSLOStatus(ctx context.Context, in workflows.PublishSLOStatusInput) (workflows.PublishSLOStatusResult, error) {
	st := workflows.SLOStatus{ReportID: in.ReportID, GeneratedAtUnixMs: in.Report.GeneratedAt.UnixMilli(), SLOReport: in.Report}
	body, err := json.Marshal(st)
	if err != nil {
		return workflows.PublishSLOStatusResult{}, temporal.NewNonRetryableApplicationError(
			"encode slo status", "InvalidSLOReport", err)
	}
	n, err := sloPublishScript.Run(ctx, a.d.Redis, []string{sloStatusKey(a.d.Keys)},
		string(body), st.GeneratedAtUnixMs, sloUpdatesChannel(a.d.Keys)).Int()
	if err != nil {
		return workflows.PublishSLOStatusResult{}, fmt.Errorf("publish slo status of report %d: %w", in.ReportID, err)
	}
	if n == 0 {
		a.log.Info("slo status not published: a newer report is current", "report_id", in.ReportID)
		return workflows.PublishSLOStatusResult{Published: false}, nil
	}
	a.m.set(in.Report)
	a.log.Info("slo status published", "report_id", in.ReportID, "status", in.Report.Status)
	return workflows.PublishSLOStatusResult{Published: true}, nil
}
