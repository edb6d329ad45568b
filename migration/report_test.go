package migration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/migration"
)

// TestDryRunReportAsTheOperatorReadsIt: the report `mutt migrate from-python
// --dry-run` prints, for a person and as JSON, from a real dry run of the v2.5
// fixtures: it says nothing changed, lists every table with its counts and the
// rule notes, every Python Redis key with what a run would do, and the dynamic
// config it would translate.
func TestDryRunReportAsTheOperatorReadsIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pythonDB(t, "python_v25.sql")
	rdb, keys := testenv.Redis(t)
	pythonRedis(t, rdb, keys.Prefix)

	rep := &migration.Report{DryRun: true}
	var err error
	rep.Postgres, err = migration.FromPython(ctx, db, migration.Options{DryRun: true, BatchSize: 1000, Now: now})
	require.NoError(t, err)
	rep.Redis, err = migration.DrainRedis(ctx, rdb, migration.RedisOptions{DryRun: true, PythonPrefix: keys.Prefix,
		Keys: keys, Now: time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)})
	require.NoError(t, err)

	var text bytes.Buffer
	require.NoError(t, rep.WriteText(&text))
	out := text.String()
	require.Contains(t, out, "DRY RUN: nothing was changed")
	require.Contains(t, out, "PostgreSQL: "+rep.Postgres.Detected)
	require.Regexp(t, `(?m)^TABLE\s+SOURCE ROWS\s+MIGRATED\s+SKIPPED\s+STATUS$`, out)
	require.Regexp(t, `(?m)^event_audit_log\s+6000\s+0\s+0\s+planned$`, out, "the columns line up for a reader")
	require.Regexp(t, `(?m)^config_audit_log\s+204\s+`, out)
	require.Contains(t, out, "  alert_rules: rule 10 not imported", "the rule notes follow the table")
	require.NotContains(t, out, "complete:", "a dry run claims no completeness")
	require.Contains(t, out, "Redis:")
	require.Regexp(t, `(?m)^`+keys.Prefix+`ingest_queue\s+drained\s+5\s+`, out)
	require.Contains(t, out, "DYNAMIC CONFIG")
	require.Regexp(t, `(?m)^\S*ingest_max_rate\s+1000\s+`, out, "the translated config values are listed")

	var js bytes.Buffer
	require.NoError(t, rep.WriteJSON(&js))
	var back migration.Report
	require.NoError(t, json.Unmarshal(js.Bytes(), &back), "scripts can read the JSON report")
	require.True(t, back.DryRun)
	require.Equal(t, rep.Postgres.Tables, back.Postgres.Tables)
	require.Equal(t, rep.Redis.Keys, back.Redis.Keys)
	require.Contains(t, js.String(), `"source_rows": 6000`, "the JSON is indented with the documented field names")
}

// TestReportAfterARunSaysWhetherItIsComplete: without --dry-run the text
// report ends the PostgreSQL part with whether the copy finished.
func TestReportAfterARunSaysWhetherItIsComplete(t *testing.T) {
	t.Parallel()
	db := pythonDB(t, "python_v25.sql")
	pg, err := migration.FromPython(context.Background(), db, migration.Options{BatchSize: 1000, MaxBatches: 1, Now: now})
	require.NoError(t, err)
	var text bytes.Buffer
	require.NoError(t, (&migration.Report{Postgres: pg}).WriteText(&text))
	require.NotContains(t, text.String(), "DRY RUN")
	require.Contains(t, text.String(), "  complete: false")
	require.Contains(t, text.String(), "partitions created:")
	require.NotContains(t, text.String(), "Redis:", "no Redis part when only PostgreSQL was migrated")
}
