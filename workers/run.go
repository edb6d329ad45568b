package workers

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/mutt-ops/mutt/activities"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/workflows"
)

// Process is a running `mutt worker`: the Temporal worker, optionally the
// schedules applied at start, and /health and /metrics on cfg.WorkerAddr.
type Process struct {
	Cfg    Config
	Client client.Client
	Deps   *activities.Deps
	Log    *slog.Logger
	Health http.Handler // /health and /metrics of the process
	// SchedulePrefix isolates schedule IDs (tests); "" in production.
	SchedulePrefix string
	TaskQueue      string // workflows.TaskQueue unless a test isolates itself
}

// Run applies the schedules when cfg.ApplySchedules is set, then runs the
// worker and the health listener until ctx ends. The activities get
// cfg.Retention (unless Deps already has a policy): a run started by hand
// without retention settings follows the configured ones, as scheduled runs do.
func (p *Process) Run(ctx context.Context, out io.Writer) error {
	tq := p.TaskQueue
	if tq == "" {
		tq = workflows.TaskQueue
	}
	if p.Deps != nil && p.Deps.Retention == (RetentionPolicy{}) {
		p.Deps.Retention = p.Cfg.Retention
	}
	if p.Cfg.ApplySchedules {
		if _, err := Apply(ctx, p.Client, tq, Schedules(p.SchedulePrefix, tq, p.Cfg.Retention, p.Cfg.RotationEnabled), false, out); err != nil {
			return err
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return RunWorker(ctx, p.Client, tq, p.Deps) })
	if p.Health != nil && p.Cfg.WorkerAddr != "" {
		g.Go(func() error { return telemetry.Serve(ctx, p.Log, p.Cfg.WorkerAddr, p.Health, p.Cfg.HTTP) })
	}
	return g.Wait()
}
