package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/mutt-ops/mutt/internal/bench"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

// Options of a soak run.
type Options struct {
	Exe              string // the mutt binary to start
	RedisURL         string
	RedisCluster     bool
	AdminDatabaseURL string // any database URL of the server; the soak creates and drops its own database
	// TemporalAddress is a Temporal frontend; the soak registers and uses a
	// namespace of its own. Empty: no worker and no schedules (the report
	// says so and the schedule checks are skipped).
	TemporalAddress string

	Duration    time.Duration // of the load
	Rate        int           // events/s offered, fixed
	Batch       int           // events per HTTP request
	Senders     int           // concurrent HTTP clients
	SampleEvery time.Duration // sampling interval
	// ScheduleEvery replaces the daily calendars of the partition-maintenance
	// and retention schedules by this interval, so both run several times
	// during the soak (they are daily in production).
	ScheduleEvery time.Duration
	// OldRows audit rows are seeded four months back before the load, so
	// that the first retention run has something to archive.
	OldRows int

	ReportPath string // Markdown report; plots go to ImgDir
	ImgDir     string
	Title      string // of the report; "MUTT soak" when empty
	Command    string // the command line that reproduces the run, quoted in the report
	Out        io.Writer
}

func (o *Options) defaults() {
	if o.Rate <= 0 {
		o.Rate = 500
	}
	if o.Batch <= 0 {
		o.Batch = 50
	}
	if o.Senders <= 0 {
		o.Senders = 4
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = 10 * time.Second
	}
	if o.ScheduleEvery <= 0 {
		o.ScheduleEvery = 5 * time.Minute
	}
	if o.Title == "" {
		o.Title = "MUTT soak"
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
}

// Run starts the roles, the worker and the shortened schedules, offers the
// fixed-rate load for the duration while sampling, then judges the series and
// writes the report and plots. The Result is returned with the files written
// even when a verdict fails; an error means the run itself could not be done.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	if o.Exe == "" || o.RedisURL == "" || o.AdminDatabaseURL == "" {
		return nil, errors.New("soak: Exe, RedisURL and AdminDatabaseURL are required")
	}
	if o.Duration <= 0 {
		return nil, errors.New("soak: Duration must be positive")
	}
	res := &Result{Options: o, Started: time.Now().UTC(), CPUs: runtime.NumCPU()}
	fmt.Fprintf(o.Out, "soak: %s at %d events/s, sampling every %s, schedules every %s (load average %.2f, %d CPUs)\n",
		o.Duration, o.Rate, o.SampleEvery, o.ScheduleEvery, loadAvg(), res.CPUs)

	env, err := bench.Start(ctx, bench.Options{Exe: o.Exe, RedisURL: o.RedisURL, RedisCluster: o.RedisCluster,
		AdminDatabaseURL: o.AdminDatabaseURL, Batch: o.Batch, Senders: o.Senders, Out: o.Out})
	if err != nil {
		return nil, err
	}
	defer env.Close()

	var tc client.Client
	var scheds []workers.Schedule
	if o.TemporalAddress != "" {
		ns := "mutt-soak-" + uuid.NewString()[:8]
		if tc, err = temporalNamespace(ctx, o.TemporalAddress, ns); err != nil {
			return nil, err
		}
		defer func() {
			// The run's workflows and schedules go with their namespace.
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, _ = tc.OperatorService().DeleteNamespace(dctx, &operatorservice.DeleteNamespaceRequest{Namespace: ns})
			tc.Close()
		}()
		if o.OldRows > 0 {
			if err := seedOld(ctx, env, o.OldRows); err != nil {
				return nil, err
			}
		}
		scheds = soakSchedules(o.ScheduleEvery)
		if err := applySchedules(ctx, tc, scheds); err != nil {
			return nil, err
		}
		if _, err := env.StartRole(ctx, "worker", "MUTT_WORKER_ADDR",
			"TEMPORAL_ADDRESS="+o.TemporalAddress, "TEMPORAL_NAMESPACE="+ns); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Out, "soak: Temporal namespace %s\n", ns)
	} else {
		res.NoTemporal = true
		fmt.Fprintln(o.Out, "soak: no Temporal: the worker and the schedules do not run")
	}
	fmt.Fprintf(o.Out, "soak: processes log to %s\n", env.LogPath())

	s := &sampler{env: env, tc: tc, scheds: scheds, start: time.Now()}
	var load bench.LoadCounters
	lctx, stop := context.WithTimeout(ctx, o.Duration)
	defer stop()
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); env.Offer(lctx, o.Rate, &load) }()
	if err := s.reset(ctx); err != nil {
		return nil, err
	}
	tick := time.NewTicker(o.SampleEvery)
	defer tick.Stop()
	var sampleErr error
loop:
	for {
		select {
		case <-lctx.Done():
			break loop
		case <-tick.C:
			smp, err := s.sample(ctx)
			if err != nil {
				sampleErr = err
				stop()
				break loop
			}
			smp.Accepted, smp.Refused, smp.HTTPErrors = load.Accepted.Load(), load.Refused.Load(), load.HTTPErrors.Load()
			res.Samples = append(res.Samples, smp)
			if len(res.Samples)%6 == 1 {
				fmt.Fprintf(o.Out, "soak: %s %s\n", smp.At.Round(time.Second), smp.summary())
			}
		}
	}
	<-loadDone
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res.Ended = time.Now().UTC()
	res.Accepted, res.Refused, res.HTTPErrors = load.Accepted.Load(), load.Refused.Load(), load.HTTPErrors.Load()
	res.Delivered = s.delivered
	if tc != nil {
		res.Runs = s.runs(ctx)
	}
	res.LoadAvg = loadAvg()
	if sampleErr != nil {
		res.Failure = sampleErr.Error()
	}
	res.judge()
	if err := res.write(); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Out, "soak: report %s; %s\n", o.ReportPath, res.headline())
	return res, nil
}

// temporalNamespace registers ns (one day of workflow retention) and returns
// a client of it once the frontend serves it.
func temporalNamespace(ctx context.Context, address, ns string) (client.Client, error) {
	log := telemetry.NewLogger(io.Discard, "text", "error")
	nc, err := client.NewNamespaceClient(client.Options{HostPort: address, Logger: quiet{}})
	if err != nil {
		return nil, fmt.Errorf("temporal at %s: %w", address, err)
	}
	defer nc.Close()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour), Description: "mutt soak run"})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return nil, fmt.Errorf("register temporal namespace %s: %w", ns, err)
	}
	return workers.Dial(ctx, workers.TemporalConn{Address: address, Namespace: ns}, log)
}

// soakSchedules are MUTT's schedules (production definitions, rotation left
// out) with the daily partition-maintenance and retention calendars replaced
// by an interval of every.
func soakSchedules(every time.Duration) []workers.Schedule {
	var out []workers.Schedule
	for _, s := range workers.Schedules("", workflows.TaskQueue, workflows.RetentionPolicy{PartitionAdvanceMonths: 3,
		EventRetentionDays: 90, ArchiveRetentionDays: 2555, ConfigAuditRetentionDays: 365}, false) {
		switch s.Workflow {
		case "SecretRotationWorkflow":
			continue
		case "PartitionMaintenanceWorkflow", "RetentionWorkflow":
			s.Daily, s.Every, s.Jitter = nil, every, 0
		}
		out = append(out, s)
	}
	return out
}

// applySchedules creates the schedules, retrying while a freshly registered
// namespace is not yet served (the frontend refreshes its namespace cache).
func applySchedules(ctx context.Context, tc client.Client, scheds []workers.Schedule) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, err := workers.Apply(ctx, tc, workflows.TaskQueue, scheds, false, nil)
		if err == nil {
			return nil
		}
		var nf *serviceerror.NamespaceNotFound
		if !errors.As(err, &nf) && !strings.Contains(err.Error(), "not found") || time.Now().After(deadline) {
			return fmt.Errorf("apply the soak schedules: %w", err)
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// seedOld inserts n audit rows in the first half of the month four months
// back (past the 90-day retention), in a partition of their own.
func seedOld(ctx context.Context, env *bench.Env, n int) error {
	month := schema.MonthStart(time.Now()).AddDate(0, -4, 0)
	if _, err := schema.EnsurePartitions(ctx, env.DB(), month, 1); err != nil {
		return err
	}
	spacing := (14 * 24 * time.Hour) / time.Duration(n+1)
	_, err := env.DB().Exec(ctx, `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname,
		matched_rule_id, handling_decision, forwarded_to_moog, raw_message)
		SELECT gen_random_uuid(), $1::timestamptz + i * make_interval(secs => $2), $1::timestamptz + i * make_interval(secs => $2),
		       'old-router' || (i % 50), 2, 'Ticket_only', true, '{"message":"seeded by the soak"}'
		FROM generate_series(1, $3) AS i`, month, spacing.Seconds(), n)
	if err != nil {
		return fmt.Errorf("seed old audit rows: %w", err)
	}
	return nil
}

// loadAvg is the 1-minute load average (0 where /proc is unavailable).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var f float64
	_, _ = fmt.Sscan(string(b), &f)
	return f
}

// relPath is target relative to the directory of from, with slashes (for
// Markdown links).
func relPath(from, target string) string {
	r, err := filepath.Rel(filepath.Dir(from), target)
	if err != nil {
		return target
	}
	return filepath.ToSlash(r)
}

// quiet keeps the Temporal SDK out of the soak's output.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
