package secrets

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Keys a provider holds. CURRENT is in use; NEXT exists during a rotation.
const (
	RedisPassCurrent = "REDIS_PASS_CURRENT" // #nosec G101 -- the name of a secret, not its value
	RedisPassNext    = "REDIS_PASS_NEXT"
	// RedisPassPrevious is the old Redis password a rotation keeps from
	// promotion until it removes it from the ACL user.
	RedisPassPrevious = "REDIS_PASS_PREVIOUS" // #nosec G101 -- the name of a secret, not its value
	DBUser            = "DB_USER"
	DBPassCurrent     = "DB_PASS_CURRENT"     // #nosec G101 -- the name of a secret, not its value
	DBPassNext        = "DB_PASS_NEXT"        // #nosec G101 -- the name of a secret, not its value
	IngestAPIKey      = "INGEST_API_KEY"      // #nosec G101 -- the name of a secret, not its value
	IngestAPIKeyNext  = "INGEST_API_KEY_NEXT" // #nosec G101 -- the name of a secret, not its value
	WebUIAPIKey       = "WEBUI_API_KEY"       // #nosec G101 -- the name of a secret, not its value
	WebUIAPIKeyNext   = "WEBUI_API_KEY_NEXT"  // #nosec G101 -- the name of a secret, not its value
	// WebUIReadOnlyAPIKey holds read-only admin API keys (comma-separated);
	// not rotated by SecretRotationWorkflow.
	WebUIReadOnlyAPIKey = "WEBUI_READONLY_API_KEY" // #nosec G101 -- the name of a secret, not its value
	MoogAPIKey          = "MOOG_API_KEY"           // #nosec G101 -- the name of a secret, not its value
	// KeyFingerprintSecret is the server secret of the API-key names audit
	// rows record (an HMAC, api.KeyName); mutt setup generates it. Changing
	// it changes the names new rows carry.
	KeyFingerprintSecret = "KEY_FINGERPRINT_SECRET" // #nosec G101 -- the name of a secret, not its value
)

// Snapshot is one version of every secret.
type Snapshot struct {
	Values  map[string]string
	Version int // provider version (Vault KV metadata version, file version); 0 = never written
}

// Get returns a value, "" when absent.
func (s Snapshot) Get(key string) string { return s.Values[key] }

// String lists the key names only, never values.
func (s Snapshot) String() string {
	names := make([]string, 0, len(s.Values))
	for k := range s.Values {
		names = append(names, k)
	}
	sort.Strings(names)
	return fmt.Sprintf("secrets v%d [%s]", s.Version, strings.Join(names, " "))
}

// ErrCASMismatch is returned by Write when the stored version is not the one
// the caller read: someone else changed the secrets in between.
var ErrCASMismatch = errors.New("secrets changed since they were read (check-and-set mismatch)")

// Provider stores the secrets.
type Provider interface {
	// Read returns the current version of every secret.
	Read(ctx context.Context) (Snapshot, error)
	// Write replaces the whole set if the stored version still equals cas
	// (0: only if nothing was ever written) and returns the new version.
	Write(ctx context.Context, values map[string]string, cas int) (int, error)
	// Name is "vault" or "file", for logs.
	Name() string
}

// Cache holds the snapshot a process uses; connectors and the ingestor read
// it for every new connection or request, and Reload refreshes it (on a
// rotation notice and periodically).
type Cache struct {
	p   Provider
	cur atomic.Pointer[Snapshot]
	at  atomic.Int64 // unix nanos of the last successful read
}

// NewCache reads the provider once; a process cannot start without secrets.
func NewCache(ctx context.Context, p Provider) (*Cache, error) {
	c := &Cache{p: p}
	if err := c.Reload(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// StaticCache serves fixed values (tests, and processes configured from env).
func StaticCache(values map[string]string) *Cache {
	c := &Cache{}
	c.cur.Store(&Snapshot{Values: values})
	return c
}

// Reload re-reads the provider; on error the last snapshot stays in force.
func (c *Cache) Reload(ctx context.Context) error {
	if c.p == nil {
		return nil
	}
	s, err := c.p.Read(ctx)
	if err != nil {
		return fmt.Errorf("read secrets from %s: %w", c.p.Name(), err)
	}
	c.cur.Store(&s)
	c.at.Store(time.Now().UnixNano())
	return nil
}

// Snapshot returns the secrets in force.
func (c *Cache) Snapshot() Snapshot { return *c.cur.Load() }

// Get returns one secret, "" when absent.
func (c *Cache) Get(key string) string { return c.Snapshot().Get(key) }

// Pair returns the CURRENT and NEXT values of a rotatable secret, in the order
// a connector should try them, without empty or repeated entries.
func (c *Cache) Pair(current, next string) []string {
	s := c.Snapshot()
	var out []string
	for _, v := range []string{s.Get(current), s.Get(next)} {
		if v != "" && (len(out) == 0 || out[0] != v) {
			out = append(out, v)
		}
	}
	return out
}

// Provider is where the cache reads from (nil for a static cache).
func (c *Cache) Provider() Provider { return c.p }
