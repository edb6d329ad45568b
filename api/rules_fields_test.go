package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestRulesAppNameAndFacility: the syslog conditions of a rule are
// validated (400 naming the field), normalised (facility keyword to code),
// audited, and survive a GET-then-PUT round trip.
func TestRulesAppNameAndFacility(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	with := func(kv ...any) map[string]any {
		b := validRuleBody()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(b, kv[i].(string))
			} else {
				b[kv[i].(string)] = kv[i+1]
			}
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"facility too high", with("facility", 24), "facility"},
		{"facility negative", with("facility", -1), "facility"},
		{"facility fraction", with("facility", 4.5), "facility"},
		{"facility unknown name", with("facility", "local8"), "facility"},
		{"facility boolean", with("facility", true), "facility"},
		{"facility object", with("facility", map[string]any{"x": 1}), "facility"},
		{"app_name not a string", with("app_name", 5), "app_name"},
		{"app_name too long", with("app_name", strings.Repeat("a", 256)), "app_name"},
		{"contains without text or narrowing", with("match_string", nil), "app_name or facility"},
		{"regex still needs a pattern", with("match_type", "regex", "match_string", nil, "app_name", "sshd"), "match_string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/rules", tc.body, nil), http.StatusBadRequest, tc.field)
		})
	}

	// Keyword facility stored as its code; app name trimmed; no text needed.
	r := createRule(t, e, with("match_string", nil, "app_name", " sshd ", "facility", "AUTH"))
	require.Equal(t, "sshd", *r.AppName)
	require.Equal(t, 4, *r.Facility)
	require.Nil(t, r.MatchString)
	audit := e.auditRows("alert_rules", fmt.Sprint(r.ID))
	require.Len(t, audit, 1)
	require.Equal(t, "sshd", audit[0].New["app_name"])
	require.EqualValues(t, 4, audit[0].New["facility"])

	numeric := createRule(t, e, with("facility", 0))
	require.Equal(t, 0, *numeric.Facility, "facility 0 (kern) is a value, not absent")
	require.Nil(t, numeric.AppName)
	blank := createRule(t, e, with("app_name", "  ", "facility", nil))
	require.Nil(t, blank.AppName, "a blank app_name is no condition")
	require.Nil(t, blank.Facility)

	// What GET returned can be PUT back; null clears a condition.
	path := fmt.Sprintf("/api/v2/rules/%d", r.ID)
	var got map[string]any
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, path, nil, &got).Code)
	require.Equal(t, "sshd", got["app_name"])
	require.EqualValues(t, 4, got["facility"])
	got["facility"] = "local4"
	var out Rule
	w := e.admin(http.MethodPut, path, got, &out)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, 20, *out.Facility)
	require.Equal(t, "sshd", *out.AppName)
	got["version"], got["facility"], got["match_string"] = out.Version, nil, "Failed password"
	w = e.admin(http.MethodPut, path, got, &out)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Nil(t, out.Facility)
	require.Equal(t, "Failed password", *out.MatchString)
	audit = e.auditRows("alert_rules", fmt.Sprint(r.ID))
	require.Len(t, audit, 3)
}

// TestEventAuditShowsSyslogFields: /audit-logs shows the app name and
// facility of a syslog event (read from its raw_message), code and keyword.
func TestEventAuditShowsSyslogFields(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, tc := range []struct {
		raw       string
		app       string
		fac       *int
		facName   string
		noSyslogs bool
	}{
		{`{"hostname":"h","message":"m","app_name":"sshd","facility":4,"facility_name":"auth"}`, "sshd", ptr(4), "auth", false},
		{`{"hostname":"h","message":"m","facility":"local4"}`, "", ptr(20), "local4", false},
		{`{"hostname":"h","message":"m","facility":"invld"}`, "", nil, "", true},
		{`{"hostname":"h","message":"m"}`, "", nil, "", true},
		{`not json "app_name"`, "", nil, "", true},
	} {
		id := uuid.NewString()
		_, err := e.db.Exec(ctx, `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname,
			handling_decision, raw_message) VALUES ($1, $2, $2, 'h', 'page_only', $3)`, id, now, tc.raw)
		require.NoError(t, err)
		var body map[string]any
		var r struct {
			Logs []EventAudit `json:"logs"`
		}
		require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/audit-logs?event_id="+id, nil, &r).Code)
		require.Len(t, r.Logs, 1, tc.raw)
		require.Equal(t, tc.app, r.Logs[0].AppName, tc.raw)
		require.Equal(t, tc.fac, r.Logs[0].Facility, tc.raw)
		require.Equal(t, tc.facName, r.Logs[0].FacilityName, tc.raw)
		require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/audit-logs?event_id="+id, nil, &body).Code)
		if tc.noSyslogs {
			log := body["logs"].([]any)[0].(map[string]any)
			require.NotContains(t, log, "facility", "absent, not null, for other events")
			require.NotContains(t, log, "app_name")
		}
	}
}

func ptr[T any](v T) *T { return &v }
