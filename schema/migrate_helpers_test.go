package schema_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/schema"
)

// migrateAgain runs setup on a migrated database (SQL that takes it back to
// before migration version, with the rows that migration has to fix), then
// migrates it again and checks that exactly that migration ran.
func migrateAgain(t *testing.T, db *pgxpool.Pool, version int, setup string) {
	t.Helper()
	ctx := context.Background()
	_, err := db.Exec(ctx, setup)
	require.NoError(t, err)
	done, err := schema.Up(ctx, db, time.Now())
	require.NoError(t, err)
	require.Len(t, done, 1)
	require.Equal(t, version, done[0].Version)
}

// texts is the one text column of every row of query.
func texts(t *testing.T, db *pgxpool.Pool, query string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), query)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}
