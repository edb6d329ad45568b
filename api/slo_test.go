package api

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSLONoData(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	for _, p := range []string{"/api/v1/slo", "/api/v2/slo", "/api/v2/slo/status"} {
		r := e.do(t, "GET", p, testReadOnlyKey, nil)
		require.Equal(t, 200, r.code)
		m := r.json(t)
		require.Equal(t, "no_data", m["status"])
		require.Equal(t, "grey", m["color"])
		require.Equal(t, []any{}, m["slos"])
	}
}

func TestSLOLatestReportColoured(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ctx := context.Background()
	older := `{"status":"ok","slos":[]}`
	latest := `{"version":1,"status":"critical","policy":{"budget_warning_below":0.25},"slos":[
		{"name":"a","status":"ok","error_budget_remaining":0.9},
		{"name":"b","status":"ok","error_budget_remaining":0.1},
		{"name":"c","status":"warning","error_budget_remaining":0.5},
		{"name":"d","status":"critical","error_budget_remaining":-0.2},
		{"name":"e","status":"no_data","error_budget_remaining":null,"no_data":true}]}`
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	_, err := e.db.Exec(ctx, `INSERT INTO slo_reports (generated_at, status, report) VALUES ($1, 'ok', $2), ($3, 'critical', $4)`,
		at.Add(-5*time.Minute), older, at, latest)
	require.NoError(t, err)
	for _, p := range []string{"/api/v1/slo", "/api/v2/slo/status"} {
		r := e.do(t, "GET", p, testReadOnlyKey, nil)
		require.Equal(t, 200, r.code, string(r.body))
		m := r.json(t)
		require.Equal(t, "critical", m["status"])
		require.Equal(t, "red", m["color"])
		require.Equal(t, "2026-03-04T10:00:00Z", m["generated_at"])
		require.NotNil(t, m["report_id"])
		colors := map[string]string{}
		for _, s := range m["slos"].([]any) {
			sm := s.(map[string]any)
			colors[sm["name"].(string)] = sm["color"].(string)
		}
		require.Equal(t, map[string]string{"a": "green", "b": "yellow", "c": "yellow", "d": "red", "e": "grey"}, colors)
	}
}
