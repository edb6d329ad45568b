package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
)

func TestPlaintextOnlyLeavesTheMachineWithTLS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url       string
		plaintext bool
	}{
		{"http://vault.example.com:8200", true},
		{"https://vault.example.com:8200", false},
		{"http://127.0.0.1:8200", false},
		{"http://127.8.9.10:18083/events", false},
		{"http://localhost:18083/events", false},
		{"http://[::1]:18083/events", false},
		{"http://moogsoft.example.com/events", true},
		{"redis://redis.example.com:6379/0", true},
		{"rediss://redis.example.com:6379/0", false},
		{"redis://127.0.0.1:6379/0", false},
		{"postgres://db.example.com/mutt?sslmode=disable", true},
		{"postgres://db.example.com/mutt?sslmode=prefer", true},
		{"postgres://db.example.com/mutt?sslmode=allow", true},
		{"postgres://db.example.com/mutt", true}, // missing sslmode means prefer
		{"postgresql://db.example.com/mutt?sslmode=require", false},
		{"postgres://db.example.com/mutt?sslmode=verify-full", false},
		{"postgres://127.0.0.1:5432/mutt?sslmode=disable", false},
		{"postgres://localhost/mutt", false},
		{"postgres:///mutt?host=/var/run/postgresql", false},
		{"postgres://x/mutt?host=db.example.com&sslmode=disable", true},
		{"", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			require.Equal(t, tc.plaintext, config.Plaintext(tc.url) != "", config.Plaintext(tc.url))
		})
	}
}

func TestCheckTransportRefusesNamesTheVariableOrWarnsWhenAllowed(t *testing.T) {
	t.Parallel()
	names := []string{"REDIS_URL", "DATABASE_URL", "VAULT_ADDR", "MOOG_WEBHOOK_URL"}
	urls := map[string]string{
		"REDIS_URL":        "redis://redis.example.com:6379/0",
		"DATABASE_URL":     "postgres://db.example.com/mutt?sslmode=disable",
		"VAULT_ADDR":       "http://vault.example.com:8200",
		"MOOG_WEBHOOK_URL": "https://moog.example.com/events",
	}

	e := config.FromMap(nil)
	require.Empty(t, e.CheckTransport(false, names, urls))
	err := e.Err()
	require.Error(t, err)
	for _, n := range []string{"REDIS_URL: redis:// is plaintext", "DATABASE_URL: sslmode=disable", "VAULT_ADDR: http://"} {
		require.ErrorContains(t, err, n)
	}
	require.NotContains(t, err.Error(), "MOOG_WEBHOOK_URL")
	require.ErrorContains(t, err, "MUTT_ALLOW_INSECURE_TRANSPORT=true")

	e = config.FromMap(map[string]string{"MUTT_ALLOW_INSECURE_TRANSPORT": "true"})
	warnings := e.CheckTransport(false, names, urls)
	require.NoError(t, e.Err())
	require.Len(t, warnings, 3, "one warning per setting")
	require.Contains(t, warnings[0], "REDIS_URL")

	e = config.FromMap(nil)
	require.Empty(t, e.CheckTransport(true, names, urls), "mutt dev")
	require.NoError(t, e.Err())

	e = config.FromMap(map[string]string{"MUTT_ALLOW_INSECURE_TRANSPORT": "sometimes"})
	e.CheckTransport(false, nil, nil)
	require.ErrorContains(t, e.Err(), "MUTT_ALLOW_INSECURE_TRANSPORT")
}

func TestCheckSecretsFileRefusesAReadableFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secrets.json")
	e := config.FromMap(nil)
	e.CheckSecretsFile(false, "MUTT_SECRETS_FILE", path)
	require.NoError(t, e.Err(), "a missing file is created 0600 by setup")

	require.NoError(t, os.WriteFile(path, []byte("{}"), 0o600))
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o666} {
		require.NoError(t, os.Chmod(path, mode))
		e := config.FromMap(nil)
		e.CheckSecretsFile(false, "MUTT_SECRETS_FILE", path)
		require.ErrorContains(t, e.Err(), "MUTT_SECRETS_FILE: "+path, mode.String())
		require.ErrorContains(t, e.Err(), "chmod 600 "+path)
		e = config.FromMap(nil)
		e.CheckSecretsFile(true, "MUTT_SECRETS_FILE", path)
		require.NoError(t, e.Err(), "mutt dev")
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		require.NoError(t, os.Chmod(path, mode))
		e := config.FromMap(nil)
		e.CheckSecretsFile(false, "MUTT_SECRETS_FILE", path)
		require.NoError(t, e.Err())
	}
}
