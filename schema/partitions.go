package schema

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PartitionName is the name of the event_audit_log partition holding month m (UTC).
func PartitionName(m time.Time) string {
	return "event_audit_log_p" + m.UTC().Format("200601")
}

// MonthStart is the first instant of t's month in UTC.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// EnsurePartitions creates the monthly partitions of event_audit_log for the
// month of now and the months-1 following ones (UTC boundaries) where missing.
// It returns the names it created.
func EnsurePartitions(ctx context.Context, db *pgxpool.Pool, now time.Time, months int) ([]string, error) {
	var created []string
	start := MonthStart(now)
	for i := 0; i < months; i++ {
		from := start.AddDate(0, i, 0)
		to := from.AddDate(0, 1, 0)
		name := PartitionName(from)
		var exists bool
		if err := db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, "public."+name).Scan(&exists); err != nil {
			return created, fmt.Errorf("check partition %s: %w", name, err)
		}
		if exists {
			continue
		}
		// Bounds are rendered as UTC timestamps so the session time zone cannot shift them.
		sql := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF event_audit_log FOR VALUES FROM ('%s') TO ('%s')`,
			pgx.Identifier{name}.Sanitize(), from.Format(time.RFC3339), to.Format(time.RFC3339))
		if _, err := db.Exec(ctx, sql); err != nil {
			return created, fmt.Errorf("create partition %s: %w", name, err)
		}
		created = append(created, name)
	}
	return created, nil
}
