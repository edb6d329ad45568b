package activities

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
	"github.com/mutt-ops/mutt/workflows"
)

// Helpers shared by the partition and retention tests (prefix pr).

// prUpdateHistoriesEnv, when set, makes the integration tests rewrite the
// recorded histories under workflows/testdata that the replay tests replay.
// Set it after a deliberate change of a workflow (and version the change).
const prUpdateHistoriesEnv = "MUTT_UPDATE_HISTORIES"

// prDB is a fresh database migrated as if on migratedAt, so the partitions the
// migrator creates (that month and the next) are known whatever today is.
func prDB(tb testing.TB, migratedAt time.Time) *pgxpool.Pool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := testenv.DatabaseURL(tb)
	db, err := pgxpool.New(ctx, url)
	require.NoError(tb, err)
	tb.Cleanup(db.Close) // runs before the database is dropped
	_, err = schema.Up(ctx, db, migratedAt)
	require.NoError(tb, err)
	return db
}

// prDeps are activity dependencies on db with a private metrics registry.
func prDeps(db *pgxpool.Pool, now time.Time) (*Deps, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	return &Deps{DB: db, Log: slog.New(slog.DiscardHandler), Registerer: reg, Now: func() time.Time { return now }}, reg
}

// prWorker starts a worker of the test's own task queue on the Temporal dev
// server with every workflow and the activities register adds.
func prWorker(t *testing.T, register func(Registry)) (client.Client, string) {
	t.Helper()
	c, tq := testenv.Temporal(t)
	w := worker.New(c, tq, worker.Options{})
	workflows.Register(w)
	register(w)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return c, tq
}

// prRun starts a workflow on the test's queue and waits for its result.
func prRun[R any](t *testing.T, c client.Client, tq, id, workflowType string, args ...any) (R, client.WorkflowRun) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: tq + "-" + id, TaskQueue: tq}, workflowType, args...)
	require.NoError(t, err)
	var res R
	require.NoError(t, run.Get(ctx, &res), "workflow %s", id)
	return res, run
}

// prCheckHistory fetches the history of a finished run, replays it against
// the current workflow code, and with MUTT_UPDATE_HISTORIES set saves it as
// workflows/testdata/<file> for the replay tests.
func prCheckHistory(t *testing.T, c client.Client, run client.WorkflowRun, file string) {
	t.Helper()
	h := testenv.WorkflowHistory(t, c, run)
	replayHistory(t, h)
	if os.Getenv(prUpdateHistoriesEnv) != "" {
		recordHistory(t, h, filepath.Join("..", "workflows", "testdata", file))
	}
}

// prCount runs a count query.
func prCount(t testing.TB, db *pgxpool.Pool, query string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow(context.Background(), query, args...).Scan(&n), query)
	return n
}

// prInsertRows adds n audit rows spread evenly over [from, to) with one
// INSERT … SELECT generate_series (the hot path's columns, realistic sizes).
func prInsertRows(tb testing.TB, db *pgxpool.Pool, n int, from, to time.Time) {
	tb.Helper()
	_, err := db.Exec(context.Background(), `INSERT INTO event_audit_log (event_id, event_timestamp, received_at,
	hostname, matched_rule_id, handling_decision, forwarded_to_moog, team_assignment, environment, correlation_id, raw_message)
SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' || substr(r, 1, 3)
		|| to_hex(8 + g % 4) || substr(r, 4, 15))::uuid, -- a UUIDv7 of the event time, as ingest stamps
	ts, ts, 'router' || (g % 500) || '.prod.example.com', 1 + g % 5, 'Page_and_ticket', g % 3 = 0, 'NETO', 'prod',
	substr(r, 1, 26), '%LINK-3-UPDOWN: Interface GigabitEthernet0/' || (g % 48) || ', changed state to down'
FROM generate_series(0, $3::int - 1) g,
	LATERAL (SELECT $1::timestamptz + (g * ($2::timestamptz - $1::timestamptz) / $3::int) AS ts,
		md5(random()::text || g::text) AS r) x`, from, to, n)
	require.NoError(tb, err)
}

// prPartitions lists the partitions of event_audit_log, sorted.
func prPartitions(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), partSQLAttached+` ORDER BY 1`)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	require.NoError(t, rows.Err())
	return out
}
