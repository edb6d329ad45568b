package secrets_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// adminOf is a client of the server's default user (no password yet).
func adminOf(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// logsIn says whether user/password can log in on a fresh connection.
func logsIn(t *testing.T, addr, user, password string) error {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: password, MaxRetries: -1})
	defer func() { _ = c.Close() }()
	return c.Ping(context.Background()).Err()
}

// TestPersistRedisACLKeepsUsersAcrossRestarts: with an aclfile the users are
// saved with ACL SAVE, with a configuration file with CONFIG REWRITE, and a
// kill -9 and restart keeps them; with neither, PersistRedisACL says so and
// the restart loses the user (what issue 8 saw with AOF alone).
func TestPersistRedisACLKeepsUsersAcrossRestarts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opts    testenv.RedisServerOptions
		want    secrets.ACLPersistence
		file    string
		survive bool
	}{
		{"aclfile", testenv.RedisServerOptions{AOF: true, ACLFile: true}, secrets.ACLInACLFile, "users.acl", true},
		{"config file", testenv.RedisServerOptions{AOF: true, ConfigFile: true}, secrets.ACLInConfigFile, "redis.conf", true},
		{"neither (AOF only)", testenv.RedisServerOptions{AOF: true}, secrets.ACLNotPersisted, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			srv := testenv.StartRedis(t, tc.opts)
			admin := adminOf(t, srv.Addr)
			require.NoError(t, secrets.SetupRedisUser(ctx, admin, "mutt", "pw-1", "mutt:"))
			got, err := secrets.PersistRedisACL(ctx, admin)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			if tc.file != "" {
				raw, err := os.ReadFile(filepath.Join(srv.Dir, tc.file))
				require.NoError(t, err)
				require.Contains(t, string(raw), "user mutt on")
				require.NotContains(t, string(raw), "pw-1", "Redis stores password hashes, never the password")
			}
			srv.Kill()
			srv.Start()
			err = logsIn(t, srv.Addr, "mutt", "pw-1")
			if tc.survive {
				require.NoError(t, err, "the user survived the restart")
			} else {
				require.ErrorContains(t, err, "WRONGPASS", "without an aclfile or config file the user is gone")
			}
		})
	}
}

// TestEnsureRedisUserRecreatesOnlyAMissingUser: a user Redis lost comes back
// with every password given (a rotation in flight keeps both); a user that
// exists is left exactly as it is.
func TestEnsureRedisUserRecreatesOnlyAMissingUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := testenv.StartRedis(t, testenv.RedisServerOptions{})
	admin := adminOf(t, srv.Addr)

	created, persisted, err := secrets.EnsureRedisUser(ctx, admin, "mutt", "mutt:", "cur", "", "next")
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, secrets.ACLNotPersisted, persisted)
	require.NoError(t, logsIn(t, srv.Addr, "mutt", "cur"))
	require.NoError(t, logsIn(t, srv.Addr, "mutt", "next"))
	u, err := secrets.InspectRedisUser(ctx, admin, "mutt")
	require.NoError(t, err)
	require.Equal(t, secrets.RedisUserACL{Exists: true, Enabled: true}, u, "MUTT's rules, not every command or key")

	created, _, err = secrets.EnsureRedisUser(ctx, admin, "mutt", "mutt:", "other")
	require.NoError(t, err)
	require.False(t, created)
	require.ErrorContains(t, logsIn(t, srv.Addr, "mutt", "other"), "WRONGPASS", "an existing user is not touched")

	_, _, err = secrets.EnsureRedisUser(ctx, admin, "gone", "mutt:")
	require.ErrorContains(t, err, "no password")
}

// TestDisableDefaultRedisUser: refused while the admin connection is the
// default user (nothing changes); with a named admin the default user ends
// up off with no commands, the admin and MUTT's user still log in, and a
// connection without a login is refused.
func TestDisableDefaultRedisUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := testenv.StartRedis(t, testenv.RedisServerOptions{})
	asDefault := adminOf(t, srv.Addr)
	require.NoError(t, secrets.SetupRedisUser(ctx, asDefault, "mutt", "pw", "mutt:"))

	err := secrets.DisableDefaultRedisUser(ctx, asDefault)
	require.ErrorContains(t, err, "REDIS_ADMIN_URL: logs in as the Redis default user")
	d, err := secrets.InspectRedisUser(ctx, asDefault, "default")
	require.NoError(t, err)
	require.Equal(t, secrets.RedisUserACL{Exists: true, Enabled: true, NoPass: true, AllCommands: true, AllKeys: true}, d,
		"refused before changing anything")

	require.NoError(t, asDefault.Do(ctx, "ACL", "SETUSER", "mutt_admin", "on", ">admin-pw", "~*", "&*", "+@all").Err())
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "mutt_admin", Password: "admin-pw"})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, secrets.DisableDefaultRedisUser(ctx, admin))

	d, err = secrets.InspectRedisUser(ctx, admin, "default")
	require.NoError(t, err)
	require.Equal(t, secrets.RedisUserACL{Exists: true}, d, "off, no password, no commands, no keys")
	require.NoError(t, logsIn(t, srv.Addr, "mutt_admin", "admin-pw"))
	require.NoError(t, logsIn(t, srv.Addr, "mutt", "pw"))
	anon := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2, MaxRetries: -1})
	t.Cleanup(func() { _ = anon.Close() })
	err = anon.Ping(ctx).Err()
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "NOAUTH"), err.Error())
}
