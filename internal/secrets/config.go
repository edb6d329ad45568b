package secrets

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/mutt-ops/mutt/internal/config"
)

// Provider names for MUTT_SECRETS_PROVIDER.
const (
	ProviderVault = "vault"
	ProviderFile  = "file"
)

// DefaultFile is where the file provider keeps the secrets by default.
const DefaultFile = "./.mutt/secrets.json"

// Config chooses and configures the provider.
type Config struct {
	Provider string // "vault" or "file"
	File     string // file provider's path
	Vault    VaultConfig
}

// ReadConfig reads the provider settings; problems are recorded in e, naming
// the variable. The file provider is the default so `mutt dev` works with no
// setup; production deployments set MUTT_SECRETS_PROVIDER=vault.
func ReadConfig(e *config.Env) Config {
	c := Config{
		Provider: strings.ToLower(e.String(ProviderFile, "MUTT_SECRETS_PROVIDER")),
		File:     e.String(DefaultFile, "MUTT_SECRETS_FILE"),
	}
	switch c.Provider {
	case ProviderFile:
		return c
	case ProviderVault:
	default:
		e.Fail("MUTT_SECRETS_PROVIDER", "%q is not vault or file", c.Provider)
		return c
	}
	v := VaultConfig{
		Addr:         e.URL("", []string{"http", "https"}, "VAULT_ADDR"),
		Token:        e.String("", "VAULT_TOKEN"),
		TokenFile:    e.String("", "VAULT_TOKEN_FILE"),
		RoleID:       e.String("", "VAULT_ROLE_ID"),
		SecretID:     e.String("", "VAULT_SECRET_ID"),
		SecretIDFile: e.String("", "VAULT_SECRET_ID_FILE"),
		AppRoleMount: e.String("approle", "VAULT_APPROLE_MOUNT"),
		Mount:        e.String("secret", "VAULT_KV_MOUNT"),
		Path:         e.String("mutt", "VAULT_SECRETS_PATH"),
		Namespace:    e.String("", "VAULT_NAMESPACE"),
		Timeout:      e.Duration(0, "VAULT_CLIENT_TIMEOUT"),
		TLS: VaultTLS{
			CACert:     e.String("", "VAULT_CACERT"),
			CAPath:     e.String("", "VAULT_CAPATH"),
			ClientCert: e.String("", "VAULT_CLIENT_CERT"),
			ClientKey:  e.String("", "VAULT_CLIENT_KEY"),
			ServerName: e.String("", "VAULT_TLS_SERVER_NAME"),
			Insecure:   e.Bool(false, "VAULT_SKIP_VERIFY"),
		},
	}
	if v.Addr == "" {
		e.Fail("VAULT_ADDR", "is required when MUTT_SECRETS_PROVIDER=vault")
	}
	if err := checkPath(v.Mount, v.Path); err != nil {
		e.Fail("VAULT_SECRETS_PATH", "%v", err)
	}
	checkNonEmptyFile(e, "VAULT_TOKEN_FILE", v.TokenFile)
	checkNonEmptyFile(e, "VAULT_SECRET_ID_FILE", v.SecretIDFile)
	switch {
	case v.Token != "" && v.TokenFile != "":
		e.Fail("VAULT_TOKEN_FILE", "set VAULT_TOKEN or VAULT_TOKEN_FILE, not both")
	case v.SecretID != "" && v.SecretIDFile != "":
		e.Fail("VAULT_SECRET_ID_FILE", "set VAULT_SECRET_ID or VAULT_SECRET_ID_FILE, not both")
	case v.RoleID != "" && v.SecretID == "" && v.SecretIDFile == "":
		e.Fail("VAULT_SECRET_ID", "is required with VAULT_ROLE_ID (or set VAULT_SECRET_ID_FILE)")
	case v.RoleID == "" && (v.SecretID != "" || v.SecretIDFile != ""):
		e.Fail("VAULT_ROLE_ID", "is required with VAULT_SECRET_ID")
	case v.RoleID == "" && v.Token == "" && v.TokenFile == "":
		e.Fail("VAULT_TOKEN", "is required when MUTT_SECRETS_PROVIDER=vault, unless VAULT_ROLE_ID and VAULT_SECRET_ID are set")
	}
	c.Vault = v
	return c
}

// checkNonEmptyFile records an error when a credential file cannot be used;
// it reads the file only to check it, and never quotes it.
func checkNonEmptyFile(e *config.Env, name, path string) {
	if path == "" {
		return
	}
	b, err := os.ReadFile(path) // #nosec G304 -- the operator configured this secrets file path; reading it is the point
	switch {
	case err != nil:
		e.Fail(name, "cannot read %s: %v", path, err)
	case strings.TrimSpace(string(b)) == "":
		e.Fail(name, "%s is empty", path)
	}
}

// Open builds the configured provider. A Vault provider's token must be kept
// alive by running RunProvider (or its Run method) for the process lifetime.
func Open(ctx context.Context, c Config, log *slog.Logger) (Provider, error) {
	switch c.Provider {
	case ProviderFile, "":
		path := c.File
		if path == "" {
			path = DefaultFile
		}
		return NewFile(path, log), nil
	case ProviderVault:
		p, err := NewVault(ctx, c.Vault, log)
		if err != nil {
			return nil, fmt.Errorf("open the vault secrets provider (VAULT_ADDR %s): %w", c.Vault.Addr, err)
		}
		return p, nil
	default:
		return nil, fmt.Errorf("MUTT_SECRETS_PROVIDER: %q is not vault or file", c.Provider)
	}
}

// RunProvider runs p's background work (Vault token renewal) until ctx ends;
// for a provider without any it just waits for ctx.
func RunProvider(ctx context.Context, p Provider) error {
	if r, ok := p.(interface{ Run(context.Context) error }); ok {
		return r.Run(ctx)
	}
	<-ctx.Done()
	return nil
}
