package workers

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/mutt-ops/mutt/activities"
	"github.com/mutt-ops/mutt/workflows"
)

// Dial connects to Temporal and checks the connection.
func Dial(ctx context.Context, address, namespace string, log *slog.Logger) (client.Client, error) {
	c, err := client.DialContext(ctx, client.Options{HostPort: address, Namespace: namespace,
		Logger: tlog.NewStructuredLogger(log.With("component", "temporal"))})
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s (TEMPORAL_ADDRESS): %w", address, err)
	}
	return c, nil
}

// RunWorker runs a worker for every MUTT workflow and activity on taskQueue
// until ctx ends, then stops it (activities in flight get the SDK's grace period).
func RunWorker(ctx context.Context, c client.Client, taskQueue string, deps *activities.Deps) error {
	w := worker.New(c, taskQueue, worker.Options{})
	workflows.Register(w)
	if err := activities.Register(w, deps); err != nil {
		return fmt.Errorf("register activities: %w", err)
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on %s: %w", taskQueue, err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}
