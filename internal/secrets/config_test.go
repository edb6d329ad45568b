package secrets

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/secrets/vaulttest"
)

func TestReadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("hvs.x\n"), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))

	cases := []struct {
		name    string
		env     map[string]string
		wantErr string // a variable name the error must mention; "" = valid
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults to the file provider", env: map[string]string{}, check: func(t *testing.T, c Config) {
			require.Equal(t, Config{Provider: "file", File: "./.mutt/secrets.json"}, c)
		}},
		{name: "file path", env: map[string]string{"MUTT_SECRETS_FILE": "/run/mutt/s.json"}, check: func(t *testing.T, c Config) {
			require.Equal(t, "/run/mutt/s.json", c.File)
		}},
		{name: "vault with token", env: map[string]string{
			"MUTT_SECRETS_PROVIDER": "vault", "VAULT_ADDR": "https://vault:8200", "VAULT_TOKEN": "hvs.t",
		}, check: func(t *testing.T, c Config) {
			require.Equal(t, "vault", c.Provider)
			require.Equal(t, "https://vault:8200", c.Vault.Addr)
			require.Equal(t, "hvs.t", c.Vault.Token)
			require.Equal(t, "secret", c.Vault.Mount)
			require.Equal(t, "mutt", c.Vault.Path)
		}},
		{name: "vault with approle, mount, path, namespace, tls", env: map[string]string{
			"MUTT_SECRETS_PROVIDER": "VAULT", "VAULT_ADDR": "https://vault:8200", "VAULT_ROLE_ID": "r",
			"VAULT_SECRET_ID_FILE": tokenFile, "VAULT_KV_MOUNT": "kv", "VAULT_SECRETS_PATH": "mutt/prod",
			"VAULT_NAMESPACE": "ops", "VAULT_CACERT": "/ca.pem", "VAULT_SKIP_VERIFY": "false",
		}, check: func(t *testing.T, c Config) {
			require.Equal(t, VaultConfig{
				Addr: "https://vault:8200", RoleID: "r", SecretIDFile: tokenFile, AppRoleMount: "approle",
				Mount: "kv", Path: "mutt/prod", Namespace: "ops", TLS: VaultTLS{CACert: "/ca.pem"},
			}, c.Vault)
		}},
		{name: "vault with token file", env: map[string]string{
			"MUTT_SECRETS_PROVIDER": "vault", "VAULT_ADDR": "http://127.0.0.1:8200", "VAULT_TOKEN_FILE": tokenFile,
		}},
		{name: "unknown provider", env: map[string]string{"MUTT_SECRETS_PROVIDER": "env"}, wantErr: "MUTT_SECRETS_PROVIDER"},
		{name: "vault without address", env: map[string]string{"MUTT_SECRETS_PROVIDER": "vault", "VAULT_TOKEN": "t"}, wantErr: "VAULT_ADDR"},
		{name: "vault address not a url", env: map[string]string{"MUTT_SECRETS_PROVIDER": "vault", "VAULT_ADDR": "vault:8200", "VAULT_TOKEN": "t"}, wantErr: "VAULT_ADDR"},
		{name: "vault without credentials", env: map[string]string{"MUTT_SECRETS_PROVIDER": "vault", "VAULT_ADDR": "http://v:8200"}, wantErr: "VAULT_TOKEN"},
		{name: "role without secret id", env: map[string]string{"MUTT_SECRETS_PROVIDER": "vault", "VAULT_ADDR": "http://v:8200", "VAULT_ROLE_ID": "r"}, wantErr: "VAULT_SECRET_ID"},
		{name: "secret id without role", env: map[string]string{"MUTT_SECRETS_PROVIDER": "vault", "VAULT_ADDR": "http://v:8200", "VAULT_SECRET_ID": "s"}, wantErr: "VAULT_ROLE_ID"},
		{name: "empty token file", env: map[string]string{"MUTT_SECRETS_PROVIDER": "vault", "VAULT_ADDR": "http://v:8200", "VAULT_TOKEN_FILE": empty}, wantErr: "VAULT_TOKEN_FILE"},
		{name: "missing secret id file", env: map[string]string{"MUTT_SECRETS_PROVIDER": "vault", "VAULT_ADDR": "http://v:8200", "VAULT_ROLE_ID": "r", "VAULT_SECRET_ID_FILE": filepath.Join(dir, "nope")}, wantErr: "VAULT_SECRET_ID_FILE"},
		{name: "peer's doubled path", env: map[string]string{"MUTT_SECRETS_PROVIDER": "vault", "VAULT_ADDR": "http://v:8200", "VAULT_TOKEN": "t", "VAULT_SECRETS_PATH": "secret/mutt"}, wantErr: "VAULT_SECRETS_PATH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := config.FromMap(tc.env)
			c := ReadConfig(e)
			if tc.wantErr != "" {
				require.Error(t, e.Err())
				require.Contains(t, e.Err().Error(), tc.wantErr+":")
				return
			}
			require.NoError(t, e.Err())
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "secrets.json")
	p, err := Open(ctx, Config{Provider: ProviderFile, File: path}, nil)
	require.NoError(t, err)
	require.IsType(t, &FileProvider{}, p)
	require.Equal(t, path, p.(*FileProvider).Path())

	srv := vaulttest.New(t)
	srv.AddAppRole("role", "sid")
	srv.Put("mutt", map[string]string{MoogAPIKey: "m"})
	e := config.FromMap(map[string]string{
		"MUTT_SECRETS_PROVIDER": "vault", "VAULT_ADDR": srv.Addr(), "VAULT_ROLE_ID": "role", "VAULT_SECRET_ID": "sid",
	})
	c := ReadConfig(e)
	require.NoError(t, e.Err())
	p, err = Open(ctx, c, nil)
	require.NoError(t, err)
	require.Equal(t, "vault", p.Name())
	cache, err := NewCache(ctx, p)
	require.NoError(t, err)
	require.Equal(t, "m", cache.Get(MoogAPIKey))
	require.Equal(t, 1, cache.Snapshot().Version)

	c.Vault.SecretID = "wrong"
	_, err = Open(ctx, c, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), srv.Addr())
	require.NotContains(t, err.Error(), "wrong")

	_, err = Open(ctx, Config{Provider: "consul"}, nil)
	require.Error(t, err)
}

func TestRunProviderReturnsWhenContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- RunProvider(ctx, NewFile(filepath.Join(t.TempDir(), "s.json"), nil)) }()
	cancel()
	require.NoError(t, <-done)
}
