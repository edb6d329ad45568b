package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workflows"
)

// BenchmarkArchive1M measures archival throughput against the real
// PostgreSQL: 1 million expired audit rows (realistic row sizes, the four
// indexes of event_audit_log, the archive's three) moved by the real
// activities, reported in rows/s.
//   - batches: the rows sit in the partition the cut-off falls in, so
//     ArchiveBatches moves them 10000 per transaction (the default batch);
//   - whole_partition: the rows fill a partition entirely past the cut-off,
//     which ArchivePartition moves in one INSERT … SELECT then drops.
//
// Each iteration starts from a fresh database (setup not timed, ~15 s). Run
// with: go test -run '^$' -bench BenchmarkArchive1M -benchtime 1x ./activities/
func BenchmarkArchive1M(b *testing.B) {
	const rows = 1_000_000
	now := time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC)
	cutoff := now.AddDate(0, 0, -90) // 2026-08-17T02:00Z
	for _, bc := range []struct {
		name     string
		from, to time.Time
		run      func(env *testsuite.TestActivityEnvironment) (int64, error)
	}{
		{"batches", ptMonth(2026, 8), ptMonth(2026, 8).AddDate(0, 0, 15), func(env *testsuite.TestActivityEnvironment) (int64, error) {
			v, err := env.ExecuteActivity(workflows.ActivityRetentionArchiveBatches,
				workflows.RetentionBatchInput{Cutoff: cutoff, BatchSize: workflows.DefaultRetentionBatchSize})
			if err != nil {
				return 0, err
			}
			var p workflows.RetentionBatchProgress
			return p.Rows, v.Get(&p)
		}},
		{"whole_partition", ptMonth(2026, 7), ptMonth(2026, 8), func(env *testsuite.TestActivityEnvironment) (int64, error) {
			v, err := env.ExecuteActivity(workflows.ActivityRetentionArchivePartition,
				workflows.RetentionPartitionInput{Partition: "event_audit_log_p202607", Cutoff: cutoff})
			if err != nil {
				return 0, err
			}
			var p workflows.RetentionPartitionResult
			return p.Rows, v.Get(&p)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var moved int64
			var spent time.Duration
			for range b.N {
				b.StopTimer()
				db := prDB(b, ptMonth(2030, 1))
				_, err := schema.EnsurePartitions(context.Background(), db, ptMonth(2026, 7), 2)
				require.NoError(b, err)
				prInsertRows(b, db, rows, bc.from, bc.to)
				_, err = db.Exec(context.Background(), `VACUUM ANALYZE event_audit_log`) // as autovacuum leaves a month-old table
				require.NoError(b, err)
				deps, _ := prDeps(db, now)
				a, err := newRetentionActivities(deps)
				require.NoError(b, err)
				var s testsuite.WorkflowTestSuite
				env := s.NewTestActivityEnvironment()
				a.register(env)
				start := time.Now()
				b.StartTimer()

				n, err := bc.run(env)

				b.StopTimer()
				spent += time.Since(start)
				require.NoError(b, err)
				require.EqualValues(b, rows, n)
				require.EqualValues(b, rows, prCount(b, db, `SELECT count(*) FROM event_audit_log_archive`))
				moved += n
			}
			b.ReportMetric(float64(moved)/spent.Seconds(), "rows/s")
		})
	}
}
