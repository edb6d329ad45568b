package api

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// Contract tests for the Python MUTT v2.5 endpoints its dashboards and
// scripts call (shared/reference/peer-management.md §2.3-2.5, §3.2): the
// documented shape, status codes and headers, answered by MUTT.

func TestPythonContractMetrics(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	for _, v := range []string{"v1", "v2"} {
		r := e.do(t, "GET", "/api/"+v+"/metrics", testReadOnlyKey, nil, "X-API-Version", "2.5")
		require.Equal(t, 200, r.code, string(r.body))
		require.Equal(t, v, r.h.Get("X-API-Version"))
		var m struct {
			Summary struct {
				Current *float64 `json:"current_rate_1m"`
				Avg15   *float64 `json:"avg_rate_15m"`
				Avg1h   *float64 `json:"avg_rate_1h"`
			} `json:"summary"`
			Chart struct {
				Labels []string  `json:"labels"`
				Data   []float64 `json:"data"`
			} `json:"chart_24h"`
		}
		require.NoError(t, json.Unmarshal(r.body, &m))
		require.NotNil(t, m.Summary.Current)
		require.NotNil(t, m.Summary.Avg15)
		require.NotNil(t, m.Summary.Avg1h)
		require.Len(t, m.Chart.Labels, 24)
		require.Len(t, m.Chart.Data, 24)
		require.Equal(t, 401, e.do(t, "GET", "/api/"+v+"/metrics", "", nil).code)
	}
}

func TestPythonContractConfigAudit(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ctx := context.Background()
	_, err := e.db.Exec(ctx, `INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, old_values, new_values, reason, correlation_id, changed_at) VALUES
		('webui_api:abcd1234', 'CREATE', 'alert_rules', '1', NULL, '{"priority":100}', 'new', 'c1', '2026-03-01T10:00:00Z'),
		('webui_api:abcd1234', 'UPDATE', 'alert_rules', '1', '{"priority":100}', '{"priority":200}', 'raise', 'c2', '2026-03-02T10:00:00Z'),
		('automation_service', 'DELETE', 'alert_rules', '1', '{"priority":200}', NULL, NULL, NULL, '2026-03-03T10:00:00Z')`)
	require.NoError(t, err)
	for _, v := range []string{"v1", "v2"} {
		r := e.do(t, "GET", "/api/"+v+"/audit?changed_by=ABCD&page=1&limit=1", testReadOnlyKey, nil)
		require.Equal(t, 200, r.code, string(r.body))
		var out struct {
			Logs       []map[string]json.RawMessage `json:"logs"`
			Pagination map[string]int               `json:"pagination"`
		}
		require.NoError(t, json.Unmarshal(r.body, &out))
		require.Equal(t, map[string]int{"page": 1, "limit": 1, "total": 2, "pages": 2, "page_size": 1, "total_pages": 2}, out.Pagination,
			"changed_by matches a part, case-insensitively, as in Python")
		require.Len(t, out.Logs, 1)
		for _, f := range []string{"id", "changed_at", "changed_by", "operation", "table_name", "record_id", "old_values", "new_values", "reason", "correlation_id"} {
			require.Contains(t, out.Logs[0], f)
		}
		require.JSONEq(t, `{"priority":100}`, string(out.Logs[0]["old_values"]))

		r = e.do(t, "GET", "/api/"+v+"/audit?operation=create", testReadOnlyKey, nil)
		require.Equal(t, 200, r.code)
		require.Contains(t, string(r.body), `"old_values":null`)
		requireError(t, e.do(t, "GET", "/api/"+v+"/audit?operation=MERGE", testReadOnlyKey, nil), 400, errInvalidQuery)
		requireError(t, e.do(t, "GET", "/api/"+v+"/audit?page=x", testReadOnlyKey, nil), 400, errInvalidQuery)
		r = e.do(t, "GET", "/api/"+v+"/audit?table_name=nothing", testReadOnlyKey, nil)
		require.Contains(t, string(r.body), `"pages":0`)
		require.Equal(t, 401, e.do(t, "GET", "/api/"+v+"/audit", "", nil).code)
	}
}

func TestPythonContractConfig(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	r := e.do(t, "GET", "/api/v1/config", testReadOnlyKey, nil)
	require.Equal(t, 200, r.code)
	var list struct {
		Config map[string]string `json:"config"`
	}
	require.NoError(t, json.Unmarshal(r.body, &list), "v1 config is an object of key: value")
	require.Equal(t, "300", list.Config["cache_reload_interval"])

	r = e.do(t, "PUT", "/api/v1/config/cache_reload_interval", testAdminKey, map[string]any{"value": 120, "reason": "faster"})
	require.Equal(t, 200, r.code, string(r.body))
	var put map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.body, &put))
	require.JSONEq(t, `"cache_reload_interval"`, string(put["key"]))
	require.JSONEq(t, `null`, string(put["old_value"]), "Redis held no value before")
	require.JSONEq(t, `"120"`, string(put["new_value"]))

	r = e.do(t, "PUT", "/api/v2/config/cache_reload_interval", testAdminKey, map[string]any{"value": 90, "reason": "faster"})
	require.Equal(t, 200, r.code)
	require.NoError(t, json.Unmarshal(r.body, &put))
	require.JSONEq(t, `"120"`, string(put["old_value"]))
	requireError(t, e.do(t, "PUT", "/api/v1/config/cache_reload_interval", testAdminKey, map[string]any{"reason": "x"}), 400, errBadRequest)
	require.Equal(t, 403, e.do(t, "PUT", "/api/v1/config/cache_reload_interval", testReadOnlyKey, map[string]any{"value": 1}).code)
}

func TestPythonContractVersionHeaders(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	for _, h := range []string{"Accept-Version", "X-API-Version"} {
		for _, v := range []string{"2.5", "2.0", "1.0", "v2.5", "v1", "v2"} {
			r := e.do(t, "GET", "/api/v1/version", testReadOnlyKey, nil, h, v)
			require.Equal(t, 200, r.code, h+": "+v)
			require.Equal(t, "v1", r.h.Get("X-API-Version"))
			require.Equal(t, "v1, v2", r.h.Get("X-API-Supported-Versions"))
			require.NotEmpty(t, r.h.Get("Deprecation"))
		}
		m := requireError(t, e.do(t, "GET", "/api/v2/version", testReadOnlyKey, nil, h, "3.0"), 400, errUnsupportedVersion)
		require.Contains(t, m["message"], h)
	}
}

func TestPythonContractEventAuditLogs(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	_, err := e.db.Exec(context.Background(), `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname,
		matched_rule_id, handling_decision, forwarded_to_moog, raw_message)
		VALUES (gen_random_uuid(), '2026-03-04T10:00:00Z', now(), 'router1', 3, 'Page_and_ticket', true, '{"message":"LINK-DOWN"}')`)
	require.NoError(t, err)
	for _, v := range []string{"v1", "v2"} {
		r := e.do(t, "GET", "/api/"+v+"/audit-logs?hostname=router1&rule_id=3&page=1&limit=10", testReadOnlyKey, nil)
		require.Equal(t, 200, r.code, string(r.body))
		var out struct {
			Logs       []map[string]json.RawMessage `json:"logs"`
			Pagination map[string]int               `json:"pagination"`
		}
		require.NoError(t, json.Unmarshal(r.body, &out))
		require.Len(t, out.Logs, 1)
		for _, f := range []string{"id", "event_timestamp", "hostname", "matched_rule_id", "handling_decision", "forwarded_to_moog", "raw_message"} {
			require.Contains(t, out.Logs[0], f)
		}
		for f, n := range map[string]int{"page": 1, "limit": 10, "total": 1, "pages": 1} {
			require.Equal(t, n, out.Pagination[f], f)
		}
		requireError(t, e.do(t, "GET", "/api/"+v+"/audit-logs?page=x", testReadOnlyKey, nil), 400, errInvalidQuery)
		require.Equal(t, 401, e.do(t, "GET", "/api/"+v+"/audit-logs", "", nil).code)
	}
}

func TestPythonContractVersion(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	for _, v := range []string{"v1", "v2"} {
		// No key: the Python MUTT's /api/v1/version needed none.
		r := e.do(t, "GET", "/api/"+v+"/version", "", nil)
		require.Equal(t, 200, r.code, string(r.body))
		require.Equal(t, v, r.h.Get("X-API-Version"))
		require.Equal(t, "v1, v2", r.h.Get("X-API-Supported-Versions"))
		var out struct {
			Current   string   `json:"current_version"`
			Default   string   `json:"default_version"`
			Supported []string `json:"supported_versions"`
			History   map[string]struct {
				Released *string  `json:"released"`
				Status   *string  `json:"status"`
				Changes  []string `json:"changes"`
			} `json:"version_history"`
			Build    json.RawMessage `json:"build"`
			Versions []string        `json:"versions"`
		}
		require.NoError(t, json.Unmarshal(r.body, &out))
		require.Equal(t, "2.5", out.Current)
		require.Equal(t, "2.5", out.Default)
		require.Equal(t, []string{"2.5", "2.0", "1.0"}, out.Supported)
		require.Len(t, out.History, 3)
		for _, ver := range out.Supported {
			h, ok := out.History[ver]
			require.True(t, ok, ver)
			require.NotNil(t, h.Released, ver)
			require.NotNil(t, h.Status, ver)
			require.NotEmpty(t, h.Changes, ver)
		}
		require.Equal(t, []string{"v1", "v2"}, out.Versions, "MUTT's fields stay")
		require.Nil(t, out.Build, "build info only with a key")

		r = e.do(t, "GET", "/api/"+v+"/version", testReadOnlyKey, nil)
		require.Equal(t, 200, r.code)
		require.Contains(t, r.json(t), "build")
		requireError(t, e.do(t, "GET", "/api/"+v+"/version", "wrong", nil), 401, errUnauthorized)
	}
}

func TestPythonContractRulesCRUD(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ruleFields := []string{"id", "match_string", "trap_oid", "syslog_severity", "match_type", "priority",
		"prod_handling", "dev_handling", "team_assignment", "is_active"}
	for _, v := range []string{"v1", "v2"} {
		base := "/api/" + v + "/rules"
		body := map[string]any{"match_string": "LINK-DOWN", "prod_handling": "Page_and_ticket",
			"dev_handling": "Ticket_only", "team_assignment": "NetOps", "priority": 5, "reason": "new rule"}
		r := e.do(t, "POST", base, testAdminKey, body)
		require.Equal(t, 201, r.code, string(r.body))
		created := r.json(t)
		require.Equal(t, "Rule created successfully", created["message"])
		id := int(created["id"].(float64))
		require.Positive(t, id)
		one := fmt.Sprintf("%s/%d", base, id)

		r = e.do(t, "GET", base, testReadOnlyKey, nil)
		require.Equal(t, 200, r.code)
		var list struct {
			Rules []map[string]json.RawMessage `json:"rules"`
		}
		require.NoError(t, json.Unmarshal(r.body, &list), "{\"rules\":[…]} in %s (ADR 0026)", v)
		require.NotEmpty(t, list.Rules)
		for _, f := range ruleFields {
			require.Contains(t, list.Rules[0], f)
		}
		r = e.do(t, "GET", base+"?format=array", testReadOnlyKey, nil)
		require.Equal(t, 200, r.code)
		var arr []map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(r.body, &arr), "the bare array stays behind ?format=array")
		require.Len(t, arr, len(list.Rules))
		requireError(t, e.do(t, "GET", base+"?format=xml", testReadOnlyKey, nil), 400, errInvalidQuery)

		r = e.do(t, "GET", one, testReadOnlyKey, nil)
		require.Equal(t, 200, r.code)
		got := r.json(t)
		for _, f := range ruleFields {
			require.Contains(t, got, f, "GET one is the bare rule")
		}
		m := requireError(t, e.do(t, "GET", base+"/999999", testReadOnlyKey, nil), 404, errNotFound)
		require.Contains(t, m["message"], "999999")

		require.Equal(t, 403, e.do(t, "POST", base, testReadOnlyKey, body).code)
		require.Equal(t, 401, e.do(t, "GET", base, "", nil).code)

		// PUT: v1 changes only the fields sent, without a version (ADR 0027);
		// v2 replaces the rule and needs the version.
		put := map[string]any{"priority": 50, "reason": "quieter"}
		if v == "v1" {
			r = e.do(t, "PUT", one, testAdminKey, put)
			require.Equal(t, 200, r.code, string(r.body))
			require.Equal(t, "Rule updated successfully", r.json(t)["message"])
			got = e.do(t, "GET", one, testReadOnlyKey, nil).json(t)
			require.EqualValues(t, 50, got["priority"])
			require.Equal(t, "LINK-DOWN", got["match_string"], "fields not sent are kept")
			require.Equal(t, "NetOps", got["team_assignment"])
			m = requireError(t, e.do(t, "PUT", one, testAdminKey, map[string]any{"reason": "nothing"}), 400, errInvalidBody)
			require.Contains(t, m["message"], "no fields to update")
			requireError(t, e.do(t, "PUT", one, testAdminKey, map[string]any{"match_string": nil, "reason": "x"}), 400, errInvalidField)
			requireError(t, e.do(t, "PUT", one, testAdminKey, map[string]any{"priority": 1, "version": 99, "reason": "x"}), 409, errVersionConflict)
			requireError(t, e.do(t, "PUT", base+"/999999", testAdminKey, put), 404, errNotFound)
		} else {
			requireError(t, e.do(t, "PUT", one, testAdminKey, put), 428, errPreconditionReq)
			body["version"] = 1
			r = e.do(t, "PUT", one, testAdminKey, body)
			require.Equal(t, 200, r.code, string(r.body))
			require.Equal(t, "Rule updated successfully", r.json(t)["message"])
		}

		r = e.do(t, "DELETE", one, testAdminKey, map[string]any{"reason": "gone"})
		require.Equal(t, 200, r.code, string(r.body))
		require.Equal(t, "Rule deleted successfully", r.json(t)["message"])
		requireError(t, e.do(t, "DELETE", one, testAdminKey, map[string]any{"reason": "gone"}), 404, errNotFound)
	}
}

func TestPythonContractDevHosts(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	for _, v := range []string{"v1", "v2"} {
		base := "/api/" + v + "/dev-hosts"
		host := "dev-router-" + v
		r := e.do(t, "POST", base, testAdminKey, map[string]any{"hostname": host, "reason": "lab"})
		require.Equal(t, 201, r.code, string(r.body))
		m := r.json(t)
		require.Equal(t, "Dev host added successfully", m["message"])
		require.Equal(t, host, m["hostname"], "the stored row comes with the message")

		r = e.do(t, "GET", base, testReadOnlyKey, nil)
		require.Equal(t, 200, r.code)
		var list struct {
			Hosts []map[string]any `json:"hosts"`
		}
		require.NoError(t, json.Unmarshal(r.body, &list))
		require.NotEmpty(t, list.Hosts)
		require.Contains(t, list.Hosts[0], "hostname", "items are objects, not strings")

		requireError(t, e.do(t, "POST", base, testAdminKey, map[string]any{"hostname": host, "reason": "again"}), 409, errConflict)
		requireError(t, e.do(t, "POST", base, testAdminKey, map[string]any{"reason": "no host"}), 400, errInvalidField)
		r = e.do(t, "DELETE", base+"/"+host, testAdminKey, map[string]any{"reason": "done"})
		require.Equal(t, 200, r.code, string(r.body))
		require.Equal(t, "Dev host deleted successfully", r.json(t)["message"])
		requireError(t, e.do(t, "DELETE", base+"/"+host, testAdminKey, map[string]any{"reason": "done"}), 404, errNotFound)
		require.Equal(t, 401, e.do(t, "GET", base, "", nil).code)
	}
}

func TestPythonContractTeams(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	for _, v := range []string{"v1", "v2"} {
		base := "/api/" + v + "/teams"
		host := "router1-" + v + ".prod.example.com"
		r := e.do(t, "POST", base, testAdminKey, map[string]any{"hostname": host, "team_assignment": "NetOps", "reason": "owner"})
		require.Equal(t, 201, r.code, string(r.body))
		m := r.json(t)
		require.Equal(t, "Team mapping added successfully", m["message"])
		require.Equal(t, "NetOps", m["team_assignment"])

		r = e.do(t, "GET", base, testReadOnlyKey, nil)
		require.Equal(t, 200, r.code)
		var list struct {
			Teams []map[string]any `json:"teams"`
		}
		require.NoError(t, json.Unmarshal(r.body, &list))
		require.NotEmpty(t, list.Teams)
		require.Contains(t, list.Teams[0], "hostname")
		require.Contains(t, list.Teams[0], "team_assignment")

		requireError(t, e.do(t, "POST", base, testAdminKey, map[string]any{"hostname": host, "team_assignment": "X", "reason": "r"}), 409, errConflict)
		requireError(t, e.do(t, "POST", base, testAdminKey, map[string]any{"hostname": "h2", "reason": "r"}), 400, errInvalidField)

		r = e.do(t, "PUT", base+"/"+host, testAdminKey, map[string]any{"team_assignment": "Security", "reason": "moved"})
		require.Equal(t, 200, r.code, string(r.body))
		m = r.json(t)
		require.Equal(t, "Team mapping updated successfully", m["message"])
		require.Equal(t, "Security", m["team_assignment"])
		requireError(t, e.do(t, "PUT", base+"/"+host, testAdminKey, map[string]any{"reason": "r"}), 400, errInvalidField)
		requireError(t, e.do(t, "PUT", base+"/nohost", testAdminKey, map[string]any{"team_assignment": "X", "reason": "r"}), 404, errNotFound)

		r = e.do(t, "DELETE", base+"/"+host, testAdminKey, map[string]any{"reason": "decommissioned"})
		require.Equal(t, 200, r.code, string(r.body))
		require.Equal(t, "Team mapping deleted successfully", r.json(t)["message"])
		requireError(t, e.do(t, "DELETE", base+"/"+host, testAdminKey, map[string]any{"reason": "r"}), 404, errNotFound)
		require.Equal(t, 401, e.do(t, "GET", base, "", nil).code)
	}
}

func TestPythonContractConfigHistory(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	for _, val := range []int{120, 90} {
		r := e.do(t, "PUT", "/api/v1/config/cache_reload_interval", testAdminKey, map[string]any{"value": val, "reason": "tune"})
		require.Equal(t, 200, r.code, string(r.body))
	}
	for _, v := range []string{"v1", "v2"} {
		r := e.do(t, "GET", "/api/"+v+"/config/history?page=2&limit=1", testReadOnlyKey, nil)
		require.Equal(t, 200, r.code, string(r.body))
		var out struct {
			History    []map[string]json.RawMessage `json:"history"`
			Pagination map[string]int               `json:"pagination"`
		}
		require.NoError(t, json.Unmarshal(r.body, &out))
		require.Len(t, out.History, 1)
		for _, f := range []string{"id", "changed_by", "operation", "table_name", "record_id", "old_values", "new_values",
			"reason", "correlation_id", "created_at"} {
			require.Contains(t, out.History[0], f)
		}
		require.JSONEq(t, `"dynamic_config"`, string(out.History[0]["table_name"]))
		require.JSONEq(t, `"cache_reload_interval"`, string(out.History[0]["record_id"]))
		require.JSONEq(t, `{"value":"120","source":"redis"}`, string(out.History[0]["new_values"]), "page 2 is the older change")
		for f, n := range map[string]int{"page": 2, "limit": 1, "total": 2, "pages": 2} {
			require.Equal(t, n, out.Pagination[f], f)
		}
		requireError(t, e.do(t, "GET", "/api/"+v+"/config/history?page=0", testReadOnlyKey, nil), 400, errBadRequest)
		requireError(t, e.do(t, "GET", "/api/"+v+"/config/history?page=1&offset=3", testReadOnlyKey, nil), 400, errBadRequest)
		require.Equal(t, 401, e.do(t, "GET", "/api/"+v+"/config/history", "", nil).code)
	}
}

func TestPythonContractSLO(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	r := e.do(t, "GET", "/api/v1/slo", testReadOnlyKey, nil)
	require.Equal(t, 200, r.code)
	require.Equal(t, []any{}, r.json(t)["slos"])
	report := `{"version":1,"status":"warning","slos":[
		{"name":"ingestor_availability","description":"d","kind":"availability","target":0.999,"objective_window":"30d",
		 "sli":0.9985,"error_budget_remaining":-0.5,"burn_rates":{"1h":2.5,"30d":1.5},"no_data":false,"status":"warning",
		 "reasons":["burn rate 2.5 over 1h"]},
		{"name":"ingestor_latency_p99","description":"d","kind":"latency","target":0.99,"objective_window":"30d",
		 "threshold_seconds":0.5,"sli":null,"error_budget_remaining":null,"burn_rates":{"30d":null},"no_data":true,
		 "p99_seconds":null,"status":"no_data"}]}`
	_, err := e.db.Exec(context.Background(), `INSERT INTO slo_reports (generated_at, status, report) VALUES ('2026-03-04T10:00:00Z', 'warning', $1)`, report)
	require.NoError(t, err)
	for _, v := range []string{"v1", "v2"} {
		r := e.do(t, "GET", "/api/"+v+"/slo", testReadOnlyKey, nil)
		require.Equal(t, 200, r.code, string(r.body))
		var out struct {
			Timestamp string           `json:"timestamp"`
			SLOs      []map[string]any `json:"slos"`
		}
		require.NoError(t, json.Unmarshal(r.body, &out))
		require.Equal(t, "2026-03-04T10:00:00Z", out.Timestamp)
		require.Len(t, out.SLOs, 2)
		for _, s := range out.SLOs {
			for _, f := range []string{"slo_name", "description", "window_hours", "actual_value", "status",
				"error_budget_remaining", "burn_rate", "message"} {
				require.Contains(t, s, f, s["name"])
			}
		}
		require.Equal(t, "ingestor_availability", out.SLOs[0]["slo_name"])
		require.InDelta(t, 720.0, out.SLOs[0]["window_hours"], 0)
		require.InDelta(t, 0.9985, out.SLOs[0]["actual_value"], 0)
		require.InDelta(t, 1.5, out.SLOs[0]["burn_rate"], 0)
		require.InDelta(t, 0.999, out.SLOs[0]["target"], 0)
		require.Equal(t, "burn rate 2.5 over 1h", out.SLOs[0]["message"])
		require.InDelta(t, 0.5, out.SLOs[1]["target_seconds"], 0)
		require.Nil(t, out.SLOs[1]["actual_value"])
		require.Equal(t, "No data from Prometheus", out.SLOs[1]["message"])
		require.Equal(t, 401, e.do(t, "GET", "/api/"+v+"/slo", "", nil).code)
	}
}

func TestPythonContractHealth(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	r := e.do(t, "GET", "/health", "", nil)
	require.Equal(t, 200, r.code, string(r.body))
	m := r.json(t)
	require.Equal(t, "healthy", m["status"])
	require.NotEmpty(t, m["service"])
	require.NotEmpty(t, m["version"])
	require.Equal(t, "connected", m["redis"])
	require.Equal(t, "connected", m["database"])
	require.Empty(t, r.h.Get("X-API-Version"), "no X-API-* headers outside /api/, as in Python")
}

// The Python web UI's metric names are served beside MUTT's.
func TestPythonContractWebUIMetrics(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	require.Equal(t, 200, e.do(t, "GET", "/api/v1/rules", testReadOnlyKey, nil).code)
	require.Equal(t, 401, e.do(t, "GET", "/api/v1/rules", "", nil).code)
	r := e.do(t, "GET", "/metrics", "", nil)
	require.Equal(t, 200, r.code)
	require.Contains(t, string(r.body), `mutt_webui_api_requests_total{endpoint="/api/v1/rules",status="success"} 1`)
	require.Contains(t, string(r.body), `mutt_webui_api_requests_total{endpoint="/api/v1/rules",status="error"} 1`)
	require.Contains(t, string(r.body), `mutt_webui_api_latency_seconds_bucket{endpoint="/api/v1/rules",le="0.01"}`)
	require.Contains(t, string(r.body), `mutt_webui_db_query_latency_ms_count{operation="get_rules"} 1`)
}
