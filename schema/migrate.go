package schema

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one embedded migration file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		num, rest, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Status is one migration and when it was applied (zero if pending).
type Status struct {
	Migration
	AppliedAt time.Time
}

// lockID serialises migrators across processes (any number of replicas may run
// `mutt migrate up` at once).
const lockID = 0x6d757474 // "mutt"

const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`

// Up applies every pending migration, each in its own transaction, then makes
// sure the audit partitions for the current and next month (UTC) exist. It
// returns the migrations it applied.
func Up(ctx context.Context, db *pgxpool.Pool, now time.Time) ([]Migration, error) {
	conn, err := db.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockID); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockID) }()
	if _, err := conn.Exec(ctx, createVersionTable); err != nil {
		return nil, fmt.Errorf("migrate: version table: %w", err)
	}
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	applied, err := appliedVersions(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	if _, ok := applied[1]; !ok {
		python, err := IsPythonDatabase(ctx, conn.Conn())
		if err != nil {
			return nil, err
		}
		if python {
			return nil, ErrPythonDatabase
		}
	}
	var done []Migration
	for _, m := range all {
		if _, ok := applied[m.Version]; ok {
			continue
		}
		err := pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		done = append(done, m)
	}
	if _, err := EnsurePartitions(ctx, db, now, 2); err != nil {
		return done, err
	}
	return done, nil
}

// ErrPythonDatabase is returned by Up on a database of the Python MUTT v2.x
// that was not adopted yet: its tables carry our names, so migration 0001
// would fail half-way; `mutt migrate from-python` adopts it instead.
var ErrPythonDatabase = errors.New("this database holds a Python MUTT v2.x schema (alert_rules without MUTT's columns): " +
	"adopt it with `mutt migrate from-python --dry-run`, then `mutt migrate from-python` (docs/MIGRATION_FROM_PYTHON_MUTT.md)")

// IsPythonDatabase reports whether public.alert_rules exists in the Python
// MUTT's form (no version column), i.e. the database still needs adopting.
func IsPythonDatabase(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var python bool
	err := conn.QueryRow(ctx, `SELECT to_regclass('public.alert_rules') IS NOT NULL AND NOT EXISTS (
		SELECT 1 FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = 'alert_rules' AND column_name = 'version')`).Scan(&python)
	if err != nil {
		return false, fmt.Errorf("inspect database: %w", err)
	}
	return python, nil
}

func appliedVersions(ctx context.Context, conn *pgx.Conn) (map[int]time.Time, error) {
	rows, err := conn.Query(ctx, `SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	out := map[int]time.Time{}
	for rows.Next() {
		var v int
		var at time.Time
		if err := rows.Scan(&v, &at); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		out[v] = at
	}
	return out, rows.Err()
}

// List reports every embedded migration and whether it is applied.
func List(ctx context.Context, db *pgxpool.Pool) ([]Status, error) {
	conn, err := db.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, createVersionTable); err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	applied, err := appliedVersions(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	out := make([]Status, len(all))
	for i, m := range all {
		out[i] = Status{Migration: m, AppliedAt: applied[m.Version]}
	}
	return out, nil
}
