package secrets

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/secrets/vaulttest"
)

// The same tests run against a real Vault when VAULT_ADDR and VAULT_TOKEN (a
// token that may manage policies, AppRoles and the "secret" KV v2 mount) are
// set, and against vaulttest otherwise.

type provVaultBackend struct {
	t     *testing.T
	addr  string
	root  string
	fake  *vaulttest.Server // nil against a real Vault
	admin *vault.Client
}

func newProvVaultBackend(t *testing.T) *provVaultBackend {
	t.Helper()
	b := &provVaultBackend{t: t}
	if addr, tok := os.Getenv("VAULT_ADDR"), os.Getenv("VAULT_TOKEN"); addr != "" && tok != "" {
		b.addr, b.root = addr, tok
	} else {
		b.fake = vaulttest.New(t)
		b.addr, b.root = b.fake.Addr(), b.fake.RootToken()
	}
	cfg := vault.DefaultConfig()
	cfg.Address = b.addr
	c, err := vault.NewClient(cfg)
	require.NoError(t, err)
	c.SetToken(b.root)
	b.admin = c
	return b
}

func provRandHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

// path is a secret path of this test's own: "mutt" on a private fake server
// (so the exact production request path is checked), a unique one on a
// shared real Vault.
func (b *provVaultBackend) path() string {
	if b.fake != nil {
		return "mutt"
	}
	return "mutt-test-" + provRandHex(6) + "/mutt"
}

// policy lets tokens and AppRole logins read and write the test paths only.
func (b *provVaultBackend) policy() string {
	if b.fake != nil {
		return "mutt"
	}
	const name = "mutt-test"
	require.NoError(b.t, b.admin.Sys().PutPolicy(name, `path "secret/data/mutt-test-*" { capabilities = ["create","read","update"] }
path "secret/metadata/mutt-test-*" { capabilities = ["read"] }`))
	return name
}

// token makes a token with a TTL.
func (b *provVaultBackend) token(ttl time.Duration, renewable bool) string {
	if b.fake != nil {
		return b.fake.CreateToken(vaulttest.TokenOptions{TTL: ttl, Renewable: renewable})
	}
	s, err := b.admin.Auth().Token().Create(&vault.TokenCreateRequest{
		TTL: ttl.String(), Renewable: &renewable, Policies: []string{b.policy()},
	})
	require.NoError(b.t, err)
	return s.Auth.ClientToken
}

// appRole registers a role whose tokens live ttl, renewable up to maxTTL.
func (b *provVaultBackend) appRole(ttl, maxTTL time.Duration) (roleID, secretID string) {
	roleID, secretID = "role-"+provRandHex(8), "sid-"+provRandHex(16)
	if b.fake != nil {
		b.fake.TokenTTL(ttl)
		b.fake.TokenMaxTTL(maxTTL)
		b.fake.AddAppRole(roleID, secretID)
		return roleID, secretID
	}
	auths, err := b.admin.Sys().ListAuth()
	require.NoError(b.t, err)
	if _, ok := auths["approle/"]; !ok {
		require.NoError(b.t, b.admin.Sys().EnableAuthWithOptions("approle", &vault.EnableAuthOptions{Type: "approle"}))
	}
	role := "mutt-test-" + provRandHex(6)
	l := b.admin.Logical()
	_, err = l.Write("auth/approle/role/"+role, map[string]any{
		"token_ttl": ttl.String(), "token_max_ttl": maxTTL.String(), "token_policies": b.policy(),
	})
	require.NoError(b.t, err)
	b.t.Cleanup(func() { _, _ = l.Delete("auth/approle/role/" + role) })
	_, err = l.Write("auth/approle/role/"+role+"/role-id", map[string]any{"role_id": roleID})
	require.NoError(b.t, err)
	_, err = l.Write("auth/approle/role/"+role+"/custom-secret-id", map[string]any{"secret_id": secretID})
	require.NoError(b.t, err)
	return roleID, secretID
}

// provLogBuffer captures every log line at debug level.
type provLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *provLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *provLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *provLogBuffer) count(msg string) int { return strings.Count(l.String(), `"msg":"`+msg+`"`) }

func newProvLog(t *testing.T) (*slog.Logger, *provLogBuffer) {
	lb := &provLogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", lb.String())
		}
	})
	return slog.New(slog.NewJSONHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// requireNoSecretsLogged checks that no secret (value, token, secret id) was logged.
func requireNoSecretsLogged(t *testing.T, lb *provLogBuffer, secrets ...string) {
	t.Helper()
	out := lb.String()
	require.NotEmpty(t, out, "the provider logged nothing: the check would prove nothing")
	for _, s := range secrets {
		require.NotContains(t, out, s)
	}
}

func provTestValues() map[string]string {
	return map[string]string{
		RedisPassCurrent: "redis-cur-" + provRandHex(8),
		DBUser:           "mutt_app",
		DBPassCurrent:    "db-cur-" + provRandHex(8),
		IngestAPIKey:     "ingest-" + provRandHex(8),
		MoogAPIKey:       "moog-" + provRandHex(8),
	}
}

func provValuesOf(m map[string]string) []string {
	var out []string
	for k, v := range m {
		if k != DBUser {
			out = append(out, v)
		}
	}
	return out
}

func TestVaultTokenReadWriteCAS(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newProvVaultBackend(t)
	log, lb := newProvLog(t)
	tok := b.token(time.Hour, true)
	p, err := NewVault(ctx, VaultConfig{Addr: b.addr, Token: tok, Path: b.path()}, log)
	require.NoError(t, err)
	require.Equal(t, "vault", p.Name())

	s, err := p.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, s.Version, "nothing written yet")
	require.Empty(t, s.Values)

	v1 := provTestValues()
	ver, err := p.Write(ctx, v1, 0)
	require.NoError(t, err)
	require.Equal(t, 1, ver)

	_, err = p.Write(ctx, v1, 0)
	require.ErrorIs(t, err, ErrCASMismatch, "cas 0 only creates")

	v2 := provTestValues()
	v2[RedisPassNext] = "redis-next-" + provRandHex(8)
	ver, err = p.Write(ctx, v2, 1)
	require.NoError(t, err)
	require.Equal(t, 2, ver)

	_, err = p.Write(ctx, v1, 1)
	require.ErrorIs(t, err, ErrCASMismatch, "stale version")

	s, err = p.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, s.Version)
	require.Equal(t, v2, s.Values)
	require.NotContains(t, s.String(), v2[RedisPassNext])

	requireNoSecretsLogged(t, lb, append(provValuesOf(v1), append(provValuesOf(v2), tok)...)...)
}

func TestVaultRequestPathIsMountDataPath(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newProvVaultBackend(t)
	path := b.path()
	log, _ := newProvLog(t)
	p, err := NewVault(ctx, VaultConfig{Addr: b.addr, Token: b.root, Mount: "secret", Path: path}, log)
	require.NoError(t, err)
	require.Equal(t, "/v1/secret/data/"+path, p.Location())

	_, err = p.Write(ctx, provTestValues(), 0)
	require.NoError(t, err)
	_, err = p.Read(ctx)
	require.NoError(t, err)
	var seen []string
	if b.fake != nil {
		seen = b.fake.Requests() // the provider's requests only
	}

	// Stored where an operator's `vault kv get -mount=secret <path>` finds it …
	got, err := b.admin.Logical().Read("secret/data/" + path)
	require.NoError(t, err)
	require.NotNil(t, got)
	// … and not under the peer's doubled path.
	doubled, err := b.admin.Logical().Read("secret/data/secret/" + path)
	require.NoError(t, err)
	require.Nil(t, doubled)

	if b.fake != nil {
		require.Equal(t, "/v1/secret/data/mutt", "/v1/secret/data/"+path)
		require.Equal(t, []string{"/v1/auth/token/lookup-self", "/v1/secret/data/mutt", "/v1/secret/data/mutt"}, seen,
			"lookup, one write, one read")
		for _, r := range seen {
			require.NotContains(t, r, "/secret/data/secret/")
		}
	}
}

func TestVaultRefusesPathThatRepeatsTheMount(t *testing.T) {
	t.Parallel()
	b := newProvVaultBackend(t)
	for _, path := range []string{"secret/mutt", "secret/data/mutt", "data/mutt", "/secret/mutt/"} {
		_, err := NewVault(t.Context(), VaultConfig{Addr: b.addr, Token: b.root, Path: path}, nil)
		require.Error(t, err, path)
		require.Contains(t, err.Error(), "inside the mount", path)
	}
	// Another mount's name inside the path is fine.
	require.NoError(t, checkPath("kv", "secret/mutt"))
}

func TestVaultAppRoleLogin(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newProvVaultBackend(t)
	log, lb := newProvLog(t)
	roleID, secretID := b.appRole(time.Hour, 2*time.Hour)
	path := b.path()

	p, err := NewVault(ctx, VaultConfig{Addr: b.addr, RoleID: roleID, SecretID: secretID, Path: path}, log)
	require.NoError(t, err)
	vals := provTestValues()
	_, err = p.Write(ctx, vals, 0)
	require.NoError(t, err)
	s, err := p.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, vals, s.Values)

	// The secret id from a file (as an orchestrator mounts it).
	f := filepath.Join(t.TempDir(), "secret-id")
	require.NoError(t, os.WriteFile(f, []byte(secretID+"\n"), 0o600))
	p2, err := NewVault(ctx, VaultConfig{Addr: b.addr, RoleID: roleID, SecretIDFile: f, Path: path}, log)
	require.NoError(t, err)
	s, err = p2.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, vals, s.Values)

	_, err = NewVault(ctx, VaultConfig{Addr: b.addr, RoleID: roleID, SecretID: "wrong", Path: path}, log)
	require.Error(t, err)
	require.Contains(t, err.Error(), "approle login")

	requireNoSecretsLogged(t, lb, append(provValuesOf(vals), secretID, p.client.Token(), p2.client.Token())...)
}

func TestVaultRejectsBadToken(t *testing.T) {
	t.Parallel()
	b := newProvVaultBackend(t)
	_, err := NewVault(t.Context(), VaultConfig{Addr: b.addr, Token: "hvs.not-a-token"}, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "permission denied")
}

func TestVaultNonStringValueIsAnError(t *testing.T) {
	t.Parallel()
	b := newProvVaultBackend(t)
	path := b.path()
	_, err := b.admin.KVv2("secret").Put(t.Context(), path, map[string]any{"REDIS_PASS_CURRENT": 123456789})
	require.NoError(t, err)
	p, err := NewVault(t.Context(), VaultConfig{Addr: b.addr, Token: b.root, Path: path}, nil)
	require.NoError(t, err)
	_, err = p.Read(t.Context())
	require.Error(t, err)
	require.Contains(t, err.Error(), "REDIS_PASS_CURRENT")
	require.NotContains(t, err.Error(), "123456789")
}

func TestVaultLifetimeWatcherRenewsToken(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	b := newProvVaultBackend(t)
	log, lb := newProvLog(t)
	tok := b.token(2*time.Second, true)
	p, err := NewVault(ctx, VaultConfig{Addr: b.addr, Token: tok, Path: b.path()}, log)
	require.NoError(t, err)
	vals := provTestValues()
	_, err = p.Write(ctx, vals, 0)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	// Two renewals take longer than the token's first 2 s TTL: reading after
	// them proves the renewals kept it alive.
	require.Eventually(t, func() bool { return lb.count("vault token renewed") >= 2 }, 15*time.Second, 50*time.Millisecond)
	s, err := p.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, vals, s.Values)
	require.Equal(t, tok, p.client.Token(), "renewed, not replaced")
	if b.fake != nil {
		require.GreaterOrEqual(t, b.fake.Count("/v1/auth/token/renew-self"), 2)
	}

	cancel()
	require.NoError(t, <-done)
	requireNoSecretsLogged(t, lb, append(provValuesOf(vals), tok)...)
}

func TestVaultLogsInAgainWhenTokenCannotBeRenewed(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	b := newProvVaultBackend(t)
	log, lb := newProvLog(t)
	// Renewable, but only up to 3 s: then the watcher gives up and Run must
	// log in again with AppRole.
	roleID, secretID := b.appRole(2*time.Second, 3*time.Second)
	p, err := NewVault(ctx, VaultConfig{Addr: b.addr, RoleID: roleID, SecretID: secretID, Path: b.path()}, log)
	require.NoError(t, err)
	vals := provTestValues()
	_, err = p.Write(ctx, vals, 0)
	require.NoError(t, err)
	first := p.client.Token()

	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	require.Eventually(t, func() bool { return lb.count("vault approle login") >= 3 }, 20*time.Second, 50*time.Millisecond)
	require.NotEqual(t, first, p.client.Token())
	s, err := p.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, vals, s.Values)
	if b.fake != nil {
		require.GreaterOrEqual(t, b.fake.Count("/v1/auth/approle/login"), 3)
	}

	cancel()
	require.NoError(t, <-done)
	requireNoSecretsLogged(t, lb, append(provValuesOf(vals), secretID, first)...)
}

func TestVaultLogsInAgainWhenDenied(t *testing.T) {
	t.Parallel()
	b := newProvVaultBackend(t)
	log, _ := newProvLog(t)
	roleID, secretID := b.appRole(time.Hour, 2*time.Hour)
	p, err := NewVault(t.Context(), VaultConfig{Addr: b.addr, RoleID: roleID, SecretID: secretID, Path: b.path()}, log)
	require.NoError(t, err)
	old := p.client.Token()
	if b.fake != nil {
		b.fake.RevokeToken(old)
	} else {
		require.NoError(t, b.admin.Auth().Token().RevokeTree(old))
	}
	_, err = p.Read(t.Context())
	require.NoError(t, err, "a denied read logs in again once and retries")
	require.NotEqual(t, old, p.client.Token())
}

func TestVaultPlainTokenNotRenewableWaits(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	b := newProvVaultBackend(t)
	log, lb := newProvLog(t)
	p, err := NewVault(ctx, VaultConfig{Addr: b.addr, Token: b.token(2*time.Second, false), Path: b.path()}, log)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	require.Eventually(t, func() bool {
		return strings.Contains(lb.String(), "can no longer be renewed and no AppRole")
	}, 15*time.Second, 50*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}
