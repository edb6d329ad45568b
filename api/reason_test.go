package api

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChangeNeedsARealReason: every change (rules, dev hosts, team mappings,
// config; create, update, patch, delete) is refused with a 400 naming the
// reason when neither the body nor the X-Change-Reason header carries more
// than blanks, and changes nothing; a real reason is stored trimmed.
func TestChangeNeedsARealReason(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	var rule struct {
		ID int `json:"id"`
	}
	require.Equal(t, http.StatusCreated, e.admin(http.MethodPost, "/api/v2/rules",
		map[string]any{"match_type": "contains", "match_string": "disk", "team_assignment": "ops", "prod_handling": "Page_only", "dev_handling": "Ignore"}, &rule).Code)
	require.Equal(t, http.StatusCreated, e.admin(http.MethodPost, "/api/v2/dev-hosts", map[string]any{"hostname": "dev-1"}, nil).Code)
	require.Equal(t, http.StatusCreated, e.admin(http.MethodPost, "/api/v2/teams",
		map[string]any{"hostname": "router-1", "team_assignment": "net"}, nil).Code)
	require.Equal(t, http.StatusOK, e.admin(http.MethodPut, "/api/v2/config/unhandled_threshold", map[string]any{"value": 200}, nil).Code)
	ruleID := "/api/v2/rules/" + strconv.Itoa(rule.ID)
	var before int
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT count(*) FROM config_audit_log`).Scan(&before))

	writes := []struct {
		name, method, path string
		body               map[string]any
	}{
		{"rule create", http.MethodPost, "/api/v2/rules", map[string]any{"match_type": "contains", "match_string": "cpu", "team_assignment": "ops", "prod_handling": "Page_only", "dev_handling": "Ignore"}},
		{"rule update", http.MethodPut, ruleID, map[string]any{"match_type": "contains", "match_string": "disk", "team_assignment": "ops2", "prod_handling": "Page_only", "dev_handling": "Ignore"}},
		{"rule disable", http.MethodPatch, ruleID, map[string]any{"is_active": false}},
		{"rule delete", http.MethodDelete, ruleID, map[string]any{}},
		{"dev host create", http.MethodPost, "/api/v2/dev-hosts", map[string]any{"hostname": "dev-2"}},
		{"dev host delete", http.MethodDelete, "/api/v2/dev-hosts/dev-1", nil},
		{"team create", http.MethodPost, "/api/v2/teams", map[string]any{"hostname": "router-2", "team_assignment": "net"}},
		{"team update", http.MethodPut, "/api/v2/teams/router-1", map[string]any{"team_assignment": "sec"}},
		{"team delete", http.MethodDelete, "/api/v2/teams/router-1", nil},
		{"config set", http.MethodPut, "/api/v2/config/unhandled_threshold", map[string]any{"value": 300}},
		{"config delete", http.MethodDelete, "/api/v2/config/unhandled_threshold", nil},
	}
	for _, w := range writes {
		for _, blank := range []struct {
			name, body, header string
			inBody             bool
		}{
			{"none", "", "", false},
			{"blank body", " \t\n ", "", true},
			{"blank header", "", "   ", false},
			{"blank both", "  ", "  ", true},
		} {
			t.Run(w.name+"/"+blank.name, func(t *testing.T) {
				var body any
				if w.body != nil || blank.inBody {
					b := map[string]any{}
					for k, v := range w.body {
						b[k] = v
					}
					if blank.inBody {
						b["reason"] = blank.body
					}
					body = b
				}
				r := e.do(w.method, w.path, resAdminKey, body, map[string]string{"X-Change-Reason": blank.header}, nil)
				requireErrorJSON(t, r, http.StatusBadRequest, "reason: is required")
			})
		}
	}
	var after int
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT count(*) FROM config_audit_log`).Scan(&after))
	require.Equal(t, before, after, "no refused change wrote an audit row")
	require.Equal(t, "200", e.rdb.Get(t.Context(), e.keys.Config("unhandled_threshold")).Val())

	// A real reason (body or header) is stored without its surrounding blanks.
	require.Equal(t, http.StatusOK, e.do(http.MethodPatch, ruleID, resAdminKey,
		map[string]any{"is_active": false, "version": 1, "reason": "  noisy  "}, nil, nil).Code)
	require.Equal(t, http.StatusOK, e.do(http.MethodDelete, "/api/v2/dev-hosts/dev-1", resAdminKey, nil,
		map[string]string{"X-Change-Reason": "  decommissioned "}, nil).Code)
	var reasons []string
	rows, err := e.db.Query(t.Context(), `SELECT reason FROM config_audit_log WHERE id > (SELECT max(id) - 2 FROM config_audit_log) ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		reasons = append(reasons, s)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"noisy", "decommissioned"}, reasons)
}
