package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutt-ops/mutt/internal/secrets"
)

// DefaultUser is the dedicated login role MUTT services use when secrets are
// in use (DB_USER); secrets.SetupPostgresRole creates it.
const DefaultUser = "mutt_app"

// Options open a pool.
type Options struct {
	URL string // DATABASE_URL
	// User is the login role (DB_USER). Empty: DB_USER from Secrets, else
	// the URL's user.
	User string
	// Secrets, when set, supplies DB_PASS_CURRENT and DB_PASS_NEXT for every
	// new connection. Nil: the URL's credentials, as before rotation existed.
	Secrets *secrets.Cache
	// Registerer receives mutt_secret_credential_*; nil keeps them private.
	Registerer prometheus.Registerer
}

// Open parses the URL, applies pool defaults, installs the dual-password
// BeforeConnect when Secrets are set, and checks the connection. Call the
// pool's Reset after a promotion to replace idle connections.
func Open(ctx context.Context, o Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	cfg.HealthCheckPeriod = 15 * time.Second
	if o.Secrets != nil {
		m, err := secrets.NewCredMetrics(o.Registerer)
		if err != nil {
			return nil, err
		}
		c := &chooser{user: o.User, cache: o.Secrets, m: m}
		cfg.BeforeConnect = c.beforeConnect
		cfg.AfterConnect = c.afterConnect
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return pool, nil
}

// CheckLogin opens one new connection to the server and database of url (its
// own credentials are replaced) as user with password, and closes it: the
// rotation check that a credential really works, without touching any pool.
func CheckLogin(ctx context.Context, url, user, password string) error {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	cfg.User, cfg.Password = user, password
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("log in to postgres at %s:%d as %q: %w", cfg.Host, cfg.Port, user, err)
	}
	return conn.Close(ctx)
}

// chooser picks the password of each new pool connection.
//
// pgxpool cannot retry a connection with another password (BeforeConnect runs
// once, and pgconn stops at the first 28P01), so the choice must be right
// before the real connection starts:
//   - one candidate (no rotation in progress, the common case): use it, one
//     connection set-up, nothing else;
//   - two candidates (CURRENT and NEXT during a rotation): prove the
//     preferred one (the last that worked, else CURRENT) with a raw
//     pgconn.Connect, and use the other when the server rejects it. That is
//     two set-ups per new connection, but only during the rotation window,
//     and pools open connections rarely (BenchmarkConnect measures both).
type chooser struct {
	user  string
	cache *secrets.Cache
	m     *secrets.CredMetrics
	good  atomic.Pointer[string] // password that last authenticated
}

type candidate struct{ password, which string }

func (c *chooser) candidates(s secrets.Snapshot) []candidate {
	var out []candidate
	for _, k := range []candidate{{s.Get(secrets.DBPassCurrent), "current"}, {s.Get(secrets.DBPassNext), "next"}} {
		if k.password != "" && (len(out) == 0 || out[0].password != k.password) {
			out = append(out, k)
		}
	}
	return out
}

func (c *chooser) beforeConnect(ctx context.Context, cfg *pgx.ConnConfig) error {
	s := c.cache.Snapshot()
	switch {
	case c.user != "":
		cfg.User = c.user
	case s.Get(secrets.DBUser) != "":
		cfg.User = s.Get(secrets.DBUser)
	}
	cands := c.candidates(s)
	switch len(cands) {
	case 0:
		return nil // secrets hold no database password: the URL's
	case 1:
		cfg.Password = cands[0].password
		return nil
	}
	if g := c.good.Load(); g != nil && *g == cands[1].password {
		cands[0], cands[1] = cands[1], cands[0]
	}
	probe := cfg.Config.Copy()
	probe.Password = cands[0].password
	probe.AfterConnect, probe.ValidateConnect, probe.Fallbacks = nil, nil, nil
	conn, err := pgconn.ConnectConfig(ctx, probe)
	if err == nil {
		_ = conn.Close(ctx)
		cfg.Password = cands[0].password
		return nil
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || (pgErr.Code != "28P01" && pgErr.Code != "28000") {
		// Not a password problem (server down…): let the real connection
		// report it with the preferred password.
		cfg.Password = cands[0].password
		return nil
	}
	c.m.Failures.WithLabelValues("postgres").Inc()
	cfg.Password = cands[1].password
	return nil
}

// afterConnect runs once the server accepted the connection: remember the
// password and count which secret it was.
func (c *chooser) afterConnect(_ context.Context, conn *pgx.Conn) error {
	pw := conn.Config().Password
	s := c.cache.Snapshot()
	switch pw {
	case s.Get(secrets.DBPassCurrent):
		c.m.Used.WithLabelValues("postgres", "current").Inc()
	case s.Get(secrets.DBPassNext):
		c.m.Used.WithLabelValues("postgres", "next").Inc()
	default:
		return nil // the URL's password, or the cache changed meanwhile
	}
	c.good.Store(&pw)
	return nil
}
