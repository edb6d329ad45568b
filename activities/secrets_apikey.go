package activities

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/workflows"
)

// apiKeySecretBackend rotates an API key (INGEST_API_KEY, WEBUI_API_KEY).
// Nothing outside the provider holds it: services accept CURRENT and NEXT
// once they re-read the secrets, so the old key moves to NEXT at promotion
// (still accepted during the grace period) and is dropped at removal.
type apiKeySecretBackend struct {
	current, next string
	// single refuses a CURRENT listing several comma-separated keys.
	single bool
}

func (b apiKeySecretBackend) slot() secretSlot { return newSlot(b.current, b.next, b.current) }

// generate is hex: safe in any header.
func (apiKeySecretBackend) generate() (string, error) {
	v := make([]byte, 32)
	if _, err := rand.Read(v); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return hex.EncodeToString(v), nil
}

// check refuses to rotate a provider WEBUI_API_KEY that lists several
// admin keys (comma-separated, as the API accepts it): a rotation replaces
// the value with one new key, so it would silently revoke the others. The
// error names the count, never a key.
func (b apiKeySecretBackend) check(s secrets.Snapshot) error {
	if !b.single {
		return nil
	}
	n := 0
	for _, k := range strings.Split(s.Get(b.current), ",") {
		if strings.TrimSpace(k) != "" {
			n++
		}
	}
	if n > 1 {
		return secretErr(workflows.SecretErrInvalid,
			"%s holds %d keys (comma-separated); a rotation replaces the value with one new key and would revoke the others: "+
				"keep one key in the provider's %s (clients needing their own key get one from the environment's WEBUI_API_KEY, "+
				"which rotation never touches, or a read-only key) and rotate again", b.current, n, b.current)
	}
	return nil
}

func (apiKeySecretBackend) prepare(context.Context, secrets.Snapshot) (string, error) { return "", nil }

func (apiKeySecretBackend) apply(context.Context, secrets.Snapshot, string) (string, error) {
	return "API key: nothing to apply; services accept CURRENT and NEXT", nil
}

func (b apiKeySecretBackend) promote(values map[string]string, old string) { values[b.next] = old }

func (apiKeySecretBackend) remove(context.Context, secrets.Snapshot) (string, error) {
	return "old API key no longer accepted", nil
}

func (b apiKeySecretBackend) finish(values map[string]string) { values[b.next] = "" }

func (apiKeySecretBackend) restore(context.Context, secrets.Snapshot, string) ([]string, error) {
	return nil, nil
}
