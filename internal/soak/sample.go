package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/mutt-ops/mutt/internal/bench"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

// Sample is one observation of the whole system.
type Sample struct {
	At    time.Duration         `json:"at_ns"`         // since the load started
	Procs map[string]ProcSample `json:"procs"`         // by role
	Runs  map[string]int64      `json:"schedule_runs"` // schedule ID → runs started so far
	// End-to-end latency (ingest received_at → simulator) of the alerts
	// delivered since the previous sample, in ms, and how many they were.
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Alerts   int64   `json:"alerts"`
	Backlog  int64   `json:"backlog"`  // events in the ingest streams and alerts in the alert streams (stream.Depth, ADR 0048, ADR 0049)
	DLQ      int64   `json:"dlq"`      // entries in the dead-letter streams
	PGConns  int64   `json:"pg_conns"` // server connections to the soak's database
	LoadAvg  float64 `json:"load_avg"` // 1-minute load average of the machine
	Accepted int64   `json:"accepted"` // events accepted (2xx) so far
	Refused  int64   `json:"refused"`  // events refused (429/503) so far
	// HTTPErrors are events whose request failed at the transport level.
	HTTPErrors int64 `json:"http_errors"`
}

// ProcSample is one process's resources. Goroutines is -1 where the process
// has no Prometheus endpoint (the simulator).
type ProcSample struct {
	RSS        int64   `json:"rss_bytes"`
	Goroutines float64 `json:"goroutines"`
	FDs        int     `json:"fds"`
	Sockets    int     `json:"sockets"`
}

func (s Sample) summary() string {
	var rss []string
	for _, n := range sortedKeys(s.Procs) {
		rss = append(rss, fmt.Sprintf("%s %.0fMiB", n, float64(s.Procs[n].RSS)/(1<<20)))
	}
	return fmt.Sprintf("accepted %d, p99 %.0f ms, backlog %d, RSS %s, load %.2f",
		s.Accepted, s.P99, s.Backlog, strings.Join(rss, " "), s.LoadAvg)
}

type sampler struct {
	env       *bench.Env
	tc        client.Client
	scheds    []workers.Schedule
	start     time.Time
	delivered int64
	http      http.Client
}

type simStats struct {
	Unique  int64 `json:"unique"`
	Latency struct {
		Count int64   `json:"count"`
		P50   float64 `json:"p50_ms"`
		P99   float64 `json:"p99_ms"`
	} `json:"latency"`
}

// reset empties the simulator: every sample reads the latency of its own
// window and resets it, which also keeps the simulator's memory (it tracks
// every external_id it has seen) bounded.
func (s *sampler) reset(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.env.SimURL()+"/reset", nil)
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("reset the simulator: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

func (s *sampler) sim(ctx context.Context) (simStats, error) {
	var st simStats
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.env.SimURL()+"/stats", nil)
	resp, err := s.http.Do(req)
	if err != nil {
		return st, fmt.Errorf("simulator stats: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("simulator stats: %w", err)
	}
	return st, s.reset(ctx)
}

func (s *sampler) sample(ctx context.Context) (Sample, error) {
	s.http.Timeout = 10 * time.Second
	smp := Sample{At: time.Since(s.start), Procs: map[string]ProcSample{}, Runs: map[string]int64{}, LoadAvg: loadAvg()}
	for _, p := range s.env.Processes() {
		if gone, state := bench.Exited(p.Pid); gone {
			return smp, fmt.Errorf("%s (pid %d) exited (state %s) %s into the soak: see %s", p.Name, p.Pid, state,
				smp.At.Round(time.Second), s.env.LogPath())
		}
		ps := ProcSample{RSS: rss(p.Pid), Goroutines: -1}
		ps.FDs, ps.Sockets = fds(p.Pid)
		if p.Name != "moog-sim" {
			g, err := s.goroutines(ctx, p.URL)
			if err != nil {
				return smp, fmt.Errorf("metrics of %s: %w", p.Name, err)
			}
			ps.Goroutines = g
		}
		smp.Procs[p.Name] = ps
	}
	st, err := s.sim(ctx)
	if err != nil {
		return smp, err
	}
	s.delivered += st.Unique
	smp.P50, smp.P99, smp.Alerts = st.Latency.P50, st.Latency.P99, st.Latency.Count
	k := s.env.Keys()
	// Both count messages, not entries: an entry may hold several (ADR
	// 0048, ADR 0049).
	smp.Backlog, err = stream.Depth(ctx, s.env.Redis(), append(k.IngestStreams(), k.AlertStreams()...)...)
	if err != nil {
		return smp, fmt.Errorf("stream backlog: %w", err)
	}
	if smp.DLQ, err = stream.Len(ctx, s.env.Redis(), k.AlerterDLQ(), k.MoogDLQ(), k.PoisonDLQ()); err != nil {
		return smp, fmt.Errorf("dead-letter streams: %w", err)
	}
	if err := s.env.DB().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`,
		s.env.DatabaseName()).Scan(&smp.PGConns); err != nil {
		return smp, fmt.Errorf("pg_stat_activity: %w", err)
	}
	for _, sc := range s.scheds { // none without Temporal
		d, err := s.tc.ScheduleClient().GetHandle(ctx, sc.ID).Describe(ctx)
		if err != nil {
			return smp, fmt.Errorf("describe schedule %s: %w", sc.ID, err)
		}
		smp.Runs[sc.ID] = int64(d.Info.NumActions)
	}
	return smp, nil
}

// goroutines reads go_goroutines from a process's Prometheus endpoint.
func (s *sampler) goroutines(ctx context.Context, base string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	return metricValue(resp.Body, "go_goroutines")
}

// metricValue is the value of an unlabelled metric in Prometheus text format.
func metricValue(r io.Reader, name string) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s in the metrics", name)
}

// rss is the resident set (VmRSS) of a process in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// fds counts a process's open file descriptors and, of those, its sockets.
func fds(pid int) (all, sockets int) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0
	}
	for _, e := range ents {
		all++
		if t, err := os.Readlink(dir + "/" + e.Name()); err == nil && strings.HasPrefix(t, "socket:") {
			sockets++
		}
	}
	return all, sockets
}

// ScheduleRuns is what one schedule did during the soak.
type ScheduleRuns struct {
	Schedule string `json:"schedule"`
	Workflow string `json:"workflow"`
	Every    string `json:"every"`
	Started  int64  `json:"started"`
	// Of the runs Temporal still lists (the last ten):
	Completed int      `json:"completed"`
	Failed    int      `json:"failed"`
	Running   int      `json:"running"`
	Archived  int64    `json:"archived,omitempty"` // retention: audit rows archived
	Notes     []string `json:"notes,omitempty"`
}

// runs collects the schedules' recent runs, their outcome and, for
// retention, what they archived.
func (s *sampler) runs(ctx context.Context) []ScheduleRuns {
	var out []ScheduleRuns
	for _, sc := range s.scheds {
		r := ScheduleRuns{Schedule: sc.ID, Workflow: sc.Workflow, Every: sc.Every.String()}
		d, err := s.tc.ScheduleClient().GetHandle(ctx, sc.ID).Describe(ctx)
		if err != nil {
			r.Notes = append(r.Notes, err.Error())
			out = append(out, r)
			continue
		}
		r.Started = int64(d.Info.NumActions)
		for _, a := range d.Info.RecentActions {
			w := a.StartWorkflowResult
			if w == nil {
				continue
			}
			desc, err := s.tc.DescribeWorkflow(ctx, w.WorkflowID, w.FirstExecutionRunID)
			if err != nil {
				r.Notes = append(r.Notes, err.Error())
				continue
			}
			switch st := desc.Status; st {
			case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
				r.Completed++
				if sc.Workflow == "RetentionWorkflow" {
					var res workflows.RetentionResult
					if err := s.tc.GetWorkflow(ctx, w.WorkflowID, w.FirstExecutionRunID).Get(ctx, &res); err == nil {
						r.Archived += res.Archived
					}
				}
			case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
				r.Running++
			default:
				r.Failed++
				r.Notes = append(r.Notes, fmt.Sprintf("%s: %s", w.WorkflowID, st))
			}
		}
		out = append(out, r)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
