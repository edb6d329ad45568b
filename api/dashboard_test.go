package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/tally"
)

// TestDashboard reads what the roles leave in Redis: instance
// advertisements, the streams and their consumer groups, the per-minute
// tally (only the window's minutes count) and the breaker with its history.
func TestDashboard(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ctx := context.Background()

	// Nothing written yet: every role listed as down, every shard empty.
	r := e.do(t, http.MethodGet, "/api/v2/dashboard", testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var d Dashboard
	require.NoError(t, json.Unmarshal(r.body, &d))
	require.Equal(t, "UTC", d.TimeZone)
	require.Equal(t, 60, d.WindowMinutes)
	require.Len(t, d.Minutes, 60)
	require.Equal(t, e.now.Truncate(time.Minute), d.Minutes[59].Minute)
	require.Len(t, d.Roles, 5)
	for _, rh := range d.Roles {
		require.False(t, rh.Healthy, rh.Role)
		require.Zero(t, rh.Instances, rh.Role)
	}
	require.Len(t, d.Shards, 2)
	for _, s := range d.Shards {
		require.NotNil(t, s.Lag)
		require.Zero(t, *s.Lag)
	}
	require.Equal(t, "closed", d.Breaker.State)
	require.Empty(t, d.Breaker.History)
	require.Nil(t, d.Moogsoft.SuccessRate)

	// Two processes advertise themselves; one runs three roles.
	for id, role := range map[string]string{"all@h1": "moog-sim+ingestor+alerter+forwarder+api", "ingestor@h2": "ingestor"} {
		require.NoError(t, e.rdb.Set(ctx, e.keys.Instance(id), secrets.Marshal(secrets.Instance{ID: id, Role: role}), time.Minute).Err())
	}
	// Three events in the ingest shard, two of them delivered to the alerter group.
	in := e.keys.IngestStream(0)
	for range 3 {
		require.NoError(t, e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: in, Values: []any{"e", "{}"}}).Err())
	}
	require.NoError(t, e.rdb.XGroupCreate(ctx, in, "alerter", "0").Err())
	require.NoError(t, e.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "alerter", Consumer: "c1", Streams: []string{in, ">"}, Count: 2}).Err())
	require.NoError(t, e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: e.keys.MoogDLQ(), Values: []any{"reason", "rejected"}}).Err())
	require.NoError(t, e.rdb.HSet(ctx, e.keys.CircuitBreaker(), "state", "half_open", "failures", "0").Err())
	for _, st := range []string{"open", "closed"} {
		require.NoError(t, e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: e.keys.BreakerHistory(),
			Values: []any{"state", st, "at", e.now.Format(time.RFC3339Nano)}}).Err())
	}
	// Counters of this minute, of 59 minutes ago (inside the 60-minute
	// window) and of 60 minutes ago (outside it).
	in0, in59, in60 := map[string]int64{tally.AcceptedPrefix + "http": 10, tally.AcceptedPrefix + "snmp": 2,
		tally.Matched: 8, tally.Audited: 8, tally.Ignored: 3, tally.Alerts: 5, tally.Unhandled: 4, tally.Delivered: 4,
		tally.MoogOK: 3, tally.MoogFailed: 1, tally.MoogLatencyMS: 100, tally.RefusedRateLimit: 7, tally.BreakerTrips: 1},
		map[string]int64{tally.AcceptedPrefix + "syslog_udp": 5, tally.AlerterDead: 1, tally.MoogDead: 2, tally.RefusedBacklog: 6},
		map[string]int64{tally.AcceptedPrefix + "http": 1000}
	for ago, counts := range map[int]map[string]int64{0: in0, 59: in59, 60: in60} {
		k := e.keys.Tally(e.now.Add(-time.Duration(ago) * time.Minute).UTC().Format(tally.MinuteLayout))
		for f, n := range counts {
			require.NoError(t, e.rdb.HIncrBy(ctx, k, f, n).Err())
		}
	}

	r = e.do(t, http.MethodGet, "/api/v2/dashboard", testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	d = Dashboard{}
	require.NoError(t, json.Unmarshal(r.body, &d))
	roles := map[string]RoleHealth{}
	for _, rh := range d.Roles {
		roles[rh.Role] = rh
	}
	require.Equal(t, RoleHealth{Role: "ingestor", Instances: 2, Healthy: true, IDs: []string{"all@h1", "ingestor@h2"}}, roles["ingestor"])
	require.Equal(t, 1, roles["forwarder"].Instances)
	require.False(t, roles["worker"].Healthy)
	require.NotContains(t, roles, "moog-sim", "the simulator is no MUTT role")
	sh := d.Shards[0]
	require.Equal(t, "ingest", sh.Stage)
	require.Equal(t, int64(3), sh.Length)
	require.Equal(t, int64(1), *sh.Lag, "one entry not yet delivered")
	require.Equal(t, int64(2), sh.Pending)
	require.Equal(t, int64(1), sh.Consumers)
	require.Equal(t, Funnel{Accepted: 17, Matched: 8, Audited: 8, Alerts: 5, Forwarded: 4, Ignored: 3, Unhandled: 4, DeadLettered: 3}, d.Funnel)
	require.Equal(t, map[string]int64{"http": 10, "snmp": 2, "syslog_udp": 5, "syslog_tcp": 0, "syslog_tls": 0}, d.BySource)
	require.Equal(t, map[string]int64{"rate_limit": 7, "backlog": 6}, d.Refusals)
	require.Equal(t, int64(4), d.Moogsoft.Requests)
	require.InDelta(t, 0.75, *d.Moogsoft.SuccessRate, 1e-9)
	require.InDelta(t, 25.0, *d.Moogsoft.AvgLatencyMS, 1e-9)
	require.Equal(t, "half_open", d.Breaker.State)
	require.Equal(t, int64(1), d.Breaker.Trips)
	require.Equal(t, []BreakerEvent{{State: "closed", At: e.now}, {State: "open", At: e.now}}, d.Breaker.History, "newest first")
	require.Equal(t, MinuteCounts{Minute: e.now.Truncate(time.Minute), Accepted: 12, Forwarded: 4, Refused: 7}, d.Minutes[59])
	for _, q := range d.DLQ {
		if q.Stream == e.keys.MoogDLQ() {
			require.Equal(t, int64(1), q.Length)
		}
	}

	// A window of 61 minutes takes in the older minute.
	r = e.do(t, http.MethodGet, "/api/v1/dashboard?window_minutes=61", testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	require.NoError(t, json.Unmarshal(r.body, &d))
	require.Equal(t, int64(1017), d.Funnel.Accepted)

	for _, bad := range []string{"0", "1441", "x", "-5", "60m"} {
		r = e.do(t, http.MethodGet, "/api/v2/dashboard?window_minutes="+bad, testReadOnlyKey, nil)
		require.Equal(t, http.StatusBadRequest, r.code, bad)
		require.Contains(t, r.json(t)["message"], "window_minutes", bad)
	}
}

// TestEventBrowserFilters covers what the event browser adds to
// /audit-logs (handling, forwarded) and the rule hit counts.
func TestEventBrowserFilters(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ctx := context.Background()
	rows := []struct {
		ago       time.Duration
		rule      int
		handling  string
		forwarded bool
	}{
		{time.Minute, 1, "PAGE_AND_TICKET", true}, // the seeded rules' spelling
		{2 * time.Minute, 1, "page_and_ticket", true},
		{3 * time.Minute, 2, "ignore", false},
		{30 * time.Hour, 2, "ignore", false}, // outside the default 24 h
	}
	for _, r := range rows {
		_, err := e.db.Exec(ctx, `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname,
            matched_rule_id, handling_decision, forwarded_to_moog) VALUES (gen_random_uuid(), $1, $1, 'h1', $2, $3, $4)`,
			e.now.Add(-r.ago), r.rule, r.handling, r.forwarded)
		require.NoError(t, err)
	}
	count := func(q string) int {
		t.Helper()
		r := e.do(t, http.MethodGet, "/api/v2/audit-logs?"+q, testReadOnlyKey, nil)
		require.Equal(t, http.StatusOK, r.code, string(r.body))
		return len(r.json(t)["logs"].([]any))
	}
	require.Equal(t, 2, count("handling=page_and_ticket"), "any case")
	require.Equal(t, 1, count("handling=IGNORE"))
	require.Equal(t, 2, count("handling=ignore&start_date=2026-03-01"))
	require.Equal(t, 2, count("forwarded=true"))
	require.Equal(t, 1, count("forwarded=false&rule_id=2"))
	require.Equal(t, 0, count("forwarded=false&handling=page_and_ticket"))

	for q, field := range map[string]string{"handling=page%20only": "handling", "handling=x-drop": "handling",
		"forwarded=maybe": "forwarded", "rule_id=x": "rule_id", "event_id=nope": "event_id", "after=%21": "after",
		"start_date=yesterday": "start_date"} {
		r := e.do(t, http.MethodGet, "/api/v2/audit-logs?"+q, testReadOnlyKey, nil)
		require.Equal(t, http.StatusBadRequest, r.code, q)
		require.Contains(t, r.json(t)["message"], field+":", q)
	}

	r := e.do(t, http.MethodGet, "/api/v2/audit-logs/rule-hits", testReadOnlyKey, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var hits struct {
		Hours int        `json:"hours"`
		Hits  []RuleHits `json:"hits"`
	}
	require.NoError(t, json.Unmarshal(r.body, &hits))
	require.Equal(t, 24, hits.Hours)
	require.Equal(t, []RuleHits{{RuleID: 1, Hits: 2, LastSeen: e.now.Add(-time.Minute)}, {RuleID: 2, Hits: 1, LastSeen: e.now.Add(-3 * time.Minute)}}, hits.Hits)
	r = e.do(t, http.MethodGet, "/api/v1/audit-logs/rule-hits?hours=48", testReadOnlyKey, nil)
	require.NoError(t, json.Unmarshal(r.body, &hits))
	require.Equal(t, int64(2), hits.Hits[1].Hits)
	for _, bad := range []string{"0", "745", "day"} {
		r = e.do(t, http.MethodGet, "/api/v2/audit-logs/rule-hits?hours="+bad, testReadOnlyKey, nil)
		require.Equal(t, http.StatusBadRequest, r.code, bad)
		require.Contains(t, r.json(t)["message"], "hours:", bad)
	}
}
