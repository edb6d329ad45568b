package api

// Fuzz targets for the admin API's parsers of outside input: rule, dev host,
// team and dynamic config bodies, the audit query parameters and the keyset
// cursor. The rule: bad input gets a 4xx JSON error whose message names the
// field, never a 500 or a panic (the recover middleware turns a panic into a
// 500, so "never 500" covers both); 2xx only for valid input.
//
// Handler targets run against a real server over their own database and
// Redis key prefix, made once per target (each fuzzing worker process makes
// its own), and send one input at a time, so they are deterministic.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/testenv"
)

const fuzzAdminKey = "fuzz-admin-key-0123456789"

// fuzzEnv is one API server over its own database and Redis key prefix.
type fuzzEnv struct {
	h   http.Handler
	db  *pgxpool.Pool
	log *logBuffer
}

// logBuffer collects what the server logs at warn and above, so a failing
// input shows the real error behind a 500.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.buf.String()
	l.buf.Reset()
	return s
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	db := testenv.Postgres(tb)
	rdb, keys := testenv.Redis(tb)
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := prometheus.NewRegistry()
	s, err := New(Options{DB: db, Redis: rdb, Keys: keys, AdminKeys: []string{fuzzAdminKey}, KeyNameSecret: testKeyNameSecret, Log: log,
		Registerer: reg, Gatherer: reg})
	require.NoError(tb, err)
	return &fuzzEnv{h: s.Handler(), db: db, log: logs}
}

type fuzzResp struct {
	code int
	body []byte
	log  string // the server's warnings and errors while answering
}

// send makes one admin request. path is the decoded path (as gin routes it)
// and rawQuery the encoded query, so any bytes can be sent; a nil body sends none.
func (e *fuzzEnv) send(method, path, rawQuery string, body []byte, hdr map[string]string) fuzzResp {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, "/", rd)
	req.URL.Path, req.URL.RawQuery = path, rawQuery
	req.Header.Set(HeaderAPIKey, fuzzAdminKey)
	req.Header.Set("Content-Type", "application/json")
	setTestReason(req)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	e.log.take()
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return fuzzResp{code: w.Code, body: w.Body.Bytes(), log: e.log.take()}
}

// requireAnswer checks the contract of every answer: never a 500, a status in
// allowed, and an error is JSON {"error","message","correlation_id"} whose
// message carries no database text and, for a 400, starts with the name of
// one of fields (the field, parameter or "body" it is about).
func requireAnswer(t *testing.T, r fuzzResp, what string, input string, fields []string, allowed ...int) map[string]any {
	t.Helper()
	require.NotEqual(t, http.StatusInternalServerError, r.code, "%s: %s\nserver log: %s", what, r.body, r.log)
	require.Contains(t, allowed, r.code, "%s: %s\nserver log: %s", what, r.body, r.log)
	if r.code < 400 {
		return nil
	}
	var eb map[string]any
	require.NoError(t, json.Unmarshal(r.body, &eb), "%s: error body %q is not JSON", what, r.body)
	for _, k := range []string{"error", "message", "correlation_id"} {
		v, ok := eb[k].(string)
		require.True(t, ok && v != "", "%s: error body %s lacks %q", what, r.body, k)
	}
	msg := eb["message"].(string)
	for _, leak := range []string{"SQLSTATE", "pgx", "ERROR:", "goroutine", "invalid byte sequence"} {
		if !strings.Contains(input, leak) {
			require.NotContains(t, msg, leak, "%s: database or Go internals in %q", what, msg)
		}
	}
	if r.code == http.StatusBadRequest {
		require.True(t, startsWithOneOf(msg, append(fields, "unknown field")), "%s: the 400 message %q names none of %v", what, msg, fields)
	}
	return eb
}

func startsWithOneOf(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// requireJSONObject: a 2xx answer is only for a body that is one JSON object.
func requireJSONObject(t *testing.T, what string, body []byte) {
	t.Helper()
	require.True(t, json.Valid(body), "%s: accepted a body that is not JSON: %q", what, body)
	require.True(t, bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")),
		"%s: accepted a body that is not a JSON object: %q", what, body)
}

// storable is text PostgreSQL can hold: valid UTF-8 without NUL.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// requireCleanText checks a stored text field: trimmed, non-empty, bounded, storable.
func requireCleanText(t *testing.T, field, v string, maxBytes int) {
	t.Helper()
	require.NotEmpty(t, v, field)
	require.Equal(t, strings.TrimSpace(v), v, field)
	require.LessOrEqual(t, len(v), maxBytes, field)
	require.True(t, storable(v), "%s %q", field, v)
}

// Tricky JSON values every body target is seeded with in every field.
var trickyValues = []string{
	`null`, `true`, `0`, `-1`, `1.5`, `1e400`, `-0`, `99999999999999999999`, `9223372036854775808`, `2147483648`,
	`"NaN"`, `"Infinity"`, `""`, `" "`, `"\u0000"`, `"a\u0000b"`, `"\ud800"`, `"é日本"`, `"\u202e"`, `[]`, `["x"]`, `{}`,
	`{"a":{"b":[1,2,{"c":null}]}}`, `"` + strings.Repeat("x", 300) + `"`, `"` + strings.Repeat("é", 120) + `"`,
}

// Whole bodies every body target is seeded with.
var trickyBodies = []string{
	``, ` `, `null`, `[]`, `[{}]`, `{}`, `"x"`, `42`, `true`, `{`, `}`, `{"a":1}}`, `{"a":1} {"b":2}`, `{"a":1} x`,
	"\xff\xfe{}", "{\"reason\":\"\xff\"}", "\ufeff{}", `{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`,
}

// spreadTricky is body with each tricky value in two of fields, in turn, and
// a NUL in every field: a seed per pair would make the handler targets'
// baseline run longer than a short fuzz run.
func spreadTricky(body string, fields ...string) []string {
	var out []string
	for i, v := range trickyValues {
		out = append(out, withField(body, fields[i%len(fields)], v), withField(body, fields[(i+1)%len(fields)], v))
	}
	for _, f := range fields {
		out = append(out, withField(body, f, `"a\u0000b"`))
	}
	return out
}

// withField is body (a JSON object) with field set to the raw JSON value v.
func withField(body, field, v string) string {
	return strings.TrimSuffix(body, "}") + `,"` + field + `":` + v + `}`
}

// Rules ---------------------------------------------------------------------

const validRuleJSON = `{"match_string":"LINK DOWN","match_type":"contains","priority":10,` +
	`"prod_handling":"page_and_ticket","dev_handling":"ignore","team_assignment":"netops"}`

var ruleFields = []string{"match_string", "trap_oid", "syslog_severity", "app_name", "facility", "match_type", "priority", "prod_handling",
	"dev_handling", "team_assignment", "is_active", "version", "reason", "request body", "malformed JSON body"}

func seedRuleBodies(f *testing.F) {
	for _, b := range []string{
		validRuleJSON,
		`{"match_type":"regex","match_string":"^link (up|down)$","prod_handling":"ignore","dev_handling":"ignore","team_assignment":"net","is_active":false,"reason":"why"}`,
		`{"match_type":"OID_PREFIX","trap_oid":".1.3.6.1.4.1.9","prod_handling":"Page_Only","dev_handling":"x","team_assignment":"n","syslog_severity":0}`,
		`{"MATCH_STRING":"case","prod_handling":"ignore","dev_handling":"ignore","team_assignment":"t"}`,
		`{"match_string":"dup","match_string":"dup2","prod_handling":"ignore","dev_handling":"ignore","team_assignment":"t"}`,
		`{"match_type":"regex","match_string":"a(b","prod_handling":"ignore","dev_handling":"ignore","team_assignment":"t"}`,
		`{"match_type":"regex","match_string":"((a{1000}){1000}){1000}","prod_handling":"ignore","dev_handling":"ignore","team_assignment":"t"}`,
		`{"app_name":" sshd ","facility":"LOCAL4","prod_handling":"ignore","dev_handling":"ignore","team_assignment":"t"}`,
		`{"match_string":"x","app_name":7,"facility":24,"prod_handling":"ignore","dev_handling":"ignore","team_assignment":"t"}`,
		`{"match_string":"x","facility":"4","prod_handling":"ignore","dev_handling":"ignore","team_assignment":"t"}`,
		`{"is_active":true,"version":1}`, `{"is_active":false,"reason":"a\u0000b"}`, `{"reason":"gone"}`,
		validRuleJSON + ` x`, validRuleJSON + validRuleJSON, validRuleJSON + `}`, validRuleJSON + "\n\t ",
	} {
		f.Add([]byte(b))
	}
	for _, b := range trickyBodies {
		f.Add([]byte(b))
	}
	for _, b := range spreadTricky(validRuleJSON, "match_string", "trap_oid", "syslog_severity", "match_type", "priority",
		"prod_handling", "dev_handling", "team_assignment", "is_active", "version", "reason") {
		f.Add([]byte(b))
	}
}

// FuzzRuleBody sends each body to POST /rules, PUT and PATCH /rules/{id}
// (with the current version in If-Match, so valid bodies succeed) and DELETE.
func FuzzRuleBody(f *testing.F) {
	seedRuleBodies(f)
	e := newFuzzEnv(f)
	r := e.send(http.MethodPost, "/api/v2/rules", "", []byte(validRuleJSON), nil)
	require.Equal(f, http.StatusCreated, r.code, string(r.body))
	var base ruleResponse
	require.NoError(f, json.Unmarshal(r.body, &base))
	basePath := "/api/v2/rules/" + strconv.Itoa(base.ID)
	currentVersion := func(t *testing.T) map[string]string {
		var v int
		require.NoError(t, e.db.QueryRow(context.Background(), `SELECT version FROM alert_rules WHERE id = $1`, base.ID).Scan(&v))
		return map[string]string{"If-Match": strconv.Quote(strconv.Itoa(v))}
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		in := string(body)
		r := e.send(http.MethodPost, "/api/v2/rules", "", body, nil)
		requireAnswer(t, r, "POST /rules", in, ruleFields, http.StatusCreated, http.StatusBadRequest)
		created := 0
		if r.code == http.StatusCreated {
			created = requireStoredRule(t, e, "POST /rules", body, r)
		}

		r = e.send(http.MethodPut, basePath, "", body, currentVersion(t))
		requireAnswer(t, r, "PUT /rules/{id}", in, ruleFields, http.StatusOK, http.StatusBadRequest)
		if r.code == http.StatusOK {
			requireStoredRule(t, e, "PUT /rules/{id}", body, r)
		}

		r = e.send(http.MethodPatch, basePath, "", body, currentVersion(t))
		requireAnswer(t, r, "PATCH /rules/{id}", in, ruleFields, http.StatusOK, http.StatusBadRequest)
		if r.code == http.StatusOK {
			requireJSONObject(t, "PATCH /rules/{id}", body)
		}

		// DELETE takes an optional body ({"reason"}); it deletes what POST created.
		path, allowed := "/api/v2/rules/999999999", []int{http.StatusBadRequest, http.StatusNotFound}
		if created != 0 {
			path, allowed = "/api/v2/rules/"+strconv.Itoa(created), []int{http.StatusOK, http.StatusBadRequest}
		}
		r = e.send(http.MethodDelete, path, "", body, nil)
		requireAnswer(t, r, "DELETE /rules/{id}", in, ruleFields, allowed...)
		if r.code == http.StatusOK && len(body) > 0 {
			require.True(t, json.Valid(body), "DELETE accepted a body that is not JSON: %q", body)
		}
	})
}

// requireStoredRule checks an accepted rule write: the body was a JSON
// object, the rule is one the alerter can use, and it reads back the same.
func requireStoredRule(t *testing.T, e *fuzzEnv, what string, body []byte, r fuzzResp) int {
	t.Helper()
	requireJSONObject(t, what, body)
	var got ruleResponse
	require.NoError(t, json.Unmarshal(r.body, &got), string(r.body))
	switch got.MatchType {
	case "contains", "regex":
		if got.MatchType == "regex" || (got.AppName == nil && got.Facility == nil) {
			require.NotNil(t, got.MatchString)
		}
		if got.MatchType == "regex" {
			_, err := regexp.Compile("(?i)" + *got.MatchString)
			require.NoError(t, err)
		}
	case "oid_prefix":
		require.NotNil(t, got.TrapOID)
	default:
		t.Fatalf("%s: stored match_type %q", what, got.MatchType)
	}
	if got.MatchString != nil {
		requireCleanText(t, "match_string", *got.MatchString, maxLongText)
	}
	if got.TrapOID != nil {
		require.Regexp(t, `^[0-9]+(\.[0-9]+)*$`, *got.TrapOID)
	}
	if got.SyslogSeverity != nil {
		require.True(t, *got.SyslogSeverity >= 0 && *got.SyslogSeverity <= 7)
	}
	if got.AppName != nil {
		requireCleanText(t, "app_name", *got.AppName, maxLongText)
	}
	if got.Facility != nil {
		require.True(t, *got.Facility >= 0 && *got.Facility <= 23)
	}
	require.True(t, got.Priority >= 0 && got.Priority <= maxPriority)
	requireCleanText(t, "prod_handling", got.ProdHandling, maxShortText)
	requireCleanText(t, "dev_handling", got.DevHandling, maxShortText)
	requireCleanText(t, "team_assignment", got.TeamAssignment, maxShortText)

	g := e.send(http.MethodGet, "/api/v2/rules/"+strconv.Itoa(got.ID), "", nil, nil)
	require.Equal(t, http.StatusOK, g.code, string(g.body))
	var stored Rule
	require.NoError(t, json.Unmarshal(g.body, &stored))
	require.Equal(t, got.Rule, stored, "%s: the answer is what was stored", what)
	return got.ID
}

// FuzzRulePathID fuzzes the {id} of /rules/{id}.
func FuzzRulePathID(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "+1", "007", "abc", "1.5", "1e3", "2147483647", "2147483648",
		"9223372036854775807", "9223372036854775808", "99999999999999999999", "０", " 1", "1 ", "", "1/2"} {
		f.Add(s)
	}
	e := newFuzzEnv(f)
	r := e.send(http.MethodPost, "/api/v2/rules", "", []byte(validRuleJSON), nil)
	require.Equal(f, http.StatusCreated, r.code, string(r.body))
	body := []byte(withField(validRuleJSON, "version", "999"))
	f.Fuzz(func(t *testing.T, id string) {
		if id == "" || strings.Contains(id, "/") {
			// Not one path segment: another route or none, never a 5xx.
			for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				r := e.send(m, "/api/v2/rules/"+id, "", body, nil)
				requireAnswer(t, r, m+" /rules/"+id, id, nil, http.StatusMovedPermanently, http.StatusTemporaryRedirect,
					http.StatusPermanentRedirect, http.StatusNotFound, http.StatusMethodNotAllowed)
			}
			return
		}
		fields := []string{"rule id"}
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPatch} {
			r := e.send(m, "/api/v2/rules/"+id, "", body, nil)
			allowed := []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict}
			if m == http.MethodGet {
				allowed = append(allowed, http.StatusOK)
			}
			if m == http.MethodPatch {
				fields = append(fields, "is_active") // the body has none
			}
			requireAnswer(t, r, m+" /rules/"+id, id, fields, allowed...)
		}
		r := e.send(http.MethodDelete, "/api/v2/rules/"+id, "", nil, map[string]string{"If-Match": `"999"`})
		requireAnswer(t, r, "DELETE /rules/"+id, id, fields, http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed)
	})
}

// Dev hosts and teams ------------------------------------------------------

var hostFields = []string{"hostname", "team_assignment", "reason", "request body", "malformed JSON body"}

// FuzzHostBody sends each body to POST /dev-hosts, POST /teams and
// PUT /teams/{hostname}, and fuzzes the {hostname} of the PUT and DELETEs.
func FuzzHostBody(f *testing.F) {
	const valid = `{"hostname":"core-sw1","team_assignment":"netops"}`
	for _, b := range []string{valid, `{"hostname":"dev-01.lab","reason":"lab box"}`, `{"hostname":"has space"}`,
		`{"hostname":"a/b","team_assignment":"t"}`, `{"hostname":"h\u0000","team_assignment":"t"}`,
		`{"hostname":"日本.example","team_assignment":"チーム"}`, `{"team_assignment":"only"}`, valid + ` x`, valid + valid} {
		f.Add([]byte(b), "core-sw1")
	}
	for _, b := range trickyBodies {
		f.Add([]byte(b), "h")
	}
	for _, b := range spreadTricky(valid, "hostname", "team_assignment", "reason") {
		f.Add([]byte(b), "core-sw1")
	}
	for _, h := range []string{"\x00", "\xff", "a\xc0b", "..", ".", "%2F", " ", "日本", strings.Repeat("h", 300)} {
		f.Add([]byte(valid), h)
	}
	e := newFuzzEnv(f)

	f.Fuzz(func(t *testing.T, body []byte, host string) {
		in := string(body)
		r := e.send(http.MethodPost, "/api/v2/dev-hosts", "", body, nil)
		requireAnswer(t, r, "POST /dev-hosts", in, hostFields, http.StatusCreated, http.StatusBadRequest, http.StatusConflict)
		if r.code == http.StatusCreated {
			requireJSONObject(t, "POST /dev-hosts", body)
			var h DevHost
			require.NoError(t, json.Unmarshal(r.body, &h))
			requireHostname(t, h.Hostname)
		}

		r = e.send(http.MethodPost, "/api/v2/teams", "", body, nil)
		requireAnswer(t, r, "POST /teams", in, hostFields, http.StatusCreated, http.StatusBadRequest, http.StatusConflict)
		if r.code == http.StatusCreated {
			requireJSONObject(t, "POST /teams", body)
			var tm TeamMapping
			require.NoError(t, json.Unmarshal(r.body, &tm))
			requireHostname(t, tm.Hostname)
			requireCleanText(t, "team_assignment", tm.TeamAssignment, maxShortText)
		}

		if host == "" || strings.Contains(host, "/") {
			return // not one path segment: gin's routing, not ours
		}
		in += host
		r = e.send(http.MethodPut, "/api/v2/teams/"+host, "", body, nil)
		requireAnswer(t, r, "PUT /teams/{hostname}", in, hostFields, http.StatusOK, http.StatusBadRequest, http.StatusNotFound)
		if r.code == http.StatusOK {
			requireJSONObject(t, "PUT /teams/{hostname}", body)
		}
		for _, p := range []string{"/api/v2/dev-hosts/", "/api/v2/teams/"} {
			r = e.send(http.MethodDelete, p+host, "", nil, nil)
			requireAnswer(t, r, "DELETE "+p+"{hostname}", in, hostFields, http.StatusOK, http.StatusBadRequest, http.StatusNotFound)
		}
	})
}

func requireHostname(t *testing.T, h string) {
	t.Helper()
	requireCleanText(t, "hostname", h, maxLongText)
	require.False(t, strings.ContainsAny(h, " \t\r\n/"), "hostname %q", h)
}

// Dynamic config ------------------------------------------------------------

func seedConfigBodies(f *testing.F) {
	for _, b := range []string{`{"value":5}`, `{"value":"5","reason":"noisy week"}`, `{"value":" 42 "}`, `{"value":true}`,
		`{"value":"dlq"}`, `{"value":"NETO"}`, `{"value":5,"extra":1}`, `{"reason":"no value"}`, `{"value":null}`,
		`{"value":5,"value":6}`, `{"value":5} x`, `{"value":5}{"value":6}`, `{"value":1e3}`, `{"value":-0}`, `{"value":"+7"}`, `{"value":"0x10"}`,
		`{"value":"\u0000"}`, `{"value":5,"reason":"a\u0000b"}`, `{"value":5,"reason":"` + strings.Repeat("r", 1001) + `"}`,
		`{"value":5,"reason":"` + strings.Repeat("é", 600) + `"}`, `{"value":{"nested":true}}`, `{"value":[5]}`} {
		f.Add([]byte(b))
	}
	for _, b := range trickyBodies {
		f.Add([]byte(b))
	}
	for _, v := range trickyValues {
		f.Add([]byte(`{"value":` + v + `}`))
		f.Add([]byte(`{"value":1,"reason":` + v + `}`))
	}
}

var configFields = []string{"body:", "value:", "reason:"}

// FuzzConfigPutBody fuzzes decodePutBody and every key's Parse: a refusal
// names its field; an accepted body is one JSON object whose value and reason
// PostgreSQL and Redis can hold; what the API stores (the normalised value)
// parses again to the same value.
func FuzzConfigPutBody(f *testing.F) {
	seedConfigBodies(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		value, reason, msg := decodePutBody(body)
		if msg != "" {
			require.True(t, startsWithOneOf(msg, configFields), "message %q", msg)
			require.Empty(t, value)
			require.Empty(t, reason)
			return
		}
		requireJSONObject(t, "PUT /config/{key}", body)
		require.True(t, storable(value), "value %q", value)
		require.True(t, storable(reason), "reason %q", reason)
		for _, k := range dynconfig.Keys() {
			typed, err := k.Parse(value)
			if err != nil {
				require.True(t, strings.HasPrefix(err.Error(), k.Name+": "), "%v does not name the key", err)
				continue
			}
			stored := fmt.Sprint(typed)
			again, err := k.Parse(stored)
			require.NoError(t, err, "%s: stored %q of %q does not parse", k.Name, stored, value)
			require.Equal(t, typed, again, k.Name)
			require.Equal(t, stored, fmt.Sprint(again), k.Name)
		}
	})
}

// FuzzConfigPut sends each body to PUT /config/{key} for one of the keys.
func FuzzConfigPut(f *testing.F) {
	keys := dynconfig.Keys()
	idx := map[string]uint8{}
	for i, k := range keys {
		idx[k.Name] = uint8(i)
	}
	seeds := [][]byte{}
	for _, b := range []string{`{"value":5}`, `{"value":"dlq"}`, `{"value":"NETO","reason":"r"}`, `{"value":"\u0000"}`,
		`{"value":"x","reason":"\u0000"}`, `{"value":"a\u0000b"}`} {
		seeds = append(seeds, []byte(b))
	}
	for _, k := range []string{"unhandled_threshold", "alerter_shed_mode", "unhandled_default_team"} {
		for _, b := range seeds {
			f.Add(idx[k], b)
		}
	}
	for _, b := range trickyBodies {
		f.Add(idx["unhandled_default_team"], []byte(b))
	}
	e := newFuzzEnv(f)

	f.Fuzz(func(t *testing.T, i uint8, body []byte) {
		k := keys[int(i)%len(keys)]
		path := "/api/v2/config/" + k.Name
		r := e.send(http.MethodPut, path, "", body, nil)
		requireAnswer(t, r, "PUT "+path, string(body), append([]string{k.Name + ":"}, configFields...),
			http.StatusOK, http.StatusBadRequest)
		if r.code != http.StatusOK {
			return
		}
		requireJSONObject(t, "PUT "+path, body)
		var put ConfigItem
		require.NoError(t, json.Unmarshal(r.body, &put))
		require.Equal(t, "redis", put.Source)
		g := e.send(http.MethodGet, path, "", nil, nil)
		require.Equal(t, http.StatusOK, g.code)
		var got ConfigItem
		require.NoError(t, json.Unmarshal(g.body, &got))
		require.Equal(t, put, got, "the answer is what services now read")
	})
}

// Audit ---------------------------------------------------------------------

// The timestamps a cursor must carry: every event_timestamp /audit-logs can
// answer, i.e. the years 0000-9999 in UTC that JSON (RFC 3339) can show, in
// PostgreSQL's microseconds.
var (
	cursorMinTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	cursorMaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

func cursorOf(ts time.Time, id string) string {
	return encodeCursor(EventAudit{EventTimestamp: ts, EventID: id})
}

func seedCursors(f *testing.F) {
	id := "0195f3c4-7b1e-7c3a-9d2e-2f1a4b5c6d7e"
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{
		cursorOf(time.Date(2026, 3, 4, 10, 30, 20, 123456000, time.UTC), id),
		cursorOf(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), id),
		cursorOf(time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), id),
		b64("2026-03-04T10:30:20.123456Z|" + id), // what the first release wrote
		b64("2026-03-04T10:30:20+01:00|" + id), b64("0000-01-01T00:00:00+01:00|" + id),
		b64("2026-03-04T10:30:20Z|{" + id + "}"), b64("2026-03-04T10:30:20Z|urn:uuid:" + id),
		b64("2026-03-04T10:30:20Z|" + strings.ReplaceAll(id, "-", "")),
		b64("2026-03-04T10:30:20Z|" + id + "|x"), b64("2026-03-04T10:30:20Z"), b64("|"), b64("\xff|\x00"),
		b64("1772620220.123456000|" + id), b64("2026-03-04T10:30:20.1234567891234Z|" + id),
		"", "Zm9v", "====", "a", "!!!", base64.StdEncoding.EncodeToString([]byte("2026-03-04T10:30:20Z|" + id)),
	} {
		f.Add(s)
	}
}

// FuzzAuditCursor: decoding never panics, and any cursor that decodes
// re-encodes to one that decodes to the same position, stably.
func FuzzAuditCursor(f *testing.F) {
	seedCursors(f)
	f.Fuzz(func(t *testing.T, s string) {
		ts, id, err := decodeCursor(s)
		if err != nil {
			return
		}
		c := cursorOf(ts, id.String())
		ts2, id2, err := decodeCursor(c)
		require.NoError(t, err, "re-encoded %q (from %q) does not decode", c, s)
		require.True(t, ts2.Equal(ts), "%v != %v", ts2, ts)
		require.Equal(t, id, id2)
		require.Equal(t, c, cursorOf(ts2, id2.String()), "encoding is stable")
	})
}

// FuzzAuditCursorRoundTrip: the cursor of any row /audit-logs can answer
// decodes to that row's position.
func FuzzAuditCursorRoundTrip(f *testing.F) {
	for _, ts := range []time.Time{time.Date(2026, 3, 4, 10, 30, 20, 123456000, time.UTC), cursorMinTime, cursorMaxTime,
		time.Unix(0, 0), time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)} {
		f.Add(ts.Unix(), int64(ts.Nanosecond()/1000), []byte("0195f3c47b1e7c3a"))
	}
	lo, span := cursorMinTime.Unix(), cursorMaxTime.Unix()-cursorMinTime.Unix()+1
	f.Fuzz(func(t *testing.T, sec, micros int64, idBytes []byte) {
		// Into the range, keeping what is in it (no overflow: both remainders are below span).
		if m := (sec%span - lo%span) % span; m >= 0 {
			sec = lo + m
		} else {
			sec = lo + m + span
		}
		micros = ((micros % 1e6) + 1e6) % 1e6
		ts := time.Unix(sec, micros*1000).UTC()
		var raw [16]byte
		copy(raw[:], idBytes)
		id := uuid.UUID(raw)
		c := cursorOf(ts, id.String())
		gotTS, gotID, err := decodeCursor(c)
		require.NoError(t, err, "cursor %q of %v", c, ts)
		require.True(t, gotTS.Equal(ts), "%v != %v", gotTS, ts)
		require.Equal(t, id, gotID)
	})
}

// queryParam is one fuzzed query parameter and whether the API must accept it.
type queryParam struct {
	name, v string
	valid   func(string) bool
}

func validInt(lo, hi int) func(string) bool {
	return func(v string) bool { n, err := strconv.Atoi(v); return err == nil && n >= lo && n <= hi }
}

// validDate: RFC 3339 or YYYY-MM-DD, within the years 0000-9999 in UTC.
func validDate(v string) bool {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t, err = time.Parse(time.DateOnly, v)
	}
	return err == nil && t.UTC().Year() >= 0 && t.UTC().Year() <= 9999
}

// queryOf encodes the non-empty params and names the invalid ones. limit is
// the peer's name of page_size and read only without it.
func queryOf(params []queryParam) (string, []string) {
	q := url.Values{}
	var bad []string
	sizeSet := false
	for _, p := range params {
		if p.v == "" || (p.name == "limit" && sizeSet) {
			if p.v != "" {
				q.Set(p.name, p.v)
			}
			continue
		}
		sizeSet = sizeSet || p.name == "page_size"
		q.Set(p.name, p.v)
		if !p.valid(p.v) {
			bad = append(bad, p.name)
		}
	}
	return q.Encode(), bad
}

// Tricky values of query parameters, by kind.
var (
	textValues = []string{"\x00", "\xff", "a\xc0b", "日本", " ", "%", "a'b"}
	intValues  = []string{"0", "-1", "1", "200", "201", "2147483648", "9223372036854775807", "99999999999999999999",
		"1e3", "+1", " 1", "NaN"}
	dateValues = []string{"2026-03-04", "2026-03-04T10:30:20.5+01:00", "0000-01-01T00:00:00+01:00",
		"9999-12-31T23:00:00-05:00", "9999-12-31", "2026-13-01", "2026-02-30", "yesterday", "2026-03-04T25:00:00Z"}
)

// seedQueries adds known (one value per parameter) and each parameter alone
// with each of its tricky values.
func seedQueries(f *testing.F, known []string, tricky [][]string) {
	args := func() []any {
		a := make([]any, len(known))
		for i := range a {
			a[i] = ""
		}
		return a
	}
	a := args()
	for i, v := range known {
		a[i] = v
	}
	f.Add(a...)
	for i, vs := range tricky {
		for _, v := range vs {
			a := args()
			a[i] = v
			f.Add(a...)
		}
	}
}

// FuzzAuditLogsQuery fuzzes every query parameter of GET /audit-logs: all
// valid → 200 with rows that match the filters; any invalid → 400 naming one
// of the invalid parameters.
func FuzzAuditLogsQuery(f *testing.F) {
	seedQueries(f, []string{"h1", "7", "", "c1", "", "", "true", "1", "2", "", ""}, [][]string{textValues, intValues,
		{"0195f3c4-7b1e-7c3a-9d2e-2f1a4b5c6d7e", "{0195f3c4-7b1e-7c3a-9d2e-2f1a4b5c6d7e}", "nope", "\x00"},
		textValues, dateValues, dateValues, {"1", "maybe", "TRUE"}, intValues, intValues, intValues,
		{cursorOf(time.Date(2026, 3, 4, 10, 30, 20, 0, time.UTC), "0195f3c4-7b1e-7c3a-9d2e-2f1a4b5c6d7e"), "Zm9v", "\xff"}})
	e := newFuzzEnv(f)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range 5 {
		for _, table := range []string{"event_audit_log", "event_audit_log_archive"} {
			_, err := e.db.Exec(ctx, `INSERT INTO `+table+` (id, event_id, event_timestamp, received_at, hostname,
                matched_rule_id, handling_decision, correlation_id) VALUES ($1, gen_random_uuid(), $2, $2, $3, $4, 'page_only', $5)`,
				i, now.Add(-time.Duration(i)*time.Minute), fmt.Sprintf("h%d", i%2), 7+i%2, fmt.Sprintf("c%d", i))
			require.NoError(f, err)
		}
	}

	f.Fuzz(func(t *testing.T, hostname, ruleID, eventID, corr, start, end, archive, page, size, limit, after string) {
		text := func(v string) bool { return storable(v) }
		q, bad := queryOf([]queryParam{
			{"hostname", hostname, text},
			{"rule_id", ruleID, func(v string) bool { _, err := strconv.ParseInt(v, 10, 32); return err == nil }},
			{"event_id", eventID, func(v string) bool { _, err := uuid.Parse(v); return err == nil }},
			{"correlation_id", corr, text},
			{"start_date", start, validDate},
			{"end_date", end, validDate},
			{"include_archive", archive, func(v string) bool { _, err := strconv.ParseBool(v); return err == nil }},
			{"page", page, validInt(1, int(^uint(0)>>1))},
			{"page_size", size, validInt(1, maxPageSize)},
			{"limit", limit, validInt(1, maxPageSize)},
			{"after", after, func(v string) bool { _, _, err := decodeCursor(v); return err == nil }},
		})
		r := e.send(http.MethodGet, "/api/v2/audit-logs", q, nil, nil)
		if len(bad) > 0 {
			requireAnswer(t, r, "GET /audit-logs?"+q, q, bad, http.StatusBadRequest)
			return
		}
		requireAnswer(t, r, "GET /audit-logs?"+q, q, nil, http.StatusOK)
		var got struct {
			Logs []EventAudit `json:"logs"`
		}
		require.NoError(t, json.Unmarshal(r.body, &got), string(r.body))
		require.NotNil(t, got.Logs)
		require.LessOrEqual(t, len(got.Logs), maxPageSize)
		for _, l := range got.Logs {
			if hostname != "" {
				require.Equal(t, hostname, l.Hostname)
			}
			if corr != "" {
				require.Equal(t, corr, *l.CorrelationID)
			}
		}
	})
}

// FuzzConfigAuditQuery fuzzes every query parameter of GET /config-audit.
func FuzzConfigAuditQuery(f *testing.F) {
	seedQueries(f, []string{"admin-1", "development_hosts", "d1", "create", "", "", "1", "2", ""}, [][]string{
		textValues, textValues, textValues, append([]string{"ünder", "ǆ"}, textValues...), dateValues, dateValues,
		intValues, intValues, intValues})
	e := newFuzzEnv(f)
	for _, h := range []string{"d1", "d2", "d3"} {
		r := e.send(http.MethodPost, "/api/v2/dev-hosts", "", []byte(`{"hostname":"`+h+`"}`), nil)
		require.Equal(f, http.StatusCreated, r.code, string(r.body))
	}

	f.Fuzz(func(t *testing.T, changedBy, table, record, op, start, end, page, size, limit string) {
		text := func(v string) bool { return storable(v) }
		q, bad := queryOf([]queryParam{
			{"changed_by", changedBy, text},
			{"table_name", table, text},
			{"record_id", record, text},
			{"operation", op, text},
			{"start_date", start, validDate},
			{"end_date", end, validDate},
			{"page", page, validInt(1, int(^uint(0)>>1))},
			{"page_size", size, validInt(1, maxPageSize)},
			{"limit", limit, validInt(1, maxPageSize)},
		})
		r := e.send(http.MethodGet, "/api/v2/config-audit", q, nil, nil)
		if len(bad) > 0 {
			requireAnswer(t, r, "GET /config-audit?"+q, q, bad, http.StatusBadRequest)
			return
		}
		requireAnswer(t, r, "GET /config-audit?"+q, q, nil, http.StatusOK)
		var got struct {
			Changes    []ConfigChange `json:"changes"`
			Pagination pagination     `json:"pagination"`
		}
		require.NoError(t, json.Unmarshal(r.body, &got), string(r.body))
		require.NotNil(t, got.Changes)
		for _, c := range got.Changes {
			if changedBy != "" {
				require.Equal(t, changedBy, c.ChangedBy)
			}
			if table != "" {
				require.Equal(t, table, c.TableName)
			}
			if record != "" {
				require.Equal(t, record, c.RecordID)
			}
			if op != "" {
				require.Equal(t, strings.ToUpper(op), c.Operation)
			}
		}
	})
}

// Regression tests of what the fuzz targets found; each failed before its fix
// (the comment says how).

func TestFuzzFoundBodies(t *testing.T) {
	t.Parallel()
	e := newFuzzEnv(t)
	r := e.send(http.MethodPost, "/api/v2/rules", "", []byte(validRuleJSON), nil)
	require.Equal(t, http.StatusCreated, r.code, string(r.body))
	var rule ruleResponse
	require.NoError(t, json.Unmarshal(r.body, &rule))
	rulePath := "/api/v2/rules/" + strconv.Itoa(rule.ID)
	r = e.send(http.MethodPost, "/api/v2/teams", "", []byte(`{"hostname":"t1","team_assignment":"net"}`), nil)
	require.Equal(t, http.StatusCreated, r.code, string(r.body))
	nul := func(field string) string { return withField(validRuleJSON, field, `"a\u0000b"`) }

	for _, tc := range []struct{ name, method, path, body, field string }{
		// Was ": must be of type api.ruleInput" (no field, a Go type name).
		{"rule body an array", http.MethodPost, "/api/v2/rules", `[]`, "request body must be a JSON object"},
		{"host body a string", http.MethodPost, "/api/v2/dev-hosts", `"h1"`, "request body must be a JSON object"},
		{"patch body a number", http.MethodPatch, rulePath, `1`, "request body must be a JSON object"},
		// Were accepted (201/200/200): a JSON object followed by more is not JSON.
		{"data after the rule", http.MethodPost, "/api/v2/rules", validRuleJSON + ` x`, "malformed JSON body"},
		{"data after the config body", http.MethodPut, "/api/v2/config/unhandled_threshold", `{"value":5} {"value":6}`, "body:"},
		// Were 500s: PostgreSQL refuses NUL in text.
		{"NUL in match_string", http.MethodPost, "/api/v2/rules", nul("match_string"), "match_string"},
		{"NUL in prod_handling", http.MethodPost, "/api/v2/rules", nul("prod_handling"), "prod_handling"},
		{"NUL in dev_handling", http.MethodPut, rulePath, withField(nul("dev_handling"), "version", "1"), "dev_handling"},
		{"NUL in rule team", http.MethodPost, "/api/v2/rules", nul("team_assignment"), "team_assignment"},
		{"NUL in rule reason", http.MethodPost, "/api/v2/rules", nul("reason"), "reason"},
		{"NUL in patch reason", http.MethodPatch, rulePath, `{"is_active":false,"version":1,"reason":"\u0000"}`, "reason"},
		{"NUL in delete reason", http.MethodDelete, rulePath, `{"reason":"\u0000"}`, "reason"},
		{"NUL in dev host reason", http.MethodPost, "/api/v2/dev-hosts", `{"hostname":"h1","reason":"\u0000"}`, "reason"},
		{"NUL in team", http.MethodPost, "/api/v2/teams", `{"hostname":"h1","team_assignment":"a\u0000"}`, "team_assignment"},
		{"NUL in team update", http.MethodPut, "/api/v2/teams/t1", `{"team_assignment":"\u0000x"}`, "team_assignment"},
		{"NUL in team reason", http.MethodPut, "/api/v2/teams/t1", `{"team_assignment":"x","reason":"\u0000"}`, "reason"},
		// Were 503 "audit log unavailable": the audit row's JSONB refuses \u0000.
		{"NUL in config value", http.MethodPut, "/api/v2/config/unhandled_default_team", `{"value":"a\u0000"}`, "value:"},
		{"NUL in config reason", http.MethodPut, "/api/v2/config/unhandled_threshold", `{"value":5,"reason":"\u0000"}`, "reason:"},
		// Were 500s: a path that is not UTF-8 or holds a NUL.
		{"team path not UTF-8", http.MethodPut, "/api/v2/teams/\xff", `{"team_assignment":"x"}`, "hostname"},
		{"dev host path with NUL", http.MethodDelete, "/api/v2/dev-hosts/\x00", "", "hostname"},
		{"team delete path not UTF-8", http.MethodDelete, "/api/v2/teams/a\xc0b", "", "hostname"},
		// Was a 200 that deleted the rule.
		{"data after the delete body", http.MethodDelete, rulePath, `{"reason":"x"} y`, "malformed JSON body"},
		// Were "idS.0: must be of type string" and "Match_String: …": the field as the client spelled it
		// (encoding/json matches names case-insensitively) and an element in Go's path form.
		{"DLQ ids in another case", http.MethodPost, "/api/v2/dlq/alerter/replay", `{"idS":[0]}`, "ids[0]: must be of type string"},
		{"rule field in another case", http.MethodPost, "/api/v2/rules", withField(validRuleJSON, "Match_String", "1"), "match_string: must be of type string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.send(tc.method, tc.path, "", []byte(tc.body), nil)
			requireAnswer(t, r, tc.name, tc.body, []string{tc.field}, http.StatusBadRequest)
		})
	}
	var n int
	require.NoError(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM config_audit_log`).Scan(&n))
	require.Equal(t, 2, n, "refused writes change and audit nothing")
	r = e.send(http.MethodGet, rulePath, "", nil, nil)
	require.Equal(t, http.StatusOK, r.code, "the rule was not deleted")
}

// An X-Change-Reason that is not UTF-8 (HTTP allows such header bytes) was a
// 500; it is stored with the bad bytes replaced.
func TestFuzzFoundChangeReasonHeaderNotUTF8(t *testing.T) {
	t.Parallel()
	e := newFuzzEnv(t)
	r := e.send(http.MethodPost, "/api/v2/dev-hosts", "", []byte(`{"hostname":"h1"}`), map[string]string{"X-Change-Reason": "caf\xe9"})
	require.Equal(t, http.StatusCreated, r.code, "%s\n%s", r.body, r.log)
	var reason string
	require.NoError(t, e.db.QueryRow(context.Background(), `SELECT reason FROM config_audit_log WHERE record_id = 'h1'`).Scan(&reason))
	require.Equal(t, "caf\uFFFD", reason)
}

func TestFuzzFoundQueries(t *testing.T) {
	t.Parallel()
	e := newFuzzEnv(t)
	for _, tc := range []struct {
		path, query string
		status      int
		mentions    string
	}{
		// Were 500s: PostgreSQL refuses text that is not UTF-8 or holds a NUL.
		{"/api/v2/audit-logs", "hostname=%FF", http.StatusBadRequest, "hostname"},
		{"/api/v2/audit-logs", "correlation_id=a%00", http.StatusBadRequest, "correlation_id"},
		{"/api/v2/config-audit", "changed_by=%FF", http.StatusBadRequest, "changed_by"},
		{"/api/v2/config-audit", "table_name=%00", http.StatusBadRequest, "table_name"},
		{"/api/v2/config-audit", "record_id=a%C0b", http.StatusBadRequest, "record_id"},
		{"/api/v2/config-audit", "operation=%00", http.StatusBadRequest, "operation"},
		{"/api/v2/rules", "team=%FF", http.StatusBadRequest, "team"},
		// Was a 500: matched_rule_id and alert_rules.id are INTs.
		{"/api/v2/audit-logs", "rule_id=2147483648", http.StatusBadRequest, "rule_id"},
		{"/api/v2/rules/2147483648", "", http.StatusNotFound, "2147483648"},
		// Was a 200 with an empty body: window_start (year -1 in UTC) cannot be written as JSON.
		{"/api/v2/audit-logs", "start_date=0000-01-01T00:00:00%2B01:00", http.StatusBadRequest, "start_date"},
		// Were 500s: (page-1)*page_size overflowed into a negative OFFSET. A page past the data is empty.
		{"/api/v2/audit-logs", "page=9223372036854775807", http.StatusOK, `"logs":[]`},
		{"/api/v2/config-audit", "page=9223372036854775807&page_size=200", http.StatusOK, `"changes":[]`},
	} {
		t.Run(tc.path+"?"+tc.query, func(t *testing.T) {
			r := e.send(http.MethodGet, tc.path, tc.query, nil, nil)
			requireAnswer(t, r, tc.query, tc.query, []string{tc.mentions}, tc.status)
			require.Contains(t, string(r.body), tc.mentions)
		})
	}
}

// FuzzConsoleQueries: the live dashboard's and event browser's query
// parsers accept exactly their documented ranges and name the field otherwise.
func FuzzConsoleQueries(f *testing.F) {
	for _, s := range []string{"", "1", "60", "1440", "1441", "0", "-1", "x", "page_and_ticket", "IGNORE", "a b", "é", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseWindowMinutes(s); err != nil {
			require.Contains(t, err.Error(), "window_minutes:")
		} else {
			require.True(t, n >= 1 && n <= maxDashboardWindow, n)
		}
		if n, err := parseHours(s); err != nil {
			require.Contains(t, err.Error(), "hours:")
		} else {
			require.True(t, n >= 1 && n <= maxHitsWindow, n)
		}
		if err := parseHandling(s); err != nil {
			require.Contains(t, err.Error(), "handling:")
		} else {
			require.True(t, s == "" || validHandling.MatchString(s))
			require.True(t, utf8.ValidString(s) && !strings.ContainsRune(s, 0))
		}
	})
}
