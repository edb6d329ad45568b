package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestConfigAudit(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	r := createRule(t, e, validRuleBody())
	body := validRuleBody()
	body["version"] = 1
	body["match_string"] = "CHANGED"
	require.Equal(t, http.StatusOK, e.admin(http.MethodPut, fmt.Sprintf("/api/v2/rules/%d", r.ID), body, nil).Code)
	require.Equal(t, http.StatusCreated, e.admin(http.MethodPost, "/api/v2/dev-hosts", map[string]any{"hostname": "d1"}, nil).Code)

	type listResp struct {
		Changes    []ConfigChange `json:"changes"`
		Pagination pagination     `json:"pagination"`
	}
	var l listResp
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v2/config-audit", resROKey, nil, nil, &l).Code)
	require.Equal(t, 3, l.Pagination.Total)
	require.Equal(t, "development_hosts", l.Changes[0].TableName, "newest first")

	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v1/config-audit?operation=update", nil, &l).Code)
	require.Equal(t, 1, l.Pagination.Total)
	require.Equal(t, "UPDATE", l.Changes[0].Operation)
	updateID := l.Changes[0].ID

	q := fmt.Sprintf("?table_name=alert_rules&record_id=%d", r.ID)
	var seed listResp
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/config-audit"+q, nil, &l).Code)
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v1/audit/config"+q, nil, &seed).Code)
	require.Equal(t, 2, l.Pagination.Total)
	require.Equal(t, l, seed)

	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/config-audit?changed_by="+KeyName(testKeyNameSecret, resAdminKey, true)+"&page_size=1&page=2", nil, &l).Code)
	require.Equal(t, newPagination(2, 1, 3), l.Pagination)
	require.Len(t, l.Changes, 1)

	today := time.Now().UTC().Format(time.DateOnly)
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/config-audit?start_date="+today+"&end_date="+today, nil, &l).Code)
	require.Equal(t, 3, l.Pagination.Total)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/config-audit?start_date="+future, nil, &l).Code)
	require.Zero(t, l.Pagination.Total)
	require.NotNil(t, l.Changes)

	requireErrorJSON(t, e.admin(http.MethodGet, "/api/v2/config-audit?start_date=yesterday", nil, nil), http.StatusBadRequest, "start_date")
	requireErrorJSON(t, e.admin(http.MethodGet, "/api/v2/config-audit?end_date=2024-13-01", nil, nil), http.StatusBadRequest, "end_date")
	requireErrorJSON(t, e.admin(http.MethodGet, "/api/v2/config-audit?page_size=201", nil, nil), http.StatusBadRequest, "page_size")
	requireErrorJSON(t, e.admin(http.MethodGet, "/api/v2/config-audit?page=0", nil, nil), http.StatusBadRequest, "page")

	var d map[string]any
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, fmt.Sprintf("/api/v2/config-audit/%d", updateID), nil, &d).Code)
	require.Equal(t, "LINK DOWN", d["old_values"].(map[string]any)["match_string"])
	require.Equal(t, "CHANGED", d["new_values"].(map[string]any)["match_string"])
	_, err := time.Parse(time.RFC3339, d["changed_at"].(string))
	require.NoError(t, err)
	requireErrorJSON(t, e.admin(http.MethodGet, "/api/v1/config-audit/987654", nil, nil), http.StatusNotFound, "987654")
	requireErrorJSON(t, e.admin(http.MethodGet, "/api/v1/config-audit/x", nil, nil), http.StatusBadRequest, "id")
	require.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/api/v2/config-audit", "", nil, nil, nil).Code)
}

func TestEventAudit(t *testing.T) {
	t.Parallel()
	e := newResEnv(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	ins := func(table string, ts time.Time, host string, rule int, corr string) string {
		id := uuid.NewString()
		cols := "id, event_id, event_timestamp, received_at, hostname, matched_rule_id, handling_decision, correlation_id"
		vals := "$1, $2, $3, $3, $4, $5, 'page_only', $6"
		_, err := e.db.Exec(ctx, "INSERT INTO "+table+" ("+cols+") VALUES ("+vals+")", 1, id, ts, host, rule, corr)
		require.NoError(t, err)
		return id
	}
	var ids []string
	for i := range 5 {
		ids = append(ids, ins("event_audit_log", now.Add(-time.Duration(i)*time.Minute), "h1", 7, fmt.Sprintf("c%d", i)))
	}
	old := ins("event_audit_log", now.Add(-48*time.Hour), "h2", 8, "old")
	archived := ins("event_audit_log_archive", now.Add(-2*time.Minute-time.Second), "h1", 7, "arch")

	type resp struct {
		Logs       []EventAudit `json:"logs"`
		NextCursor *string      `json:"next_cursor"`
		Pagination *pagination  `json:"pagination"`
	}
	var r resp
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v2/audit-logs", resROKey, nil, nil, &r).Code)
	require.Equal(t, 5, r.Pagination.Total, "default window is the last 24 h")
	require.Equal(t, ids[0], r.Logs[0].EventID)
	require.Nil(t, r.NextCursor)

	start := now.Add(-72 * time.Hour).Format(time.RFC3339)
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v1/audit-logs?start_date="+start, nil, &r).Code)
	require.Equal(t, 6, r.Pagination.Total)
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v1/audit-logs?hostname=h2&start_date="+start, nil, &r).Code)
	require.Equal(t, 1, r.Pagination.Total)
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v1/audit-logs?rule_id=8", nil, &r).Code)
	require.Zero(t, r.Pagination.Total)
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v1/audit-logs?event_id="+ids[3], nil, &r).Code)
	require.Len(t, r.Logs, 1)
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v1/audit-logs?correlation_id=c2", nil, &r).Code)
	require.Equal(t, ids[2], r.Logs[0].EventID)
	// Lookups by id are not limited to the default 24 h window.
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/audit-logs?event_id="+old, nil, &r).Code)
	require.Len(t, r.Logs, 1)
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/audit-logs?correlation_id=old", nil, &r).Code)
	require.Len(t, r.Logs, 1)
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v1/audit-logs?end_date="+now.Add(-150*time.Second).Format(time.RFC3339), nil, &r).Code)
	require.Equal(t, 2, r.Pagination.Total)

	// Archive: all time unless start_date says otherwise.
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/audit-logs?include_archive=true", nil, &r).Code)
	require.Equal(t, 7, r.Pagination.Total)
	require.Equal(t, archived, r.Logs[3].EventID)
	require.True(t, r.Logs[3].Archived)
	require.False(t, r.Logs[0].Archived)

	// Offset pages.
	require.Equal(t, http.StatusOK, e.admin(http.MethodGet, "/api/v2/audit-logs?page=2&page_size=2", nil, &r).Code)
	require.Equal(t, []string{ids[2], ids[3]}, []string{r.Logs[0].EventID, r.Logs[1].EventID})
	require.Equal(t, 3, r.Pagination.TotalPages)

	// Keyset pages walk every row (archive included) exactly once, in order.
	var seen []string
	path := "/api/v2/audit-logs?include_archive=true&page_size=2"
	for next := ""; ; {
		p := path
		if next != "" {
			p += "&after=" + next
		}
		r = resp{}
		require.Equal(t, http.StatusOK, e.admin(http.MethodGet, p, nil, &r).Code)
		for _, l := range r.Logs {
			seen = append(seen, l.EventID)
		}
		if r.NextCursor == nil {
			break
		}
		next = *r.NextCursor
	}
	require.Equal(t, []string{ids[0], ids[1], ids[2], archived, ids[3], ids[4], old}, seen)

	for q, field := range map[string]string{"rule_id=x": "rule_id", "event_id=nope": "event_id", "start_date=bad": "start_date",
		"include_archive=maybe": "include_archive", "after=Zm9v": "after", "page_size=0": "page_size", "limit=500": "limit"} {
		requireErrorJSON(t, e.admin(http.MethodGet, "/api/v2/audit-logs?"+q, nil, nil), http.StatusBadRequest, field)
	}
}
