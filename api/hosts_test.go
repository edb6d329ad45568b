package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDevHosts(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	updates := e.subscribeRules()

	var h DevHost
	w := e.do(http.MethodPost, "/api/v2/dev-hosts", resAdminKey, map[string]any{"hostname": "dev-01.lab"},
		map[string]string{"X-Change-Reason": "lab box"}, &h)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	require.Equal(t, "dev-01.lab", h.Hostname)
	requirePublished(t, updates)
	requireErrorJSON(t, e.admin(http.MethodPost, "/api/v1/dev-hosts", map[string]any{"hostname": "dev-01.lab"}, nil),
		http.StatusConflict, "dev-01.lab")
	for _, bad := range []any{map[string]any{}, map[string]any{"hostname": "has space"},
		map[string]any{"hostname": strings.Repeat("h", 256)}, map[string]any{"hostname": 5}} {
		requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/dev-hosts", bad, nil), http.StatusBadRequest, "hostname")
	}
	require.Equal(t, http.StatusForbidden,
		e.do(http.MethodPost, "/api/v2/dev-hosts", resROKey, map[string]any{"hostname": "x"}, nil, nil).Code)

	var list struct {
		Hosts []DevHost `json:"hosts"`
		Total int       `json:"total"`
	}
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/dev-hosts", resROKey, nil, nil, &list).Code)
	require.Equal(t, 1, list.Total)
	require.Equal(t, "dev-01.lab", list.Hosts[0].Hostname)

	require.Equal(t, http.StatusOK, e.admin(http.MethodDelete, "/api/v2/dev-hosts/dev-01.lab", nil, nil).Code)
	requirePublished(t, updates)
	requireErrorJSON(t, e.admin(http.MethodDelete, "/api/v2/dev-hosts/dev-01.lab", nil, nil), http.StatusNotFound, "dev-01.lab")
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/dev-hosts", nil, &list).Code)
	require.Zero(t, list.Total)
	require.NotNil(t, list.Hosts)

	audit := e.auditRows("development_hosts", "dev-01.lab")
	require.Len(t, audit, 2)
	require.Equal(t, "CREATE", audit[0].Operation)
	require.Equal(t, "lab box", *audit[0].Reason)
	require.Equal(t, "dev-01.lab", audit[0].New["hostname"])
	require.Equal(t, "DELETE", audit[1].Operation)
	require.Equal(t, "dev-01.lab", audit[1].Old["hostname"])
	require.Nil(t, audit[1].New)
}

func TestTeams(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	updates := e.subscribeRules()

	var tm TeamMapping
	w := e.admin(http.MethodPost, "/api/v2/teams", map[string]any{"hostname": "core-sw1", "team_assignment": "netops"}, &tm)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	require.Equal(t, "netops", tm.TeamAssignment)
	requirePublished(t, updates)
	requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/teams",
		map[string]any{"hostname": "core-sw1", "team_assignment": "x"}, nil), http.StatusConflict, "core-sw1")
	requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/teams", map[string]any{"hostname": "a"}, nil),
		http.StatusBadRequest, "team_assignment")
	requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/teams",
		map[string]any{"hostname": "a", "team_assignment": strings.Repeat("t", 101)}, nil), http.StatusBadRequest, "team_assignment")
	requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/teams", map[string]any{"team_assignment": "t"}, nil),
		http.StatusBadRequest, "hostname")

	w = e.do(http.MethodPut, "/api/v1/teams/core-sw1", resAdminKey, map[string]any{"team_assignment": "dc-ops"},
		map[string]string{"X-Change-Reason": "reorg"}, &tm)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, "dc-ops", tm.TeamAssignment)
	requirePublished(t, updates)
	requireErrorJSON(t, e.admin(http.MethodPut, "/api/v2/teams/nope", map[string]any{"team_assignment": "x"}, nil),
		http.StatusNotFound, "nope")
	requireErrorJSON(t, e.admin(http.MethodPut, "/api/v2/teams/core-sw1", map[string]any{"team_assignment": ""}, nil),
		http.StatusBadRequest, "team_assignment")
	require.Equal(t, http.StatusForbidden,
		e.do(http.MethodPut, "/api/v2/teams/core-sw1", resROKey, map[string]any{"team_assignment": "x"}, nil, nil).Code)

	var list struct {
		Teams []TeamMapping `json:"teams"`
		Total int           `json:"total"`
	}
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v2/teams", resROKey, nil, nil, &list).Code)
	require.Equal(t, 1, list.Total)
	require.Equal(t, "dc-ops", list.Teams[0].TeamAssignment)

	require.Equal(t, http.StatusOK, e.admin(http.MethodDelete, "/api/v2/teams/core-sw1", nil, nil).Code)
	requireErrorJSON(t, e.admin(http.MethodDelete, "/api/v2/teams/core-sw1", nil, nil), http.StatusNotFound, "core-sw1")

	audit := e.auditRows("device_teams", "core-sw1")
	require.Len(t, audit, 3)
	require.Equal(t, []string{"CREATE", "UPDATE", "DELETE"}, []string{audit[0].Operation, audit[1].Operation, audit[2].Operation})
	require.Equal(t, "netops", audit[1].Old["team_assignment"])
	require.Equal(t, "dc-ops", audit[1].New["team_assignment"])
	require.Equal(t, "reorg", *audit[1].Reason)
	require.Equal(t, "dc-ops", audit[2].Old["team_assignment"])
}

// "." and ".." could be created but never deleted: clients rewrite the path.
// A DELETE takes its reason from a {"reason"} body like rule deletes do.
func TestDevHostsDotNamesGetOneAndDeleteReasonBody(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	for _, bad := range []string{".", ".."} {
		requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/dev-hosts", map[string]any{"hostname": bad}, nil),
			http.StatusBadRequest, "hostname")
		requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/teams", map[string]any{"hostname": bad, "team_assignment": "NET"}, nil),
			http.StatusBadRequest, "hostname")
	}
	require.Equal(t, http.StatusCreated, e.admin(http.MethodPost, "/api/v2/dev-hosts", map[string]any{"hostname": "lab-1"}, nil).Code)
	require.Equal(t, http.StatusCreated, e.admin(http.MethodPost, "/api/v2/teams",
		map[string]any{"hostname": "lab-1", "team_assignment": "NET"}, nil).Code)
	var h DevHost
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/dev-hosts/lab-1", resROKey, nil, nil, &h).Code)
	require.Equal(t, "lab-1", h.Hostname)
	var tm TeamMapping
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v2/teams/lab-1", resROKey, nil, nil, &tm).Code)
	require.Equal(t, "NET", tm.TeamAssignment)
	requireErrorJSON(t, e.admin(http.MethodDelete, "/api/v2/dev-hosts/lab-1", `{"reason": 5}`, nil), http.StatusBadRequest, "malformed")
	require.Equal(t, http.StatusOK, e.admin(http.MethodDelete, "/api/v2/dev-hosts/lab-1", map[string]any{"reason": "decommissioned"}, nil).Code)
	require.Equal(t, http.StatusOK, e.admin(http.MethodDelete, "/api/v2/teams/lab-1", map[string]any{"reason": "moved to NOC"}, nil).Code)
	require.Equal(t, "decommissioned", *e.auditRows("development_hosts", "lab-1")[1].Reason)
	require.Equal(t, "moved to NOC", *e.auditRows("device_teams", "lab-1")[1].Reason)
	requireErrorJSON(t, e.admin(http.MethodGet, "/api/v2/dev-hosts/lab-1", nil, nil), http.StatusNotFound, "lab-1")
	requireErrorJSON(t, e.admin(http.MethodGet, "/api/v2/teams/lab-1", nil, nil), http.StatusNotFound, "lab-1")
}

// A failing audit insert fails the change itself: 503, and neither the
// record nor an audit row is written, for rules, dev hosts and teams alike.
func TestFailedAuditFailsResourceWrites(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	ctx := context.Background()
	rule := createRule(t, e, validRuleBody())
	require.Equal(t, http.StatusCreated, e.admin(http.MethodPost, "/api/v2/teams", map[string]any{"hostname": "sw1", "team_assignment": "NET"}, nil).Code)
	var before int
	require.NoError(t, e.db.QueryRow(ctx, `SELECT count(*) FROM config_audit_log`).Scan(&before))
	_, err := e.db.Exec(ctx, `ALTER TABLE config_audit_log ADD CONSTRAINT test_no_audit CHECK (false) NOT VALID`)
	require.NoError(t, err)

	upd := validRuleBody()
	upd["priority"], upd["version"] = 5, rule.Version
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/api/v2/rules", validRuleBody()},
		{http.MethodPut, fmt.Sprintf("/api/v2/rules/%d", rule.ID), upd},
		{http.MethodPatch, fmt.Sprintf("/api/v2/rules/%d", rule.ID), map[string]any{"is_active": false, "version": rule.Version}},
		{http.MethodDelete, fmt.Sprintf("/api/v2/rules/%d", rule.ID), nil},
		{http.MethodPost, "/api/v2/dev-hosts", map[string]any{"hostname": "lab-9"}},
		{http.MethodPost, "/api/v2/teams", map[string]any{"hostname": "sw2", "team_assignment": "NET"}},
		{http.MethodPut, "/api/v2/teams/sw1", map[string]any{"team_assignment": "SEC"}},
		{http.MethodDelete, "/api/v2/teams/sw1", nil},
	} {
		w := e.admin(c.method, c.path, c.body, nil)
		requireErrorJSON(t, w, http.StatusServiceUnavailable, "failed")
		require.NotContains(t, w.Body.String(), "test_no_audit", "no database text")
	}
	var rules, hosts, teams, audit int
	require.NoError(t, e.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM alert_rules), (SELECT count(*) FROM development_hosts),
		(SELECT count(*) FROM device_teams), (SELECT count(*) FROM config_audit_log)`).Scan(&rules, &hosts, &teams, &audit))
	require.Equal(t, before, audit)
	require.Equal(t, 1, rules)
	require.Zero(t, hosts)
	require.Equal(t, 1, teams)
	got := Rule{}
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, fmt.Sprintf("/api/v2/rules/%d", rule.ID), nil, &got).Code)
	require.Equal(t, rule.Priority, got.Priority)
	require.True(t, got.IsActive)
	var team TeamMapping
	require.NoError(t, e.db.QueryRow(ctx, `SELECT team_assignment FROM device_teams WHERE hostname = 'sw1'`).Scan(&team.TeamAssignment))
	require.Equal(t, "NET", team.TeamAssignment)
}

// TestHostnamesAreCaseInsensitive: the pipeline lower-cases hostnames, so the
// API stores them lower-cased, finds them in any case, and refuses a second
// dev host or mapping that differs only in case.
func TestHostnamesAreCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	var h DevHost
	require.Equal(t, http.StatusCreated, e.admin(http.MethodPost, "/api/v2/dev-hosts", map[string]any{"hostname": "Dev-01.LAB"}, &h).Code)
	require.Equal(t, "dev-01.lab", h.Hostname)
	requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/dev-hosts", map[string]any{"hostname": "DEV-01.lab"}, nil),
		http.StatusConflict, "dev-01.lab")
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/dev-hosts/DEV-01.Lab", nil, nil).Code)

	var m TeamMapping
	require.Equal(t, http.StatusCreated, e.admin(http.MethodPost, "/api/v2/teams",
		map[string]any{"hostname": "Router-1.Prod", "team_assignment": "NetOps"}, &m).Code)
	require.Equal(t, "router-1.prod", m.Hostname)
	requireErrorJSON(t, e.admin(http.MethodPost, "/api/v2/teams",
		map[string]any{"hostname": "ROUTER-1.prod", "team_assignment": "Other"}, nil), http.StatusConflict, "router-1.prod")
	require.Equal(t, http.StatusOK, e.admin(http.MethodPut, "/api/v2/teams/ROUTER-1.PROD", map[string]any{"team_assignment": "Security"}, &m).Code)
	require.Equal(t, "Security", m.TeamAssignment)

	var n int
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM development_hosts) + (SELECT count(*) FROM device_teams)`).Scan(&n))
	require.Equal(t, 2, n)
	require.Equal(t, http.StatusOK, e.admin(http.MethodDelete, "/api/v2/teams/Router-1.prod", nil, nil).Code)
	require.Equal(t, http.StatusOK, e.admin(http.MethodDelete, "/api/v2/dev-hosts/dev-01.LAB", nil, nil).Code)
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM development_hosts) + (SELECT count(*) FROM device_teams)`).Scan(&n))
	require.Zero(t, n)
}
