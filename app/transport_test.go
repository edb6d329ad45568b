package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
)

// Outside mutt dev, every connection that leaves the machine needs TLS
// unless MUTT_ALLOW_INSECURE_TRANSPORT says otherwise, and the secrets file
// must be private; mutt dev accepts both.
func TestReadConfigRefusesPlaintextAndAReadableSecretsFileOutsideDev(t *testing.T) {
	t.Parallel()
	secretsFile := filepath.Join(t.TempDir(), "secrets.json")
	require.NoError(t, os.WriteFile(secretsFile, []byte("{}"), 0o644))
	env := func(extra map[string]string) *config.Env {
		m := map[string]string{
			"REDIS_URL":          "redis://redis.internal:6379/0",
			"DATABASE_URL":       "postgres://db.internal/mutt?sslmode=disable",
			"DATABASE_ADMIN_URL": "postgres://admin@db.internal/mutt",
			"MOOG_WEBHOOK_URL":   "http://moog.example.com/events",
			"MUTT_SECRETS_FILE":  secretsFile,
		}
		for k, v := range extra {
			m[k] = v
		}
		return config.FromMap(m)
	}
	roles := []app.Role{app.Forwarder}
	_, err := app.ReadConfig(env(nil), false, roles)
	for _, n := range []string{"REDIS_URL", "DATABASE_URL", "DATABASE_ADMIN_URL", "MOOG_WEBHOOK_URL", "chmod 600 " + secretsFile} {
		require.ErrorContains(t, err, n)
	}
	require.NotContains(t, err.Error(), "REDIS_ADMIN_URL", "an unset admin URL is the service URL: one message")

	_, err = app.ReadConfig(env(nil), true, roles)
	require.NoError(t, err, "mutt dev")

	require.NoError(t, os.Chmod(secretsFile, 0o600))
	cfg, err := app.ReadConfig(env(map[string]string{"MUTT_ALLOW_INSECURE_TRANSPORT": "true"}), false, roles)
	require.NoError(t, err)
	require.Len(t, cfg.InsecureTransport, 4)

	cfg, err = app.ReadConfig(env(map[string]string{"REDIS_URL": "rediss://redis.internal:6379/0",
		"DATABASE_URL": "postgres://db.internal/mutt?sslmode=verify-full", "DATABASE_ADMIN_URL": "postgres://127.0.0.1/mutt",
		"MOOG_WEBHOOK_URL":      "https://moog.example.com/events",
		"MUTT_SECRETS_PROVIDER": "vault", "VAULT_ADDR": "http://vault.internal:8200", "VAULT_TOKEN": "t"}), false, roles)
	require.ErrorContains(t, err, "VAULT_ADDR: http:// is plaintext to vault.internal")
	require.Empty(t, cfg.InsecureTransport)
}
