// Package testenv gives integration tests isolated pieces of the real Redis and
// PostgreSQL that `make test` starts: a fresh migrated database per call and a
// unique Redis key prefix per call, both removed when the test ends. It is
// imported only by tests.
package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/schema"
)

// RedisURL is the server tests use (TEST_REDIS_URL, default the local one).
func RedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// AdminDatabaseURL is the server tests create databases on (TEST_DATABASE_URL).
func AdminDatabaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Redis returns a client and a key layout under a prefix unique to this test;
// every key under the prefix is deleted at cleanup.
func Redis(t testing.TB) (*redis.Client, keyspace.Keys) {
	t.Helper()
	NeedsServices(t, "Redis")
	opts, err := redis.ParseURL(RedisURL())
	require.NoError(t, err)
	c := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.Ping(ctx).Err(), "redis must run (make test starts it)")
	prefix := "test:" + uuid.NewString()[:12] + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = c.Del(ctx, keys...).Err()
		}
		_ = c.Close()
	})
	return c, keyspace.New(prefix, 1)
}

// DatabaseURL creates an empty database for this test, dropped at cleanup.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	NeedsServices(t, "PostgreSQL")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminDatabaseURL())
	require.NoError(t, err, "postgres must run (make test starts it)")
	name := "mutt_test_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	require.NoError(t, admin.Close(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, AdminDatabaseURL())
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer func() { _ = admin.Close(ctx) }()
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(AdminDatabaseURL())
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// Postgres returns a pool on a fresh database with every migration applied.
func Postgres(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return PostgresAt(t, DatabaseURL(t))
}

// PostgresAt opens a pool on dbURL, migrates it, and closes it at cleanup.
func PostgresAt(t testing.TB, dbURL string) *pgxpool.Pool {
	t.Helper()
	NeedsServices(t, "PostgreSQL")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = schema.Up(ctx, pool, time.Now())
	require.NoError(t, err, fmt.Sprintf("migrate %s", dbURL))
	return pool
}

// DropLogins removes a test's Redis ACL user and PostgreSQL login role (both
// server-wide). Register it with t.Cleanup before the test's database is
// created: cleanups run in reverse order, and a role that still owns grants in
// a database cannot be dropped.
func DropLogins(t testing.TB, redisUser, pgRole string) {
	t.Helper()
	NeedsServices(t, "Redis and PostgreSQL")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if opts, err := redis.ParseURL(RedisURL()); err == nil {
		c := redis.NewClient(opts)
		_ = c.Do(ctx, "ACL", "DELUSER", redisUser).Err()
		_ = c.Close()
	}
	conn, err := pgx.Connect(ctx, AdminDatabaseURL())
	if err != nil {
		return
	}
	defer func() { _ = conn.Close(ctx) }()
	_, _ = conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{pgRole}.Sanitize())
}
