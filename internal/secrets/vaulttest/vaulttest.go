package vaulttest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Messages Vault puts in {"errors":[…]} bodies; clients match on them.
const (
	ErrPermissionDenied = "permission denied"
	ErrCASMismatch      = "check-and-set parameter did not match the current version"
	ErrInvalidRole      = "invalid role or secret ID"
	ErrNotRenewable     = "lease is not renewable"
)

// Server is an in-process Vault speaking the documented HTTP API for what
// MUTT's client uses. It is safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu        sync.Mutex
	root      string
	tokens    map[string]*token
	roles     map[string]string // role_id → secret_id
	mounts    map[string]bool   // KV v2 mounts
	kv        map[string]*entry // "<mount>/<path>"
	requests  []string
	ttl       time.Duration // TTL of tokens issued by AppRole logins and of renewals
	maxTTL    time.Duration // 0 = no max
	renewable bool
}

type token struct {
	id, accessor, path string
	policies           []string
	ttl, maxTTL        time.Duration // ttl 0 = never expires (root)
	renewable          bool
	issued, expires    time.Time
	meta               map[string]string
}

type entry struct {
	created, updated time.Time
	versions         []version // versions[i] is version i+1
}

type version struct {
	data    map[string]any
	created time.Time
}

// TokenOptions describe a token made with CreateToken.
type TokenOptions struct {
	TTL       time.Duration // 0: never expires
	MaxTTL    time.Duration // 0: no maximum
	Renewable bool
	Policies  []string
}

// New starts a server with a KV v2 engine mounted at "secret" (as `vault
// server -dev` does) and a root token; it stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		tokens:    map[string]*token{},
		roles:     map[string]string{},
		mounts:    map[string]bool{"secret": true},
		kv:        map[string]*entry{},
		ttl:       time.Hour,
		renewable: true,
	}
	s.root = s.CreateToken(TokenOptions{Policies: []string{"root"}})
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// Addr is the server's URL, the value of VAULT_ADDR.
func (s *Server) Addr() string { return s.srv.URL }

// RootToken never expires and may do everything.
func (s *Server) RootToken() string { return s.root }

// MountKV enables another KV v2 engine at mount.
func (s *Server) MountKV(mount string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mounts[strings.Trim(mount, "/")] = true
}

// AddAppRole lets POST auth/approle/login exchange roleID and secretID for a
// token with the current TokenTTL and TokenMaxTTL.
func (s *Server) AddAppRole(roleID, secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[roleID] = secretID
}

// TokenTTL sets the TTL of tokens issued by later AppRole logins (Vault's
// token_ttl), also the default increment of their renewals.
func (s *Server) TokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = d
}

// TokenMaxTTL sets the max TTL of tokens issued by later AppRole logins
// (Vault's token_max_ttl): renewals are capped there, then the token expires.
func (s *Server) TokenMaxTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxTTL = d
}

// TokenRenewable sets whether tokens issued by later AppRole logins can be
// renewed.
func (s *Server) TokenRenewable(b bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renewable = b
}

// CreateToken makes a token as `vault token create` would.
func (s *Server) CreateToken(o TokenOptions) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newToken("auth/token/create", o, nil).id
}

// RevokeToken makes a token unusable.
func (s *Server) RevokeToken(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, id)
}

// Put seeds a secret at path inside the "secret" mount (Put("mutt", …) is
// what GET /v1/secret/data/mutt returns) and returns its new version.
func (s *Server) Put(path string, values map[string]string) int {
	return s.PutAt("secret", path, values)
}

// PutAt seeds a secret at path inside mount.
func (s *Server) PutAt(mount, path string, values map[string]string) int {
	data := make(map[string]any, len(values))
	for k, v := range values {
		data[k] = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(strings.Trim(mount, "/")+"/"+strings.Trim(path, "/"), data)
}

// Get returns the latest version of the secret at path inside the "secret"
// mount, nil and 0 when there is none.
func (s *Server) Get(path string) (map[string]string, int) {
	return s.GetAt("secret", path)
}

// GetAt returns the latest version of the secret at path inside mount.
func (s *Server) GetAt(mount, path string) (map[string]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.kv[strings.Trim(mount, "/")+"/"+strings.Trim(path, "/")]
	if e == nil || len(e.versions) == 0 {
		return nil, 0
	}
	v := e.versions[len(e.versions)-1]
	out := make(map[string]string, len(v.data))
	for k, x := range v.data {
		out[k] = fmt.Sprint(x)
	}
	return out, len(e.versions)
}

// Requests lists the URL paths requested so far, in order (e.g.
// "/v1/secret/data/mutt"), query strings left out.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Count is how many requests had exactly this path.
func (s *Server) Count(path string) int {
	n := 0
	for _, p := range s.Requests() {
		if p == path {
			n++
		}
	}
	return n
}

func (s *Server) newToken(path string, o TokenOptions, meta map[string]string) *token {
	now := time.Now()
	t := &token{
		id:        "hvs." + random(24),
		accessor:  random(18),
		path:      path,
		policies:  o.Policies,
		ttl:       o.TTL,
		maxTTL:    o.MaxTTL,
		renewable: o.Renewable && o.TTL > 0,
		issued:    now,
		meta:      meta,
	}
	if o.TTL > 0 {
		t.expires = now.Add(o.TTL)
		if o.MaxTTL > 0 && o.MaxTTL < o.TTL {
			t.expires = now.Add(o.MaxTTL)
		}
	}
	if len(t.policies) == 0 {
		t.policies = []string{"default"}
	}
	s.tokens[t.id] = t
	return t
}

func (s *Server) put(key string, data map[string]any) int {
	now := time.Now().UTC()
	e := s.kv[key]
	if e == nil {
		e = &entry{created: now}
		s.kv[key] = e
	}
	e.updated = now
	e.versions = append(e.versions, version{data: data, created: now})
	return len(e.versions)
}

// serve routes a request the way Vault does: /v1/<mount or auth path>/….
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.URL.Path)

	path, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		writeErrors(w, http.StatusNotFound)
		return
	}
	write := r.Method == http.MethodPost || r.Method == http.MethodPut
	if path == "auth/approle/login" && write {
		s.login(w, r)
		return
	}
	tok := s.authenticate(r)
	if tok == nil {
		writeErrors(w, http.StatusForbidden, ErrPermissionDenied)
		return
	}
	switch {
	case path == "auth/token/lookup-self" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, response(lookupData(tok), nil, nil))
		return
	case path == "auth/token/renew-self" && write:
		s.renew(w, r, tok)
		return
	}

	mount, rest, _ := strings.Cut(path, "/")
	kind, secretPath, _ := strings.Cut(rest, "/")
	if !s.mounts[mount] || secretPath == "" || (kind != "data" && kind != "metadata") {
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", path))
		return
	}
	key := mount + "/" + strings.Trim(secretPath, "/")
	switch {
	case kind == "data" && r.Method == http.MethodGet:
		s.readData(w, r, key)
	case kind == "data" && write:
		s.writeData(w, r, key)
	case kind == "metadata" && r.Method == http.MethodGet:
		s.readMetadata(w, key)
	default:
		writeErrors(w, http.StatusMethodNotAllowed, "unsupported operation")
	}
}

// authenticate returns the live token named by X-Vault-Token (or a Bearer
// Authorization header, which Vault also accepts), dropping expired ones.
func (s *Server) authenticate(r *http.Request) *token {
	id := r.Header.Get("X-Vault-Token")
	if id == "" {
		id, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	t := s.tokens[id]
	if t == nil {
		return nil
	}
	if !t.expires.IsZero() && !time.Now().Before(t.expires) {
		delete(s.tokens, id)
		return nil
	}
	return t
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RoleID   string `json:"role_id"`
		SecretID string `json:"secret_id"`
	}
	if err := decode(r, &body); err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	if body.RoleID == "" {
		writeErrors(w, http.StatusBadRequest, "missing role_id")
		return
	}
	want, ok := s.roles[body.RoleID]
	if !ok || body.SecretID != want {
		writeErrors(w, http.StatusBadRequest, ErrInvalidRole)
		return
	}
	t := s.newToken("auth/approle/login", TokenOptions{
		TTL: s.ttl, MaxTTL: s.maxTTL, Renewable: s.renewable, Policies: []string{"default", "mutt"},
	}, map[string]string{"role_name": "mutt"})
	writeJSON(w, http.StatusOK, response(nil, authData(t), nil))
}

func (s *Server) renew(w http.ResponseWriter, r *http.Request, t *token) {
	var body struct {
		Increment json.RawMessage `json:"increment"`
	}
	if err := decode(r, &body); err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	if !t.renewable {
		writeErrors(w, http.StatusBadRequest, ErrNotRenewable)
		return
	}
	inc := t.ttl
	if d := parseDuration(body.Increment); d > 0 {
		inc = d
	}
	now := time.Now()
	expires := now.Add(inc)
	var warnings []string
	if t.maxTTL > 0 && expires.After(t.issued.Add(t.maxTTL)) {
		expires = t.issued.Add(t.maxTTL)
		warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the effective max_ttl of %q; TTL value is capped accordingly",
			inc.String(), expires.Sub(now).Truncate(time.Second).String()))
	}
	t.expires = expires
	writeJSON(w, http.StatusOK, response(nil, authData(t), warnings))
}

func (s *Server) readData(w http.ResponseWriter, r *http.Request, key string) {
	e := s.kv[key]
	if e == nil || len(e.versions) == 0 {
		writeErrors(w, http.StatusNotFound)
		return
	}
	n := len(e.versions)
	if q := r.URL.Query().Get("version"); q != "" && q != "0" {
		v, err := strconv.Atoi(q)
		if err != nil || v < 0 {
			writeErrors(w, http.StatusBadRequest, "invalid version")
			return
		}
		if v > n {
			writeErrors(w, http.StatusNotFound)
			return
		}
		n = v
	}
	v := e.versions[n-1]
	writeJSON(w, http.StatusOK, response(map[string]any{
		"data":     v.data,
		"metadata": versionMetadata(v, n),
	}, nil, nil))
}

func (s *Server) writeData(w http.ResponseWriter, r *http.Request, key string) {
	var body struct {
		Data    map[string]any `json:"data"`
		Options struct {
			CAS *int `json:"cas"`
		} `json:"options"`
	}
	if err := decode(r, &body); err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	if body.Data == nil {
		writeErrors(w, http.StatusBadRequest, "no data provided")
		return
	}
	current := 0
	if e := s.kv[key]; e != nil {
		current = len(e.versions)
	}
	if body.Options.CAS != nil && *body.Options.CAS != current {
		writeErrors(w, http.StatusBadRequest, ErrCASMismatch)
		return
	}
	n := s.put(key, body.Data)
	writeJSON(w, http.StatusOK, response(versionMetadata(s.kv[key].versions[n-1], n), nil, nil))
}

func (s *Server) readMetadata(w http.ResponseWriter, key string) {
	e := s.kv[key]
	if e == nil {
		writeErrors(w, http.StatusNotFound)
		return
	}
	versions := map[string]any{}
	for i, v := range e.versions {
		versions[strconv.Itoa(i+1)] = map[string]any{
			"created_time": v.created.Format(time.RFC3339Nano), "deletion_time": "", "destroyed": false,
		}
	}
	writeJSON(w, http.StatusOK, response(map[string]any{
		"cas_required":         false,
		"created_time":         e.created.Format(time.RFC3339Nano),
		"current_version":      len(e.versions),
		"custom_metadata":      nil,
		"delete_version_after": "0s",
		"max_versions":         0,
		"oldest_version":       0,
		"updated_time":         e.updated.Format(time.RFC3339Nano),
		"versions":             versions,
	}, nil, nil))
}

func versionMetadata(v version, n int) map[string]any {
	return map[string]any{
		"created_time":    v.created.Format(time.RFC3339Nano),
		"custom_metadata": nil,
		"deletion_time":   "",
		"destroyed":       false,
		"version":         n,
	}
}

func ttlSeconds(t *token) int {
	if t.expires.IsZero() {
		return 0
	}
	return int(time.Until(t.expires).Round(time.Second) / time.Second)
}

func lookupData(t *token) map[string]any {
	var expire any
	if !t.expires.IsZero() {
		expire = t.expires.UTC().Format(time.RFC3339Nano)
	}
	policies := append([]string(nil), t.policies...)
	sort.Strings(policies)
	return map[string]any{
		"accessor":         t.accessor,
		"creation_time":    t.issued.Unix(),
		"creation_ttl":     int(t.ttl / time.Second),
		"display_name":     strings.ReplaceAll(strings.TrimPrefix(t.path, "auth/"), "/", "-"),
		"entity_id":        "",
		"expire_time":      expire,
		"explicit_max_ttl": int(t.maxTTL / time.Second),
		"id":               t.id,
		"issue_time":       t.issued.UTC().Format(time.RFC3339Nano),
		"meta":             t.meta,
		"num_uses":         0,
		"orphan":           true,
		"path":             t.path,
		"policies":         policies,
		"renewable":        t.renewable,
		"ttl":              ttlSeconds(t),
		"type":             "service",
	}
}

func authData(t *token) map[string]any {
	return map[string]any{
		"client_token":   t.id,
		"accessor":       t.accessor,
		"policies":       t.policies,
		"token_policies": t.policies,
		"metadata":       t.meta,
		"lease_duration": ttlSeconds(t),
		"renewable":      t.renewable,
		"entity_id":      "",
		"token_type":     "service",
		"orphan":         true,
	}
}

// response is Vault's envelope around every successful answer.
func response(data, auth map[string]any, warnings []string) map[string]any {
	out := map[string]any{
		"request_id":     random(16),
		"lease_id":       "",
		"renewable":      false,
		"lease_duration": 0,
		"data":           nil,
		"wrap_info":      nil,
		"warnings":       nil,
		"auth":           nil,
	}
	if data != nil {
		out["data"] = data
	}
	if auth != nil {
		out["auth"] = auth
	}
	if len(warnings) > 0 {
		out["warnings"] = warnings
	}
	return out
}

// parseDuration reads an increment given as seconds (number or numeric
// string) or a Go-style duration string such as "30s", as Vault does.
func parseDuration(raw json.RawMessage) time.Duration {
	if len(raw) == 0 {
		return 0
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil {
		return time.Duration(n) * time.Second
	}
	var str string
	if err := json.Unmarshal(raw, &str); err != nil || str == "" {
		return 0
	}
	if n, err := strconv.Atoi(str); err == nil {
		return time.Duration(n) * time.Second
	}
	d, _ := time.ParseDuration(str)
	return d
}

func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("failed to parse JSON input: %w", err)
	}
	return nil
}

func writeErrors(w http.ResponseWriter, status int, errs ...string) {
	if errs == nil {
		errs = []string{}
	}
	writeJSON(w, status, map[string]any{"errors": errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}
