package api

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mutt-ops/mutt/internal/redisconn"
)

// Bucket layouts of the ingestor's dashboard counters (hotpath/ingest
// countEvents writes them; keys.RateBucket names them). UTC.
const (
	minuteLayout = "2006-01-02T15:04"
	hourLayout   = "2006-01-02T15"
)

// ChartPoint is one hour of hourly_24h.
type ChartPoint struct {
	Hour  time.Time `json:"hour"` // start of the UTC hour, RFC 3339
	Count int64     `json:"count"`
}

// MetricsSummary is GET /api/v*/metrics. Rates are events per minute over
// complete minutes only (the current minute is still filling and would read
// low); idle minutes and hours have no counter and count as zero.
type MetricsSummary struct {
	GeneratedAt    time.Time    `json:"generated_at"`
	CurrentRate    int64        `json:"current_rate"` // events in the last complete minute
	CurrentMinute  int64        `json:"current_minute_so_far"`
	Avg15m         float64      `json:"avg_15m"`
	Avg1h          float64      `json:"avg_1h"`
	EventsLastHour int64        `json:"events_last_hour"`
	EventsLast24h  int64        `json:"events_last_24h"`
	Hourly24h      []ChartPoint `json:"hourly_24h"` // 24 hours, oldest first, ending with the current hour
	RateUnit       string       `json:"rate_unit"`
	// The Python MUTT's fields, which its dashboard and scripts read
	// (rates in events per minute, rounded to 2 places).
	Summary  LegacySummary `json:"summary"`
	Chart24h LegacyChart   `json:"chart_24h"`
}

// LegacySummary is the Python MUTT's "summary" object.
type LegacySummary struct {
	CurrentRate1m float64 `json:"current_rate_1m"`
	AvgRate15m    float64 `json:"avg_rate_15m"`
	AvgRate1h     float64 `json:"avg_rate_1h"`
}

// LegacyChart is the Python MUTT's "chart_24h": 24 hour labels ("HH:00",
// UTC, oldest first) and each hour's average events per minute.
type LegacyChart struct {
	Labels []string  `json:"labels"`
	Data   []float64 `json:"data"`
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func (s *Server) registerMetrics(g *gin.RouterGroup, _ string) {
	g.GET("/metrics", s.metricsSummary)
}

func (s *Server) metricsSummary(c *gin.Context) {
	now := s.o.Now().UTC()
	minute := now.Truncate(time.Minute)
	hour := now.Truncate(time.Hour)
	// One MGET: minutes[0] is the current minute, minutes[i] i minutes ago;
	// then 24 hours, the current one first.
	keys := make([]string, 0, 61+24)
	for i := 0; i <= 60; i++ {
		keys = append(keys, s.o.Keys.RateBucket("1m", minute.Add(-time.Duration(i)*time.Minute).Format(minuteLayout)))
	}
	for i := 0; i < 24; i++ {
		keys = append(keys, s.o.Keys.RateBucket("1h", hour.Add(-time.Duration(i)*time.Hour).Format(hourLayout)))
	}
	vals, err := redisconn.MGet(c, s.o.Redis, keys...)
	if err != nil {
		s.unavailable(c, "redis unavailable", err)
		return
	}
	count := func(i int) int64 {
		str, ok := vals[i].(string)
		if !ok {
			return 0
		}
		n, err := strconv.ParseInt(str, 10, 64)
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	out := MetricsSummary{GeneratedAt: now, CurrentRate: count(1), CurrentMinute: count(0), RateUnit: "events/minute"}
	var sum15, sum60 int64
	for i := 1; i <= 60; i++ {
		if i <= 15 {
			sum15 += count(i)
		}
		sum60 += count(i)
	}
	out.Avg15m = float64(sum15) / 15
	out.Avg1h = float64(sum60) / 60
	out.EventsLastHour = sum60
	out.Hourly24h = make([]ChartPoint, 24)
	out.Chart24h = LegacyChart{Labels: make([]string, 24), Data: make([]float64, 24)}
	for i := 0; i < 24; i++ {
		n := count(61 + i)
		h := hour.Add(-time.Duration(i) * time.Hour)
		out.Hourly24h[23-i] = ChartPoint{Hour: h, Count: n}
		out.Chart24h.Labels[23-i] = h.Format("15:00")
		out.Chart24h.Data[23-i] = round2(float64(n) / 60)
		out.EventsLast24h += n
	}
	out.Summary = LegacySummary{CurrentRate1m: float64(out.CurrentRate), AvgRate15m: round2(out.Avg15m), AvgRate1h: round2(out.Avg1h)}
	c.JSON(http.StatusOK, out)
}
