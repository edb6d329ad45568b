package alert

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/procstat"
	"github.com/mutt-ops/mutt/internal/rules"
)

// BenchmarkAuditWrite compares ways of writing a batch of audit rows into the
// real event_audit_log (partitioned, with its indexes), for ADRs 0033 and 0047:
//
//   - write: what the alerter does (writeAudit): one COPY, and unnest only
//     when the COPY fails on a row already there (never, here);
//   - unnest: the alerter's statement before ADR 0047 and its fallback
//     (arrays unnested server-side, ON CONFLICT DO NOTHING);
//   - copy-staging: COPY into a session temp table, then INSERT ... SELECT ...
//     ON CONFLICT DO NOTHING from it, in one transaction — the only way COPY
//     keeps "one row per event_id", since COPY itself has no ON CONFLICT;
//   - copy-direct: plain COPY into event_audit_log, the ceiling: it fails
//     the whole batch on a redelivered event, so alone the alerter cannot use it.
//
// Each sub-benchmark writes b.N batches of 1 000 fresh rows from 1 and from 4
// goroutines (the alerter's batches in flight) and reports rows/s and the CPU
// each row cost PostgreSQL (all its processes) and this process (encoding) —
// on this machine the pipeline is CPU-bound, so CPU per row is what decides
// throughput, and it barely depends on how loaded the machine is.
func BenchmarkAuditWrite(b *testing.B) {
	r := newRig(b)
	a := r.newAlerter(b, r.db, "bench-audit").a
	writers := map[string]func(context.Context, *auditRows) error{
		"unnest": func(ctx context.Context, rows *auditRows) error { return a.execAudit(ctx, rows, 0, rows.len()) },
		"write": func(ctx context.Context, rows *auditRows) error {
			rej, err := a.writeAudit(ctx, rows)
			if len(rej) > 0 {
				return fmt.Errorf("%d rows rejected", len(rej))
			}
			return err
		},
		"copy-staging": func(ctx context.Context, rows *auditRows) error { return copyStaging(ctx, r.db, rows) },
		"copy-direct":  func(ctx context.Context, rows *auditRows) error { return copyDirect(ctx, r.db, rows) },
	}
	for _, name := range []string{"write", "unnest", "copy-staging", "copy-direct"} {
		for _, par := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/writers=%d", name, par), func(b *testing.B) {
				batches := make([]*auditRows, b.N)
				for i := range batches {
					batches[i] = benchAuditRows(1000)
				}
				ctx := context.Background()
				pg0, self0 := postgresCPU(), selfCPU()
				b.ResetTimer()
				var wg sync.WaitGroup
				next := make(chan *auditRows)
				for range par {
					wg.Go(func() {
						for rows := range next {
							if err := writers[name](ctx, rows); err != nil {
								b.Error(err)
							}
						}
					})
				}
				for _, rows := range batches {
					next <- rows
				}
				close(next)
				wg.Wait()
				b.StopTimer()
				rows := float64(b.N * 1000)
				b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric((postgresCPU()-pg0).Seconds()/rows*1e6, "pg-cpu-µs/row")
				b.ReportMetric((selfCPU()-self0).Seconds()/rows*1e6, "client-cpu-µs/row")
				_, err := r.db.Exec(ctx, `TRUNCATE event_audit_log`)
				require.NoError(b, err)
			})
		}
	}
}

func benchAuditRows(n int) *auditRows {
	items := make([]item, n)
	for i := range items {
		env := newEnvelope(fmt.Sprintf("router%d.prod.example.com", i%50), fmt.Sprintf("%%LINK-3-UPDOWN: Interface Gi0/%d, changed state to down LINK-DOWN", i%48))
		items[i] = item{env: env, id: uuid.MustParse(env.EventID), dec: rules.Decision{Matched: true, Forward: true,
			Rule: &rules.Rule{ID: 1, ProdHandling: "Page_and_ticket", DevHandling: "Ignore"}, Handling: "Page_and_ticket",
			Environment: "prod", Team: "NETO"}}
	}
	return newAuditRows(items)
}

// auditSource hands the rows to pgx's CopyFrom, as the alerter did before
// it encoded its COPY itself (ADR 0049): for comparison.
type auditSource struct {
	rows *auditRows
	i    int
	row  [11]any
}

func (s *auditSource) Next() bool { s.i++; return s.i < s.rows.len() }

func (s *auditSource) Values() ([]any, error) {
	r, i := s.rows, s.i
	var team, corr any
	if r.team[i] != "" {
		team = r.team[i]
	}
	if r.correlationID[i] != "" {
		corr = r.correlationID[i]
	}
	s.row = [11]any{r.eventID[i], r.eventTimestamp[i], r.receivedAt[i], r.hostname[i], r.ruleID[i], r.handling[i],
		r.forwarded[i], team, r.environment[i], corr, string(r.raw[i])}
	return s.row[:], nil
}

func (s *auditSource) Err() error { return nil }

func copyDirect(ctx context.Context, db *pgxpool.Pool, rows *auditRows) error {
	_, err := db.CopyFrom(ctx, pgx.Identifier{"event_audit_log"}, auditColumns, &auditSource{rows: rows, i: -1})
	return err
}

func copyStaging(ctx context.Context, db *pgxpool.Pool, rows *auditRows) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS audit_stage
			(LIKE event_audit_log INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_stage"}, auditColumns, &auditSource{rows: rows, i: -1}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname,
			matched_rule_id, handling_decision, forwarded_to_moog, team_assignment, environment, correlation_id, raw_message)
			SELECT event_id, event_timestamp, received_at, hostname, matched_rule_id, handling_decision,
			forwarded_to_moog, team_assignment, environment, correlation_id, raw_message FROM audit_stage
			ON CONFLICT (event_id, event_timestamp) DO NOTHING`)
		return err
	})
}

// postgresCPU is the user + system CPU time of every postgres process on the
// machine so far (a server started before the benchmark; backends that ended
// meanwhile are not counted, so keep connections open).
func postgresCPU() time.Duration {
	var cpu time.Duration
	procstat.Each(func(_ int, s procstat.Stat) {
		if s.Comm == "postgres" {
			cpu += s.CPU
		}
	})
	return cpu
}

// selfCPU is this process's user + system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
