package api

import (
	"context"
	"encoding/json"
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
