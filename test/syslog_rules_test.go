package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSyslogRuleOnAppNameAndFacility: util-linux logger sends sshd auth.crit
// over TCP to the dev pipeline; a rule on app_name=sshd + facility=auth (no
// message text) matches it, the audit row names that rule and keeps the
// syslog fields, and the alert reaches the simulator with the rule's team.
// The same text from another app or another facility falls through to a
// wider rule.
func TestSyslogRuleOnAppNameAndFacility(t *testing.T) {
	t.Parallel()
	env := devEnv(t)
	env["MUTT_SYSLOG_TCP_ADDR"] = freeAddr(t)
	cfg, d := runInProcess(t, env)
	_, tcpPort, err := net.SplitHostPort(cfg.Syslog.TCPAddr)
	require.NoError(t, err)
	ctx := context.Background()

	// The fallback first: a reload that sees the sshd rule sees it too.
	var fallback, sshd int32
	require.NoError(t, d.DB.QueryRow(ctx, `INSERT INTO alert_rules (match_string, match_type, priority, prod_handling,
		dev_handling, team_assignment) VALUES ('Failed password', 'contains', 2, 'Ticket_only', 'Ignore', 'Fallback')
		RETURNING id`).Scan(&fallback))
	require.NoError(t, d.DB.QueryRow(ctx, `INSERT INTO alert_rules (app_name, facility, match_type, priority,
		prod_handling, dev_handling, team_assignment) VALUES ('SSHD', 4, 'contains', 1, 'Page_only', 'Ignore', 'Security')
		RETURNING id`).Scan(&sshd))
	require.NoError(t, d.Redis.Publish(ctx, d.Keys.RulesUpdates(), "rules").Err())

	send := func(tag, prio, msg string) {
		t.Helper()
		args := []string{"--tcp", "-n", "127.0.0.1", "-P", tcpPort, "-t", tag, "-p", prio, msg}
		out, err := exec.Command("logger", args...).CombinedOutput()
		require.NoError(t, err, "logger %v: %s", args, out)
	}
	type auditRow struct {
		rule     *int32
		handling string
		team     string
		eventID  string
		orig     map[string]any
	}
	audited := func(c *assert.CollectT, msg string) (auditRow, bool) {
		var r auditRow
		var raw string
		err := d.DB.QueryRow(ctx, `SELECT matched_rule_id, handling_decision, coalesce(team_assignment, ''),
			event_id::text, raw_message FROM event_audit_log WHERE raw_message LIKE '%' || $1 || '%'`, msg).
			Scan(&r.rule, &r.handling, &r.team, &r.eventID, &raw)
		if !assert.NoError(c, err, "audit row of %q", msg) {
			return r, false
		}
		return r, assert.NoError(c, json.Unmarshal([]byte(raw), &r.orig))
	}

	// The rules apply once the alerter has reloaded: send until one lands on
	// the sshd rule (earlier ones fall through to the fallback or nothing).
	probe := 0
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		probe++
		msg := fmt.Sprintf("Failed password for root from 192.0.2.9 probe %d", probe)
		send("sshd", "auth.crit", msg)
		var n int
		assert.NoError(c, d.DB.QueryRow(ctx, `SELECT count(*) FROM event_audit_log
			WHERE matched_rule_id = $1 AND raw_message LIKE '%probe%'`, sshd).Scan(&n))
		assert.Positive(c, n, "a probe matched by the sshd rule")
	}, 30*time.Second, 500*time.Millisecond, "the sshd/auth rule is loaded")

	cases := []struct {
		tag, prio, msg string
		rule           int32
		team, handling string
		facility       float64
		facilityName   string
	}{
		{"sshd", "auth.crit", "Failed password for admin from 192.0.2.10 case 1", sshd, "Security", "Page_only", 4, "auth"},
		{"sshd", "local4.crit", "Failed password for admin from 192.0.2.10 case 2", fallback, "Fallback", "Ticket_only", 20, "local4"},
		{"su", "auth.crit", "Failed password for admin from 192.0.2.10 case 3", fallback, "Fallback", "Ticket_only", 4, "auth"},
	}
	for _, tc := range cases {
		send(tc.tag, tc.prio, tc.msg)
	}
	rows := map[string]auditRow{}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, tc := range cases {
			if r, ok := audited(c, tc.msg); ok {
				rows[tc.msg] = r
			}
		}
	}, 20*time.Second, 50*time.Millisecond, "every event audited")
	for _, tc := range cases {
		r := rows[tc.msg]
		require.NotNil(t, r.rule, tc.msg)
		require.Equal(t, tc.rule, *r.rule, tc.msg)
		require.Equal(t, tc.handling, r.handling, tc.msg)
		require.Equal(t, tc.team, r.team, tc.msg)
		require.Equal(t, tc.tag, r.orig["app_name"], tc.msg)
		require.Equal(t, tc.facility, r.orig["facility"], tc.msg)
		require.Equal(t, tc.facilityName, r.orig["facility_name"], tc.msg)
	}

	// Delivered: the simulator holds each alert with its rule's team.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var st simStats
		assert.Equal(c, 200, getJSON(c, "http://"+cfg.MoogSimAddr+"/stats", &st))
		byID := map[string]map[string]any{}
		for _, a := range st.Last {
			if id, ok := a["external_id"].(string); ok {
				byID[id] = a
			}
		}
		for _, tc := range cases {
			a, ok := byID[rows[tc.msg].eventID]
			if assert.True(c, ok, "alert of %q delivered", tc.msg) {
				assert.Equal(c, tc.team, a["class"], tc.msg)
			}
		}
	}, 20*time.Second, 50*time.Millisecond, "every alert reaches the simulator")
}
