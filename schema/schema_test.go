package schema_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
)

func TestUpIsIdempotentAndCreatesPartitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.Postgres(t) // applies everything once
	now := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	done, err := schema.Up(ctx, db, now)
	require.NoError(t, err)
	require.Empty(t, done, "second run applies nothing")

	for _, name := range []string{"event_audit_log_p202612", "event_audit_log_p202701", "event_audit_log_default"} {
		var exists bool
		require.NoError(t, db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists))
		require.True(t, exists, name)
	}
	// Boundaries are UTC months: the last instant of December lands in p202612.
	var part string
	require.NoError(t, db.QueryRow(ctx, `INSERT INTO event_audit_log
		(event_id, event_timestamp, received_at, hostname, handling_decision)
		VALUES (gen_random_uuid(), '2026-12-31T23:59:59.999Z', now(), 'h', 'x') RETURNING tableoid::regclass::text`).Scan(&part))
	require.Equal(t, "event_audit_log_p202612", part)

	st, err := schema.List(ctx, db)
	require.NoError(t, err)
	for _, s := range st {
		require.False(t, s.AppliedAt.IsZero(), s.Name)
	}
}

func TestSeedOnlyFillsEmptyTablesAndRulesCanBeDeleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.Postgres(t)
	seeded, err := schema.SeedExamples(ctx, db)
	require.NoError(t, err)
	require.True(t, seeded)
	seeded, err = schema.SeedExamples(ctx, db)
	require.NoError(t, err)
	require.False(t, seeded)
	var n int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM alert_rules`).Scan(&n))
	require.Equal(t, 5, n)

	// An audited event references rule 1; deleting the rule still works.
	_, err = db.Exec(ctx, `INSERT INTO event_audit_log
		(event_id, event_timestamp, received_at, hostname, matched_rule_id, handling_decision)
		VALUES (gen_random_uuid(), now(), now(), 'h', 1, 'Page_and_ticket')`)
	require.NoError(t, err)
	_, err = db.Exec(ctx, `DELETE FROM alert_rules WHERE id = 1`)
	require.NoError(t, err)
}
