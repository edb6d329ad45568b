package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Ceilings are what this machine's PostgreSQL and Redis take on their own,
// measured in the same run as the pipeline, so that MUTT's throughput can be
// read as a fraction of them and compared across machines.
type Ceilings struct {
	// PGRowsPerSec: rows/s COPYed into event_audit_log (partitioned, with its
	// indexes), batches of ceilingBatch rows from ceilingWriters connections.
	PGRowsPerSec float64
	// RedisXAddPerSec: XADD/s of alert-sized entries to one stream,
	// pipelines of ceilingBatch from ceilingWriters connections.
	RedisXAddPerSec float64
}

const (
	ceilingBatch   = 1000
	ceilingWriters = 4
)

func (r *run) ceilingDuration() time.Duration {
	if r.o.CeilingDuration > 0 {
		return r.o.CeilingDuration
	}
	return 3 * time.Second
}

// ceilings measures PostgreSQL and Redis while the MUTT processes are idle.
func (r *run) ceilings(ctx context.Context) (Ceilings, error) {
	var c Ceilings
	fmt.Fprintf(r.o.Out, "bench: measuring this machine's ceilings, %s each\n", r.ceilingDuration())
	n, secs, err := r.saturate(ctx, r.copyAudit)
	if err != nil {
		return c, fmt.Errorf("measure the PostgreSQL ceiling: %w", err)
	}
	c.PGRowsPerSec = float64(n) / secs
	if _, err := r.db.Exec(ctx, `TRUNCATE event_audit_log`); err != nil {
		return c, err
	}
	key := r.prefix + "bench:ceiling"
	payload := []byte(`{"event_id":"` + uuid.NewString() + `","description":"` + strings.Repeat("x", 480) + `"}`)
	n, secs, err = r.saturate(ctx, func(ctx context.Context) (int, error) {
		_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for range ceilingBatch {
				p.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"d", payload}})
			}
			return nil
		})
		return ceilingBatch, err
	})
	if err != nil {
		return c, fmt.Errorf("measure the Redis ceiling: %w", err)
	}
	c.RedisXAddPerSec = float64(n) / secs
	return c, r.rdb.Del(ctx, key).Err()
}

// saturate runs op from ceilingWriters goroutines for the ceiling duration
// and returns the units done and the seconds it took.
func (r *run) saturate(ctx context.Context, op func(context.Context) (int, error)) (int64, float64, error) {
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(r.ceilingDuration())
	start := time.Now()
	var wg sync.WaitGroup
	for range ceilingWriters {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				n, err := op(ctx)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(int64(n))
			}
		})
	}
	wg.Wait()
	return done.Load(), time.Since(start).Seconds(), firstErr
}

var auditColumns = []string{"event_id", "event_timestamp", "received_at", "hostname", "matched_rule_id",
	"handling_decision", "forwarded_to_moog", "team_assignment", "environment", "correlation_id", "raw_message"}

// copyAudit COPYs one batch of fresh audit rows shaped like the bench's events.
func (r *run) copyAudit(ctx context.Context) (int, error) {
	now := time.Now().UTC()
	raw := `{"hostname":"router7.prod.example.com","timestamp":"` + now.Format(time.RFC3339Nano) +
		`","message":"%LINK-3-UPDOWN: Interface Gi0/7, changed state to down LINK-DOWN","syslog_severity":"error","source_type":"cisco-ios"}`
	rows := make([][]any, ceilingBatch)
	for i := range rows {
		id := uuid.Must(uuid.NewV7())
		rows[i] = []any{id, now, now, "router" + strconv.Itoa(i%50) + ".prod.example.com", int64(1),
			"Page_and_ticket", true, "NETO", "prod", id.String()[:8], raw}
	}
	_, err := r.db.CopyFrom(ctx, pgx.Identifier{"event_audit_log"}, auditColumns, pgx.CopyFromRows(rows))
	return ceilingBatch, err
}

func printCeilings(w io.Writer, c Ceilings) {
	fmt.Fprintf(w, `
== this machine's ceilings (MUTT idle) ==
  PostgreSQL %9.0f rows/s    (COPY into event_audit_log with its indexes, %d-row batches, %d connections)
  Redis      %9.0f XADD/s    (alert-sized entries, pipelines of %d, %d connections)
`, c.PGRowsPerSec, ceilingBatch, ceilingWriters, c.RedisXAddPerSec, ceilingBatch, ceilingWriters)
}

// printRatios prints a phase's throughput as a fraction of the ceilings.
func printRatios(w io.Writer, p Phase, c Ceilings) {
	if c.PGRowsPerSec == 0 || c.RedisXAddPerSec == 0 {
		return
	}
	fmt.Fprintf(w, "  ratios     audited/PostgreSQL ceiling %.3f   end to end/Redis ceiling %.3f\n",
		p.AuditedPerSec/c.PGRowsPerSec, p.EndToEndPerSec/c.RedisXAddPerSec)
}

// loadAvg is the 1-minute load average (0 where /proc is unavailable).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0
	}
	f, _ := strconv.ParseFloat(fields[0], 64)
	return f
}
