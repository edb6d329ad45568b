package schema_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
)

// TestMigration0007LowerCasesHandling: rules stored before 0007 with a
// handling word in another case (the Python seed's "Page_and_ticket") get the
// lower-case word, a new version and an audit row; a word that is none of
// the four, and rules already lower-case, are left alone.
func TestMigration0007LowerCasesHandling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.Postgres(t)
	_, err := db.Exec(ctx, `DELETE FROM schema_migrations WHERE version = 7;
		INSERT INTO alert_rules (id, match_string, match_type, priority, prod_handling, dev_handling, team_assignment) VALUES
			(1, 'CRITICAL', 'contains', 10, 'Page_and_ticket', 'Ticket_only', 'NETO'),
			(2, 'ERROR', 'contains', 20, 'ticket_only', ' IGNORE ', 'NETO'),
			(3, 'WARN', 'contains', 30, 'page_only', 'ignore', 'NETO'),
			(4, 'ODD', 'contains', 40, 'Escalate', 'Page_Only', 'NETO')`)
	require.NoError(t, err)

	done, err := schema.Up(ctx, db, time.Now())
	require.NoError(t, err)
	require.Len(t, done, 1)
	require.Equal(t, 7, done[0].Version)

	texts := func(sql string) []string {
		t.Helper()
		rows, err := db.Query(ctx, sql)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	require.Equal(t, []string{
		"1 page_and_ticket ticket_only v2",
		"2 ticket_only ignore v2",
		"3 page_only ignore v1",
		"4 Escalate page_only v2",
	}, texts(`SELECT id || ' ' || prod_handling || ' ' || dev_handling || ' v' || version FROM alert_rules ORDER BY id`))
	require.Equal(t, []string{
		"migration:0007 UPDATE 1 Page_and_ticket -> page_and_ticket",
		"migration:0007 UPDATE 2 ticket_only -> ticket_only",
		"migration:0007 UPDATE 4 Escalate -> Escalate",
	}, texts(`SELECT changed_by || ' ' || operation || ' ' || record_id || ' ' || (old_values->>'prod_handling')
		|| ' -> ' || (new_values->>'prod_handling') FROM config_audit_log WHERE table_name = 'alert_rules' ORDER BY record_id`))
}
