package migration_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/migration"
	"github.com/mutt-ops/mutt/schema"
)

// pythonDB is a fresh database loaded with a Python MUTT fixture.
func pythonDB(t *testing.T, fixture string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	db, err := pgxpool.New(ctx, testenv.DatabaseURL(t))
	require.NoError(t, err)
	t.Cleanup(db.Close)
	sql, err := os.ReadFile("testdata/" + fixture)
	require.NoError(t, err)
	_, err = db.Exec(ctx, string(sql))
	require.NoError(t, err, "fixture %s loads", fixture)
	return db
}

func one[T any](t *testing.T, db *pgxpool.Pool, sql string, args ...any) T {
	t.Helper()
	var v T
	require.NoError(t, db.QueryRow(context.Background(), sql, args...).Scan(&v), sql)
	return v
}

var now = time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)

func TestMigrateUpRefusesPythonDatabaseNamingFromPython(t *testing.T) {
	t.Parallel()
	db := pythonDB(t, "python_v25.sql")
	_, err := schema.Up(context.Background(), db, now)
	require.ErrorIs(t, err, schema.ErrPythonDatabase)
	require.Contains(t, err.Error(), "mutt migrate from-python")
	require.Equal(t, int64(10), one[int64](t, db, `SELECT count(*) FROM alert_rules`), "nothing was touched")
}

func TestDryRunReportsAndChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pythonDB(t, "python_v25.sql")
	rep, err := migration.FromPython(ctx, db, migration.Options{DryRun: true, BatchSize: 1000, Now: now})
	require.NoError(t, err)
	require.Contains(t, rep.Detected, "v2.5 (event_audit_log partitioned, 3 partitions)")
	byName := map[string]migration.TableReport{}
	for _, tr := range rep.Tables {
		byName[tr.Table] = tr
	}
	require.Equal(t, int64(6000), byName["event_audit_log"].Source)
	require.Equal(t, int64(204), byName["config_audit_log"].Source)
	require.Equal(t, int64(1), byName["alert_rules"].Skipped)
	require.Contains(t, byName["event_audit_log"].Notes[0], "3 monthly partitions from event_audit_log_p202511 and copy in 6 batches")
	notes := byName["alert_rules"].Notes
	require.Contains(t, notes[0], "rule 7 imported, but its regex is not RE2 syntax")
	require.Contains(t, notes[1], "rule 10 not imported")
	require.False(t, one[bool](t, db, `SELECT to_regclass('python_v25.alert_rules') IS NOT NULL`))
	require.False(t, one[bool](t, db, `SELECT to_regclass('schema_migrations') IS NOT NULL`))
}

func TestFromPythonV25AdoptsEveryTableWithCountsChecked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pythonDB(t, "python_v25.sql")
	// Interrupted after two batches: the report says so, a rerun finishes.
	rep, err := migration.FromPython(ctx, db, migration.Options{BatchSize: 1000, MaxBatches: 2, Now: now})
	require.NoError(t, err)
	require.False(t, rep.Complete)
	require.Equal(t, int64(2000), one[int64](t, db, `SELECT count(*) FROM event_audit_log`))

	rep, err = migration.FromPython(ctx, db, migration.Options{BatchSize: 1000, Now: now})
	require.NoError(t, err)
	require.True(t, rep.Complete, "%+v", rep)
	require.Contains(t, rep.Detected, "resuming")
	for _, tr := range rep.Tables {
		require.Contains(t, []string{"copied"}, tr.Status, tr.Table)
		require.Equal(t, tr.Source-tr.Skipped, tr.Target, tr.Table)
	}
	require.Equal(t, int64(6000), one[int64](t, db, `SELECT count(*) FROM event_audit_log`))
	require.Equal(t, int64(0), one[int64](t, db, `SELECT count(*) FROM event_audit_log_default`), "every month got its partition")
	for _, p := range []string{"event_audit_log_p202511", "event_audit_log_p202512", "event_audit_log_p202601"} {
		require.Positive(t, one[int64](t, db, `SELECT count(*) FROM `+p), p)
	}
	// Rows keep their id, time and text; the correlation id is lifted out of raw_message.
	require.Equal(t, one[string](t, db, `SELECT raw_message FROM python_v25.event_audit_log WHERE id = 42`),
		one[string](t, db, `SELECT raw_message FROM event_audit_log WHERE id = 42`))
	require.Equal(t, "00000000-0000-8000-8000-00000000002a", one[string](t, db, `SELECT event_id::text FROM event_audit_log WHERE id = 42`))
	require.Len(t, one[string](t, db, `SELECT correlation_id FROM event_audit_log WHERE id = 42`), 36)
	// Rules, dev hosts, teams, config audit and archive arrived; record ids became text.
	require.Equal(t, int64(9), one[int64](t, db, `SELECT count(*) FROM alert_rules`))
	require.Equal(t, "LINK-DOWN", one[string](t, db, `SELECT match_string FROM alert_rules WHERE id = 3`))
	require.Equal(t, int64(3), one[int64](t, db, `SELECT count(*) FROM development_hosts`))
	require.Equal(t, "Security", one[string](t, db, `SELECT team_assignment FROM device_teams WHERE hostname = 'firewall1.prod.example.com'`))
	require.Equal(t, "99", one[string](t, db, `SELECT record_id FROM config_audit_log WHERE id = 4`))
	require.Equal(t, int64(300), one[int64](t, db, `SELECT count(*) FROM event_audit_log_archive`))
	// New rows made by MUTT never reuse a Python id, and deleting a rule with audit rows works.
	require.Equal(t, int64(11), one[int64](t, db, `INSERT INTO alert_rules (match_string, prod_handling, dev_handling, team_assignment)
		VALUES ('NEW', 'ignore', 'ignore', 'NETO') RETURNING id`))
	require.Equal(t, int64(6001), one[int64](t, db, `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname, handling_decision)
		VALUES (gen_random_uuid(), now(), now(), 'h', 'ignore') RETURNING id`))
	_, err = db.Exec(ctx, `DELETE FROM alert_rules WHERE id = 1`)
	require.NoError(t, err)

	// A third run changes nothing and still checks out.
	rep, err = migration.FromPython(ctx, db, migration.Options{BatchSize: 1000, Now: now})
	require.NoError(t, err)
	require.True(t, rep.Complete)
	require.Equal(t, int64(6001), one[int64](t, db, `SELECT count(*) FROM event_audit_log`))
}

func TestFromPythonV23PlainAuditTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pythonDB(t, "python_v23.sql")
	rep, err := migration.FromPython(ctx, db, migration.Options{BatchSize: 700, Now: now})
	require.NoError(t, err)
	require.Contains(t, rep.Detected, "v2.3 (event_audit_log not partitioned)")
	require.True(t, rep.Complete, "%+v", rep)
	require.Equal(t, int64(2500), one[int64](t, db, `SELECT count(*) FROM event_audit_log`))
	require.Equal(t, int64(0), one[int64](t, db, `SELECT count(*) FROM event_audit_log_default`))
	require.ElementsMatch(t, []string{"event_audit_log_p202509", "event_audit_log_p202510", "event_audit_log_p202511",
		"event_audit_log_p202512", "event_audit_log_p202601"}, rep.PartitionsCreated, "the months before now (Up made February and March)")
}

// TestFromPythonCanonicalHandling: handling words MUTT knows arrive in their
// one stored spelling whatever their case in the Python table
// ("PAGE_AND_TICKET" -> "Page_and_ticket"); an unknown word is copied as it is
// and reported.
func TestFromPythonCanonicalHandling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pythonDB(t, "python_v23.sql")
	_, err := db.Exec(ctx, `UPDATE alert_rules SET prod_handling = 'PAGE_AND_TICKET', dev_handling = ' ticket_only ' WHERE id = 1;
		UPDATE alert_rules SET prod_handling = 'Escalate', dev_handling = 'page_only' WHERE id = 2`)
	require.NoError(t, err)
	rep, err := migration.FromPython(ctx, db, migration.Options{BatchSize: 700, Now: now})
	require.NoError(t, err)
	require.True(t, rep.Complete, "%+v", rep)
	rows, err := db.Query(ctx, `SELECT id || ' ' || prod_handling || ' ' || dev_handling FROM alert_rules ORDER BY id`)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"1 Page_and_ticket Ticket_only", "2 Escalate Page_only", "3 Page_and_ticket Ignore"}, got)
	var notes []string
	for _, tr := range rep.Tables {
		if tr.Table == "alert_rules" {
			notes = tr.Notes
		}
	}
	require.Contains(t, notes, "rule 2 imported with a handling word MUTT does not know; such events are audited, not forwarded")
}

func TestRollbackRestoresPythonDatabaseAndKeepsMuttRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pythonDB(t, "python_v25.sql")
	before := one[string](t, db, `SELECT md5(string_agg(e::text, ',' ORDER BY id)) FROM event_audit_log e`)
	_, err := migration.FromPython(ctx, db, migration.Options{BatchSize: 2500, Now: now})
	require.NoError(t, err)
	_, err = db.Exec(ctx, `INSERT INTO alert_rules (match_string, prod_handling, dev_handling, team_assignment) VALUES ('AFTER', 'ignore', 'ignore', 'NETO')`)
	require.NoError(t, err)

	dest, err := migration.Rollback(ctx, db, now)
	require.NoError(t, err)
	require.Equal(t, "mutt_go_rollback_20260210120000", dest)
	// The Python schema is back as it was: same rows, no MUTT columns, functions work.
	require.Equal(t, before, one[string](t, db, `SELECT md5(string_agg(e::text, ',' ORDER BY id)) FROM event_audit_log e`))
	require.Equal(t, int64(10), one[int64](t, db, `SELECT count(*) FROM alert_rules`))
	require.Equal(t, int64(3), one[int64](t, db, `SELECT count(*) FROM pg_inherits WHERE inhparent = 'event_audit_log'::regclass`))
	_, err = db.Exec(ctx, `SELECT create_monthly_partition('2026-02-01')`)
	require.NoError(t, err)
	require.False(t, one[bool](t, db, `SELECT to_regclass('python_v25.alert_rules') IS NOT NULL`))
	// What MUTT wrote after the cut-over is kept, not dropped.
	require.Equal(t, int64(1), one[int64](t, db, `SELECT count(*) FROM `+dest+`.alert_rules WHERE match_string = 'AFTER'`))
	require.Equal(t, int64(6000), one[int64](t, db, `SELECT count(*) FROM `+dest+`.event_audit_log`))

	// After a rollback the migration can be run again from scratch.
	rep, err := migration.FromPython(ctx, db, migration.Options{BatchSize: 2500, Now: now})
	require.NoError(t, err)
	require.True(t, rep.Complete, "%+v", rep)
	require.NoError(t, migration.Finalize(ctx, db))
	require.False(t, one[bool](t, db, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'python_v25')`))
	_, err = migration.Rollback(ctx, db, now)
	require.ErrorContains(t, err, "nothing to roll back")
}

// TestFromPythonLowerCasesHostnames: the Python MUTT stored hostnames as
// given; MUTT's hostnames are lower-case (schema migration 0003), so the copy
// lower-cases them and keeps one row of hostnames that differ only in case.
func TestFromPythonLowerCasesHostnames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pythonDB(t, "python_v23.sql")
	_, err := db.Exec(ctx, `INSERT INTO development_hosts VALUES ('QA-Box'), ('qa-box');
		INSERT INTO device_teams VALUES ('Edge-1.Prod', 'NetOps')`)
	require.NoError(t, err)
	rep, err := migration.FromPython(ctx, db, migration.Options{BatchSize: 700, Now: now})
	require.NoError(t, err)
	require.True(t, rep.Complete, "%+v", rep)
	require.Equal(t, int64(1), one[int64](t, db, `SELECT count(*) FROM development_hosts WHERE lower(hostname) = 'qa-box'`))
	require.Equal(t, "qa-box", one[string](t, db, `SELECT hostname FROM development_hosts WHERE lower(hostname) = 'qa-box'`))
	require.Equal(t, "NetOps", one[string](t, db, `SELECT team_assignment FROM device_teams WHERE hostname = 'edge-1.prod'`))
}

// TestFromPythonCorrelationIDAsTheBoundedPattern: the copy lifts the
// correlation id with a cheap unbounded pattern and falls back to the bounded
// one only where they could differ; every raw_message form gets exactly what
// substring(raw_message from '"_correlation_id": ?"([^"]{1,64})"') gives.
func TestFromPythonCorrelationIDAsTheBoundedPattern(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pythonDB(t, "python_v23.sql")
	long := `"` + strings.Repeat("a", 65) + `"`
	messages := []string{
		`{"_correlation_id": "c-1"}`,
		`{"_correlation_id":"no-space"}`,
		`{"_correlation_id": "", "x": 1, "_correlation_id": "after-empty"}`,
		`{"_correlation_id": ` + long + `, "_correlation_id": "after-long"}`,
		`{"_correlation_id": ` + long + `}`,
		`{"_correlation_id": ""}`,
		`{"_correlation_id": "` + strings.Repeat("b", 64) + `"}`,
		`{"_correlation_id": "unterminated`,
		`{"message": "no id"}`,
		``,
	}
	for _, m := range messages {
		_, err := db.Exec(ctx, `INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision, raw_message)
			VALUES ('2025-10-01T00:00:00Z', 'h', 1, 'Ignore', NULLIF($1, ''))`, m)
		require.NoError(t, err)
	}
	rep, err := migration.FromPython(ctx, db, migration.Options{BatchSize: 700, Now: now})
	require.NoError(t, err)
	require.True(t, rep.Complete, "%+v", rep)
	require.Equal(t, int64(0), one[int64](t, db, `SELECT count(*) FROM python_v25.event_audit_log s JOIN event_audit_log t USING (id)
		WHERE t.correlation_id IS DISTINCT FROM substring(s.raw_message from '"_correlation_id": ?"([^"]{1,64})"')`))
	got := one[[]string](t, db, `SELECT array_agg(coalesce(correlation_id, '<null>') ORDER BY id) FROM event_audit_log WHERE id > 2500`)
	require.Equal(t, []string{"c-1", "no-space", "after-empty", "after-long", "<null>", "<null>", strings.Repeat("b", 64),
		"<null>", "<null>", "<null>"}, got)
}
