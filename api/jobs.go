package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"
)

// Ops is the API's optional view of the ops plane (Temporal): the console's
// dead-letter actions start the remediation workflow with it, and the jobs
// page reads the schedules and their runs. Nil (or a nil Client): the pages
// say Temporal is not configured, and the write actions are refused with 503.
type Ops struct {
	Client    client.Client
	Namespace string
	TaskQueue string // where the workflows run (workflows.TaskQueue unless a dev instance isolates itself)
	// IDPrefix prefixes the workflow ids the console starts ("" in
	// production; a `mutt dev` instance's schedule prefix).
	IDPrefix string
	// UIURL is the Temporal web UI (MUTT_TEMPORAL_UI_URL, or the dev
	// server's), for links; "" means no links.
	UIURL string
	// Schedules are the project's schedules, in the order the page lists them.
	Schedules []OpsSchedule
}

// OpsSchedule is one of the project's schedules (workers.Schedules).
type OpsSchedule struct {
	ID          string `json:"id"`
	Workflow    string `json:"workflow"`
	Description string `json:"description"`
}

func (o *Ops) configured() bool { return o != nil && o.Client != nil }

func (o *Ops) namespace() string {
	if o.Namespace == "" {
		return "default"
	}
	return o.Namespace
}

// workflowURL is the run's page in the Temporal UI; "" without a UI URL.
func (o *Ops) workflowURL(id, runID string) string {
	if o == nil || o.UIURL == "" || id == "" {
		return ""
	}
	u := strings.TrimRight(o.UIURL, "/") + "/namespaces/" + url.PathEscape(o.namespace()) + "/workflows/" + url.PathEscape(id)
	if runID != "" {
		u += "/" + url.PathEscape(runID) + "/history"
	}
	return u
}

// scheduleURL is the schedule's page in the Temporal UI; "" without a UI URL.
func (o *Ops) scheduleURL(id string) string {
	if o == nil || o.UIURL == "" {
		return ""
	}
	return strings.TrimRight(o.UIURL, "/") + "/namespaces/" + url.PathEscape(o.namespace()) + "/schedules/" + url.PathEscape(id)
}

// runsURL is the workflow list of the Temporal UI filtered by a visibility query.
func (o *Ops) runsURL(query string) string {
	if o == nil || o.UIURL == "" {
		return ""
	}
	return strings.TrimRight(o.UIURL, "/") + "/namespaces/" + url.PathEscape(o.namespace()) + "/workflows?query=" + url.QueryEscape(query)
}

// opsInfo is the "temporal" object of the DLQ and jobs answers.
type opsInfo struct {
	Configured bool   `json:"configured"`
	Namespace  string `json:"namespace,omitempty"`
	TaskQueue  string `json:"task_queue,omitempty"`
	UIURL      string `json:"ui_url,omitempty"`
	// Message says what is missing when not configured.
	Message string `json:"message,omitempty"`
}

func (s *Server) opsStatus() opsInfo {
	o := s.o.Ops
	if !o.configured() {
		return opsInfo{Message: "Temporal is not configured on this API server (set TEMPORAL_ADDRESS): " +
			"schedules and runs cannot be shown, and dead letters cannot be replayed or discarded from here"}
	}
	return opsInfo{Configured: true, Namespace: o.namespace(), TaskQueue: o.TaskQueue, UIURL: o.UIURL}
}

// jobRun is one run of a schedule (or of a console action).
type jobRun struct {
	WorkflowID  string          `json:"workflow_id"`
	RunID       string          `json:"run_id"`
	ScheduledAt *time.Time      `json:"scheduled_at,omitempty"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	ClosedAt    *time.Time      `json:"closed_at,omitempty"`
	Status      string          `json:"status"` // running, completed, failed, canceled, terminated, timed_out, continued_as_new, unknown
	Result      json.RawMessage `json:"result,omitempty"`
	Failure     string          `json:"failure,omitempty"`
	Memo        map[string]any  `json:"memo,omitempty"`
	TemporalURL string          `json:"temporal_url,omitempty"`
}

// jobSchedule is one schedule on the jobs page.
type jobSchedule struct {
	OpsSchedule
	Exists      bool        `json:"exists"`
	Paused      bool        `json:"paused"`
	Note        string      `json:"note,omitempty"`
	Spec        string      `json:"spec,omitempty"`
	NextRuns    []time.Time `json:"next_runs"`
	LastRun     *jobRun     `json:"last_run,omitempty"`
	RecentRuns  []jobRun    `json:"recent_runs"`
	TemporalURL string      `json:"temporal_url,omitempty"`
	RunsURL     string      `json:"runs_url,omitempty"`
	Error       string      `json:"error,omitempty"`
}

// jobsRecentRuns is how many of a schedule's recent runs the page shows.
const jobsRecentRuns = 5

func (s *Server) registerJobs(g, admin *gin.RouterGroup, _ string) {
	g.GET("/jobs", s.listJobs)
	g.GET("/jobs/runs/:workflow_id", s.getJobRun)
	admin.POST("/jobs/:schedule/trigger", s.triggerJob)
}

// listJobs describes every project schedule and its recent runs.
func (s *Server) listJobs(c *gin.Context) {
	o := s.o.Ops
	out := gin.H{"temporal": s.opsStatus(), "schedules": []jobSchedule{}}
	if !o.configured() {
		c.JSON(http.StatusOK, out)
		return
	}
	ctx, cancel := context.WithTimeout(c, 15*time.Second)
	defer cancel()
	scheds := make([]jobSchedule, len(o.Schedules))
	var mu sync.Mutex
	var unreachable error
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, sc := range o.Schedules {
		g.Go(func() error {
			js, err := s.describeSchedule(gctx, sc)
			if err != nil {
				mu.Lock()
				unreachable = err
				mu.Unlock()
			}
			scheds[i] = js
			return nil
		})
	}
	_ = g.Wait()
	if unreachable != nil && !slices.ContainsFunc(scheds, func(j jobSchedule) bool { return j.Exists }) {
		s.unavailable(c, "read the schedules: Temporal is unavailable", unreachable)
		return
	}
	out["schedules"] = scheds
	c.JSON(http.StatusOK, out)
}

// describeSchedule reads one schedule and its recent runs. A schedule that
// does not exist is reported (exists false), not an error; err is a failure
// to reach Temporal.
func (s *Server) describeSchedule(ctx context.Context, sc OpsSchedule) (jobSchedule, error) {
	o := s.o.Ops
	js := jobSchedule{OpsSchedule: sc, NextRuns: []time.Time{}, RecentRuns: []jobRun{},
		TemporalURL: o.scheduleURL(sc.ID), RunsURL: o.runsURL("TemporalScheduledById = '" + sc.ID + "'")}
	desc, err := o.Client.ScheduleClient().GetHandle(ctx, sc.ID).Describe(ctx)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		js.Error = "not created: run `mutt schedules apply` (or start the worker with MUTT_WORKER_APPLY_SCHEDULES=true)"
		return js, nil
	}
	if err != nil {
		js.Error = "Temporal did not answer"
		return js, err
	}
	js.Exists = true
	if st := desc.Schedule.State; st != nil {
		js.Paused, js.Note = st.Paused, st.Note
	}
	js.Spec = specText(desc.Schedule.Spec)
	js.NextRuns = append(js.NextRuns, desc.Info.NextActionTimes[:min(3, len(desc.Info.NextActionTimes))]...)
	recent := desc.Info.RecentActions // oldest first
	recent = recent[max(0, len(recent)-jobsRecentRuns):]
	js.RecentRuns = make([]jobRun, len(recent))
	var g errgroup.Group
	for i, a := range recent {
		at, scheduled := a.ActualTime, a.ScheduleTime
		run := jobRun{ScheduledAt: &scheduled, StartedAt: &at, Status: "unknown"}
		if a.StartWorkflowResult != nil {
			run.WorkflowID, run.RunID = a.StartWorkflowResult.WorkflowID, a.StartWorkflowResult.FirstExecutionRunID
		}
		idx := len(recent) - 1 - i // newest first
		g.Go(func() error {
			s.fillRun(ctx, &run)
			js.RecentRuns[idx] = run
			return nil
		})
	}
	_ = g.Wait()
	if len(js.RecentRuns) > 0 {
		js.LastRun = &js.RecentRuns[0]
	}
	return js, nil
}

// specText is a short description of a schedule's times.
func specText(sp *client.ScheduleSpec) string {
	if sp == nil {
		return ""
	}
	var parts []string
	for _, cal := range sp.Calendars {
		if cal.Comment != "" {
			parts = append(parts, cal.Comment)
		}
	}
	for _, iv := range sp.Intervals {
		parts = append(parts, "every "+iv.Every.String())
	}
	if sp.Jitter > 0 {
		parts = append(parts, "jitter "+sp.Jitter.String())
	}
	return strings.Join(parts, ", ")
}

// fillRun adds a run's status, times, memo and result (or failure) from Temporal.
func (s *Server) fillRun(ctx context.Context, r *jobRun) {
	o := s.o.Ops
	r.TemporalURL = o.workflowURL(r.WorkflowID, r.RunID)
	if r.WorkflowID == "" {
		return
	}
	d, err := o.Client.DescribeWorkflow(ctx, r.WorkflowID, r.RunID)
	if err != nil || d.RawResponse == nil {
		return
	}
	info := d.RawResponse.GetWorkflowExecutionInfo()
	r.RunID = info.GetExecution().GetRunId()
	r.TemporalURL = o.workflowURL(r.WorkflowID, r.RunID)
	r.Status = runStatus(info.GetStatus())
	if t := info.GetStartTime(); t != nil {
		st := t.AsTime()
		r.StartedAt = &st
	}
	if t := info.GetCloseTime(); t != nil && info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		ct := t.AsTime()
		r.ClosedAt = &ct
	}
	r.Memo = memoMap(info.GetMemo())
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return
	}
	it := o.Client.GetWorkflowHistory(ctx, r.WorkflowID, r.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return
		}
		if a := ev.GetWorkflowExecutionCompletedEventAttributes(); a != nil {
			if p := a.GetResult().GetPayloads(); len(p) > 0 && json.Valid(p[0].GetData()) {
				r.Result = json.RawMessage(p[0].GetData())
			}
		}
		if a := ev.GetWorkflowExecutionFailedEventAttributes(); a != nil {
			r.Failure = a.GetFailure().GetMessage()
		}
		if a := ev.GetWorkflowExecutionTimedOutEventAttributes(); a != nil {
			r.Failure = "timed out"
		}
		if a := ev.GetWorkflowExecutionTerminatedEventAttributes(); a != nil {
			r.Failure = "terminated: " + a.GetReason()
		}
	}
}

// getJobRun is one run (a console action's, typically) by workflow id and,
// optionally, run id: its status and result, so the console can follow it.
func (s *Server) getJobRun(c *gin.Context) {
	o := s.o.Ops
	if !o.configured() {
		abort(c, http.StatusServiceUnavailable, errUnavailable, "Temporal is not configured on this API server (TEMPORAL_ADDRESS)")
		return
	}
	id := c.Param("workflow_id")
	runID := c.Query("run_id")
	if id == "" || len(id) > 400 || !utf8Printable(id) {
		abort(c, http.StatusBadRequest, errInvalidID, "workflow_id: must be 1 to 400 printable characters")
		return
	}
	if runID != "" && !validRunID(runID) {
		abort(c, http.StatusBadRequest, errInvalidQuery, "run_id: must be a run id (a UUID)")
		return
	}
	ctx, cancel := context.WithTimeout(c, 10*time.Second)
	defer cancel()
	if _, err := o.Client.DescribeWorkflow(ctx, id, runID); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			abort(c, http.StatusNotFound, errNotFound, "no such workflow run")
			return
		}
		var bad *serviceerror.InvalidArgument
		if errors.As(err, &bad) { // Temporal refuses the id itself: not an outage
			abort(c, http.StatusBadRequest, errInvalidID, "workflow_id or run_id: refused by Temporal as invalid")
			return
		}
		s.unavailable(c, "read the workflow run: Temporal is unavailable", err)
		return
	}
	r := jobRun{WorkflowID: id, RunID: runID, Status: "unknown"}
	s.fillRun(ctx, &r)
	c.JSON(http.StatusOK, gin.H{"run": r, "temporal": s.opsStatus()})
}

// validRunID: a Temporal run id is a UUID. Anything else (a hex string of
// the wrong length included) Temporal refuses as an invalid argument.
func validRunID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

func runStatus(st enumspb.WorkflowExecutionStatus) string {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed_out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued_as_new"
	}
	return "unknown"
}

// memoMap decodes a memo whose fields are JSON (the SDK's default converter).
func memoMap(m *commonpb.Memo) map[string]any {
	if len(m.GetFields()) == 0 {
		return nil
	}
	out := make(map[string]any, len(m.GetFields()))
	for k, p := range m.GetFields() {
		var v any
		if json.Unmarshal(p.GetData(), &v) == nil {
			out[k] = v
		}
	}
	return out
}

// JobsAuditTable is config_audit_log.table_name of a console action on a
// schedule ("Run now").
const JobsAuditTable = "schedule"

// jobTriggerWait bounds how long a "Run now" waits for the schedule's new run
// to show, so the answer can name it.
const jobTriggerWait = 10 * time.Second

// jobTriggerBody is a "Run now" request: only the audited reason.
type jobTriggerBody struct {
	reasonField
}

// jobTriggerAnswer is the 202 of a "Run now".
type jobTriggerAnswer struct {
	// Status is "started" (Run is the new run) or "triggered" (Temporal took
	// the trigger but the run did not show within jobTriggerWait).
	Status   string  `json:"status"`
	Schedule string  `json:"schedule"`
	Workflow string  `json:"workflow"`
	Run      *jobRun `json:"run,omitempty"`
	Message  string  `json:"message,omitempty"`
}

// triggerJob runs a schedule's action now (client.ScheduleHandle.Trigger),
// audited in config_audit_log like the DLQ actions: the row commits only
// once Temporal has taken the trigger. A schedule whose run is still going
// would skip the trigger (its overlap policy is skip), so that is refused
// with 409 naming the run. The answer names the run it started.
func (s *Server) triggerJob(c *gin.Context) {
	var body jobTriggerBody
	if !decodeResourceBody(c, &body) {
		return
	}
	o := s.o.Ops
	if !o.configured() {
		abort(c, http.StatusServiceUnavailable, errUnavailable, "Temporal is not configured on this API server (TEMPORAL_ADDRESS): schedules cannot be run from here")
		return
	}
	id := c.Param("schedule")
	i := slices.IndexFunc(o.Schedules, func(sc OpsSchedule) bool { return sc.ID == id })
	if i < 0 {
		ids := make([]string, len(o.Schedules))
		for j, sc := range o.Schedules {
			ids[j] = sc.ID
		}
		abort(c, http.StatusNotFound, errNotFound, "no schedule "+quoteShort(id)+" (want one of "+strings.Join(ids, ", ")+")")
		return
	}
	sc := o.Schedules[i]
	ctx, cancel := context.WithTimeout(c, 15*time.Second+jobTriggerWait)
	defer cancel()
	h := o.Client.ScheduleClient().GetHandle(ctx, sc.ID)
	desc, err := h.Describe(ctx)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		abort(c, http.StatusConflict, errConflict, "schedule "+sc.ID+" is not created: run `mutt schedules apply` (or start the worker with MUTT_WORKER_APPLY_SCHEDULES=true)")
		return
	}
	if err != nil {
		s.unavailable(c, "read the schedule: Temporal is unavailable", err)
		return
	}
	if len(desc.Info.RunningWorkflows) > 0 {
		r := desc.Info.RunningWorkflows[0]
		msg := "a run of " + sc.ID + " is still going (workflow " + r.WorkflowID + "); the schedule skips overlapping runs: wait for it to finish"
		if u := o.workflowURL(r.WorkflowID, r.FirstExecutionRunID); u != "" {
			msg += " (" + u + ")"
		}
		abort(c, http.StatusConflict, errConflict, msg)
		return
	}
	known := map[string]bool{}
	for _, a := range desc.Info.RecentActions {
		if a.StartWorkflowResult != nil {
			known[a.StartWorkflowResult.WorkflowID] = true
		}
	}
	reason := changeReason(c, body.Reason)
	err = pgx.BeginFunc(ctx, s.o.DB, func(tx pgx.Tx) error {
		err := writeConfigAudit(ctx, tx, AuditEntry{ChangedBy: caller(c), Operation: "UPDATE", TableName: JobsAuditTable,
			RecordID: sc.ID, Reason: reason, CorrelationID: correlationID(c),
			Old: map[string]any{"paused": desc.Schedule.State != nil && desc.Schedule.State.Paused},
			New: map[string]any{"action": "trigger", "workflow": sc.Workflow}})
		if err != nil {
			return err
		}
		if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
			return &temporalErr{err}
		}
		return nil
	})
	if err != nil {
		var te *temporalErr
		if errors.As(err, &te) {
			s.unavailable(c, "trigger the schedule: Temporal is unavailable", te.err)
			return
		}
		// Triggered but not audited (the commit failed): stop the run
		// before it changes anything, if it shows in time.
		if run := s.newScheduleRun(ctx, h, known); run != nil {
			tctx, tcancel := context.WithTimeout(context.WithoutCancel(c), 10*time.Second)
			_ = o.Client.TerminateWorkflow(tctx, run.WorkflowID, run.RunID, "the audit row of this console action could not be written")
			tcancel()
		}
		s.dbFailure(c, "run "+sc.ID+" now", err)
		return
	}
	ans := jobTriggerAnswer{Status: "triggered", Schedule: sc.ID, Workflow: sc.Workflow}
	if run := s.newScheduleRun(ctx, h, known); run != nil {
		ans.Status, ans.Run = "started", run
	} else {
		ans.Message = "Temporal took the trigger but the run has not shown yet: refresh the jobs page"
	}
	s.o.Log.InfoContext(c, "schedule triggered", "component", "api", "schedule", sc.ID, "status", ans.Status,
		"correlation_id", correlationID(c), "caller", caller(c))
	c.JSON(http.StatusAccepted, ans)
}

// newScheduleRun waits (at most jobTriggerWait) for a run of the schedule
// that is not in known (the runs it had before the trigger) and describes it.
func (s *Server) newScheduleRun(ctx context.Context, h client.ScheduleHandle, known map[string]bool) *jobRun {
	ctx, cancel := context.WithTimeout(ctx, jobTriggerWait)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if d, err := h.Describe(ctx); err == nil {
			var found *client.ScheduleWorkflowExecution
			for _, a := range d.Info.RecentActions {
				if r := a.StartWorkflowResult; r != nil && !known[r.WorkflowID] {
					found = r
				}
			}
			for _, r := range d.Info.RunningWorkflows {
				if found == nil && !known[r.WorkflowID] {
					found = &r
				}
			}
			if found != nil {
				run := &jobRun{WorkflowID: found.WorkflowID, RunID: found.FirstExecutionRunID, Status: "unknown"}
				s.fillRun(ctx, run)
				return run
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
