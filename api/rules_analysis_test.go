package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/rules"
)

// auditEvent inserts an event_audit_log row as the alerter writes it: the
// raw_message is the event as the ingestor accepted it.
func auditEvent(t *testing.T, e *resEnv, at time.Time, host, raw string, ruleID *int) {
	t.Helper()
	_, err := e.db.Exec(context.Background(), `INSERT INTO event_audit_log (event_id, event_timestamp, received_at,
		hostname, matched_rule_id, handling_decision, raw_message) VALUES ($1, $2, $2, $3, $4, 'ignore', $5)`,
		uuid.New(), at, host, ruleID, raw)
	require.NoError(t, err)
}

func TestRulesAnalysisAndWriteWarnings(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	var empty struct {
		Rules    int             `json:"rules"`
		Findings []rules.Finding `json:"findings"`
	}
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v2/rules/analysis", resROKey, nil, nil, &empty).Code)
	require.Equal(t, 0, empty.Rules)
	require.NotNil(t, empty.Findings, "an empty list, not null")

	broad := createRule(t, e, map[string]any{"match_string": "LINK", "match_type": "contains", "priority": 10,
		"prod_handling": "page_only", "dev_handling": "ignore", "team_assignment": "net"})
	require.Empty(t, broad.Warnings)
	narrow := createRule(t, e, map[string]any{"match_string": "link-down", "match_type": "contains", "priority": 20,
		"prod_handling": "page_only", "dev_handling": "ignore", "team_assignment": "net"})
	require.Equal(t, []string{fmt.Sprintf("rule %d never decides: rule %d (priority 10) matches every event it matches first",
		narrow.ID, broad.ID)}, narrow.Warnings, "the write says the new rule is shadowed")
	dup := createRule(t, e, map[string]any{"match_string": "link", "match_type": "contains", "priority": 30,
		"prod_handling": "ticket_only", "dev_handling": "ignore", "team_assignment": "net"})
	require.Equal(t, []string{fmt.Sprintf("rule %d has the same conditions as rule %d", dup.ID, broad.ID)}, dup.Warnings)

	var got struct {
		Rules    int             `json:"rules"`
		Findings []rules.Finding `json:"findings"`
	}
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v2/rules/analysis", resROKey, nil, nil, &got).Code)
	require.Equal(t, 3, got.Rules)
	require.Len(t, got.Findings, 2)
	require.Equal(t, rules.Finding{Rule: int64(narrow.ID), Kind: rules.FindingShadowed, By: int64(broad.ID),
		Message: narrow.Warnings[0]}, got.Findings[0])
	require.Equal(t, rules.FindingDuplicate, got.Findings[1].Kind)

	// Disabled, the broad rule shadows nothing; the duplicate still is one.
	w := e.admin(http.MethodPatch, fmt.Sprintf("/api/v2/rules/%d", broad.ID), map[string]any{"is_active": false, "version": 1}, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v2/rules/analysis", resROKey, nil, nil, &got).Code)
	require.Len(t, got.Findings, 1)
	require.Equal(t, rules.Finding{Rule: int64(dup.ID), Kind: rules.FindingDuplicate, By: int64(broad.ID),
		Message: dup.Warnings[0]}, got.Findings[0])
}

func TestRulesTestDraftAgainstRecentEvents(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	existing := createRule(t, e, map[string]any{"match_string": "LINK-DOWN", "match_type": "contains", "priority": 5,
		"prod_handling": "page_and_ticket", "dev_handling": "ignore", "team_assignment": "net"})
	now := time.Now().UTC()
	auditEvent(t, e, now.Add(-3*time.Minute), "router1", `{"hostname":"router1","message":"%LINK-DOWN Gi0/1","timestamp":"2026-01-01T00:00:00Z"}`, &existing.ID)
	auditEvent(t, e, now.Add(-2*time.Minute), "router2", `{"hostname":"router2","message":"link flapping on Gi0/2","timestamp":"2026-01-01T00:00:00Z"}`, nil)
	auditEvent(t, e, now.Add(-1*time.Minute), "srv1", `{"hostname":"srv1","message":"Failed password for root","app_name":"sshd","facility":"auth","syslog_severity":4,"timestamp":"2026-01-01T00:00:00Z"}`, nil)
	auditEvent(t, e, now.Add(-4*time.Minute), "old", `not json at all: link`, nil)
	_, err := e.db.Exec(context.Background(), `INSERT INTO development_hosts (hostname) VALUES ('router2')`)
	require.NoError(t, err)

	type result struct {
		Evaluated int             `json:"evaluated"`
		Matched   int             `json:"matched"`
		Decides   int             `json:"decides"`
		Matches   []RuleTestMatch `json:"matches"`
	}
	draft := map[string]any{"match_string": "link", "match_type": "contains", "priority": 50,
		"prod_handling": "Page_Only", "dev_handling": "ticket_only", "team_assignment": "net"}
	var r result
	// A read-only key may test; no reason is needed (nothing is written).
	w := e.do(http.MethodPost, "/api/v2/rules/test", resROKey, draft, map[string]string{"X-Change-Reason": ""}, &r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, 4, r.Evaluated)
	require.Equal(t, 3, r.Matched, "router1, router2 and the unreadable row's text")
	require.Equal(t, 2, r.Decides, "router1's event is taken by the priority-5 rule first")
	require.Len(t, r.Matches, 3)
	byHost := map[string]RuleTestMatch{}
	for _, m := range r.Matches {
		byHost[m.Hostname] = m
	}
	require.False(t, byHost["router1"].DraftDecide)
	require.Equal(t, int64(existing.ID), byHost["router1"].DecidedBy)
	require.Equal(t, existing.ID, *byHost["router1"].CurrentRuleID)
	require.True(t, byHost["router2"].DraftDecide)
	require.Equal(t, "dev", byHost["router2"].Environment)
	require.Equal(t, "Ticket_only", byHost["router2"].Handling, "in its stored spelling")
	require.Equal(t, "link flapping on Gi0/2", byHost["router2"].Message)
	require.Equal(t, int64(0), byHost["router2"].DecidedBy, "0: the new draft")

	// The syslog fields come back from raw_message: an sshd rule of facility auth matches.
	r = result{}
	w = e.admin(http.MethodPost, "/api/v2/rules/test", map[string]any{"match_type": "contains", "app_name": "SSHD",
		"facility": "auth", "syslog_severity": 4, "prod_handling": "ignore", "dev_handling": "ignore", "team_assignment": "sec", "events": 2}, &r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, 2, r.Evaluated)
	require.Equal(t, 1, r.Matched)
	require.Equal(t, "srv1", r.Matches[0].Hostname)

	// Replacing the existing rule by a draft of lower priority: the draft decides router1's event.
	r = result{}
	draft["replaces"] = existing.ID
	w = e.admin(http.MethodPost, "/api/v2/rules/test", draft, &r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, 3, r.Decides)

	var n int
	require.NoError(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM alert_rules`).Scan(&n))
	require.Equal(t, 1, n, "testing writes nothing")

	// Bad input: 400 naming the field.
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"events too many", map[string]any{"match_string": "x", "prod_handling": "ignore", "dev_handling": "ignore", "team_assignment": "t", "events": 5000}, "events"},
		{"events zero", map[string]any{"match_string": "x", "prod_handling": "ignore", "dev_handling": "ignore", "team_assignment": "t", "events": 0}, "events"},
		{"replaces unknown", map[string]any{"match_string": "x", "prod_handling": "ignore", "dev_handling": "ignore", "team_assignment": "t", "replaces": 999999}, "replaces"},
		{"replaces negative", map[string]any{"match_string": "x", "prod_handling": "ignore", "dev_handling": "ignore", "team_assignment": "t", "replaces": -1}, "replaces"},
		{"bad regex", map[string]any{"match_type": "regex", "match_string": "([", "prod_handling": "ignore", "dev_handling": "ignore", "team_assignment": "t"}, "match_string"},
		{"bad handling", map[string]any{"match_string": "x", "prod_handling": "escalate", "dev_handling": "ignore", "team_assignment": "t"}, "prod_handling"},
		{"unknown field", map[string]any{"match_string": "x", "evnts": 3}, "evnts"},
		{"events not a number", `{"match_string":"x","events":"many"}`, "events"},
		{"not an object", `[1]`, "JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/rules/test", tc.body, nil), http.StatusBadRequest, tc.field)
		})
	}
}

func TestWhoamiNamesTheRole(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	var w Whoami
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v2/whoami", resROKey, nil, nil, &w).Code)
	require.Equal(t, Whoami{KeyName: KeyName(testKeyNameSecret, resROKey, false), Role: "readonly"}, w)
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v2/whoami", resAdminKey, nil, nil, &w).Code)
	require.Equal(t, Whoami{KeyName: KeyName(testKeyNameSecret, resAdminKey, true), Role: "admin", CanWrite: true}, w)
	require.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/api/v2/whoami", "", nil, nil, nil).Code)
}
