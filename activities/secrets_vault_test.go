package activities

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	vault "github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/secrets/vaulttest"
)

// rotationProvider makes a provider holding initial values, private to one
// test, so the rotation workflow tests run against each kind of provider.
type rotationProvider struct {
	name string
	new  func(t *testing.T, initial map[string]string) secrets.Provider
}

func rotationProviders() []rotationProvider {
	return []rotationProvider{
		{name: "memory", new: func(_ *testing.T, initial map[string]string) secrets.Provider {
			return newMemProvider(initial)
		}},
		{name: "vault", new: newTestVaultProvider},
	}
}

// newTestVaultProvider is a VaultProvider on a secret path of the test's own.
// With VAULT_ADDR and VAULT_TOKEN set (a token that may write the "secret" KV
// v2 mount) it uses that real Vault, as internal/secrets/vault_test.go does;
// otherwise a private vaulttest server. The initial values are written as
// version 1.
func newTestVaultProvider(t *testing.T, initial map[string]string) secrets.Provider {
	t.Helper()
	addr, tok := os.Getenv("VAULT_ADDR"), os.Getenv("VAULT_TOKEN")
	path := "mutt" // the production path on a private server
	if addr == "" || tok == "" {
		srv := vaulttest.New(t)
		addr, tok = srv.Addr(), srv.RootToken()
	} else {
		buf := make([]byte, 6)
		_, _ = rand.Read(buf)
		path = "mutt-test-" + hex.EncodeToString(buf) + "/mutt"
		cfg := vault.DefaultConfig()
		cfg.Address = addr
		admin, err := vault.NewClient(cfg)
		require.NoError(t, err)
		admin.SetToken(tok)
		t.Cleanup(func() {
			// Every version and the metadata, so a shared Vault keeps nothing.
			_ = admin.KVv2("secret").DeleteMetadata(context.Background(), path)
		})
	}
	p, err := secrets.NewVault(context.Background(), secrets.VaultConfig{Addr: addr, Token: tok, Mount: "secret", Path: path}, nil)
	require.NoError(t, err)
	v, err := p.Write(context.Background(), initial, 0)
	require.NoError(t, err)
	require.Equal(t, 1, v)
	return p
}

// secretRead is what the provider holds now.
func secretRead(t *testing.T, p secrets.Provider) secrets.Snapshot {
	t.Helper()
	s, err := p.Read(context.Background())
	require.NoError(t, err)
	return s
}
