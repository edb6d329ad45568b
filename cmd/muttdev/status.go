package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	muttapp "github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/workers"
)

// Status is `muttdev status --output json`.
type Status struct {
	Healthy   bool             `json:"healthy"`
	Services  []ServiceHealth  `json:"services"`
	Streams   []StreamBacklog  `json:"streams"`
	DLQ       []StreamBacklog  `json:"dlq"`
	Breaker   BreakerStatus    `json:"circuit_breaker"`
	Schedules []ScheduleStatus `json:"schedules"`
	// ScheduleError says why the schedules could not be read (Temporal down).
	ScheduleError string `json:"schedule_error,omitempty"`
	// DevInstance is what the banner of the `mutt dev` running here showed
	// (URLs and keys), null when none runs; DevInstanceNote says why.
	DevInstance     *muttapp.DevState `json:"dev_instance"`
	DevInstanceNote string            `json:"dev_instance_note,omitempty"`
}

// ServiceHealth is one role's /health.
type ServiceHealth struct {
	Service string `json:"service"`
	URL     string `json:"url"`
	Status  string `json:"status"` // healthy, unhealthy or unreachable
	Detail  string `json:"detail,omitempty"`
}

// StreamBacklog is the backlog of one stream: events for an ingest stream,
// alerts for an alert stream (an entry may hold several, ADR 0048, ADR
// 0049), entries (one dead letter each) for a DLQ.
type StreamBacklog struct {
	Stream  string `json:"stream"`
	Backlog int64  `json:"backlog"`
}

// BreakerStatus is the shared Moogsoft circuit breaker.
type BreakerStatus struct {
	State    string `json:"state"`
	Failures int64  `json:"failures"`
}

// ScheduleStatus is one Temporal schedule with its last and next runs.
type ScheduleStatus struct {
	ID          string     `json:"id"`
	Workflow    string     `json:"workflow"`
	Paused      bool       `json:"paused"`
	LastRun     *time.Time `json:"last_run"`
	LastOutcome string     `json:"last_outcome"` // never_run, running, completed, failed, ... or missing
	NextRun     *time.Time `json:"next_run"`
}

func newStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Health of every service, backlogs and DLQs, circuit breaker, schedules with last/next run",
		Long: `status asks every role's /health (addresses from MUTT_INGEST_ADDR, MUTT_ALERTER_ADDR,
MUTT_FORWARDER_ADDR, MUTT_API_ADDR, MUTT_WORKER_ADDR, MUTT_MOOGSIM_ADDR), reads the stream backlogs,
dead-letter streams and circuit breaker from Redis, and each Temporal schedule's last run (and its
outcome) and next run. Exit 0 when everything is healthy, 1 when something is not, 3 when Redis is
not reachable. When a ` + "`mutt dev`" + ` runs here (same settings), it also shows that instance's URLs and
API keys, as its banner did.`,
		Args: cobra.NoArgs,
		RunE: run(func(c *cobra.Command, _ []string) error {
			st, err := a.status(c.Context())
			if err != nil {
				return err
			}
			if err := a.emit(st, st.text); err != nil {
				return err
			}
			if !st.Healthy {
				return &exitError{code: exitFailure, err: fmt.Errorf("not everything is healthy")}
			}
			return nil
		}),
	}
}

func (a *app) status(ctx context.Context) (Status, error) {
	cfg, err := a.pipelineConfig()
	if err != nil {
		return Status{}, err
	}
	rdb, keys, err := a.redis(ctx)
	if err != nil {
		return Status{}, err
	}
	defer func() { _ = rdb.Close() }()
	st := Status{Healthy: true}
	if ds, err := muttapp.ReadDevState(cfg.DevStateFile); err == nil {
		st.DevInstance = &ds
	} else if errors.Is(err, os.ErrNotExist) {
		st.DevInstanceNote = "`mutt dev` is not running here (no " + cfg.DevStateFile + ")"
	} else {
		st.DevInstanceNote = err.Error()
	}
	wcfg := workers.ReadConfig(a.cfgEnv())
	for _, s := range []struct{ name, addr string }{
		{"ingestor", cfg.Ingest.Addr}, {"alerter", cfg.AlerterAddr}, {"forwarder", cfg.ForwarderAddr},
		{"api", cfg.APIAddr}, {"worker", wcfg.WorkerAddr}, {"moog-sim", cfg.MoogSimAddr},
	} {
		h := probeHealth(ctx, s.name, "http://"+dialAddr(s.addr)+"/health")
		st.Healthy = st.Healthy && h.Status == "healthy"
		st.Services = append(st.Services, h)
	}
	// An ingest or alert entry may hold several events or alerts (ADR 0048,
	// ADR 0049): the backlog of those streams is what their counters hold;
	// a dead letter is an entry.
	queues := append(keys.IngestStreams(), keys.AlertStreams()...)
	depths, err := stream.Depths(ctx, rdb, queues...)
	if err != nil {
		return st, unreachable("redis", err)
	}
	for i, k := range queues {
		st.Streams = append(st.Streams, StreamBacklog{Stream: k, Backlog: depths[i]})
	}
	for _, k := range []string{keys.AlerterDLQ(), keys.MoogDLQ(), keys.PoisonDLQ()} {
		n, err := stream.Len(ctx, rdb, k)
		if err != nil {
			return st, unreachable("redis", err)
		}
		st.DLQ = append(st.DLQ, StreamBacklog{Stream: k, Backlog: n})
	}
	cb, err := rdb.HGetAll(ctx, keys.CircuitBreaker()).Result()
	if err != nil {
		return st, unreachable("redis", err)
	}
	st.Breaker = BreakerStatus{State: cb["state"]}
	if st.Breaker.State == "" {
		st.Breaker.State = "closed"
	}
	st.Breaker.Failures, _ = strconv.ParseInt(cb["failures"], 10, 64)
	st.Schedules, err = a.schedules(ctx)
	if err != nil {
		st.ScheduleError = err.Error()
		st.Healthy = false
	}
	return st, nil
}

// dialAddr turns a listen address (":8080") into one to dial.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

func probeHealth(ctx context.Context, name, url string) ServiceHealth {
	h := ServiceHealth{Service: name, URL: url}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		h.Status, h.Detail = "unreachable", err.Error()
		return h
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.Status, h.Detail = "unreachable", "no answer"
		return h
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Status string `json:"status"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
	h.Status = "healthy"
	if resp.StatusCode != http.StatusOK {
		h.Status, h.Detail = "unhealthy", fmt.Sprintf("HTTP %d %s", resp.StatusCode, body.Status)
	}
	return h
}

// schedules describes MUTT's schedules of this instance and the outcome of each one's last run.
func (a *app) schedules(ctx context.Context) ([]ScheduleStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tc, taskQueue, prefix, err := a.temporal(ctx)
	if err != nil {
		return nil, err
	}
	defer tc.Close()
	wcfg := workers.ReadConfig(a.cfgEnv())
	var out []ScheduleStatus
	for _, s := range workers.Schedules(prefix, taskQueue, wcfg.Retention, wcfg.RotationEnabled) {
		ss := ScheduleStatus{ID: s.ID, Workflow: s.Workflow, LastOutcome: "never_run"}
		d, err := tc.ScheduleClient().GetHandle(ctx, s.ID).Describe(ctx)
		if err != nil {
			ss.LastOutcome = "missing" // not applied (mutt schedules apply)
			out = append(out, ss)
			continue
		}
		ss.Paused = d.Schedule.State != nil && d.Schedule.State.Paused
		if n := d.Info.NextActionTimes; len(n) > 0 {
			t := n[0].UTC()
			ss.NextRun = &t
		}
		if r := d.Info.RecentActions; len(r) > 0 {
			last := r[len(r)-1]
			t := last.ActualTime.UTC()
			ss.LastRun = &t
			ss.LastOutcome = "unknown"
			if last.StartWorkflowResult != nil {
				ss.LastOutcome = workflowOutcome(ctx, tc, last.StartWorkflowResult.WorkflowID, last.StartWorkflowResult.FirstExecutionRunID)
			}
		}
		out = append(out, ss)
	}
	return out, nil
}

func workflowOutcome(ctx context.Context, tc client.Client, id, runID string) string {
	d, err := tc.DescribeWorkflow(ctx, id, runID)
	if err != nil {
		return "unknown"
	}
	switch d.Status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed_out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	default:
		return "unknown"
	}
}

func (st Status) text(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSTATUS\tURL")
	for _, s := range st.Services {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Service, s.Status, s.URL)
	}
	fmt.Fprintln(tw, "\nSTREAM\tBACKLOG\t")
	for _, s := range append(append([]StreamBacklog{}, st.Streams...), st.DLQ...) {
		fmt.Fprintf(tw, "%s\t%d\t\n", s.Stream, s.Backlog)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nmoogsoft circuit breaker: %s", st.Breaker.State)
	if st.Breaker.Failures > 0 {
		fmt.Fprintf(w, " (consecutive failures %d)", st.Breaker.Failures)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	if st.ScheduleError != "" {
		fmt.Fprintf(w, "schedules: %s\n", st.ScheduleError)
	} else {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SCHEDULE\tPAUSED\tLAST RUN\tOUTCOME\tNEXT RUN")
		for _, s := range st.Schedules {
			fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\n", s.ID, s.Paused, fmtTime(s.LastRun), s.LastOutcome, fmtTime(s.NextRun))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	return devInstanceText(w, st.DevInstance, st.DevInstanceNote)
}

// devInstanceText prints the banner facts of the `mutt dev` running here.
func devInstanceText(w io.Writer, ds *muttapp.DevState, note string) error {
	if ds == nil {
		_, err := fmt.Fprintf(w, "dev instance: %s\n", note)
		return err
	}
	fmt.Fprintf(w, "dev instance (pid %d, started %s, Redis prefix %q, database %s)\n",
		ds.PID, ds.StartedAt.Format(time.RFC3339), ds.RedisPrefix, ds.Database)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	u, k := ds.URLs, ds.Keys
	for _, row := range [][2]string{
		{"ingest", u.Ingest + "   (X-API-KEY: " + k.Ingest + ")"},
		{"metrics", u.Metrics},
		{"admin API", u.AdminAPI + "   (X-API-KEY: " + k.Admin + ")"},
		{"read-only key", k.ReadOnly},
		{"web UI", u.WebUI + "   (log in with the admin API key)"},
		{"alerter", u.Alerter},
		{"forwarder", u.Forwarder},
		{"moog-sim", u.MoogSim},
		{"temporal UI", u.TemporalUI + "   (worker on task queue " + ds.TaskQueue + ")"},
		{"prometheus", u.Prometheus},
		{"secrets", ds.Secrets},
		{"log", ds.LogFile},
	} {
		if row[1] != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
		}
	}
	return tw.Flush()
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
