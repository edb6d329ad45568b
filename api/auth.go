package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mutt-ops/mutt/internal/apikey"
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

// keyInfo is what a matched key tells: its name (what audit rows record)
// and whether it may write.
type keyInfo struct {
	name  string
	admin bool
}

// keys returns the accepted keys. It runs per request so a rotation through
// the secrets provider (WEBUI_API_KEY / WEBUI_API_KEY_NEXT) applies without a
// restart; the lists are short, so hashing them each time is cheap.
func (s *Server) keys() *apikey.Set[keyInfo] {
	var out []apikey.Key[keyInfo]
	seen := map[string]bool{}
	add := func(keys []string, admin bool) {
		for _, key := range keys {
			key = strings.TrimSpace(key)
			if key == "" || seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, apikey.Key[keyInfo]{Value: key, Info: keyInfo{name: KeyName(s.o.KeyNameSecret, key, admin), admin: admin}})
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
	return apikey.NewSet(out)
}

// KeyName is what audit rows record as changed_by for a key: its role and
// an HMAC fingerprint with the server's secret (apikey.Fingerprint), e.g.
// "admin-3f9a1c2e4b5d". It names the credential, not its position in a
// list, so it stays the same when other keys are added or removed and when a
// rotation promotes NEXT to CURRENT; without the secret, whoever reads the
// audit (a read-only key) cannot test guessed keys against it.
func KeyName(secret []byte, key string, admin bool) string {
	role := "readonly-"
	if admin {
		role = "admin-"
	}
	return role + apikey.Fingerprint(secret, key)
}

// authenticate is the /api/v* middleware: 429 for a client that failed
// authentication too often (apikey.Guard, counted in
// mutt_auth_failures_total, never one log line per attempt), 401 without a
// key or with an unknown one. Matching is apikey.Set's: constant time.
func (s *Server) authenticate(c *gin.Context) {
	if wait, blocked := s.guard.Blocked(c.Request); blocked {
		c.Header("Retry-After", strconv.Itoa(max(1, int(wait.Round(time.Second)/time.Second))))
		abort(c, http.StatusTooManyRequests, errTooManyFailures,
			"too many failed authentications from this address: retry later with a valid "+HeaderAPIKey)
		return
	}
	presented := c.GetHeader(HeaderAPIKey)
	if presented == "" {
		s.guard.Failed(c.Request)
		abort(c, http.StatusUnauthorized, errUnauthorized, "missing "+HeaderAPIKey+" header")
		return
	}
	match, ok := s.keys().Match(presented)
	if !ok {
		s.guard.Failed(c.Request)
		abort(c, http.StatusUnauthorized, errUnauthorized, "invalid "+HeaderAPIKey)
		return
	}
	s.guard.Succeeded(c.Request)
	c.Set(ctxKeyName, match.name)
	c.Set(ctxKeyAdmin, match.admin)
	c.Next()
}

// optionalAuth lets a request without a key through unauthenticated (the
// handler shows less) and checks a key that is sent like authenticate.
func (s *Server) optionalAuth(c *gin.Context) {
	if c.GetHeader(HeaderAPIKey) == "" {
		c.Next()
		return
	}
	s.authenticate(c)
}

// requireAdmin is the middleware of the admin route group (routes): 403
// for a read-only key. It runs after authenticate, so the key is valid.
func requireAdmin(c *gin.Context) {
	if !c.GetBool(ctxKeyAdmin) {
		abort(c, http.StatusForbidden, errForbidden, "this API key is read-only; writes need an admin key")
		return
	}
	c.Next()
}

// caller is the authenticated key's name (KeyName), recorded as changed_by:
// stable for operators, never the secret.
func caller(c *gin.Context) string { return c.GetString(ctxKeyName) }

// correlationID is the request's validated or generated correlation id.
func correlationID(c *gin.Context) string { return c.GetString(ctxCorrelationID) }
