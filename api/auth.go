package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mutt-ops/mutt/internal/secrets"
)

// Context keys set by the middleware.
const (
	ctxCorrelationID = "mutt.correlation_id"
	ctxKeyName       = "mutt.key_name"
	ctxKeyAdmin      = "mutt.key_admin"
	ctxRoute         = "mutt.route" // the metrics route of a request gin did not route
)

// HeaderAPIKey is the only place a key is accepted: query strings end up in
// access logs, browser history and proxies.
const HeaderAPIKey = "X-API-KEY"

// apiKey is one accepted key: its name (what audit rows record) and the
// sha256 digest compared against.
type apiKey struct {
	name   string
	digest [sha256.Size]byte
	admin  bool
}

// keys returns the accepted keys. It runs per request so a rotation through
// the secrets provider (WEBUI_API_KEY / WEBUI_API_KEY_NEXT) applies without a
// restart; the lists are short, so hashing them each time is cheap.
func (s *Server) keys() []apiKey {
	var out []apiKey
	seen := map[string]bool{}
	add := func(keys []string, admin bool) {
		for _, key := range keys {
			key = strings.TrimSpace(key)
			if key == "" || seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, apiKey{name: KeyName(key, admin), digest: sha256.Sum256([]byte(key)), admin: admin})
		}
	}
	add(s.o.AdminKeys, true)
	if s.o.Secrets != nil {
		for _, k := range []string{secrets.WebUIAPIKey, secrets.WebUIAPIKeyNext} {
			add(strings.Split(s.o.Secrets.Get(k), ","), true)
		}
	}
	add(s.o.ReadOnlyKeys, false)
	if s.o.Secrets != nil {
		add(strings.Split(s.o.Secrets.Get(secrets.WebUIReadOnlyAPIKey), ","), false)
	}
	return out
}

// KeyName is what audit rows record as changed_by for a key: its role and
// fingerprint (secrets.Fingerprint), e.g. "admin-3f9a1c2e4b5d". It names
// the credential, not its position in a list, so it stays the same when
// other keys are added or removed and when a rotation promotes NEXT to
// CURRENT, and it reveals nothing usable about the key.
func KeyName(key string, admin bool) string {
	role := "readonly-"
	if admin {
		role = "admin-"
	}
	return role + secrets.Fingerprint(key)
}

// authenticate is the /api/v* middleware: 401 without a key or with an
// unknown one. Every candidate is compared (no early exit) over fixed-size
// digests, so timing reveals neither the key nor which one matched.
func (s *Server) authenticate(c *gin.Context) {
	presented := c.GetHeader(HeaderAPIKey)
	if presented == "" {
		abort(c, http.StatusUnauthorized, errUnauthorized, "missing "+HeaderAPIKey+" header")
		return
	}
	d := sha256.Sum256([]byte(presented))
	var match *apiKey
	keys := s.keys()
	for i := range keys {
		if subtle.ConstantTimeCompare(d[:], keys[i].digest[:]) == 1 && match == nil {
			match = &keys[i]
		}
	}
	if match == nil {
		abort(c, http.StatusUnauthorized, errUnauthorized, "invalid "+HeaderAPIKey)
		return
	}
	c.Set(ctxKeyName, match.name)
	c.Set(ctxKeyAdmin, match.admin)
	c.Next()
}

// requireAdmin answers 403 for a read-only key; handlers of writes call it
// first and return when it is false.
func requireAdmin(c *gin.Context) bool {
	if c.GetBool(ctxKeyAdmin) {
		return true
	}
	abort(c, http.StatusForbidden, errForbidden, "this API key is read-only; writes need an admin key")
	return false
}

// caller is the authenticated key's name (KeyName), recorded as changed_by:
// stable for operators, never the secret.
func caller(c *gin.Context) string { return c.GetString(ctxKeyName) }

// correlationID is the request's validated or generated correlation id.
func correlationID(c *gin.Context) string { return c.GetString(ctxCorrelationID) }
