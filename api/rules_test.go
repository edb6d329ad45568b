package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func validRuleBody() map[string]any {
	return map[string]any{
		"match_string": "LINK DOWN", "match_type": "contains", "priority": 10,
		"prod_handling": "page_and_ticket", "dev_handling": "ignore", "team_assignment": "netops",
	}
}

func createRule(t *testing.T, e *resEnv, body map[string]any) ruleResponse {
	t.Helper()
	var r ruleResponse
	w := e.admin(http.MethodPost, "/api/v2/rules", body, &r)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	return r
}

func TestRulesCreateGetList(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	updates := e.subscribeRules()

	var created ruleResponse
	w := e.do(http.MethodPost, "/api/v2/rules", resAdminKey, validRuleBody(),
		map[string]string{"X-Change-Reason": "new link rule", "X-Correlation-ID": "corr-create"}, &created)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	require.Equal(t, 1, created.Version)
	require.Equal(t, `"1"`, w.Header().Get("ETag"))
	require.Empty(t, created.Warnings)
	require.False(t, created.CreatedAt.IsZero())
	require.Contains(t, w.Body.String(), `"created_at":"`)
	requirePublished(t, updates)

	id := fmt.Sprint(created.ID)
	audit := e.auditRows("alert_rules", id)
	require.Len(t, audit, 1)
	require.Equal(t, "CREATE", audit[0].Operation)
	require.Equal(t, KeyName(testKeyNameSecret, resAdminKey, true), audit[0].ChangedBy)
	require.Nil(t, audit[0].Old)
	require.Equal(t, "LINK DOWN", audit[0].New["match_string"])
	require.Equal(t, "new link rule", *audit[0].Reason)
	require.NotNil(t, audit[0].CorrelationID)

	var got Rule
	w = e.admin(http.MethodGet, "/api/v1/rules/"+id, nil, &got)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, created.Rule, got)
	require.Equal(t, `"1"`, w.Header().Get("ETag"))

	// A read-only key reads too.
	w = e.do(http.MethodGet, "/api/v2/rules/"+id, resROKey, nil, nil, nil)
	require.Equal(t, http.StatusOK, w.Code)

	requireErrorJSON(t, e.admin(http.MethodGet, "/api/v2/rules/999999", nil, nil), http.StatusNotFound, "999999")
	requireErrorJSON(t, e.admin(http.MethodGet, "/api/v2/rules/abc", nil, nil), http.StatusBadRequest, "id")

	other := validRuleBody()
	other["team_assignment"] = "dba"
	other["is_active"] = false
	other["priority"] = 5
	createRule(t, e, other)

	var v1 []Rule
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v1/rules?format=array", nil, &v1).Code)
	require.Len(t, v1, 2)
	require.Equal(t, "dba", v1[0].TeamAssignment, "ordered by priority")

	var v2 struct {
		Rules []Rule `json:"rules"`
		Total int    `json:"total"`
	}
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/rules", nil, &v2).Code)
	require.Equal(t, 2, v2.Total)
	require.Len(t, v2.Rules, 2)

	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/rules?active=true", nil, &v2).Code)
	require.Equal(t, 1, v2.Total)
	require.Equal(t, "netops", v2.Rules[0].TeamAssignment)
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/rules?team=dba", nil, &v2).Code)
	require.Equal(t, 1, v2.Total)
	require.False(t, v2.Rules[0].IsActive)
	requireErrorJSON(t, e.admin(http.MethodGet, "/api/v2/rules?active=maybe", nil, nil), http.StatusBadRequest, "active")

	var empty []Rule
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v1/rules?team=nobody&format=array", nil, &empty).Code)
	require.NotNil(t, empty, "an empty v1 list is [] not null")
}

func TestRulesCreateValidation(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	with := func(k string, v any) map[string]any {
		b := validRuleBody()
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	long := strings.Repeat("x", 256)
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"malformed", "{not json", "malformed"},
		{"empty body", "", "JSON object"},
		{"wrong type", with("priority", "high"), "priority"},
		{"bad match_type", with("match_type", "glob"), "match_type"},
		{"contains needs match_string", with("match_string", nil), "match_string"},
		{"blank match_string", with("match_string", "  "), "match_string"},
		{"regex must compile", map[string]any{"match_type": "regex", "match_string": "a(b", "prod_handling": "ignore",
			"dev_handling": "ignore", "team_assignment": "t"}, "match_string"},
		{"oid_prefix needs trap_oid", with("match_type", "oid_prefix"), "trap_oid"},
		{"bad oid", map[string]any{"match_type": "oid_prefix", "trap_oid": "1.3.x", "prod_handling": "ignore",
			"dev_handling": "ignore", "team_assignment": "t"}, "trap_oid"},
		{"severity high", with("syslog_severity", 8), "syslog_severity"},
		{"severity negative", with("syslog_severity", -1), "syslog_severity"},
		{"priority range", with("priority", 100001), "priority"},
		{"priority negative", with("priority", -1), "priority"},
		{"prod_handling missing", with("prod_handling", nil), "prod_handling"},
		{"dev_handling empty", with("dev_handling", ""), "dev_handling"},
		{"dev_handling long", with("dev_handling", strings.Repeat("h", 101)), "dev_handling"},
		{"team missing", with("team_assignment", nil), "team_assignment"},
		{"team long", with("team_assignment", strings.Repeat("t", 101)), "team_assignment"},
		{"match_string long", with("match_string", long), "match_string"},
		{"reason long", with("reason", strings.Repeat("r", maxReason+1)), "reason"},
		{"typo in a field name", with("priorty", 5), `unknown field "priorty"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/rules", tc.body, nil), http.StatusBadRequest, tc.field)
		})
	}
	var n int
	require.NoError(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM config_audit_log`).Scan(&n))
	require.Zero(t, n, "rejected bodies write no audit")

	// Normalisation: handling in any case is stored in one spelling (Page_only); another word is refused.
	requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/rules", map[string]any{"match_type": "oid_prefix",
		"trap_oid": "1.3.6.1.4.1.9", "prod_handling": "page_only", "dev_handling": "escalate", "team_assignment": "net"}, nil),
		http.StatusBadRequest, "dev_handling: must be one of Page_and_ticket, Page_only, Ticket_only, Ignore")
	r := createRule(t, e, map[string]any{"match_type": "oid_prefix", "trap_oid": ".1.3.6.1.4.1.9",
		"prod_handling": "Page_Only", "dev_handling": " IGNORE ", "team_assignment": "net", "syslog_severity": 0})
	require.Equal(t, "1.3.6.1.4.1.9", *r.TrapOID)
	require.Equal(t, 0, *r.SyslogSeverity)
	require.Equal(t, "Page_only", r.ProdHandling, "stored in the Python MUTT's spelling")
	require.Equal(t, "Ignore", r.DevHandling)
	require.Empty(t, r.Warnings)
	rx := createRule(t, e, map[string]any{"match_type": "regex", "match_string": `^link (up|down)$`,
		"prod_handling": "ignore", "dev_handling": "ignore", "team_assignment": "net"})
	require.Equal(t, 100, rx.Priority, "default priority")
	require.True(t, rx.IsActive)
}

// A client may send back what GET returned (id, timestamps) with its change;
// a body over the size limit is a 413.
func TestRulesPutWhatGetReturnedAndBodyLimit(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	r := createRule(t, e, validRuleBody())
	path := fmt.Sprintf("/api/v2/rules/%d", r.ID)
	var got map[string]any
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, path, nil, &got).Code)
	got["priority"] = 7
	var out Rule
	w := e.admin(http.MethodPut, path, got, &out)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, 7, out.Priority)
	require.Equal(t, r.Version+1, out.Version)

	huge := validRuleBody()
	huge["reason"] = strings.Repeat("r", maxBody)
	requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/rules", huge, nil), http.StatusRequestEntityTooLarge, "exceeds")
}

func TestRulesWriteAuth(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	r := createRule(t, e, validRuleBody())
	id := fmt.Sprint(r.ID)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		path := "/api/v2/rules/" + id
		if m == http.MethodPost {
			path = "/api/v2/rules"
		}
		w := e.do(m, path, resROKey, validRuleBody(), nil, nil)
		require.Equal(t, http.StatusForbidden, w.Code, m)
		w = e.do(m, path, "", validRuleBody(), nil, nil)
		require.Equal(t, http.StatusUnauthorized, w.Code, m)
	}
	require.Len(t, e.auditRows("alert_rules", id), 1)
}

func TestRulesUpdateConcurrency(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	r := createRule(t, e, validRuleBody())
	id := fmt.Sprint(r.ID)
	path := "/api/v2/rules/" + id
	updates := e.subscribeRules()

	body := validRuleBody()
	body["match_string"] = "LINK FLAP"
	body["version"] = 1
	body["reason"] = "flaps too"
	var up ruleResponse
	w := e.do(http.MethodPut, path, resAdminKey, body, map[string]string{"X-Correlation-ID": "corr-put"}, &up)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, 2, up.Version)
	require.Equal(t, `"2"`, w.Header().Get("ETag"))
	require.Equal(t, "LINK FLAP", *up.MatchString)
	require.False(t, up.UpdatedAt.Before(r.UpdatedAt))
	requirePublished(t, updates)

	audit := e.auditRows("alert_rules", id)
	require.Len(t, audit, 2)
	require.Equal(t, "UPDATE", audit[1].Operation)
	require.Equal(t, "LINK DOWN", audit[1].Old["match_string"])
	require.Equal(t, "LINK FLAP", audit[1].New["match_string"])
	require.EqualValues(t, 1, audit[1].Old["version"])
	require.EqualValues(t, 2, audit[1].New["version"])
	require.Equal(t, "flaps too", *audit[1].Reason)

	// Stale body version → 409; stale If-Match → 412; neither → 428. None is audited.
	requireErrorJSON(t, e.admin(http.MethodPut, path, body, nil), http.StatusConflict, "version 2")
	delete(body, "version")
	requireErrorJSON(t, e.do(http.MethodPut, path, resAdminKey, body, map[string]string{"If-Match": `"1"`}, nil),
		http.StatusPreconditionFailed, "version 2")
	requireErrorJSON(t, e.admin(http.MethodPut, path, body, nil), http.StatusPreconditionRequired, "version")
	requireErrorJSON(t, e.do(http.MethodPut, path, resAdminKey, body, map[string]string{"If-Match": `abc`}, nil),
		http.StatusBadRequest, "If-Match")
	require.Len(t, e.auditRows("alert_rules", id), 2)

	// Current If-Match works; invalid body is 400 even with a good version.
	w = e.do(http.MethodPut, path, resAdminKey, body, map[string]string{"If-Match": `"2"`}, &up)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, 3, up.Version)
	body["priority"] = -5
	body["version"] = 3
	requireErrorJSON(t, e.admin(http.MethodPut, path, body, nil), http.StatusBadRequest, "priority")
	body["priority"] = 1
	requireErrorJSON(t, e.admin(http.MethodPut, "/api/v2/rules/424242", body, nil), http.StatusNotFound, "424242")

	// PATCH enable/disable with the same concurrency.
	patch := map[string]any{"is_active": false, "version": 3}
	var p ruleResponse
	require.Equal(t, http.StatusOK, e.admin(http.MethodPatch, path, patch, &p).Code)
	require.False(t, p.IsActive)
	require.Equal(t, 4, p.Version)
	requireErrorJSON(t, e.admin(http.MethodPatch, path, patch, nil), http.StatusConflict, "version 4")
	requireErrorJSON(t, e.admin(http.MethodPatch, path, map[string]any{"is_active": true}, nil),
		http.StatusPreconditionRequired, "version")
	requireErrorJSON(t, e.admin(http.MethodPatch, path, map[string]any{"version": 4}, nil), http.StatusBadRequest, "is_active")
	audit = e.auditRows("alert_rules", id)
	require.Len(t, audit, 4)
	require.Equal(t, true, audit[3].Old["is_active"])
	require.Equal(t, false, audit[3].New["is_active"])
}

func TestRulesConcurrentWritersOneWins(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	r := createRule(t, e, validRuleBody())
	path := fmt.Sprintf("/api/v2/rules/%d", r.ID)
	const n = 8
	codes := make(chan int, n)
	for i := range n {
		go func() {
			body := validRuleBody()
			body["match_string"] = fmt.Sprintf("writer %d", i)
			body["version"] = 1
			codes <- e.admin(http.MethodPut, path, body, nil).Code
		}()
	}
	ok := 0
	for range n {
		c := <-codes
		require.Contains(t, []int{http.StatusOK, http.StatusConflict}, c)
		if c == http.StatusOK {
			ok++
		}
	}
	require.Equal(t, 1, ok)
	require.Len(t, e.auditRows("alert_rules", fmt.Sprint(r.ID)), 2)
}

func TestRulesDelete(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	r := createRule(t, e, validRuleBody())
	id := fmt.Sprint(r.ID)
	path := "/api/v2/rules/" + id
	// The rule has matched events: deleting it must still work (no FK, ADR 0003).
	_, err := e.db.Exec(context.Background(), `INSERT INTO event_audit_log (event_id, event_timestamp, received_at,
        hostname, matched_rule_id, handling_decision) VALUES (gen_random_uuid(), $1, $1, 'h1', $2, 'page_only')`,
		time.Now(), r.ID)
	require.NoError(t, err)
	updates := e.subscribeRules()

	requireErrorJSON(t, e.do(http.MethodDelete, path, resAdminKey, nil, map[string]string{"If-Match": `"7"`}, nil),
		http.StatusPreconditionFailed, "version 1")
	requireErrorJSON(t, e.admin(http.MethodDelete, path, "{bad", nil), http.StatusBadRequest, "malformed")
	w := e.do(http.MethodDelete, path, resAdminKey, map[string]any{"reason": "obsolete"},
		map[string]string{"If-Match": `"1"`}, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	requirePublished(t, updates)
	requireErrorJSON(t, e.admin(http.MethodGet, path, nil, nil), http.StatusNotFound, id)
	requireErrorJSON(t, e.admin(http.MethodDelete, path, nil, nil), http.StatusNotFound, id)

	audit := e.auditRows("alert_rules", id)
	require.Len(t, audit, 2)
	require.Equal(t, "DELETE", audit[1].Operation)
	require.Nil(t, audit[1].New)
	require.Equal(t, "LINK DOWN", audit[1].Old["match_string"])
	require.Equal(t, "obsolete", *audit[1].Reason)

	// Without If-Match delete is allowed (optional), via v1 too.
	r2 := createRule(t, e, validRuleBody())
	require.Equal(t, http.StatusOK, e.admin(http.MethodDelete, fmt.Sprintf("/api/v1/rules/%d", r2.ID), nil, nil).Code)
}
