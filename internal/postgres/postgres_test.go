package postgres_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/postgres"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/secrets/secretstest"
	"github.com/mutt-ops/mutt/internal/testenv"
)

func set(t testing.TB, p *secretstest.Memory, c *secrets.Cache, current, next string) {
	t.Helper()
	ctx := context.Background()
	_, err := p.Write(ctx, map[string]string{secrets.DBUser: "mutt_app", secrets.DBPassCurrent: current, secrets.DBPassNext: next}, 0)
	require.NoError(t, err)
	require.NoError(t, c.Reload(ctx))
}

// privateWithRole starts a private cluster with a login role mutt_app
// (password A) and returns the superuser pool and a URL whose credentials
// are the superuser's (Open must replace them from the secrets).
func privateWithRole(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	ctx := context.Background()
	adminURL := testenv.PrivatePostgres(t)
	admin, err := pgxpool.New(ctx, adminURL)
	require.NoError(t, err)
	t.Cleanup(admin.Close)
	require.NoError(t, secrets.SetupPostgresRole(ctx, admin, "mutt_app", "pass-A", "postgres"))
	return admin, adminURL
}

func query(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	var user string
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_user").Scan(&user))
	require.Equal(t, "mutt_app", user)
}

func TestRotationNeverFailsAnAcquire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, adminURL := privateWithRole(t)
	p := &secretstest.Memory{}
	cache, err := secrets.NewCache(ctx, p)
	require.NoError(t, err)
	set(t, p, cache, "pass-A", "")
	reg := prometheus.NewRegistry()
	pool, err := postgres.Open(ctx, postgres.Options{URL: adminURL, Secrets: cache, Registerer: reg})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	query(t, pool)
	used := func(which string) float64 {
		return testenv.Metric(t, reg, "mutt_secret_credential_used_total", map[string]string{"backend": "postgres", "which": which})
	}
	require.GreaterOrEqual(t, used("current"), 1.0)

	// NEXT stored, then the backend switches the role to B while the cache
	// still says CURRENT=A: new connections fall back to B.
	set(t, p, cache, "pass-A", "pass-B")
	require.NoError(t, secrets.SetPostgresPassword(ctx, admin, "mutt_app", "pass-B"))
	pool.Reset()
	query(t, pool)
	require.GreaterOrEqual(t, used("next"), 1.0)
	require.GreaterOrEqual(t, testenv.Metric(t, reg, "mutt_secret_credential_failures_total", map[string]string{"backend": "postgres"}), 1.0)

	// Once B is known good it is tried first: no further rejected probe.
	failed := testenv.Metric(t, reg, "mutt_secret_credential_failures_total", map[string]string{"backend": "postgres"})
	pool.Reset()
	query(t, pool)
	require.Equal(t, failed, testenv.Metric(t, reg, "mutt_secret_credential_failures_total", map[string]string{"backend": "postgres"}))

	// Promotion reaches the cache.
	set(t, p, cache, "pass-B", "")
	cur := used("current")
	pool.Reset()
	query(t, pool)
	require.Greater(t, used("current"), cur)

	// Neither password works: the error names no secret.
	set(t, p, cache, "pass-X", "pass-Y")
	_, err = postgres.Open(ctx, postgres.Options{URL: adminURL, Secrets: cache, Registerer: reg})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "pass-X")
	require.NotContains(t, err.Error(), "pass-Y")
}

func TestUserComesFromOptionsThenSecretsThenURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, adminURL := privateWithRole(t)
	// Options.User wins over DB_USER in the secrets.
	cache := secrets.StaticCache(map[string]string{secrets.DBUser: "nobody", secrets.DBPassCurrent: "pass-A"})
	pool, err := postgres.Open(ctx, postgres.Options{URL: adminURL, User: "mutt_app", Secrets: cache})
	require.NoError(t, err)
	query(t, pool)
	pool.Close()

	// Without secrets the URL's credentials apply, as before.
	u, err := url.Parse(adminURL)
	require.NoError(t, err)
	u.User = url.UserPassword("mutt_app", "pass-A")
	pool, err = postgres.Open(ctx, postgres.Options{URL: u.String()})
	require.NoError(t, err)
	query(t, pool)
	pool.Close()
}

func TestCheckLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, adminURL := privateWithRole(t)
	require.NoError(t, postgres.CheckLogin(ctx, adminURL, "mutt_app", "pass-A"))
	err := postgres.CheckLogin(ctx, adminURL, "mutt_app", "wrong-pass")
	require.ErrorContains(t, err, "28P01")
	require.NotContains(t, err.Error(), "wrong-pass")
}

// BenchmarkConnect measures what a new pool connection costs: one candidate
// (no rotation) versus two (a rotation in progress, CURRENT still valid, so
// a probe precedes the real connection).
func BenchmarkConnect(b *testing.B) {
	ctx := context.Background()
	_, adminURL := privateWithRole(b)
	for _, bc := range []struct{ name, next string }{{"one_candidate", ""}, {"two_candidates", "pass-B"}} {
		b.Run(bc.name, func(b *testing.B) {
			p := &secretstest.Memory{}
			cache, err := secrets.NewCache(ctx, p)
			require.NoError(b, err)
			set(b, p, cache, "pass-A", bc.next)
			pool, err := postgres.Open(ctx, postgres.Options{URL: adminURL, Secrets: cache})
			require.NoError(b, err)
			defer pool.Close()
			for b.Loop() {
				pool.Reset()
				conn, err := pool.Acquire(ctx)
				require.NoError(b, err)
				conn.Release()
			}
		})
	}
}
