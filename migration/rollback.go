package migration

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Rollback undoes FromPython: MUTT's relations in public (its tables,
// partitions, views and schema_migrations) move to a new schema
// mutt_go_rollback_<UTC time>, never dropped, so rows written by MUTT after
// the cut-over can still be read or copied back; the Python objects move
// back from PythonSchema to public, exactly as they were. It returns the name
// of the schema holding MUTT's relations.
func Rollback(ctx context.Context, db *pgxpool.Pool, now time.Time) (string, error) {
	ok, err := exists(ctx, db, PythonSchema+".alert_rules")
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("nothing to roll back: %s.alert_rules does not exist (never migrated, or --finalize dropped it)", PythonSchema)
	}
	dest := "mutt_go_rollback_" + now.UTC().Format("20060102150405")
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+dest); err != nil {
			return fmt.Errorf("create %s: %w", dest, err)
		}
		// Every relation in public that is not part of an extension: MUTT's
		// tables (owned sequences and indexes follow them), partitions, views.
		ours, err := relations(ctx, tx, "public")
		if err != nil {
			return err
		}
		for _, r := range ours {
			if _, err := tx.Exec(ctx, `ALTER `+r.kind+` public.`+pgx.Identifier{r.name}.Sanitize()+` SET SCHEMA `+dest); err != nil {
				return fmt.Errorf("move %s to %s: %w", r.name, dest, err)
			}
		}
		theirs, err := relations(ctx, tx, PythonSchema)
		if err != nil {
			return err
		}
		for _, r := range theirs {
			to := "public"
			if r.name == "mutt_migration_state" {
				to = dest
			}
			if _, err := tx.Exec(ctx, `ALTER `+r.kind+` `+PythonSchema+`.`+pgx.Identifier{r.name}.Sanitize()+` SET SCHEMA `+to); err != nil {
				return fmt.Errorf("move %s back: %w", r.name, err)
			}
		}
		rows, err := tx.Query(ctx, `SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = $1::regnamespace`, PythonSchema)
		if err != nil {
			return fmt.Errorf("list functions: %w", err)
		}
		funcs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("list functions: %w", err)
		}
		for _, f := range funcs {
			if _, err := tx.Exec(ctx, `ALTER FUNCTION `+f+` SET SCHEMA public`); err != nil {
				return fmt.Errorf("move %s back: %w", f, err)
			}
		}
		// Our migration index on the Python table is not the Python schema's.
		if _, err := tx.Exec(ctx, `DROP INDEX IF EXISTS public.mutt_migration_audit_id`); err != nil {
			return fmt.Errorf("drop migration index: %w", err)
		}
		if _, err := tx.Exec(ctx, `DROP SCHEMA `+PythonSchema); err != nil { // RESTRICT: only if empty
			return fmt.Errorf("drop empty schema %s: %w", PythonSchema, err)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("rollback: %w", err)
	}
	return dest, nil
}

type relation struct{ kind, name string }

// relations lists the tables (partitions included) and views of a schema that
// no extension owns. Sequences and indexes move with their tables.
func relations(ctx context.Context, tx pgx.Tx, nsp string) ([]relation, error) {
	rows, err := tx.Query(ctx, `SELECT CASE WHEN c.relkind IN ('v') THEN 'VIEW' WHEN c.relkind = 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, c.relname
		FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
		AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
		ORDER BY c.relispartition DESC, c.relname`, nsp)
	if err != nil {
		return nil, fmt.Errorf("list relations of %s: %w", nsp, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (relation, error) {
		var x relation
		err := r.Scan(&x.kind, &x.name)
		return x, err
	})
}

// Finalize drops the Python objects kept in PythonSchema. Run it once MUTT is
// verified: afterwards Rollback is no longer possible.
func Finalize(ctx context.Context, db *pgxpool.Pool) error {
	ok, err := exists(ctx, db, PythonSchema+".mutt_migration_state")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("nothing to finalize: schema %s holds no adopted Python MUTT", PythonSchema)
	}
	var unfinished int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM `+PythonSchema+`.mutt_migration_state s
		WHERE s.step = 'event_audit_log' AND s.last_id < (SELECT coalesce(max(id), 0) FROM `+PythonSchema+`.event_audit_log)`).Scan(&unfinished); err != nil {
		return fmt.Errorf("check progress: %w", err)
	}
	if unfinished > 0 {
		return fmt.Errorf("the event audit copy is not finished: rerun `mutt migrate from-python` first")
	}
	if _, err := db.Exec(ctx, `DROP SCHEMA `+PythonSchema+` CASCADE`); err != nil {
		return fmt.Errorf("drop %s: %w", PythonSchema, err)
	}
	return nil
}
