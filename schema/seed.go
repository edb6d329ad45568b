package schema

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SeedExamples loads the example rules, development hosts and device teams of
// MUTT v2.5 into empty tables (a table that has rows is left alone), so a new
// installation has something to match. The SNMP rule's OID is stored without
// the leading dot the peer used. It reports whether it inserted rules.
func SeedExamples(ctx context.Context, db *pgxpool.Pool) (bool, error) {
	seeded := false
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM alert_rules`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			seeded = true
			if _, err := tx.Exec(ctx, `INSERT INTO alert_rules
				(match_string, trap_oid, match_type, priority, prod_handling, dev_handling, team_assignment) VALUES
				('CRITICAL', NULL, 'contains', 10, 'Page_and_ticket', 'Ticket_only', 'NETO'),
				('ERROR', NULL, 'contains', 20, 'Ticket_only', 'Ignore', 'NETO'),
				('LINK-DOWN', NULL, 'contains', 5, 'Page_and_ticket', 'Ticket_only', 'NetOps'),
				('DOT1X-FIRMWARE-RUNNING', NULL, 'contains', 50, 'Ticket_only', 'Ignore', 'Security'),
				(NULL, '1.3.6.1.4.1.9.9.41.2', 'oid_prefix', 15, 'Page_and_ticket', 'Ignore', 'NetOps')`); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO development_hosts (hostname)
			SELECT h FROM unnest(ARRAY['dev-router1','test-switch1','qa-firewall1']) AS h
			WHERE NOT EXISTS (SELECT 1 FROM development_hosts)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO device_teams (hostname, team_assignment)
			SELECT h, t FROM unnest(
				ARRAY['router1.prod.example.com','switch1.prod.example.com','firewall1.prod.example.com','server1.prod.example.com'],
				ARRAY['NetOps','NetOps','Security','SysAdmin']) AS x(h, t)
			WHERE NOT EXISTS (SELECT 1 FROM device_teams)`)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("seed examples: %w", err)
	}
	return seeded, nil
}
