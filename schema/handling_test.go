package schema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestMigration0004CanonicalHandling: rules stored before 0004 with a
// handling word in another case ("page_and_ticket", " IGNORE ") get the
// Python MUTT's spelling ("Page_and_ticket"), a new version and an audit row;
// a word that is none of the four, and rules already in that spelling, are
// left alone.
func TestMigration0004CanonicalHandling(t *testing.T) {
	t.Parallel()
	db := testenv.Postgres(t)
	migrateAgain(t, db, 4, `DELETE FROM schema_migrations WHERE version = 4;
		INSERT INTO alert_rules (id, match_string, match_type, priority, prod_handling, dev_handling, team_assignment) VALUES
			(1, 'CRITICAL', 'contains', 10, 'page_and_ticket', 'ticket_only', 'NETO'),
			(2, 'ERROR', 'contains', 20, 'Ticket_only', ' IGNORE ', 'NETO'),
			(3, 'WARN', 'contains', 30, 'Page_only', 'Ignore', 'NETO'),
			(4, 'ODD', 'contains', 40, 'escalate', 'PAGE_ONLY', 'NETO')`)

	require.Equal(t, []string{
		"1 Page_and_ticket Ticket_only v2",
		"2 Ticket_only Ignore v2",
		"3 Page_only Ignore v1",
		"4 escalate Page_only v2",
	}, texts(t, db, `SELECT id || ' ' || prod_handling || ' ' || dev_handling || ' v' || version FROM alert_rules ORDER BY id`))
	require.Equal(t, []string{
		"migration:0004 UPDATE 1 page_and_ticket -> Page_and_ticket",
		"migration:0004 UPDATE 2 Ticket_only -> Ticket_only",
		"migration:0004 UPDATE 4 escalate -> escalate",
	}, texts(t, db, `SELECT changed_by || ' ' || operation || ' ' || record_id || ' ' || (old_values->>'prod_handling')
		|| ' -> ' || (new_values->>'prod_handling') FROM config_audit_log WHERE table_name = 'alert_rules' ORDER BY record_id`))
}
