package api

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMetricsSummary(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t) // now = 2026-03-04T10:30:20Z
	ctx := context.Background()
	set := func(res, bucket string, n int) {
		require.NoError(t, e.rdb.Set(ctx, e.keys.RateBucket(res, bucket), n, time.Hour).Err())
	}
	set("1m", "2026-03-04T10:30", 999) // current minute: reported separately, not in the rates
	set("1m", "2026-03-04T10:29", 60)
	set("1m", "2026-03-04T10:20", 30)
	set("1m", "2026-03-04T09:31", 90)   // 59 minutes ago: 1-h average only
	set("1m", "2026-03-04T09:29", 1000) // 61 minutes ago: outside every window
	set("1h", "2026-03-04T10", 1179)
	set("1h", "2026-03-04T08", 500)
	set("1h", "2026-03-03T11", 7)    // 23 hours ago: the oldest point
	set("1h", "2026-03-03T10", 1000) // 24 hours ago: outside

	for _, v := range []string{"v1", "v2"} {
		r := e.do(t, "GET", "/api/"+v+"/metrics", testReadOnlyKey, nil)
		require.Equal(t, 200, r.code, string(r.body))
		var m MetricsSummary
		require.NoError(t, json.Unmarshal(r.body, &m))
		require.Equal(t, int64(60), m.CurrentRate)
		require.Equal(t, int64(999), m.CurrentMinute)
		require.InDelta(t, 90.0/15, m.Avg15m, 1e-9)
		require.InDelta(t, 180.0/60, m.Avg1h, 1e-9)
		require.Equal(t, int64(180), m.EventsLastHour)
		require.Len(t, m.Hourly24h, 24)
		require.Equal(t, time.Date(2026, 3, 3, 11, 0, 0, 0, time.UTC), m.Hourly24h[0].Hour)
		require.Equal(t, int64(7), m.Hourly24h[0].Count)
		require.Equal(t, time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), m.Hourly24h[23].Hour)
		require.Equal(t, int64(1179), m.Hourly24h[23].Count)
		require.Equal(t, int64(500), m.Hourly24h[21].Count)
		require.Equal(t, int64(0), m.Hourly24h[22].Count, "idle hours count as zero")
		require.Equal(t, int64(1179+500+7), m.EventsLast24h)
		require.Contains(t, string(r.body), `"hour":"2026-03-04T10:00:00Z"`)

		// The Python MUTT's shape, for its dashboard and scripts.
		require.Equal(t, LegacySummary{CurrentRate1m: 60, AvgRate15m: 6, AvgRate1h: 3}, m.Summary)
		require.Len(t, m.Chart24h.Labels, 24)
		require.Len(t, m.Chart24h.Data, 24)
		require.Equal(t, "11:00", m.Chart24h.Labels[0])
		require.Equal(t, "10:00", m.Chart24h.Labels[23])
		require.Equal(t, 19.65, m.Chart24h.Data[23], "1179 events in the hour: 19.65 per minute")
		require.Equal(t, 0.12, m.Chart24h.Data[0])
		var raw struct {
			Summary  map[string]json.RawMessage `json:"summary"`
			Chart24h map[string]json.RawMessage `json:"chart_24h"`
		}
		require.NoError(t, json.Unmarshal(r.body, &raw))
		for _, f := range []string{"current_rate_1m", "avg_rate_15m", "avg_rate_1h"} {
			require.Contains(t, raw.Summary, f)
		}
		require.Contains(t, raw.Chart24h, "labels")
		require.Contains(t, raw.Chart24h, "data")
	}
}

func TestMetricsSummaryIdle(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	r := e.do(t, "GET", "/api/v2/metrics", testAdminKey, nil)
	require.Equal(t, 200, r.code)
	var m MetricsSummary
	require.NoError(t, json.Unmarshal(r.body, &m))
	require.Zero(t, m.CurrentRate)
	require.Zero(t, m.Avg15m)
	require.Len(t, m.Hourly24h, 24)
	for _, p := range m.Hourly24h {
		require.Zero(t, p.Count)
	}
}
