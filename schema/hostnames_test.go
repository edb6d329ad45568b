package schema_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestMigration0003LowerCasesAndMergesHostnames: rows that differ only in
// case (as stored before 0003) are merged into one lower-case row — the
// first added dev host, the last changed team mapping — each removed row is
// audited, and afterwards a case variant is refused.
func TestMigration0003LowerCasesAndMergesHostnames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.Postgres(t)
	// Back to the state before 0003, with the rows it has to fix.
	migrateAgain(t, db, 3, `DROP INDEX development_hosts_hostname_lower; DROP INDEX device_teams_hostname_lower;
		DELETE FROM schema_migrations WHERE version = 3;
		INSERT INTO development_hosts (hostname, created_at) VALUES
			('Lab-1', '2026-01-01'), ('lab-1', '2026-02-01'), ('LAB-1', '2026-03-01'), ('Other', '2026-01-01');
		INSERT INTO device_teams (hostname, team_assignment, updated_at) VALUES
			('Router-1', 'NetOps', '2026-05-01'), ('router-1', 'Old', '2026-01-01'), ('Switch-9', 'Security', '2026-01-01')`)

	hosts := texts(t, db, `SELECT hostname || ' ' || to_char(created_at, 'YYYY-MM') FROM development_hosts ORDER BY 1`)
	require.Equal(t, []string{"lab-1 2026-01", "other 2026-01"}, hosts)
	teams := texts(t, db, `SELECT hostname || ' ' || team_assignment FROM device_teams ORDER BY 1`)
	require.Equal(t, []string{"router-1 NetOps", "switch-9 Security"}, teams)

	audit := texts(t, db, `SELECT changed_by || ' ' || operation || ' ' || table_name || ' ' || record_id
		|| ' ' || (old_values->>'hostname') || ': ' || reason FROM config_audit_log ORDER BY table_name, record_id`)
	require.Equal(t, []string{
		"migration:0003 DELETE development_hosts LAB-1 LAB-1: merged into lab-1: hostnames that differ only in case are one host",
		"migration:0003 DELETE development_hosts lab-1 lab-1: merged into lab-1: hostnames that differ only in case are one host",
		"migration:0003 DELETE device_teams router-1 router-1: merged into router-1: hostnames that differ only in case are one host",
	}, audit)

	_, err := db.Exec(ctx, `INSERT INTO development_hosts (hostname) VALUES ('OTHER')`)
	require.ErrorContains(t, err, "development_hosts_hostname_lower")
	_, err = db.Exec(ctx, `INSERT INTO device_teams (hostname, team_assignment) VALUES ('ROUTER-1', 'x')`)
	require.ErrorContains(t, err, "device_teams_hostname_lower")
}
