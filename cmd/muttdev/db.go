package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/mutt-ops/mutt/schema"
)

// MigrationStatus is one migration in `db status` / `db migrate`.
type MigrationStatus struct {
	Version   int        `json:"version"`
	Name      string     `json:"name"`
	AppliedAt *time.Time `json:"applied_at"` // null while pending
}

// Partition is one partition of event_audit_log.
type Partition struct {
	Name string `json:"name"`
	// Bound is PostgreSQL's partition bound ("FOR VALUES FROM (...) TO (...)" or "DEFAULT").
	Bound string `json:"bound"`
	// EstimatedRows is the planner's estimate (-1: never analysed); Rows is
	// an exact count, given for the DEFAULT partition only (it should be 0).
	EstimatedRows int64  `json:"estimated_rows"`
	Rows          *int64 `json:"rows,omitempty"`
}

// Partitions is `db partitions --output json`.
type Partitions struct {
	Partitions  []Partition `json:"partitions"`
	DefaultRows int64       `json:"default_rows"`
}

const partitionsSQL = `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'event_audit_log'::regclass ORDER BY c.relname`

// defaultRowsCap bounds the exact count of the DEFAULT partition.
const defaultRowsCap = 1_000_000

func newDBCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Database migrations and audit partitions (DATABASE_ADMIN_URL, else DATABASE_URL)",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRunE,
	}
	withDB := func(fn func(ctx context.Context, db *pgxpool.Pool) error) func(*cobra.Command, []string) error {
		return run(func(c *cobra.Command, _ []string) error {
			db, err := a.db(c.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			return fn(c.Context(), db)
		})
	}
	migrate := &cobra.Command{
		Use: "migrate", Short: "Apply the pending migrations (idempotent)", Args: cobra.NoArgs,
		RunE: withDB(func(ctx context.Context, db *pgxpool.Pool) error {
			done, err := schema.Up(ctx, db, time.Now())
			applied := []MigrationStatus{}
			for _, m := range done {
				applied = append(applied, MigrationStatus{Version: m.Version, Name: m.Name})
			}
			if err != nil {
				return err
			}
			return a.emit(map[string]any{"applied": applied}, func(w io.Writer) error {
				for _, m := range applied {
					fmt.Fprintf(w, "applied %04d_%s\n", m.Version, m.Name)
				}
				if len(applied) == 0 {
					fmt.Fprintln(w, "database is up to date")
				}
				return nil
			})
		}),
	}
	status := &cobra.Command{
		Use: "status", Short: "Every migration and when it was applied", Args: cobra.NoArgs,
		RunE: withDB(func(ctx context.Context, db *pgxpool.Pool) error {
			st, err := schema.List(ctx, db)
			if err != nil {
				return err
			}
			out := make([]MigrationStatus, len(st))
			pending := 0
			for i, s := range st {
				out[i] = MigrationStatus{Version: s.Version, Name: s.Name}
				if !s.AppliedAt.IsZero() {
					t := s.AppliedAt.UTC()
					out[i].AppliedAt = &t
				} else {
					pending++
				}
			}
			return a.emit(map[string]any{"migrations": out, "pending": pending}, func(w io.Writer) error {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
				for _, m := range out {
					fmt.Fprintf(tw, "%04d\t%s\t%s\n", m.Version, m.Name, fmtTimeOr(m.AppliedAt, "pending"))
				}
				return tw.Flush()
			})
		}),
	}
	partitions := &cobra.Command{
		Use: "partitions", Short: "Partitions of event_audit_log, and rows in the DEFAULT partition", Args: cobra.NoArgs,
		RunE: withDB(func(ctx context.Context, db *pgxpool.Pool) error {
			p, err := listPartitions(ctx, db)
			if err != nil {
				return err
			}
			if err := a.emit(p, func(w io.Writer) error {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PARTITION\tBOUND\tROWS (ESTIMATE)")
				for _, x := range p.Partitions {
					fmt.Fprintf(tw, "%s\t%s\t%d\n", x.Name, x.Bound, x.EstimatedRows)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(w, "\nrows in the DEFAULT partition: %d\n", p.DefaultRows)
				return nil
			}); err != nil {
				return err
			}
			if p.DefaultRows > 0 {
				return &exitError{code: exitFailure, err: fmt.Errorf("%d rows are in the DEFAULT partition: run PartitionMaintenanceWorkflow (docs/runbooks/ops-plane.md)", p.DefaultRows)}
			}
			return nil
		}),
	}
	cmd.AddCommand(migrate, status, partitions)
	return cmd
}

func listPartitions(ctx context.Context, db *pgxpool.Pool) (Partitions, error) {
	rows, err := db.Query(ctx, partitionsSQL)
	if err != nil {
		return Partitions{}, fmt.Errorf("list partitions: %w", err)
	}
	parts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Partition, error) {
		var p Partition
		err := r.Scan(&p.Name, &p.Bound, &p.EstimatedRows)
		return p, err
	})
	if err != nil {
		return Partitions{}, fmt.Errorf("list partitions: %w", err)
	}
	out := Partitions{Partitions: parts}
	for i := range out.Partitions {
		if out.Partitions[i].Bound != "DEFAULT" {
			continue
		}
		var n int64
		q := fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM %s LIMIT %d) d`,
			pgx.Identifier{out.Partitions[i].Name}.Sanitize(), defaultRowsCap)
		if err := db.QueryRow(ctx, q).Scan(&n); err != nil {
			return Partitions{}, fmt.Errorf("count rows in %s: %w", out.Partitions[i].Name, err)
		}
		out.Partitions[i].Rows = &n
		out.DefaultRows += n
	}
	return out, nil
}

func fmtTimeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Format(time.RFC3339)
}
