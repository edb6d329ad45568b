package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

// archivePhase measures archival on the ops plane and its impact on the hot
// path: it seeds ArchiveRows audit rows in the first half of a month six months
// back, starts its own Temporal dev server and a `mutt worker`, then runs a
// saturation load while RetentionWorkflow archives those rows (in batches: the
// pinned clock puts the cut-off in the middle of that month).
func (r *run) archivePhase(ctx context.Context) (Phase, error) {
	month := schema.MonthStart(time.Now()).AddDate(0, -6, 0)
	if _, err := schema.EnsurePartitions(ctx, r.db, month, 1); err != nil {
		return Phase{}, err
	}
	port, err := freePort()
	if err != nil {
		return Phase{}, err
	}
	taddr := net.JoinHostPort("127.0.0.1", port)
	ds, err := workers.StartDevServer(ctx, taddr, "default", telemetry.NewLogger(io.Discard, "text", "error"))
	if err != nil {
		return Phase{}, err
	}
	defer ds.Stop()
	wport, err := freePort()
	if err != nil {
		return Phase{}, err
	}
	w := exec.Command(r.o.Exe, "worker") // #nosec G204 -- our own mutt binary, started by mutt bench
	w.Env = append(os.Environ(), "REDIS_URL="+r.o.RedisURL, "DATABASE_URL="+r.dbURL, "MUTT_REDIS_PREFIX="+r.prefix,
		"TEMPORAL_ADDRESS="+taddr, "MUTT_WORKER_ADDR=127.0.0.1:"+wport, "MUTT_LOG_LEVEL=warn")
	w.Stdout, w.Stderr = r.logFile, r.logFile
	if err := w.Start(); err != nil {
		return Phase{}, fmt.Errorf("start worker: %w", err)
	}
	r.procs = append(r.procs, &proc{name: "worker", cmd: w})
	if err := r.waitHealthy(ctx, "http://127.0.0.1:"+wport+"/health"); err != nil {
		return Phase{}, err
	}
	tc, err := workers.Dial(ctx, workers.TemporalConn{Address: taddr, Namespace: "default"}, telemetry.NewLogger(io.Discard, "text", "error"))
	if err != nil {
		return Phase{}, err
	}
	defer tc.Close()

	pinned := month.Add(15*24*time.Hour + 90*24*time.Hour) // cut-off = 15 days into the seeded month
	var archived int64
	var took time.Duration
	var werr error
	seed := func(ctx context.Context) error {
		fmt.Fprintf(r.o.Out, "bench: seeding %d audit rows in %s\n", r.o.ArchiveRows, month.Format("2006-01"))
		spacing := (14 * 24 * time.Hour) / time.Duration(r.o.ArchiveRows+1)
		if _, err := r.db.Exec(ctx, `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname,
			matched_rule_id, handling_decision, forwarded_to_moog, raw_message)
			SELECT gen_random_uuid(), $1::timestamptz + i * make_interval(secs => $2), $1::timestamptz + i * make_interval(secs => $2),
			       'old-router' || (i % 50), 2, 'Ticket_only', true, '{"message":"archived by the bench"}'
			FROM generate_series(1, $3) AS i`, month, spacing.Seconds(), r.o.ArchiveRows); err != nil {
			return fmt.Errorf("seed old audit rows: %w", err)
		}
		return nil
	}
	p, err := r.phase(ctx, "saturation + archival", 0, seed, func(ctx context.Context) {
		start := time.Now()
		opts := client.StartWorkflowOptions{ID: "bench-retention-" + strconv.FormatInt(start.UnixNano(), 10),
			TaskQueue: workflows.TaskQueue}
		run, err := tc.ExecuteWorkflow(ctx, opts, "RetentionWorkflow", workflows.RetentionInput{Now: &pinned})
		if err != nil {
			werr = err
			return
		}
		var res workflows.RetentionResult
		werr = run.Get(ctx, &res)
		archived, took = res.Archived, time.Since(start)
	})
	if err != nil {
		return p, err
	}
	if werr != nil {
		return p, fmt.Errorf("retention workflow: %w", werr)
	}
	fmt.Fprintf(r.o.Out, "\n== archival during the load ==\n  archived %d rows in %s: %.0f rows/s (RetentionWorkflow, batches of %d)\n",
		archived, took.Round(time.Millisecond), float64(archived)/took.Seconds(), workflows.DefaultRetentionBatchSize)
	return p, nil
}
