package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// VaultConfig says where the secrets live in Vault and how to log in.
type VaultConfig struct {
	Addr string // e.g. https://vault.internal:8200

	// Token auth: Token, or TokenFile (re-read when the token it held can no
	// longer be renewed, so an agent can drop a fresh one there).
	Token     string
	TokenFile string

	// AppRole auth (used when no token is given): SecretID or SecretIDFile
	// (re-read at every login).
	RoleID       string
	SecretID     string
	SecretIDFile string
	AppRoleMount string // default "approle"

	// Mount is the KV v2 engine's mount (default "secret"); Path is the
	// secret's path inside that mount (default "mutt"). The API path is
	// /v1/<Mount>/data/<Path>: Path must not repeat the mount, the mistake
	// that made the peer read /v1/secret/data/secret/mutt.
	Mount string
	Path  string

	Namespace string        // Vault Enterprise namespace, optional
	Timeout   time.Duration // per request, default 10s
	TLS       VaultTLS
}

// VaultTLS configures HTTPS to Vault (all paths are files).
type VaultTLS struct {
	CACert     string
	CAPath     string
	ClientCert string
	ClientKey  string
	ServerName string
	Insecure   bool // skip verification: never in production
}

func (c *VaultConfig) defaults() {
	c.Mount = strings.Trim(c.Mount, "/")
	c.Path = strings.Trim(c.Path, "/")
	if c.Mount == "" {
		c.Mount = "secret"
	}
	if c.Path == "" {
		c.Path = "mutt"
	}
	c.AppRoleMount = strings.Trim(c.AppRoleMount, "/")
	if c.AppRoleMount == "" {
		c.AppRoleMount = "approle"
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
}

// checkPath refuses a path that repeats the mount or the "data/" segment:
// the client adds both, so such a path would read somewhere else.
func checkPath(mount, path string) error {
	mount, path = strings.Trim(mount, "/"), strings.Trim(path, "/")
	if mount == "" {
		mount = "secret"
	}
	switch {
	case strings.HasPrefix(path, mount+"/data/") || strings.HasPrefix(path, "data/"):
		return fmt.Errorf("path %q contains the API's data/ segment: give the path inside the mount, e.g. %q", path, "mutt")
	case strings.HasPrefix(path, mount+"/"):
		return fmt.Errorf("path %q starts with the mount %q: give the path inside the mount (%q), or the request would go to /v1/%s/data/%s",
			path, mount, strings.TrimPrefix(path, mount+"/"), mount, path)
	}
	return nil
}

func (c VaultConfig) appRole() bool { return c.RoleID != "" }

// VaultProvider reads and writes the secrets as one KV v2 secret.
type VaultProvider struct {
	cfg    VaultConfig
	log    *slog.Logger
	client *vault.Client
	kv     *vault.KVv2

	mu   sync.Mutex
	auth *vault.Secret // what the lifetime watcher renews; nil for a token that never expires
}

var _ Provider = (*VaultProvider)(nil)

// NewVault connects and logs in (AppRole login, or a lookup of the given
// token so a bad token fails at start). Call Run to keep the token alive.
func NewVault(ctx context.Context, cfg VaultConfig, log *slog.Logger) (*VaultProvider, error) {
	cfg.defaults()
	if cfg.Addr == "" {
		return nil, errors.New("vault: no address")
	}
	if err := checkPath(cfg.Mount, cfg.Path); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if cfg.Token == "" && cfg.TokenFile == "" && !cfg.appRole() {
		return nil, errors.New("vault: no credentials: give a token or an AppRole role id and secret id")
	}
	vc := vault.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault: default client config: %w", vc.Error)
	}
	vc.Address = cfg.Addr
	vc.Timeout = cfg.Timeout
	if t := cfg.TLS; t != (VaultTLS{}) {
		err := vc.ConfigureTLS(&vault.TLSConfig{
			CACert: t.CACert, CAPath: t.CAPath, ClientCert: t.ClientCert, ClientKey: t.ClientKey,
			TLSServerName: t.ServerName, Insecure: t.Insecure,
		})
		if err != nil {
			return nil, fmt.Errorf("vault: configure tls: %w", err)
		}
	}
	client, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault: new client: %w", err)
	}
	// NewClient also honours VAULT_TOKEN and VAULT_NAMESPACE from the
	// environment; our configuration is the only source, so reset both.
	client.ClearToken()
	client.ClearNamespace()
	if cfg.Namespace != "" {
		client.SetNamespace(cfg.Namespace)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &VaultProvider{
		cfg:    cfg,
		log:    log.With("component", "secrets", "provider", "vault", "addr", cfg.Addr, "mount", cfg.Mount, "path", cfg.Path),
		client: client,
		kv:     client.KVv2(cfg.Mount),
	}
	if err := p.authenticate(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Name implements Provider.
func (p *VaultProvider) Name() string { return "vault" }

// Location is the API path read and written, for logs and tests.
func (p *VaultProvider) Location() string { return "/v1/" + p.cfg.Mount + "/data/" + p.cfg.Path }

// Read implements Provider with a KV v2 read of the latest version.
func (p *VaultProvider) Read(ctx context.Context) (Snapshot, error) {
	var s *vault.KVSecret
	err := p.retryOnDenied(ctx, func() error {
		var err error
		s, err = p.kv.Get(ctx, p.cfg.Path)
		return err
	})
	if errors.Is(err, vault.ErrSecretNotFound) {
		p.log.Warn("no secrets stored in vault yet", "location", p.Location())
		return Snapshot{Values: map[string]string{}}, nil
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("read vault secret %s: %w", p.Location(), err)
	}
	out := Snapshot{Values: make(map[string]string, len(s.Data))}
	if s.VersionMetadata != nil {
		out.Version = s.VersionMetadata.Version
	}
	for k, v := range s.Data {
		str, ok := v.(string)
		if !ok {
			// The type only, never the value.
			return Snapshot{}, fmt.Errorf("read vault secret %s: key %s holds a %T, not a string", p.Location(), k, v)
		}
		out.Values[k] = str
	}
	return out, nil
}

// Write implements Provider with a KV v2 write carrying options.cas, so
// Vault itself refuses the write if another version was stored meanwhile.
func (p *VaultProvider) Write(ctx context.Context, values map[string]string, cas int) (int, error) {
	data := make(map[string]any, len(values))
	for k, v := range values {
		data[k] = v
	}
	var s *vault.KVSecret
	err := p.retryOnDenied(ctx, func() error {
		var err error
		s, err = p.kv.Put(ctx, p.cfg.Path, data, vault.WithCheckAndSet(cas))
		return err
	})
	if isCASMismatch(err) {
		return 0, fmt.Errorf("write vault secret %s at version %d: %w", p.Location(), cas, ErrCASMismatch)
	}
	if err != nil {
		return 0, fmt.Errorf("write vault secret %s: %w", p.Location(), err)
	}
	if s == nil || s.VersionMetadata == nil {
		return 0, fmt.Errorf("write vault secret %s: no version in the response", p.Location())
	}
	return s.VersionMetadata.Version, nil
}

// isCASMismatch recognises Vault's answer to a stale options.cas: a 400 whose
// errors carry this documented message.
func isCASMismatch(err error) bool {
	var re *vault.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		return false
	}
	for _, e := range re.Errors {
		if strings.Contains(e, "check-and-set parameter did not match the current version") {
			return true
		}
	}
	return false
}

func isDenied(err error) bool {
	var re *vault.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusForbidden
}

// retryOnDenied runs op once more after logging in again when Vault denies
// it and a new login is possible: the token may have expired between two
// renewals (a suspended process, a Vault restart that lost the lease).
func (p *VaultProvider) retryOnDenied(ctx context.Context, op func() error) error {
	err := op()
	if err == nil || !isDenied(err) || (!p.cfg.appRole() && p.cfg.TokenFile == "") {
		return err
	}
	p.log.Warn("vault denied a request; logging in again", "err", err)
	if lerr := p.authenticate(ctx); lerr != nil {
		return errors.Join(err, lerr)
	}
	return op()
}

// authenticate gets a working token (AppRole login, or the configured token
// checked with lookup-self) and remembers what the watcher must renew.
func (p *VaultProvider) authenticate(ctx context.Context) error {
	if p.cfg.appRole() {
		return p.login(ctx)
	}
	tok := p.cfg.Token
	if p.cfg.TokenFile != "" {
		b, err := os.ReadFile(p.cfg.TokenFile)
		if err != nil {
			return fmt.Errorf("vault: read token file %s: %w", p.cfg.TokenFile, err)
		}
		tok = strings.TrimSpace(string(b))
		if tok == "" {
			return fmt.Errorf("vault: token file %s is empty", p.cfg.TokenFile)
		}
	}
	p.client.SetToken(tok)
	self, err := p.client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return fmt.Errorf("vault: look up the token: %w", err)
	}
	renewable, _ := self.TokenIsRenewable()
	ttl, _ := self.TokenTTL()
	var auth *vault.Secret
	if ttl > 0 {
		// lookup-self answers in Data; the watcher renews what is in Auth.
		auth = &vault.Secret{Auth: &vault.SecretAuth{
			ClientToken: tok, Renewable: renewable, LeaseDuration: int(ttl / time.Second),
		}}
	}
	p.mu.Lock()
	p.auth = auth
	p.mu.Unlock()
	p.log.Info("vault token accepted", "auth", "token", "renewable", renewable, "ttl", ttl.String())
	return nil
}

func (p *VaultProvider) login(ctx context.Context) error {
	secretID := p.cfg.SecretID
	if p.cfg.SecretIDFile != "" {
		b, err := os.ReadFile(p.cfg.SecretIDFile)
		if err != nil {
			return fmt.Errorf("vault: read secret id file %s: %w", p.cfg.SecretIDFile, err)
		}
		secretID = strings.TrimSpace(string(b))
	}
	if secretID == "" {
		return errors.New("vault: approle login: no secret id")
	}
	// Log in with a token-less clone: a stale token must not ride along.
	lc, err := p.client.Clone()
	if err != nil {
		return fmt.Errorf("vault: approle login: clone client: %w", err)
	}
	lc.ClearToken()
	s, err := lc.Logical().WriteWithContext(ctx, "auth/"+p.cfg.AppRoleMount+"/login", map[string]any{
		"role_id": p.cfg.RoleID, "secret_id": secretID,
	})
	if err != nil {
		return fmt.Errorf("vault: approle login: %w", err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return errors.New("vault: approle login: no token in the response")
	}
	p.client.SetToken(s.Auth.ClientToken)
	p.mu.Lock()
	p.auth = s
	p.mu.Unlock()
	p.log.Info("vault approle login", "renewable", s.Auth.Renewable, "ttl_seconds", s.Auth.LeaseDuration)
	return nil
}

// Run keeps the token alive until ctx ends: the SDK's lifetime watcher renews
// it; when it can no longer be renewed (not renewable, max TTL reached,
// renewals failing until expiry) Run logs in again with AppRole, or re-reads
// the token file. A plain token that runs out cannot be replaced: Run says so
// loudly and waits, and reads fail once it has expired.
func (p *VaultProvider) Run(ctx context.Context) error {
	for {
		p.mu.Lock()
		auth := p.auth
		p.mu.Unlock()
		if auth == nil {
			p.log.Debug("vault token never expires; nothing to renew")
			<-ctx.Done()
			return nil
		}
		err := p.watch(ctx, auth)
		if ctx.Err() != nil {
			return nil
		}
		if !p.cfg.appRole() && p.cfg.TokenFile == "" {
			p.log.Error("vault token can no longer be renewed and no AppRole or token file is configured; secret reads fail once it expires",
				"err", err)
			<-ctx.Done()
			return nil
		}
		p.log.Info("vault token can no longer be renewed; logging in again", "err", err)
		if !p.reauthenticate(ctx, p.client.Token()) {
			return nil
		}
	}
}

// watch runs one lifetime watcher until it stops (nil or its error) or ctx ends.
func (p *VaultProvider) watch(ctx context.Context, auth *vault.Secret) error {
	w, err := p.client.NewLifetimeWatcher(&vault.LifetimeWatcherInput{Secret: auth})
	if err != nil {
		return fmt.Errorf("start the token lifetime watcher: %w", err)
	}
	go w.Start()
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.DoneCh():
			return err
		case r := <-w.RenewCh():
			ttl := 0
			if r != nil && r.Secret != nil && r.Secret.Auth != nil {
				ttl = r.Secret.Auth.LeaseDuration
			}
			p.log.Debug("vault token renewed", "ttl_seconds", ttl)
		}
	}
}

// reauthenticate retries with a capped backoff until it gets a token other
// than old (a token file may still hold the expiring one) or ctx ends.
func (p *VaultProvider) reauthenticate(ctx context.Context, old string) bool {
	delay := 500 * time.Millisecond
	for {
		err := p.authenticate(ctx)
		if err == nil && p.client.Token() != old {
			return true
		}
		if err == nil {
			err = errors.New("the token file still holds the expiring token")
		}
		p.log.Warn("vault login failed; retrying", "err", err, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}
