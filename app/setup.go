package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/postgres"
	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/internal/secrets"
)

// Setup prepares the dedicated credentials the services log in with: it
// makes sure the secrets provider holds REDIS_PASS_CURRENT, DB_USER and
// DB_PASS_CURRENT (generating what is missing, with check-and-set), then
// creates or updates, through the admin connections, the Redis ACL user
// (REDIS_USERNAME, limited to MUTT_REDIS_PREFIX) and the PostgreSQL login role
// (DML only). For `mutt dev` it also stores cfg.DevKeys in the provider when
// it holds none, so they live where a rotation replaces them; keys given in
// the environment are never copied. Idempotent; never prints a secret.
func Setup(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) error {
	prov, err := secrets.Open(ctx, cfg.Secrets, log)
	if err != nil {
		return err
	}
	snap, err := prov.Read(ctx)
	if err != nil {
		return fmt.Errorf("read secrets: %w", err)
	}
	values := map[string]string{}
	for k, v := range snap.Values {
		values[k] = v
	}
	role := cfg.DBUser
	if role == "" {
		role = values[secrets.DBUser]
	}
	if role == "" {
		role = postgres.DefaultUser
	}
	changed := false
	for _, k := range []string{secrets.RedisPassCurrent, secrets.DBPassCurrent, secrets.KeyFingerprintSecret} {
		if values[k] == "" {
			if values[k], err = generate(); err != nil {
				return err
			}
			changed = true
		}
	}
	if values[secrets.DBUser] != role {
		values[secrets.DBUser], changed = role, true
	}
	var seeded []string
	for k, v := range cfg.DevKeys {
		if values[k] == "" && values[k+"_NEXT"] == "" {
			values[k] = v
			seeded = append(seeded, k)
		}
	}
	slices.Sort(seeded)
	if changed || len(seeded) > 0 {
		if _, err := prov.Write(ctx, values, snap.Version); err != nil {
			return fmt.Errorf("store generated credentials in %s: %w", prov.Name(), err)
		}
		if changed {
			fmt.Fprintf(out, "setup: stored generated credentials in the %s secrets provider\n", prov.Name())
		}
		if len(seeded) > 0 {
			fmt.Fprintf(out, "setup: stored the development API keys (%s) in the %s secrets provider; "+
				"a rotation (muttdev rotate ingest_api_key|webui_api_key) replaces them\n", strings.Join(seeded, ", "), prov.Name())
		}
	}
	if cfg.RedisUsername == "" || cfg.RedisUsername == "default" {
		return errors.New("REDIS_USERNAME: set a dedicated ACL user (not default)")
	}
	admin, err := redisconn.Open(ctx, redisconn.Options{URL: cfg.RedisAdminURL, Cluster: cfg.RedisCluster})
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	if cfg.DisableDefaultRedisUser {
		// Checked before anything changes: disabling the user the admin
		// connection logs in as would lock setup and the worker out.
		if err := secrets.CheckNamedAdmin(ctx, admin); err != nil {
			return err
		}
	}
	if err := secrets.SetupRedisUser(ctx, admin, cfg.RedisUsername, values[secrets.RedisPassCurrent], cfg.RedisPrefix); err != nil {
		return fmt.Errorf("set up redis user %s: %w", cfg.RedisUsername, err)
	}
	fmt.Fprintf(out, "setup: redis ACL user %q limited to keys %s*\n", cfg.RedisUsername, cfg.RedisPrefix)
	if err := setupDefaultRedisUser(ctx, cfg, admin, values[secrets.RedisPassCurrent], log, out); err != nil {
		return err
	}
	persisted, err := secrets.PersistRedisACL(ctx, admin)
	if err != nil {
		return err
	}
	switch persisted {
	case secrets.ACLInACLFile:
		fmt.Fprintln(out, "setup: redis ACL users saved to Redis's aclfile (ACL SAVE): they survive a restart")
	case secrets.ACLInConfigFile:
		fmt.Fprintln(out, "setup: redis ACL users saved to Redis's configuration file (CONFIG REWRITE): they survive a restart")
	default:
		fmt.Fprintln(out, "setup: WARNING: "+secrets.ACLPersistenceAdvice)
		log.Warn("redis ACL users are not persisted", "advice", secrets.ACLPersistenceAdvice)
	}
	db, err := postgres.Open(ctx, postgres.Options{URL: cfg.DatabaseAdminURL})
	if err != nil {
		return err
	}
	defer db.Close()
	dbName := databaseName(cfg.DatabaseURL)
	if err := secrets.SetupPostgresRole(ctx, db, role, values[secrets.DBPassCurrent], dbName); err != nil {
		return fmt.Errorf("set up postgres role %s: %w", role, err)
	}
	fmt.Fprintf(out, "setup: postgres role %q with the services' table privileges on database %s (docs/SECURITY.md)\n", role, dbName)
	return nil
}

// setupDefaultRedisUser disables Redis's default user when cfg asks for it,
// after proving that the dedicated user logs in with its password (so the
// services are not left without a way in); otherwise it points out a default
// user that can still run every command.
func setupDefaultRedisUser(ctx context.Context, cfg Config, admin redis.UniversalClient, password string, log *slog.Logger, out io.Writer) error {
	if !cfg.DisableDefaultRedisUser {
		if u, err := secrets.InspectRedisUser(ctx, admin, "default"); err == nil && u.Enabled && u.AllCommands {
			fmt.Fprintln(out, "setup: WARNING: "+secrets.DefaultUserWarning)
		}
		return nil
	}
	if err := redisconn.CheckLogin(ctx, cfg.RedisURL, cfg.RedisCluster, cfg.RedisUsername, password); err != nil {
		return fmt.Errorf("the redis default user was left as it is: %w", err)
	}
	if err := secrets.DisableDefaultRedisUser(ctx, admin); err != nil {
		return err
	}
	who, _ := admin.Do(ctx, "ACL", "WHOAMI").Text()
	fmt.Fprintf(out, "setup: redis default user disabled (ACL SETUSER default reset); the admin connection logs in as %q\n", who)
	log.Info("redis default user disabled", "admin_user", who)
	return nil
}

func generate() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func databaseName(dbURL string) string {
	if u, err := url.Parse(dbURL); err == nil {
		return strings.TrimPrefix(u.Path, "/")
	}
	return ""
}
