package api

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

func TestWriteConfigAuditRollsBackTheChange(t *testing.T) {
	t.Parallel()
	db := testenv.Postgres(t)
	ctx := context.Background()

	// A rejected audit (operation outside the CHECK constraint) fails the transaction: the dev host is not added.
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO development_hosts (hostname) VALUES ('rollback-host')`); err != nil {
			return err
		}
		return writeConfigAudit(ctx, tx, AuditEntry{ChangedBy: "admin-1", Operation: "UPSERT",
			TableName: "development_hosts", RecordID: "rollback-host", New: map[string]any{"hostname": "rollback-host"}})
	})
	require.Error(t, err)
	require.Contains(t, err.Error(), "write config audit for development_hosts/rollback-host")
	var n int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM development_hosts`).Scan(&n))
	require.Zero(t, n)
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM config_audit_log`).Scan(&n))
	require.Zero(t, n)

	// A valid entry commits with the change; nil sides are SQL NULL, empty reason is NULL.
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		return writeConfigAudit(ctx, tx, AuditEntry{ChangedBy: "admin-2", Operation: "DELETE", TableName: "device_teams",
			RecordID: "h", CorrelationID: "c-1", Old: map[string]any{"team_assignment": "x"}})
	})
	require.NoError(t, err)
	var oldV map[string]any
	var newNull, reasonNull bool
	require.NoError(t, db.QueryRow(ctx, `SELECT old_values, new_values IS NULL, reason IS NULL FROM config_audit_log`).
		Scan(&oldV, &newNull, &reasonNull))
	require.Equal(t, "x", oldV["team_assignment"])
	require.True(t, newNull)
	require.True(t, reasonNull)
}

func TestPublishRulesUpdate(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ps := rdb.Subscribe(context.Background(), keys.RulesUpdates())
	t.Cleanup(func() { _ = ps.Close() })
	_, err := ps.Receive(context.Background())
	require.NoError(t, err)
	publishRulesUpdate(context.Background(), rdb, keys)
	requirePublished(t, ps.Channel())
	publishRulesUpdate(context.Background(), nil, keys) // no Redis: a no-op, not a panic
}
